//! Reading what the engine holds for a project right now: its containers (found by Compose's
//! project label), network, volumes and the images the stack names, into
//! [`plan::observed`](crate::plan::observed)'s types. Read-only; one round of concurrent
//! requests.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;
use futures_util::future::join_all;

use super::containers;
use super::spec::{
    LABEL_CHECKOUT, LABEL_CONFIG_FILES, LABEL_CONFIG_HASH, LABEL_CONTEXT_DIGEST, LABEL_DEFINITION,
    LABEL_MANAGED, LABEL_ONEOFF, LABEL_PROJECT, LABEL_SERVICE, LABEL_VOLUME, LABEL_WORKING_DIR,
    network_name,
};
use crate::error::Error;
use crate::model::Stack;
use crate::render::COMPOSE_FILE;
// The types live beside the planner that consumes them; doctor, gate and `up` name them here.
use crate::plan::{Observed, ObservedContainer, ObservedImage};

/// Reads the project's state from the engine.
pub async fn observe(docker: &Docker, stack: &Stack) -> Result<Observed, Error> {
    let filter = format!("{LABEL_PROJECT}={}", stack.project);
    let containers_options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&HashMap::from([("label", vec![filter.as_str()])]))
        .build();
    let image_refs: BTreeSet<String> = stack
        .services
        .values()
        .map(|s| s.image.to_string())
        .collect();
    let network = network_name(&stack.project);
    let (containers, network, volumes, images) = tokio::join!(
        docker.list_containers(Some(containers_options)),
        docker.inspect_network(
            &network,
            None::<bollard::query_parameters::InspectNetworkOptions>
        ),
        containers::volumes_labelled(docker, &filter),
        join_all(image_refs.iter().map(|r| docker.inspect_image(r))),
    );
    let containers = containers.map_err(|e| engine_error("listing containers", &e))?;
    let mut observed = Observed {
        network: network.is_ok(),
        ..Observed::default()
    };
    for summary in containers {
        let labels = summary.labels.unwrap_or_default();
        observed
            .published
            .extend(summary.ports.iter().flatten().filter_map(|p| p.public_port));
        let Some(service) = labels.get(LABEL_SERVICE).cloned() else {
            continue;
        };
        let compose_file = compose_file(&labels);
        // Compose's working directory for devboot's file is `.devboot`; the checkout is above.
        let checkout = compose_file
            .as_deref()
            .filter(|f| f.ends_with(COMPOSE_FILE))
            .and_then(|f| f.parent()?.parent())
            .map(|root| root.display().to_string())
            .or_else(|| labels.get(LABEL_WORKING_DIR).cloned());
        let container = ObservedContainer {
            id: summary.id.unwrap_or_default(),
            name: summary
                .names
                .and_then(|n| n.first().map(|n| n.trim_start_matches('/').to_owned()))
                .unwrap_or_default(),
            config_hash: labels.get(LABEL_CONFIG_HASH).cloned(),
            state: summary.state.map(|s| s.to_string()).unwrap_or_default(),
            image_id: summary.image_id.unwrap_or_default(),
            service: service.clone(),
            checkout,
            compose_file,
            compose_definition: labels.get(LABEL_DEFINITION).cloned(),
        };
        observed.checkouts.extend(container.checkout.clone());
        // A one-off (`devboot run`) is never the service's container; `down` removes it.
        let one_off = labels.get(LABEL_ONEOFF).is_some_and(|v| v == "True");
        if stack.services.contains_key(&service) && !one_off {
            observed.containers.insert(service, container);
        } else {
            observed.orphans.push(container);
        }
    }
    for volume in volumes? {
        observed
            .checkouts
            .extend(volume.labels.get(LABEL_CHECKOUT).cloned());
        observed
            .volumes
            .extend(volume.labels.get(LABEL_VOLUME).cloned());
    }
    for (reference, inspected) in image_refs.into_iter().zip(images) {
        if let Ok(image) = inspected {
            let labels = image.config.and_then(|c| c.labels).unwrap_or_default();
            observed.images.insert(
                reference,
                ObservedImage {
                    id: image.id.unwrap_or_default(),
                    context_digest: labels.get(LABEL_CONTEXT_DIGEST).cloned(),
                },
            );
        }
    }
    Ok(observed)
}

