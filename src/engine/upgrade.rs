//! The engine's part of `devboot db upgrade`: a dump of every database by the old major's
//! server, and a new cluster of the new major restored from it, each in a helper container
//! (no network; the server listens on its socket only), with exact row counts of every table
//! before and after.
//!
//! Both images follow the official `postgres` image's contract: `docker-entrypoint.sh
//! postgres` initialises an empty `PGDATA` from `POSTGRES_*` (saying `init process complete`)
//! and runs the server; `PG_MAJOR` or `postgres --version` names its major.
//!
//! The work volume (`<project>_<volume>.upgrade`) is laid out as a snapshot: the dump in
//! `dump/` while it is made, the new cluster in `data/`, and the mark `complete` once the
//! restore finished, so `snapshots::stage` and `swap` put it in place of the old data.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::VolumeCreateRequest;
use tokio::sync::watch;

use super::helper::{self, VolumeMount};
use super::images::{self, PullFor};
use super::observe::engine_error;
use super::postgres::{IMAGE_MAJOR, data_dirs};
use super::progress::Reporter;
use super::snapshots::failed;
use super::spec::{LABEL_CHECKOUT, LABEL_HELPER, LABEL_MANAGED};
use crate::env::Environment;
use crate::error::Error;
use crate::model::{ImageRef, Service, Stack};
use crate::plan::db_upgrade::{RowCounts, parse_rows};

/// Where helpers mount the work volume and the old data volume.
const WORK: &str = "/devboot/work";
const DATA: &str = "/devboot/data";

/// The exit code of the dump helper when the image runs another major than the data's.
const WRONG_IMAGE: i64 = 3;

/// Shell functions both helpers use: starting the image's own entrypoint on `$PGDATA` (socket
/// only, its log in a file), waiting until it is ready, stopping it, SQL, and row counts.
const PRELUDE: &str = r#"set -eu
user=${POSTGRES_USER:-postgres}
log=/tmp/devboot-server.log
work=/devboot/work
dump=$work/dump
fail() { echo "$1"; tail -n 15 "$log" 2>/dev/null | sed 's/^/  server: /' || :; exit 1; }
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -U "$user" "$@"; }
start() {
  docker-entrypoint.sh postgres -c listen_addresses= >"$log" 2>&1 &
  pid=$!
  waited=0
  until { [ "$1" = existing ] || grep -q 'init process complete' "$log"; } && pg_isready -q -U "$user" -d postgres; do
    kill -0 "$pid" 2>/dev/null || fail "the Postgres server did not start"
    waited=$((waited + 1))
    [ "$waited" -lt 3000 ] || fail "the Postgres server was not ready within 5 minutes"
    sleep 0.1
  done
}
stop() { kill -TERM "$pid"; wait "$pid" || :; }
ROWS="SELECT json_build_object('database', current_database(), 'tables', coalesce(json_object_agg(format('%I.%I', n.nspname, c.relname), (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM ONLY %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint ORDER BY n.nspname, c.relname), '{}'::json)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'"
rows() { echo "devboot-rows $(sql -d "$1" -c "$ROWS" </dev/null)"; }
"#;

/// The old server on the old data: counts, then the roles and every database's dump.
const DUMP: &str = r#"
for d in @DIRS@; do
  if [ -s "$d/PG_VERSION" ]; then PGDATA=$d; break; fi
done
[ -s "${PGDATA:-}/PG_VERSION" ] || fail "no PG_VERSION in the data volume"
export PGDATA
image_major=@IMAGE_MAJOR@
if [ "$(cat "$PGDATA/PG_VERSION")" != "$image_major" ]; then
  echo "the image runs Postgres $image_major"; exit 3
fi
start existing
rm -rf "$dump"; mkdir -p "$dump"
sql -d postgres -c "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1" >"$dump/databases"
pg_dumpall -U "$user" --globals-only -f "$dump/globals.sql"
i=0
while IFS= read -r db; do
  i=$((i + 1))
  rows "$db"
  printf "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'db'" | sql -d postgres -v db="$db" >"$dump/$i.owner"
  pg_dump -U "$user" -Fc -d "$db" -f "$dump/$i.dump" </dev/null
done <"$dump/databases"
stop
sync
"#;

