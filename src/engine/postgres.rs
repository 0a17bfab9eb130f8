//! The Postgres data-volume guard: a data directory records the major version that created it
//! (`PG_VERSION`); a different major server refuses to start on it and crash-loops. Before a
//! Postgres container is (re)created on an existing volume, compare the two and stop with the
//! options instead.

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::RemoveContainerOptionsBuilder;

use super::containers::tail_logs;
use super::observe::engine_error;
use super::spec::volume_name;
use crate::error::Error;
use crate::model::{Mount as ServiceMount, Service};

/// The data directory of a Postgres service: the volume mounted at its `PGDATA`.
pub fn data_volume(service: &Service) -> Option<(&str, &str)> {
    let looks_like_postgres = service.image.repository.rsplit('/').next() == Some("postgres")
        || service.environment.contains_key("POSTGRES_PASSWORD");
    if !looks_like_postgres {
        return None;
    }
    let pgdata = service
        .environment
        .get("PGDATA")
        .map_or("/var/lib/postgresql/data", String::as_str);
    service.mounts.iter().find_map(|m| match m {
        ServiceMount::Volume { name, target, .. } if pgdata.starts_with(target.as_str()) => {
            Some((name.as_str(), target.as_str()))
        }
        _ => None,
    })
}

/// Fails when the volume holds data of another major version than the image runs.
pub async fn check_major(docker: &Docker, project: &str, service: &Service) -> Result<(), Error> {
    let Some((volume, target)) = data_volume(service) else {
        return Ok(());
    };
    let script = format!(
        "cat {target}/PG_VERSION 2>/dev/null || cat {target}/pgdata/PG_VERSION 2>/dev/null || echo none; \
         echo \"${{PG_MAJOR:-$(postgres --version 2>/dev/null | sed 's/[^0-9]*\\([0-9]*\\).*/\\1/')}}\""
    );
    let body = ContainerCreateBody {
        image: Some(service.image.to_string()),
        entrypoint: Some(vec!["sh".into(), "-c".into(), script]),
        cmd: Some(Vec::new()),
        host_config: Some(HostConfig {
            mounts: Some(vec![Mount {
                typ: Some(MountType::VOLUME),
                source: Some(volume_name(project, volume)),
                target: Some(target.to_owned()),
                read_only: Some(true),
                ..Mount::default()
            }]),
            // It reads a file: no network (and none of the engine's bridges need to exist).
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
        .map_err(|e| engine_error("checking the Postgres data volume", &e))?;
    let result = async {
        docker
            .start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(|e| engine_error("checking the Postgres data volume", &e))?;
        let mut wait = docker.wait_container(
            &created.id,
            None::<bollard::query_parameters::WaitContainerOptions>,
        );
        while let Some(_status) = futures_util::StreamExt::next(&mut wait).await {}
        tail_logs(docker, &created.id, 4).await
    }
    .await;
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = docker.remove_container(&created.id, Some(options)).await;
    let lines = result?;
    let (Some(data_major), Some(image_major)) = (lines.first(), lines.get(1)) else {
        return Ok(());
    };
    let (data_major, image_major) = (data_major.trim(), image_major.trim());
    if data_major == "none" || image_major.is_empty() || data_major == image_major {
        return Ok(());
    }
    Err(Error::PostgresMajorMismatch {
        volume: volume.to_owned(),
        data_major: data_major.to_owned(),
        image: service.image.to_string(),
        image_major: image_major.to_owned(),
    })
}
