//! The Postgres data-volume guard: a data directory records the major version that created it
//! (`PG_VERSION`); a different major server refuses to start on it and crash-loops. Before a
//! Postgres container is (re)created on an existing volume, compare the two and stop with the
//! options instead.

use bollard::Docker;

use super::helper::{self, VolumeMount};
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
    let volume_name = volume_name(project, volume);
    let mount = VolumeMount {
        volume: &volume_name,
        target,
        read_only: true,
    };
    let image = service.image.to_string();
    let lines = helper::run(docker, project, &image, &[mount], &script, None)
        .await?
        .output;
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
