//! Every devboot stack on the engine, whatever its checkout: containers and volumes carrying
//! devboot's label, grouped by Compose project, with the checkout each came from (its labels),
//! its state, published ports and the disk its volumes use (the engine's `system df`, given
//! [`DISK_USAGE_TIME`] at most: on a large engine it can be slow, and the rest is worth
//! showing without it). Read-only.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::query_parameters::ListContainersOptionsBuilder;
use serde::Serialize;

use super::connect::Connection;
use super::containers;
use super::observe::engine_error;
use super::spec::{
    LABEL_CHECKOUT, LABEL_MANAGED, LABEL_ONEOFF, LABEL_PROJECT, LABEL_SERVICE, LABEL_WORKING_DIR,
};
use crate::error::Error;

/// How long the volumes' disk use may take to read.
pub const DISK_USAGE_TIME: Duration = Duration::from_secs(10);

/// One project's stack on the engine.
#[derive(Debug, Clone, Serialize)]
pub struct StackSummary {
    /// The Compose project name.
    pub project: String,
    /// The directory (checkout) it runs from, as its labels say; `null` when none says.
    pub checkout: Option<String>,
    pub state: StackState,
    /// Its containers: names, running or not.
    pub containers: Vec<StackContainer>,
    /// Host ports its containers publish.
    pub ports: Vec<StackPort>,
    /// Its volumes (kept by `down`).
    pub volumes: Vec<String>,
    /// The disk its volumes use, in bytes; `null` when the engine did not say in time.
    pub disk_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackContainer {
    pub id: String,
    pub name: String,
    pub running: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackPort {
    pub service: String,
    pub host: u16,
    pub container: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackState {
    /// Every container runs.
    Running,
    /// Some containers run.
    Partial,
    /// Containers exist; none runs.
    Stopped,
    /// No containers: only volumes are left.
    Down,
}

impl std::fmt::Display for StackState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Running => "running",
            Self::Partial => "partial",
            Self::Stopped => "stopped",
            Self::Down => "down",
        })
    }
}

/// Every devboot stack on the engine, by project name.
pub async fn list(connection: &Connection) -> Result<Vec<StackSummary>, Error> {
    let docker = &connection.docker;
    let filter = format!("{LABEL_MANAGED}=true");
    let filters = HashMap::from([("label", vec![filter.as_str()])]);
    let container_options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let (containers, volumes, usage) = tokio::join!(
        docker.list_containers(Some(container_options)),
        containers::volumes_labelled(docker, &filter),
        tokio::time::timeout(DISK_USAGE_TIME, volume_sizes(connection)),
    );
    let containers = containers.map_err(|e| engine_error("listing containers", &e))?;
    let volumes = volumes?;
    let sizes = usage.ok().flatten();
    let mut stacks: BTreeMap<String, StackSummary> = BTreeMap::new();
    let entry = |stacks: &mut BTreeMap<String, StackSummary>, project: &str| {
        stacks
            .entry(project.to_owned())
            .or_insert_with(|| StackSummary {
                project: project.to_owned(),
                checkout: None,
                state: StackState::Down,
                containers: Vec::new(),
                ports: Vec::new(),
                volumes: Vec::new(),
                disk_bytes: sizes.as_ref().map(|_| 0),
            })
            .clone()
    };
    for summary in containers {
        let labels = summary.labels.unwrap_or_default();
        let Some(project) = labels.get(LABEL_PROJECT) else {
            continue;
        };
        let mut stack = entry(&mut stacks, project);
        if labels.get(LABEL_ONEOFF).is_none_or(|v| v != "True") {
            stack.checkout = stack
                .checkout
                .or_else(|| labels.get(LABEL_WORKING_DIR).cloned());
        }
        let service = labels.get(LABEL_SERVICE).cloned().unwrap_or_default();
        stack
            .ports
            .extend(summary.ports.iter().flatten().filter_map(|p| {
                Some(StackPort {
                    service: service.clone(),
                    host: p.public_port?,
                    container: p.private_port,
                })
            }));
        stack.containers.push(StackContainer {
            id: summary.id.unwrap_or_default(),
            name: summary
                .names
                .and_then(|n| n.first().map(|n| n.trim_start_matches('/').to_owned()))
                .unwrap_or_default(),
            running: summary.state.is_some_and(|s| s.to_string() == "running"),
        });
        stacks.insert(project.clone(), stack);
    }
    for volume in volumes {
        let Some(project) = volume.labels.get(LABEL_PROJECT) else {
            continue;
        };
        let mut stack = entry(&mut stacks, project);
        stack.checkout = stack
            .checkout
            .or_else(|| volume.labels.get(LABEL_CHECKOUT).cloned());
        let size = sizes.as_ref().and_then(|s| s.get(&volume.name)).copied();
        stack.disk_bytes = match (stack.disk_bytes, size) {
            (Some(total), Some(size)) => Some(total + u64::try_from(size).unwrap_or(0)),
            _ => None,
        };
        stack.volumes.push(volume.name);
        stacks.insert(project.clone(), stack);
    }
    Ok(stacks
        .into_values()
        .map(|mut stack| {
            stack.state = state(&stack.containers);
            stack.ports.sort_by_key(|p| (p.host, p.container));
            stack.ports.dedup_by_key(|p| (p.host, p.container));
            stack.volumes.sort();
            stack
        })
        .collect())
}

