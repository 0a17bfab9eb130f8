//! The gate before `up` changes anything: the engine's API version, the tools the profile
//! requires, the engine's memory and disk, bind mounts on an engine on another machine, and
//! every host port the stack is about to publish,
//! judged by the rulebook in [`crate::requirements`] (which `doctor` applies too). All problems
//! are reported together, each with its fix; if any is found, nothing is created.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;

use crate::engine::connect::Connection;
use crate::engine::spec::LABEL_PROJECT;
use crate::env::Environment;
use crate::error::{Error, Problem};
use crate::host::ports;
use crate::model::Stack;
use crate::plan::{ContainerAction, ContainerStep, Observed};
use crate::requirements::{self, EngineResources};

/// Checks every prerequisite; `Err(Error::Prerequisites)` lists all that are not met.
pub async fn check(
    connection: &Connection,
    env: &Environment,
    stack: &Stack,
    observed: &Observed,
    steps: &[ContainerStep],
) -> Result<(), Error> {
    let needs = &stack.requirements;
    requirements::api_version(&connection.api_version, needs.docker_api)?;
    let mut problems = requirements::tools(&needs.tools, env.var("PATH"));
    if (needs.memory_bytes.is_some() || needs.disk_bytes.is_some())
        && let Ok(info) = connection.docker.info().await
    {
        let have = EngineResources::measure(&info, &connection.endpoint.host);
        problems.extend(requirements::memory(&have, needs.memory_bytes));
        problems.extend(requirements::disk(&have, needs.disk_bytes));
    }
    problems.extend(requirements::bind_mounts(
        stack,
        connection
            .endpoint
            .is_remote()
            .then_some(connection.endpoint.host.as_str()),
        env.var(requirements::REMOTE_BIND_MOUNTS_VAR) == Some("synced"),
    ));
    problems.extend(taken_ports(&connection.docker, stack, observed, steps).await);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Prerequisites(problems))
    }
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
            if requirements::port_available(
                observed.published.contains(&port.host),
                ports::is_free(port.host_ip, port.host),
            ) {
                continue;
            }
            let owner = if let Some(container) = container_publishing(docker, port.host).await {
                format!("port {} is published by {container}", port.host)
            } else {
                let owner = ports::owner(port.host);
                if owner.as_ref().is_some_and(|o| o.process == "docker-proxy")
                    && departed(port.host_ip, port.host).await
                {
                    continue;
                }
                ports::describe_taken(port.host, owner.as_ref())
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

/// How long a removed container's `docker-proxy` may take to let go of its port.
const PROXY_DEPARTURE: Duration = Duration::from_secs(5);

/// Whether a port held by a `docker-proxy` that no container owns any more (the proxy of a
/// container just removed — by `down`, or an interrupted `up` — exits a moment after it) is
/// freed within [`PROXY_DEPARTURE`]. There is no event for a port closing: it is polled.
async fn departed(ip: std::net::IpAddr, port: u16) -> bool {
    let deadline = tokio::time::Instant::now() + PROXY_DEPARTURE;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if ports::is_free(ip, port) {
            return true;
        }
    }
    false
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
