//! Snapshots of a database service's data volume (`devboot db snapshot`, `restore`,
//! `snapshots`): a copy at the volume level, taken by a helper container while the database is
//! stopped, into a volume of its own labelled as a snapshot of the project.
//!
//! A restore never leaves a half-restored database: the snapshot is first copied into a
//! staging directory inside the data volume (`.devboot-restore.tmp`); only once that copy is
//! complete does a second, uninterruptible helper swap it in with renames, recorded by
//! directory names so that a swap cut short by a dead engine is finished by the next run
//! ([`SETTLE`]). An interrupted copy leaves the old data as it was.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::RemoveVolumeOptionsBuilder;
use tokio::sync::watch;

use super::containers;
use super::helper::{self, VolumeMount};
use super::observe::engine_error;
use super::postgres;
use super::spec::{
    LABEL_CHECKOUT, LABEL_MANAGED, LABEL_SNAPSHOT, LABEL_SNAPSHOT_CREATED, LABEL_SNAPSHOT_OF,
    LABEL_SNAPSHOT_PROJECT, LABEL_SNAPSHOT_UPGRADE, snapshot_volume_name, volume_name,
};
use crate::error::Error;
use crate::model::{Mount, Service, Stack};

/// Where helpers mount the data volume and the snapshot volume.
const DATA: &str = "/devboot/data";
const SNAPSHOT: &str = "/devboot/snapshot";

/// Brings the data volume (the working directory) to a settled state after an interrupted
/// restore: a complete copy whose swap began (`.devboot-restore`, `.devboot-restore.swapping`)
/// is swapped in; an incomplete one (`.devboot-restore.tmp`) and replaced data
/// (`.devboot-old`) are removed. Every step can be repeated.
pub const SETTLE: &str = r"
if [ -d .devboot-restore ]; then
  mkdir -p .devboot-old
  find . -mindepth 1 -maxdepth 1 ! -name '.devboot-*' -exec mv {} .devboot-old/ \;
  mv .devboot-restore .devboot-restore.swapping
fi
if [ -d .devboot-restore.swapping ]; then
  find .devboot-restore.swapping -mindepth 1 -maxdepth 1 -exec mv {} . \;
  rmdir .devboot-restore.swapping
fi
rm -rf .devboot-restore.tmp .devboot-old
";

/// A snapshot volume of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub name: String,
    /// Its engine name.
    pub volume: String,
    /// The project volume it copies (`db-data`).
    pub of: String,
    /// When it was taken, in seconds since the Unix epoch.
    pub created: u64,
    /// Taken by `devboot db upgrade`: the majors (`15-17`).
    pub upgrade: Option<String>,
}

/// Size and completeness of a snapshot, as measured on its volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    pub bytes: u64,
    /// Its copy finished (one interrupted by a dead engine does not count).
    pub complete: bool,
}

/// The stack's database service and the name of its data volume: a Postgres service (see
/// [`postgres::data_volume`]) or a MySQL/MariaDB one with a volume at `/var/lib/mysql`.
pub fn database(stack: &Stack) -> Option<(&Service, &str)> {
    stack.services.values().find_map(|service| {
        if let Some((volume, _)) = postgres::data_volume(service) {
            return Some((service, volume));
        }
        let repository = service.image.repository.rsplit('/').next();
        let mysql = matches!(repository, Some("mysql" | "mariadb"))
            || service.environment.contains_key("MYSQL_ROOT_PASSWORD")
            || service.environment.contains_key("MARIADB_ROOT_PASSWORD");
        if !mysql {
            return None;
        }
        service.mounts.iter().find_map(|m| match m {
            Mount::Volume { name, target, .. }
                if target.trim_end_matches('/') == "/var/lib/mysql" =>
            {
                Some((service, name.as_str()))
            }
            _ => None,
        })
    })
}