/// Each volume's size from the engine's `system df`. Read as JSON, not through bollard's
/// types: engines before API 1.52 (Docker 20.10 to 28) list volumes under `Volumes`, newer
/// ones under `VolumeUsage.Items`, and the types know only the newer shape. `None` when the
/// engine cannot be asked this way (not a `unix://` or `tcp://` endpoint) or did not answer.
async fn volume_sizes(connection: &Connection) -> Option<HashMap<String, i64>> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let request = format!(
        "GET /v{}/system/df HTTP/1.0\r\nHost: docker\r\n\r\n",
        connection.api_version
    );
    let mut response = Vec::new();
    let host = &connection.endpoint.host;
    if let Some(path) = host.strip_prefix("unix://") {
        let mut stream = tokio::net::UnixStream::connect(path).await.ok()?;
        stream.write_all(request.as_bytes()).await.ok()?;
        stream.read_to_end(&mut response).await.ok()?;
    } else if let Some(address) = host.strip_prefix("tcp://") {
        let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
        stream.write_all(request.as_bytes()).await.ok()?;
        stream.read_to_end(&mut response).await.ok()?;
    } else {
        return None;
    }
    let body = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let df: serde_json::Value = serde_json::from_slice(&response[body + 4..]).ok()?;
    Some(sizes_of(&df))
}

/// Volume name → size in a `system df` answer of either shape.
fn sizes_of(df: &serde_json::Value) -> HashMap<String, i64> {
    let volumes = df
        .get("Volumes")
        .filter(|v| v.is_array())
        .or_else(|| df.get("VolumeUsage")?.get("Items"))
        .and_then(serde_json::Value::as_array);
    volumes
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let name = v.get("Name")?.as_str()?.to_owned();
            let size = v.get("UsageData")?.get("Size")?.as_i64()?;
            Some((name, size))
        })
        .collect()
}

fn state(containers: &[StackContainer]) -> StackState {
    let running = containers.iter().filter(|c| c.running).count();
    match (containers.len(), running) {
        (0, _) => StackState::Down,
        (all, running) if running == all => StackState::Running,
        (_, 0) => StackState::Stopped,
        _ => StackState::Partial,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(running: bool) -> StackContainer {
        StackContainer {
            id: String::new(),
            name: String::new(),
            running,
        }
    }

    #[test]
    fn volume_sizes_are_read_from_either_shape_of_system_df() {
        let old = serde_json::json!({"Volumes": [{"Name": "a", "UsageData": {"Size": 42, "RefCount": 1}}]});
        let new = serde_json::json!({"VolumeUsage": {"Items": [{"Name": "a", "UsageData": {"Size": 42}}]}});
        for df in [old, new] {
            assert_eq!(sizes_of(&df), HashMap::from([("a".to_owned(), 42)]));
        }
        // -1: the engine did not compute it.
        let unknown = serde_json::json!({"Volumes": null});
        assert!(sizes_of(&unknown).is_empty());
    }

    #[test]
    fn a_stack_is_running_partial_stopped_or_down() {
        assert_eq!(state(&[]), StackState::Down);
        assert_eq!(
            state(&[container(true), container(true)]),
            StackState::Running
        );
        assert_eq!(
            state(&[container(true), container(false)]),
            StackState::Partial
        );
        assert_eq!(state(&[container(false)]), StackState::Stopped);
    }
}