/// For a container Docker Compose created (devboot's carry its own mark): the one compose file
/// it was created from. Compose labels the project's working directory (the first file's
/// directory unless `--project-directory` moved it) and the files as they were named on its
/// command line, relative or not; more than one file means an override devboot did not write.
fn compose_file(labels: &HashMap<String, String>) -> Option<PathBuf> {
    if labels.contains_key(LABEL_MANAGED) {
        return None;
    }
    let files = labels.get(LABEL_CONFIG_FILES)?;
    if files.contains(',') {
        return None;
    }
    let name = Path::new(files).file_name()?;
    Some(Path::new(labels.get(LABEL_WORKING_DIR)?).join(name))
}

/// An engine request failure, with the engine's own message.
/// When the connection itself failed (the engine died, restarted or was stopped mid-way), it
/// says so in words a user understands, with how to recover, instead of the HTTP client's;
/// when the engine's disk is full, it says that.
pub fn engine_error(action: &str, error: &bollard::errors::Error) -> Error {
    use bollard::errors::Error as Bollard;
    let (message, hint) = match error {
        Bollard::DockerResponseServerError { message, .. } if disk_full(message) => {
            return disk_full_error(action, message, Vec::new());
        }
        Bollard::DockerResponseServerError { message, .. } => (message.clone(), None),
        Bollard::HyperLegacyError { .. }
        | Bollard::HyperResponseError { .. }
        | Bollard::HttpClientError { .. }
        | Bollard::IOError { .. }
        | Bollard::SocketNotFoundError(_)
        | Bollard::RequestTimeoutError => (
            "the Docker engine stopped answering".to_owned(),
            Some(ENGINE_STOPPED_FIX.to_owned()),
        ),
        other => (other.to_string(), None),
    };
    Error::Engine {
        action: action.to_owned(),
        message,
        hint,
    }
}

/// Whether an engine message (or a build's output line) says the disk is full (`ENOSPC`).
pub(super) fn disk_full(message: &str) -> bool {
    message.to_lowercase().contains("no space left on device")
}

/// The engine could not write while doing `action`.
pub(super) fn disk_full_error(action: &str, message: &str, output: Vec<String>) -> Error {
    Error::EngineDiskFull {
        action: action.to_owned(),
        message: message.trim().to_owned(),
        output,
    }
}

/// What to do when the engine went away in the middle of a command.
pub const ENGINE_STOPPED_FIX: &str = "start the engine again (`sudo systemctl start docker`, or open Docker Desktop) and run `devboot up` again: it converges from where it stopped, and volumes are kept";

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_compose_file_a_container_came_from() {
        let dir = (LABEL_WORKING_DIR, "/src/shop/.devboot");
        // Compose v1 keeps the name as typed (here from the project root), v2 an absolute path.
        for typed in [".devboot/compose.yaml", "/src/shop/.devboot/compose.yaml"] {
            assert_eq!(
                compose_file(&labels(&[dir, (LABEL_CONFIG_FILES, typed)])),
                Some(PathBuf::from("/src/shop/.devboot/compose.yaml"))
            );
        }
        let override_file = (LABEL_CONFIG_FILES, "compose.yaml,override.yaml");
        assert_eq!(compose_file(&labels(&[dir, override_file])), None);
        let by_devboot = labels(&[
            dir,
            (LABEL_CONFIG_FILES, "compose.yaml"),
            (LABEL_MANAGED, "true"),
        ]);
        assert_eq!(compose_file(&by_devboot), None);
    }

    #[test]
    fn an_engine_refusing_for_a_full_disk_says_so() {
        let refused = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "mkdir /var/lib/docker/overlay2/abc-init: no space left on device".to_owned(),
        };
        let error = engine_error("creating container `p-db-1`", &refused);
        assert!(
            error.to_string().starts_with(
                "creating container `p-db-1` failed: the Docker engine's disk is full"
            ),
            "{error}"
        );
        assert!(error.hint().unwrap().contains("(volumes are kept)"));
    }
}