/// Whether `name` may name a snapshot: it becomes part of a volume name.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The project's snapshots, oldest first.
pub async fn list(docker: &Docker, project: &str) -> Result<Vec<Snapshot>, Error> {
    let filter = format!("{LABEL_SNAPSHOT_PROJECT}={project}");
    let volumes = containers::volumes_labelled(docker, &filter).await?;
    let mut snapshots: Vec<Snapshot> = volumes
        .into_iter()
        .filter_map(|v| {
            Some(Snapshot {
                name: v.labels.get(LABEL_SNAPSHOT)?.clone(),
                of: v.labels.get(LABEL_SNAPSHOT_OF)?.clone(),
                created: v.labels.get(LABEL_SNAPSHOT_CREATED)?.parse().ok()?,
                upgrade: v.labels.get(LABEL_SNAPSHOT_UPGRADE).cloned(),
                volume: v.name,
            })
        })
        .collect();
    snapshots.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
    Ok(snapshots)
}

/// Measures every snapshot in one helper container of `image`.
pub async fn measure(
    docker: &Docker,
    project: &str,
    image: &str,
    snapshots: &[Snapshot],
) -> Result<Vec<Measured>, Error> {
    if snapshots.is_empty() {
        return Ok(Vec::new());
    }
    let targets: Vec<String> = (0..snapshots.len()).map(|i| format!("/s/{i}")).collect();
    let mounts: Vec<VolumeMount<'_>> = snapshots
        .iter()
        .zip(&targets)
        .map(|(s, target)| VolumeMount {
            volume: &s.volume,
            target,
            read_only: true,
        })
        .collect();
    let script = format!(
        "for i in $(seq 0 {}); do \
           echo \"$i $(du -sk /s/$i | cut -f1) $(test -e /s/$i/complete && echo yes || echo no)\"; \
         done",
        snapshots.len() - 1
    );
    let finished = helper::run(docker, project, image, &mounts, &script, None).await?;
    let mut measured = vec![
        Measured {
            bytes: 0,
            complete: false
        };
        snapshots.len()
    ];
    for line in &finished.output {
        let mut words = line.split_whitespace();
        if let (Some(Ok(i)), Some(Ok(kib)), Some(complete)) = (
            words.next().map(str::parse::<usize>),
            words.next().map(str::parse::<u64>),
            words.next(),
        ) && let Some(slot) = measured.get_mut(i)
        {
            *slot = Measured {
                bytes: kib * 1024,
                complete: complete == "yes",
            };
        }
    }
    Ok(measured)
}

/// Copies the project volume `volume` into a new snapshot volume `name` with a helper of
/// `image`. The database must be stopped. On failure or cancellation the snapshot volume is
/// removed again. `upgrade` marks the snapshot `devboot db upgrade` keeps (`15-17`).
#[expect(clippy::too_many_arguments, reason = "one snapshot's facts")]
pub async fn take(
    docker: &Docker,
    stack: &Stack,
    image: &str,
    volume: &str,
    name: &str,
    created: u64,
    upgrade: Option<&str>,
    cancel: watch::Receiver<bool>,
) -> Result<Snapshot, Error> {
    let project = &stack.project;
    let snapshot = Snapshot {
        name: name.to_owned(),
        volume: snapshot_volume_name(project, volume, name),
        of: volume.to_owned(),
        created,
        upgrade: upgrade.map(str::to_owned),
    };
    let mut labels = HashMap::from([
        (LABEL_MANAGED.to_owned(), "true".to_owned()),
        (LABEL_SNAPSHOT.to_owned(), name.to_owned()),
        (LABEL_SNAPSHOT_PROJECT.to_owned(), project.clone()),
        (LABEL_SNAPSHOT_OF.to_owned(), volume.to_owned()),
        (LABEL_SNAPSHOT_CREATED.to_owned(), created.to_string()),
        (LABEL_CHECKOUT.to_owned(), stack.root.display().to_string()),
    ]);
    if let Some(upgrade) = upgrade {
        labels.insert(LABEL_SNAPSHOT_UPGRADE.to_owned(), upgrade.to_owned());
    }
    let request = VolumeCreateRequest {
        name: Some(snapshot.volume.clone()),
        labels: Some(labels),
        ..VolumeCreateRequest::default()
    };
    docker
        .create_volume(request)
        .await
        .map_err(|e| engine_error(&format!("creating snapshot volume `{name}`"), &e))?;
    let data = volume_name(project, volume);
    let script = format!(
        "set -eu; cd {DATA}; {SETTLE}\n\
         mkdir {SNAPSHOT}/data && cp -a {DATA}/. {SNAPSHOT}/data/ && sync && touch {SNAPSHOT}/complete && sync"
    );
    let mounts = [
        VolumeMount {
            volume: &data,
            target: DATA,
            read_only: false,
        },
        VolumeMount {
            volume: &snapshot.volume,
            target: SNAPSHOT,
            read_only: false,
        },
    ];
    let copied = helper::run(docker, project, image, &mounts, &script, Some(cancel)).await;
    match copied {
        Ok(finished) if finished.code == 0 => Ok(snapshot),
        other => {
            remove(docker, &snapshot.volume).await?;
            Err(failed(other, &format!("taking snapshot `{name}`")))
        }
    }
}