/// The new image on the work volume: a fresh cluster made by its entrypoint, the roles (but the
/// one the entrypoint made), every database restored, counts, and the mark `complete`.
const LOAD: &str = r#"
target=@TARGET@
case "$PGDATA" in "$target" | "$target"/*) ;; *) fail "PGDATA ($PGDATA) is not in the data volume ($target)" ;; esac
PGDATA="$work/data${PGDATA#"$target"}"
export PGDATA
rm -rf "$work/data" "$work/complete"
mkdir -p "$PGDATA"
chown -R postgres:postgres "$work/data"
start new
grep -v -F -x -e "CREATE ROLE $user;" -e "CREATE ROLE \"$user\";" "$dump/globals.sql" | sql -d postgres -f -
i=0
while IFS= read -r db; do
  i=$((i + 1))
  if [ -z "$(printf "SELECT 1 FROM pg_database WHERE datname = :'db'" | sql -d postgres -v db="$db")" ]; then
    printf 'CREATE DATABASE :"db" OWNER :"owner" TEMPLATE template0' |
      sql -d postgres -v db="$db" -v owner="$(cat "$dump/$i.owner")"
  fi
  pg_restore --exit-on-error -U "$user" -d "$db" "$dump/$i.dump" </dev/null
  rows "$db"
done <"$dump/databases"
stop
rm -rf "$dump"
sync
touch "$work/complete"
sync
"#;

/// The engine name of the work volume of an upgrade of `volume`.
pub fn work_volume_name(project: &str, volume: &str) -> String {
    format!("{project}_{volume}.upgrade")
}

/// Pulls `image` for `service` unless the engine has it.
pub async fn ensure_image(
    docker: &Docker,
    env: &Environment,
    service: &Service,
    image: &ImageRef,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    if docker.inspect_image(&image.to_string()).await.is_ok() {
        return Ok(());
    }
    let engine = images::engine_platform(docker).await;
    let target = PullFor {
        service: &service.name,
        named: service.platform.as_ref(),
        engine: engine.as_ref(),
    };
    images::pull(docker, env, image, target, reporter).await
}

/// Creates the (empty) work volume for an upgrade of `volume`, replacing one an interrupted
/// run left. It is no volume of the stack: it carries no Compose project label.
pub async fn create_work_volume(
    docker: &Docker,
    stack: &Stack,
    volume: &str,
) -> Result<String, Error> {
    let name = work_volume_name(&stack.project, volume);
    super::snapshots::remove(docker, &name).await?;
    let request = VolumeCreateRequest {
        name: Some(name.clone()),
        labels: Some(HashMap::from([
            (LABEL_MANAGED.to_owned(), "true".to_owned()),
            (LABEL_HELPER.to_owned(), stack.project.clone()),
            (LABEL_CHECKOUT.to_owned(), stack.root.display().to_string()),
        ])),
        ..VolumeCreateRequest::default()
    };
    docker
        .create_volume(request)
        .await
        .map_err(|e| engine_error(&format!("creating volume `{name}`"), &e))?;
    Ok(name)
}

/// The service's environment, as a container's.
fn environment(service: &Service) -> Vec<String> {
    service
        .environment
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect()
}

/// What went wrong in a helper: [`Error::Interrupted`], an image of the wrong major (a usage
/// error naming `--from`), or the helper's last lines.
fn helper_failed(outcome: Result<helper::Finished, Error>, action: &str, image: &str) -> Error {
    match outcome {
        Ok(finished) if finished.code == WRONG_IMAGE => Error::Usage {
            message: format!(
                "`{image}` cannot read the data: {}",
                finished.output.last().map_or("", String::as_str)
            ),
            hint: Some(
                "name the image that wrote the data: `devboot db upgrade --from IMAGE` (e.g. `postgres:15`)"
                    .into(),
            ),
        },
        other => failed(other, action),
    }
}

/// Dumps every database of the data volume `data` (engine name; the profile mounts it at
/// `target`) into the work volume with a server of `image`, and counts every table's rows
/// first. The old data is only read (the server starts and stops on it, as the service would).
pub async fn dump(
    docker: &Docker,
    stack: &Stack,
    service: &Service,
    (data, target): (&str, &str),
    work: &str,
    image: &ImageRef,
    cancel: watch::Receiver<bool>,
) -> Result<RowCounts, Error> {
    // The profile's `PGDATA` first, moved to where this helper mounts the volume.
    let mut dirs = String::new();
    if let Some(relative) = service
        .environment
        .get("PGDATA")
        .and_then(|p| std::path::Path::new(p).strip_prefix(target).ok())
    {
        dirs = crate::shell::shell_word(&format!("{DATA}/{}", relative.display()));
        dirs.push(' ');
    }
    dirs.push_str(&data_dirs(DATA));
    let script = format!(
        "{PRELUDE}{}",
        DUMP.replace("@DIRS@", &dirs)
            .replace("@IMAGE_MAJOR@", &format!("\"{IMAGE_MAJOR}\""))
    );
    let mounts = [
        VolumeMount {
            volume: data,
            target: DATA,
            read_only: false,
        },
        VolumeMount {
            volume: work,
            target: WORK,
            read_only: false,
        },
    ];
    let mut env = environment(service);
    env.retain(|e| !e.starts_with("PGDATA="));
    let image_name = image.to_string();
    let finished = helper::run_with_env(
        docker,
        &stack.project,
        &image_name,
        &mounts,
        &env,
        &script,
        Some(cancel),
    )
    .await;
    rows_of(finished, "dumping the databases", &image_name)
}

/// Initialises a new cluster with `image` (the service's environment, `PGDATA` where the
/// image or profile puts it below the volume's `target`) in the work volume, restores the
/// dump into it, counts every table's rows, and marks it complete.
pub async fn load(
    docker: &Docker,
    stack: &Stack,
    service: &Service,
    target: &str,
    work: &str,
    image: &ImageRef,
    cancel: watch::Receiver<bool>,
) -> Result<RowCounts, Error> {
    let script = format!(
        "{PRELUDE}{}",
        LOAD.replace("@TARGET@", &crate::shell::shell_word(target))
    );
    let mounts = [VolumeMount {
        volume: work,
        target: WORK,
        read_only: false,
    }];
    let image_name = image.to_string();
    let finished = helper::run_with_env(
        docker,
        &stack.project,
        &image_name,
        &mounts,
        &environment(service),
        &script,
        Some(cancel),
    )
    .await;
    rows_of(finished, "restoring into the new server", &image_name)
}

fn rows_of(
    finished: Result<helper::Finished, Error>,
    action: &str,
    image: &str,
) -> Result<RowCounts, Error> {
    match finished {
        Ok(finished) if finished.code == 0 => parse_rows(&finished.output).map_err(Error::Internal),
        other => Err(helper_failed(other, action, image)),
    }
}
