//! What the engine-backed checks share, fetched once per run by whichever check asks first: the
//! connection (the API version negotiated once), `info` with the host clock read around the
//! request, and the project as the engine holds it (its containers, each inspected once, its
//! volumes and images). A dozen checks thus cost one round of requests, not a dozen; only the
//! commands checks run inside containers are their own.

use std::collections::BTreeMap;
use std::time::SystemTime;

use bollard::Docker;
use bollard::models::{ContainerInspectResponse, SystemInfo};
use futures_util::future::join_all;
use tokio::sync::OnceCell;

use super::facts::{Facts, ProjectLookup};
use crate::aws::Intent;
use crate::effective;
use crate::engine::connect::{self, Connection};
use crate::engine::containers;
use crate::engine::observe::engine_error;
use crate::error::Error;
use crate::model::Stack;
use crate::plan::{ComposeFile, Observed, ObservedContainer};
use crate::render::COMPOSE_FILE;

/// Lines of a command's output kept (the last ones); enough for any message, bounded for logs.
const KEPT_LINES: usize = 200;

/// The engine state of one doctor run, filled on first use.
#[derive(Debug, Default)]
pub(super) struct EngineCache {
    connection: OnceCell<Result<Connection, Error>>,
    info: OnceCell<Result<InfoSample, String>>,
    project: OnceCell<Result<ProjectState, String>>,
}

/// The engine's `info`, with the host's clock read just before and just after the request.
#[derive(Debug)]
pub(super) struct InfoSample {
    pub info: SystemInfo,
    pub before: SystemTime,
    pub after: SystemTime,
}

/// The project as the engine holds it now.
#[derive(Debug)]
pub(super) struct ProjectState {
    /// The effective stack (`auto` host ports and the app's AWS wiring as `devboot up` would
    /// set them), so container definitions compare like for like.
    pub stack: Stack,
    pub observed: Observed,
    /// Each service's container, inspected, by service name.
    pub inspected: BTreeMap<String, ContainerInspectResponse>,
    /// devboot's compose file, for containers Docker Compose created from it.
    pub compose_file: ComposeFile,
}

impl ProjectState {
    /// The container of `service` when it is running.
    pub(super) fn running(&self, service: &str) -> Option<&ObservedContainer> {
        self.observed
            .containers
            .get(service)
            .filter(|container| container.running())
    }
}

impl Facts {
    /// The engine connection; the first caller connects, everyone shares the outcome.
    pub(super) async fn connection(&self) -> Result<&Connection, &Error> {
        self.engine
            .connection
            .get_or_init(|| connect::connect(&self.env))
            .await
            .as_ref()
    }

    /// The engine's `info`, fetched once.
    pub(super) async fn engine_info(&self) -> Result<&InfoSample, &str> {
        self.engine
            .info
            .get_or_init(|| async {
                let connection = self.connection().await.map_err(ToString::to_string)?;
                let before = SystemTime::now();
                let info = connection
                    .docker
                    .info()
                    .await
                    .map_err(|e| engine_error("reading the engine's info", &e).to_string())?;
                let after = SystemTime::now();
                Ok(InfoSample {
                    info,
                    before,
                    after,
                })
            })
            .await
            .as_ref()
            .map_err(String::as_str)
    }

    /// The project's containers, volumes and images on the engine, read once. Fails when
    /// there is no engine, no valid project, or the engine refused a request.
    pub(super) async fn engine_project(&self) -> Result<&ProjectState, &str> {
        self.engine
            .project
            .get_or_init(|| self.load_project_state())
            .await
            .as_ref()
            .map_err(String::as_str)
    }

    async fn load_project_state(&self) -> Result<ProjectState, String> {
        let connection = self.connection().await.map_err(ToString::to_string)?;
        let ProjectLookup::Loaded(project) = self.project() else {
            return Err("no valid devboot.toml here".to_owned());
        };
        let docker = &connection.docker;
        let effective = effective::resolve(docker, &self.env, project, &[], Intent::Preview)
            .await
            .map_err(|e| e.to_string())?;
        let (stack, observed) = (effective.stack, effective.observed);
        let inspections = join_all(observed.containers.iter().map(|(service, container)| {
            let id = container.id.clone();
            async move {
                let inspected = docker
                    .inspect_container(
                        &id,
                        None::<bollard::query_parameters::InspectContainerOptions>,
                    )
                    .await;
                (service.clone(), inspected)
            }
        }))
        .await;
        let inspected: BTreeMap<String, ContainerInspectResponse> = inspections
            .into_iter()
            .filter_map(|(service, result)| Some((service, result.ok()?)))
            .collect();
        let as_written = project
            .workspace
            .as_written(&project.workspace.state(), COMPOSE_FILE)
            .unwrap_or(false);
        Ok(ProjectState {
            compose_file: ComposeFile::of(&stack, as_written),
            stack,
            observed,
            inspected,
        })
    }
}

/// What a command run in a container printed (stdout and stderr, the last lines) and its exit
/// code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ExecOutput {
    pub code: i64,
    pub lines: Vec<String>,
}

impl ExecOutput {
    /// The last `n` non-empty lines, for details.
    pub(super) fn tail(&self, n: usize) -> Vec<String> {
        let lines: Vec<&String> = self.lines.iter().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| (*l).clone())
            .collect()
    }

    pub(super) fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// Runs `argv` in container `id` and collects its output.
pub(super) async fn exec(docker: &Docker, id: &str, argv: &[&str]) -> Result<ExecOutput, Error> {
    let argv: Vec<String> = argv.iter().map(|&a| a.to_owned()).collect();
    let mut lines = Vec::new();
    let code = containers::exec(docker, id, &argv, |line| {
        if lines.len() == KEPT_LINES {
            lines.remove(0);
        }
        lines.push(line.to_owned());
    })
    .await?;
    Ok(ExecOutput { code, lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_tails_skip_blank_lines() {
        let output = ExecOutput {
            code: 1,
            lines: vec![
                "a".into(),
                String::new(),
                "b".into(),
                "c".into(),
                " ".into(),
            ],
        };
        assert_eq!(output.tail(2), ["b", "c"]);
        assert_eq!(output.tail(10), ["a", "b", "c"]);
    }
}