/// Replaces the data of the project volume `volume` with the snapshot's, with helpers of
/// `image`. The database must be stopped. Cancelled or failed during the copy, the data stays
/// as it was; the swap itself is not cancelled.
pub async fn restore(
    docker: &Docker,
    project: &str,
    image: &str,
    volume: &str,
    snapshot: &Snapshot,
    cancel: watch::Receiver<bool>,
) -> Result<(), Error> {
    let action = format!("restoring snapshot `{}`", snapshot.name);
    stage(
        docker,
        project,
        image,
        volume,
        &snapshot.volume,
        &action,
        cancel,
    )
    .await?;
    swap(docker, project, image, volume, &snapshot.volume, &action).await
}

/// The mounts of a restore: the data volume and a volume laid out as a snapshot.
fn restore_mounts<'a>(data: &'a str, source: &'a str) -> [VolumeMount<'a>; 2] {
    [
        VolumeMount {
            volume: data,
            target: DATA,
            read_only: false,
        },
        VolumeMount {
            volume: source,
            target: SNAPSHOT,
            read_only: true,
        },
    ]
}

/// The first half of a restore: copies the complete snapshot-shaped volume `source` (`data/`
/// and the mark `complete`) into a staging directory of the project volume `volume`.
/// Cancelled or failed, the staging directory is removed and the data is as it was.
pub async fn stage(
    docker: &Docker,
    project: &str,
    image: &str,
    volume: &str,
    source: &str,
    action: &str,
    cancel: watch::Receiver<bool>,
) -> Result<(), Error> {
    let data = volume_name(project, volume);
    let mounts = restore_mounts(&data, source);
    let copy = format!(
        "set -eu; test -e {SNAPSHOT}/complete || {{ echo 'the snapshot is incomplete (its copy was cut short)'; exit 1; }}\n\
         cd {DATA}; {SETTLE}\n\
         mkdir .devboot-restore.tmp && cp -a {SNAPSHOT}/data/. .devboot-restore.tmp/ && sync"
    );
    let copied = helper::run(docker, project, image, &mounts, &copy, Some(cancel)).await;
    if !matches!(&copied, Ok(f) if f.code == 0) {
        // Whatever the copy left is a staging directory: settling removes it.
        let settle = format!("set -eu; cd {DATA}; {SETTLE}");
        helper::run(docker, project, image, &mounts, &settle, None).await?;
        return Err(failed(copied, action));
    }
    Ok(())
}

/// The second half of a restore, after [`stage`]: swaps the staged copy in with renames. Not
/// cancelled; one cut short by a dead engine is finished by the next restore ([`SETTLE`]).
pub async fn swap(
    docker: &Docker,
    project: &str,
    image: &str,
    volume: &str,
    source: &str,
    action: &str,
) -> Result<(), Error> {
    let data = volume_name(project, volume);
    let mounts = restore_mounts(&data, source);
    let swap = format!(
        "set -eu; cd {DATA}; mv .devboot-restore.tmp .devboot-restore; sync; {SETTLE} sync"
    );
    let swapped = helper::run(docker, project, image, &mounts, &swap, None).await;
    match swapped {
        Ok(finished) if finished.code == 0 => Ok(()),
        other => Err(failed(other, action)),
    }
}

/// Removes a snapshot volume; one already gone is fine.
pub async fn remove(docker: &Docker, volume: &str) -> Result<(), Error> {
    let options = RemoveVolumeOptionsBuilder::default().force(false).build();
    match docker.remove_volume(volume, Some(options)).await {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(error) => Err(engine_error(&format!("removing volume `{volume}`"), &error)),
    }
}

