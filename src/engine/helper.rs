//! Throwaway helper containers: a shell script run as root in an image the stack already has,
//! with named volumes mounted, no network, and the container removed afterwards (also when the
//! caller cancels it). What the Postgres version check and `devboot db` snapshots use to read
//! and copy data volumes without touching the service's own container.

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::RemoveContainerOptionsBuilder;
use futures_util::StreamExt as _;
use tokio::sync::watch;

use super::containers::tail_logs;
use super::observe::engine_error;
use super::spec::{LABEL_HELPER, LABEL_MANAGED};
use crate::error::Error;

/// Output lines kept from a helper (its errors are at the end).
const OUTPUT_LINES: usize = 200;

/// A named volume mounted into a helper.
#[derive(Debug, Clone, Copy)]
pub struct VolumeMount<'a> {
    /// The volume's engine name.
    pub volume: &'a str,
    pub target: &'a str,
    pub read_only: bool,
}

/// How a helper ended.
#[derive(Debug)]
pub struct Finished {
    pub code: i64,
    pub output: Vec<String>,
}

/// Runs `script` with `sh -c` in a new container of `image` for `project`. When `cancel`
/// turns `true` first, the container is killed and removed and the result is
/// [`Error::Interrupted`].
pub async fn run(
    docker: &Docker,
    project: &str,
    image: &str,
    mounts: &[VolumeMount<'_>],
    script: &str,
    cancel: Option<watch::Receiver<bool>>,
) -> Result<Finished, Error> {
    run_with_env(docker, project, image, mounts, &[], script, cancel).await
}

/// [`run`] with environment variables (`NAME=value`) set in the container, as a service's are.
pub async fn run_with_env(
    docker: &Docker,
    project: &str,
    image: &str,
    mounts: &[VolumeMount<'_>],
    env: &[String],
    script: &str,
    cancel: Option<watch::Receiver<bool>>,
) -> Result<Finished, Error> {
    let action = "running a helper container";
    let mut labels = std::collections::HashMap::new();
    labels.insert(LABEL_MANAGED.to_owned(), "true".to_owned());
    // Not Compose's project label: a helper is no service of the stack.
    labels.insert(LABEL_HELPER.to_owned(), project.to_owned());
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        user: Some("0".to_owned()),
        entrypoint: Some(vec!["sh".into(), "-c".into(), script.to_owned()]),
        cmd: Some(Vec::new()),
        env: Some(env.to_vec()),
        labels: Some(labels),
        host_config: Some(HostConfig {
            mounts: Some(
                mounts
                    .iter()
                    .map(|m| Mount {
                        typ: Some(MountType::VOLUME),
                        source: Some(m.volume.to_owned()),
                        target: Some(m.target.to_owned()),
                        read_only: Some(m.read_only),
                        ..Mount::default()
                    })
                    .collect(),
            ),
            // It works on files: no network (and none of the engine's bridges need to exist).
            network_mode: Some("none".to_owned()),
            ..HostConfig::default()
        }),
        network_disabled: Some(true),
        ..ContainerCreateBody::default()
    };
    let created = docker
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            body,
        )
        .await
        .map_err(|e| engine_error(action, &e))?;
    let result = async {
        docker
            .start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(|e| engine_error(action, &e))?;
        let mut wait = docker.wait_container(
            &created.id,
            None::<bollard::query_parameters::WaitContainerOptions>,
        );
        let waited = async {
            let mut code = -1;
            while let Some(status) = wait.next().await {
                code = match status {
                    Ok(response) => response.status_code,
                    Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => code,
                    Err(error) => return Err(engine_error(action, &error)),
                };
            }
            Ok(code)
        };
        let code = match cancel {
            Some(mut cancel) => tokio::select! {
                code = waited => code?,
                _ = cancel.wait_for(|c| *c) => return Err(Error::Interrupted),
            },
            None => waited.await?,
        };
        let output = tail_logs(docker, &created.id, OUTPUT_LINES).await?;
        Ok(Finished { code, output })
    }
    .await;
    // With the anonymous volumes an image's `VOLUME` gave it (named volumes stay).
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let _ = docker.remove_container(&created.id, Some(options)).await;
    result
}
