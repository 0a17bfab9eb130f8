//! The Postgres data-volume guard: a data directory records the major version that created it
//! (`PG_VERSION`); a different major server refuses to start on it and crash-loops. Before a
//! Postgres container is (re)created on an existing volume, compare the two and stop with the
//! options instead.

use std::path::Path;

use bollard::Docker;

use super::helper::{self, VolumeMount};
use super::spec::volume_name;
use crate::error::Error;
use crate::model::{Mount as ServiceMount, Service, postgres};

/// The data volume of a Postgres service: the volume mounted at its `PGDATA` (the profile's),
/// or where an image of either layout keeps its data ([`model::postgres`]).
pub fn data_volume(service: &Service) -> Option<(&str, &str)> {
    let looks_like_postgres = postgres::is_postgres(&service.image)
        || service.environment.contains_key("POSTGRES_PASSWORD");
    if !looks_like_postgres {
        return None;
    }
    let holds_data = |target: &str| match service.environment.get("PGDATA") {
        Some(pgdata) => Path::new(pgdata).starts_with(target),
        None => [postgres::LEGACY_DATA_DIR, postgres::VERSIONED_VOLUME_DIR].contains(&target),
    };
    service.mounts.iter().find_map(|m| match m {
        ServiceMount::Volume { name, target, .. } if holds_data(target) => {
            Some((name.as_str(), target.as_str()))
        }
        _ => None,
    })
}

/// A shell script for a container of the Postgres image with the data volume at `target`: its
/// first line is the major version that initialised the data (`none` when there is none), read
/// from `PG_VERSION` where the server looks (`$PGDATA`), else in either layout a volume may hold
/// (the data directory itself, a `pgdata` directory in it, or `<major>/docker` of Postgres 18);
/// its second line is the major the image runs.
pub fn majors_script(target: &str) -> String {
    format!(
        "for d in \"$PGDATA\" {}; do \
           if [ -s \"$d/PG_VERSION\" ]; then cat \"$d/PG_VERSION\"; found=1; break; fi; \
         done; [ -n \"${{found:-}}\" ] || echo none; \
         echo \"{IMAGE_MAJOR}\"",
        data_dirs(target)
    )
}

/// Shell words for the directories, in the volume mounted at `target`, that may hold a data
/// directory: the volume itself, `pgdata` or `data` in it, `<major>/docker` (Postgres 18).
pub fn data_dirs(target: &str) -> String {
    let t = crate::shell::shell_word(target);
    format!("{t} {t}/pgdata {t}/data {t}/*/docker")
}

/// A shell expression for the major version an image runs.
pub const IMAGE_MAJOR: &str =
    r"${PG_MAJOR:-$(postgres --version 2>/dev/null | sed 's/[^0-9]*\([0-9]*\).*/\1/')}";

/// The major that initialised the data in the service's volume (`none` when there is none) and
/// the major the service's image runs, read by a helper of that image; `None` when the service
/// has no data volume or the image says no version.
pub async fn majors(
    docker: &Docker,
    project: &str,
    service: &Service,
) -> Result<Option<(String, String)>, Error> {
    let Some((volume, target)) = data_volume(service) else {
        return Ok(None);
    };
    let mut script = majors_script(target);
    // The server's own `PGDATA`: the profile's, else the image's.
    if let Some(pgdata) = service.environment.get("PGDATA") {
        script = format!("PGDATA={}; {script}", crate::shell::shell_word(pgdata));
    }
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
        return Ok(None);
    };
    let (data_major, image_major) = (data_major.trim(), image_major.trim());
    if image_major.is_empty() {
        return Ok(None);
    }
    Ok(Some((data_major.to_owned(), image_major.to_owned())))
}

/// Fails when the volume holds data of another major version than the image runs.
pub async fn check_major(docker: &Docker, project: &str, service: &Service) -> Result<(), Error> {
    let Some((data_major, image_major)) = majors(docker, project, service).await? else {
        return Ok(());
    };
    if data_major == "none" || data_major == image_major {
        return Ok(());
    }
    let (volume, _) = data_volume(service).expect("majors read a data volume");
    Err(Error::PostgresMajorMismatch {
        volume: volume.to_owned(),
        data_major,
        image: service.image.to_string(),
        image_major,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_volume_is_found_in_either_layout() {
        let stack = crate::model::test_stack(
            "extends = \"rails\"\n[services.db]\nimage = \"postgres:18\"\n",
        );
        assert_eq!(
            data_volume(&stack.services["db"]),
            Some(("db-data", "/var/lib/postgresql"))
        );
        let stack = crate::model::test_stack("extends = \"rails\"\n");
        assert_eq!(
            data_volume(&stack.services["db"]),
            Some(("db-data", "/var/lib/postgresql/data"))
        );
        let stack = crate::model::test_stack(
            "extends = \"rails\"\n[services.db]\nvolumes = [\"db-data:/srv/pg\", \"other:/var/lib/postgresql/data\"]\n\
             [services.db.environment]\nPGDATA = \"/srv/pg/pgdata\"\n",
        );
        assert_eq!(
            data_volume(&stack.services["db"]),
            Some(("db-data", "/srv/pg"))
        );
        assert_eq!(data_volume(&stack.services["redis"]), None);
    }

    /// Runs the script with the volume at a temporary directory, as an image of major 18 would.
    fn majors(files: &[(&str, &str)], pgdata: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let target = dir.path().to_str().unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", &majors_script(target)])
            .env("PGDATA", format!("{target}/{pgdata}"))
            .env("PG_MAJOR", "18")
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn pg_version_is_read_in_either_layout() {
        // Where the server looks first, even beside data of another major.
        assert_eq!(
            majors(
                &[
                    ("18/docker/PG_VERSION", "18\n"),
                    ("17/docker/PG_VERSION", "17\n")
                ],
                "18/docker"
            ),
            ["18", "18"]
        );
        // A volume of the old layout, now mounted at /var/lib/postgresql.
        assert_eq!(majors(&[("PG_VERSION", "16\n")], "18/docker"), ["16", "18"]);
        assert_eq!(
            majors(&[("pgdata/PG_VERSION", "15\n")], "18/docker"),
            ["15", "18"]
        );
        // A volume of the new layout, now mounted where an older image looks.
        assert_eq!(
            majors(&[("18/docker/PG_VERSION", "18\n")], "nothing-here"),
            ["18", "18"]
        );
        assert_eq!(majors(&[], "18/docker"), ["none", "18"]);
    }
}