/// The error for a helper that did not finish with exit code 0.
pub(super) fn failed(outcome: Result<helper::Finished, Error>, action: &str) -> Error {
    match outcome {
        Err(error) => error,
        Ok(finished) => {
            let mut output = finished.output;
            output.drain(..output.len().saturating_sub(10));
            Error::Engine {
                action: action.to_owned(),
                message: format!(
                    "the helper container exited with code {}:\n  {}",
                    finished.code,
                    output.join("\n  ")
                ),
                hint: Some(
                    "the database's data was left as it was; `devboot doctor` checks the engine's disk space"
                        .to_owned(),
                ),
            }
        }
    }
}

/// A default snapshot name: the UTC time, `20261207-153000`.
pub fn default_name(unix_seconds: u64) -> String {
    let days = i64::try_from(unix_seconds / 86_400).unwrap_or_default();
    let seconds = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// How long ago `then` was, for listings: `45 s`, `12 min`, `3 h`, `2 days`.
pub fn age(now: u64, then: u64) -> String {
    let seconds = now.saturating_sub(then);
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        3600..86_400 => format!("{} h", seconds / 3600),
        _ if seconds < 2 * 86_400 => "1 day".to_owned(),
        _ => format!("{} days", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_the_postgres_or_mysql_service_with_a_data_volume() {
        let stack = crate::model::test_stack("extends = \"rails\"\n");
        let (service, volume) = database(&stack).unwrap();
        assert_eq!((service.name.as_str(), volume), ("db", "db-data"));
        let stack = crate::model::test_stack("extends = \"rails-mysql\"\n");
        let (service, volume) = database(&stack).unwrap();
        assert_eq!((service.name.as_str(), volume), ("db", "db-data"));
    }

    #[test]
    fn names_become_part_of_a_volume_name() {
        for good in ["before-migration", "v1.2", "20261207-153000", "a_b"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "-x", ".hidden", "a b", "a/b", "ü", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn default_names_are_the_utc_time() {
        assert_eq!(default_name(0), "19700101-000000");
        assert_eq!(default_name(951_868_800), "20000301-000000");
        assert_eq!(default_name(1_796_679_000 + 45), "20261207-213045");
    }

    #[test]
    fn ages_are_rounded_down_to_one_unit() {
        assert_eq!(age(100, 100), "0 s");
        assert_eq!(age(200, 100), "1 min");
        assert_eq!(age(100 + 7200, 100), "2 h");
        assert_eq!(age(100 + 86_400, 100), "1 day");
        assert_eq!(age(100 + 3 * 86_400, 100), "3 days");
        assert_eq!(age(0, 100), "0 s");
    }

    /// The settle script, run by `sh` on a directory in each state an interrupted restore can
    /// leave: never a mix of old and new data.
    #[test]
    fn settling_finishes_a_begun_swap_and_discards_an_unfinished_copy() {
        use std::fs;
        let run = |setup: &dyn Fn(&std::path::Path)| {
            let dir = tempfile::tempdir().unwrap();
            setup(dir.path());
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("set -eu; {SETTLE}"))
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
            let mut names: Vec<String> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let write = |dir: &std::path::Path, path: &str| {
            let path = dir.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "x").unwrap();
        };
        // A copy cut short: the old data stays.
        let interrupted_copy = run(&|d| {
            write(d, "old1");
            write(d, ".old-hidden");
            write(d, ".devboot-restore.tmp/new1");
        });
        assert_eq!(interrupted_copy, [".old-hidden", "old1"]);
        // A complete copy whose swap had begun (one old entry moved): the new data, only.
        let begun = run(&|d| {
            write(d, "old1");
            write(d, ".devboot-old/old2");
            write(d, ".devboot-restore/new1");
            write(d, ".devboot-restore/.new-hidden");
        });
        assert_eq!(begun, [".new-hidden", "new1"]);
        // Old data moved out, some new entries moved in.
        let swapping = run(&|d| {
            write(d, "new1");
            write(d, ".devboot-old/old1");
            write(d, ".devboot-restore.swapping/new2");
        });
        assert_eq!(swapping, ["new1", "new2"]);
        // Nothing to do.
        assert_eq!(run(&|d| write(d, "data")), ["data"]);
    }
}
