//! The gate before `up` changes anything: the engine's API version, the tools the profile
//! requires, the engine's memory and disk, and every host port the stack is about to publish.
//! All problems are reported together, each with its fix; if any is found, nothing is created.

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;

use crate::engine::connect::{self, Connection};
use crate::engine::observe::Observed;
use crate::engine::spec::LABEL_PROJECT;
use crate::env::Environment;
use crate::error::{Error, Problem};
use crate::host::{ports, tools};
use crate::model::Stack;
use crate::model::units::format_bytes;
use crate::plan::{ContainerAction, ContainerStep};

/// Checks every prerequisite; `Err(Error::Prerequisites)` lists all that are not met.
pub async fn check(
    connection: &Connection,
    env: &Environment,
    stack: &Stack,
    observed: &Observed,
    steps: &[ContainerStep],
) -> Result<(), Error> {
    connect::check_api_version(&connection.api_version, stack.requirements.docker_api)?;
    let mut problems = tools::check(&stack.requirements.tools, env.var("PATH"));
    problems.extend(resources(&connection.docker, stack).await);
    problems.extend(taken_ports(&connection.docker, stack, observed, steps).await);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Prerequisites(problems))
    }
}

async fn resources(docker: &Docker, stack: &Stack) -> Vec<Problem> {
    let needs = &stack.requirements;
    if needs.memory_bytes.is_none() && needs.disk_bytes.is_none() {
        return Vec::new();
    }
    let Ok(info) = docker.info().await else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    let memory = info.mem_total.and_then(|m| u64::try_from(m).ok());
    if let (Some(need), Some(have)) = (needs.memory_bytes, memory)
        && have < need
    {
        problems.push(Problem {
            message: format!(
                "the Docker engine has {} of memory; the profile needs {}",
                format_bytes(have),
                format_bytes(need)
            ),
            fix: Some(
                "raise the engine's memory limit (Docker Desktop: Settings → Resources), or lower `requires.memory`"
                    .into(),
            ),
        });
    }
    if let (Some(need), Some(root)) = (needs.disk_bytes, info.docker_root_dir.as_deref())
        && let Ok(stats) = rustix::fs::statvfs(root)
    {
        let free = stats.f_bavail.saturating_mul(stats.f_frsize);
        if free < need {
            problems.push(Problem {
                message: format!(
                    "the Docker data directory `{root}` has {} free; the profile needs {}",
                    format_bytes(free),
                    format_bytes(need)
                ),
                fix: Some(
                    "free disk space (`docker system prune` removes unused images and build cache)"
                        .into(),
                ),
            });
        }
    }
    problems
}

/// Host ports that containers about to start would publish but something else holds.
async fn taken_ports(
    docker: &Docker,
    stack: &Stack,
    observed: &Observed,
    steps: &[ContainerStep],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for step in steps
        .iter()
        .filter(|s| s.action != ContainerAction::Unchanged)
    {
        for port in &stack.services[&step.service].ports {
            if observed.published.contains(&port.host) || ports::is_free(port.host_ip, port.host) {
                continue;
            }
            let owner = match container_publishing(docker, port.host).await {
                Some(container) => format!("port {} is published by {container}", port.host),
                None => ports::describe_taken(port.host, ports::owner(port.host).as_ref()),
            };
            problems.push(Problem {
                message: format!("{owner}; service `{}` needs it", step.service),
                fix: Some(format!(
                    "stop it, or in devboot.local.toml give `{}` another host port: \
                     `[services.{}]` `ports = [{{ container = {}, policy = \"auto\" }}]`",
                    step.service, step.service, port.container
                )),
            });
        }
    }
    problems
}

/// The container (and its Compose project) publishing `port`, if one does.
async fn container_publishing(docker: &Docker, port: u16) -> Option<String> {
    let port = port.to_string();
    let filters = HashMap::from([("publish", vec![port.as_str()])]);
    let options = ListContainersOptionsBuilder::default()
        .filters(&filters)
        .build();
    let container = docker
        .list_containers(Some(options))
        .await
        .ok()?
        .into_iter()
        .next()?;
    let name = container.names?.first()?.trim_start_matches('/').to_owned();
    Some(
        match container.labels.as_ref().and_then(|l| l.get(LABEL_PROJECT)) {
            Some(project) => format!("container `{name}` of project `{project}`"),
            None => format!("container `{name}`"),
        },
    )
}
