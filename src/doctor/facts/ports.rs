//! Who publishes host ports, as the engine tells it (this project's containers, and other
//! projects' containers by name), and how the host services usually found on a database's
//! well-known port are stopped.

use std::collections::{BTreeMap, BTreeSet};

use bollard::query_parameters::ListContainersOptionsBuilder;

use crate::doctor::facts::Facts;
use crate::engine::spec::LABEL_PROJECT;

/// How the usual host services on a well-known port are stopped.
pub(crate) fn stop_examples(container_port: u16) -> &'static str {
    match container_port {
        5432 => {
            " (`brew services stop postgresql`, `sudo systemctl stop postgresql`, or quit Postgres.app)"
        }
        6379 => " (`brew services stop redis`, `sudo systemctl stop redis-server`)",
        3306 => " (`brew services stop mysql`, `sudo systemctl stop mysql`)",
        _ => "",
    }
}

/// What the engine says about who publishes host ports.
#[derive(Debug, Default)]
pub(crate) struct EngineView {
    /// Host ports this project's containers publish.
    pub(crate) own: BTreeSet<u16>,
    /// Other containers publishing host ports: "container `x` of project `y`".
    pub(crate) others: BTreeMap<u16, String>,
}

/// Who publishes ports, according to the engine; `None` when it does not answer.
pub(crate) async fn engine_view(facts: &Facts) -> Option<EngineView> {
    let state = facts.engine_project().await.ok()?;
    let docker = &facts.connection().await.ok()?.docker;
    let mut view = EngineView {
        own: state.observed.published.clone(),
        others: BTreeMap::new(),
    };
    let running = docker
        .list_containers(Some(ListContainersOptionsBuilder::default().build()))
        .await
        .ok()?;
    for container in running {
        let project = container
            .labels
            .as_ref()
            .and_then(|labels| labels.get(LABEL_PROJECT))
            .cloned();
        if project.as_deref() == Some(state.stack.project.as_str()) {
            continue;
        }
        let name = container
            .names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_owned())
            .unwrap_or_default();
        let described = match project {
            Some(project) => format!("container `{name}` of project `{project}`"),
            None => format!("container `{name}`"),
        };
        for port in container
            .ports
            .iter()
            .flatten()
            .filter_map(|p| p.public_port)
        {
            view.others.insert(port, described.clone());
        }
    }
    Some(view)
}
