//! `postgres.*`: the stack's Postgres services, asked from inside their running containers —
//! Postgres accepts connections (its own healthcheck, or `pg_isready`), its data volume was
//! initialised by the major version the image runs (`PG_VERSION` in the data directory; when
//! the server is not running, a throw-away container reads the volume, as `devboot up` does
//! before it starts one), and it accepts the user and password the profile configures (a
//! volume initialised earlier keeps the credentials it was created with). Whether something on
//! the host shadows it on localhost is `postgres.shadowed` ([`shadowed`]).

mod shadowed;

use std::sync::Arc;

use bollard::models::ContainerInspectResponse;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::engine::exec;
use crate::doctor::facts::Facts;
use crate::doctor::facts::project::{is_postgres, kind_to_check, not_running, project_state};
use crate::doctor::facts::time::parse_rfc3339;
use crate::engine::postgres;
use crate::error::Error;
use crate::model::Service;

/// The family's checks, in report order.
pub(super) const CHECKS: &[Check] = &[READY, VOLUME_MAJOR, CREDENTIALS, shadowed::SHADOWED];

const READY: Check = Check {
    id: "postgres.ready",
    title: "Postgres accepts connections",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(postgres_ready(facts))),
    safe_fix: None,
};

const VOLUME_MAJOR: Check = Check {
    id: "postgres.volume_major",
    title: "The Postgres data volume matches the server's major version",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(postgres_volume_major(facts))),
    safe_fix: None,
};

const CREDENTIALS: Check = Check {
    id: "postgres.credentials",
    title: "Postgres accepts the configured user and password",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(postgres_credentials(facts))),
    safe_fix: None,
};

async fn postgres_ready(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let (state, services, connection) = kind_to_check(&facts, "Postgres", is_postgres).await?;
    let mut outcomes = Vec::new();
    for service in services {
        let name = &service.name;
        let Some(container) = state.running(name) else {
            outcomes.push(not_running(name));
            continue;
        };
        let argv: Vec<String> = if let Some(healthcheck) = &service.healthcheck {
            healthcheck.command()
        } else {
            let user = service
                .environment
                .get("POSTGRES_USER")
                .map_or("postgres", String::as_str);
            vec![
                "pg_isready".into(),
                "-U".into(),
                user.into(),
                "-h".into(),
                "127.0.0.1".into(),
            ]
        };
        let argv_refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let shown = shown_command(&argv);
        outcomes.push(
            match exec(&connection.docker, &container.id, &argv_refs).await {
                Ok(output) if output.code == 0 => {
                    Outcome::ok(format!("`{name}` accepts connections (`{shown}`)"))
                }
                Ok(output) => Outcome::error(format!(
                    "`{name}` does not accept connections: `{shown}` exited with code {}",
                    output.code
                ))
                .details(
                    output
                        .tail(5)
                        .into_iter()
                        .map(|l| format!("  {name} | {l}")),
                )
                .fix_with(
                    format!("read what Postgres says in `{name}`'s log"),
                    format!("devboot logs {name} -n 100"),
                )
                .fix_with("restart it", format!("docker restart {}", container.name)),
                Err(error) => Outcome::error(format!("cannot run `{shown}` in `{name}`: {error}")),
            },
        );
    }
    Ok(Outcome::combine(outcomes))
}

/// A command as a shell would show it.
fn shown_command(argv: &[String]) -> String {
    match argv {
        [sh, c, script] if sh == "sh" && c == "-c" => script.clone(),
        _ => argv.join(" "),
    }
}

async fn postgres_volume_major(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let state = project_state(&facts).await?;
    let connection = facts
        .connection()
        .await
        .map_err(|_| Outcome::skipped("no engine"))?;
    let with_volume: Vec<(&Service, &str, &str)> = state
        .stack
        .services
        .values()
        .filter_map(|s| postgres::data_volume(s).map(|(volume, target)| (s, volume, target)))
        .collect();
    if with_volume.is_empty() {
        return Err(Outcome::skipped(
            "the stack has no Postgres service with a data volume",
        ));
    }
    let mut outcomes = Vec::new();
    for (service, volume, target) in with_volume {
        let name = &service.name;
        if !state.observed.volumes.contains(volume) {
            outcomes.push(Outcome::ok(format!(
                "`{volume}` does not exist yet; `devboot up` initialises it with {}",
                service.image
            )));
            continue;
        }
        let outcome = match state.running(name) {
            Some(container) => {
                let script = postgres::majors_script(target);
                match exec(&connection.docker, &container.id, &["sh", "-c", &script]).await {
                    Ok(output) => {
                        let data = output.lines.first().map_or("", |l| l.trim());
                        let server = output.lines.get(1).map_or("", |l| l.trim());
                        major_outcome(service, volume, data, server)
                    }
                    Err(error) => Outcome::warn(format!(
                        "cannot read `{volume}`'s PG_VERSION in `{name}`: {error}"
                    )),
                }
            }
            // Not running (perhaps because of this very problem): read the volume from a
            // throw-away container of the image, as `devboot up` does.
            None => match postgres::check_major(&connection.docker, &state.stack.project, service)
                .await
            {
                Ok(()) => Outcome::ok(format!(
                    "`{volume}` holds no data of another major version than {} runs",
                    service.image
                ))
                .detail(format!(
                    "read from a throw-away container, since `{name}` is not running"
                )),
                Err(error @ Error::PostgresMajorMismatch { .. }) => mismatch(&error),
                Err(error) => {
                    Outcome::warn(format!("cannot read `{volume}`'s PG_VERSION: {error}"))
                        .fix_with("pull or build the images first", "devboot up")
                }
            },
        };
        outcomes.push(outcome);
    }
    Ok(Outcome::combine(outcomes))
}

/// Compares the major version that initialised the data (`data`, or `none`) with the one the
/// server runs (`server`).
fn major_outcome(service: &Service, volume: &str, data: &str, server: &str) -> Outcome {
    if data == "none" || data.is_empty() {
        return Outcome::ok(format!("`{volume}` holds no Postgres data yet"));
    }
    if server.is_empty() {
        return Outcome::ok(format!(
            "`{volume}` holds Postgres {data} data (the server's version did not show)"
        ));
    }
    if data == server {
        return Outcome::ok(format!(
            "`{volume}` holds Postgres {data} data; `{}` runs Postgres {server}",
            service.name
        ));
    }
    mismatch(&Error::PostgresMajorMismatch {
        volume: volume.to_owned(),
        data_major: data.to_owned(),
        image: service.image.to_string(),
        image_major: server.to_owned(),
    })
}

fn mismatch(error: &Error) -> Outcome {
    let outcome = Outcome::error(error.to_string())
        .detail("Postgres refuses to start on it: `FATAL: database files are incompatible with server`, and the container restarts in a loop");
    let outcome = match error.hint() {
        Some(hint) => outcome.fix(hint),
        None => outcome,
    };
    outcome.fix("never `devboot down --volumes` to get past this unless the data is disposable: it deletes the database")
}

/// What Postgres prints when its data directory already holds a cluster: the image's
/// `POSTGRES_USER` / `POSTGRES_PASSWORD` are then ignored.
const SKIPPED_INIT: &str = "Skipping initialization";

/// How trying the configured credentials went.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Auth {
    Accepted,
    /// The server refused the password (or the user); the line that says so.
    Refused(String),
    /// Something else failed: the exit code and the last lines.
    Untested(i64, Vec<String>),
}

impl Auth {
    /// Reads `psql`'s exit code and output.
    fn of(code: i64, lines: &[String]) -> Self {
        if code == 0 {
            return Self::Accepted;
        }
        let refused = lines.iter().find(|l| {
            l.contains("password authentication failed")
                || (l.contains("role \"") && l.contains("does not exist"))
        });
        match refused {
            Some(line) => Self::Refused(
                line.trim()
                    .trim_start_matches("psql: ")
                    .trim_start_matches("error: ")
                    .to_owned(),
            ),
            None => Self::Untested(code, lines.to_vec()),
        }
    }
}

/// One Postgres service as tried: its name, container, user, and what happened.
struct Tried<'a> {
    service: &'a str,
    container: &'a str,
    user: &'a str,
    auth: Auth,
    /// Its log says the data directory was initialised before this container started.
    skipped_init: bool,
    /// The container was created with another password than the profile sets now.
    container_differs: bool,
}

fn credentials_outcome(tried: &Tried<'_>) -> Outcome {
    let Tried {
        service,
        container,
        user,
        ..
    } = *tried;
    match &tried.auth {
        Auth::Accepted => Outcome::ok(format!(
            "`{service}` accepts user `{user}` with the configured POSTGRES_PASSWORD"
        )),
        Auth::Untested(code, lines) => Outcome::warn(format!(
            "cannot try the configured credentials in `{service}`: `psql` exited with code {code}"
        ))
        .details(
            lines
                .iter()
                .rev()
                .take(5)
                .rev()
                .map(|l| format!("  {service} | {l}")),
        ),
        Auth::Refused(line) => {
            let mut outcome = if tried.skipped_init {
                Outcome::error(format!(
                    "`{service}` refuses user `{user}` with the configured POSTGRES_PASSWORD: its data volume was initialised with other credentials"
                ))
                .detail(format!("the volume held a database before `{service}` was created, so its entrypoint skipped initialisation (the official image logs `PostgreSQL Database directory appears to contain a database; {SKIPPED_INIT}`): POSTGRES_USER and POSTGRES_PASSWORD only take effect on an empty volume, so changing them later changes nothing in the database"))
            } else {
                Outcome::error(format!(
                    "`{service}` refuses user `{user}` with the configured POSTGRES_PASSWORD"
                ))
                .detail("the password was changed inside the database (ALTER USER), or the volume holds data from an earlier setup")
            };
            outcome = outcome.detail(format!("Postgres says: {line}"));
            if tried.container_differs {
                outcome = outcome.detail(format!(
                    "`{service}` was created with another POSTGRES_PASSWORD than the profile sets now; recreating it (`devboot up`) does not change the password stored in the volume"
                ));
            }
            outcome
                .detail("the app fails with `FATAL: password authentication failed for user`")
                .fix_with(
                    format!("keep the data: set `{user}`'s password in the database to the configured POSTGRES_PASSWORD (psql asks for it and runs ALTER USER … PASSWORD); if `{user}` does not exist yet, `CREATE ROLE {user} LOGIN SUPERUSER` first, as the user that created the volume"),
                    format!("docker exec -it {container} psql -U {user} -d postgres -c '\\password {user}'"),
                )
                .fix_with(
                    "or, if the data is disposable, start over with an empty volume initialised with the configured credentials (this deletes the database)",
                    "devboot down --volumes && devboot up",
                )
        }
    }
}

/// Whether the container's log says Postgres found an existing cluster when it started.
async fn skipped_initialization(docker: &bollard::Docker, id: &str) -> bool {
    use futures_util::StreamExt as _;
    let options = bollard::query_parameters::LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail("all")
        .build();
    let mut stream = docker.logs(id, Some(options));
    let mut carry = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        carry.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        if carry.contains(SKIPPED_INIT) {
            return true;
        }
        // Keep only what may start the phrase in the next chunk.
        let keep = carry.len().saturating_sub(SKIPPED_INIT.len());
        let keep = (keep..=carry.len())
            .find(|i| carry.is_char_boundary(*i))
            .unwrap_or(carry.len());
        carry.drain(..keep);
    }
    false
}

/// Whether the data directory's `PG_VERSION` was written before the container was created:
/// the entrypoint then found a cluster and skipped initialisation (also for images that do not
/// log it).
async fn data_predates(
    docker: &bollard::Docker,
    id: &str,
    inspected: Option<&ContainerInspectResponse>,
) -> bool {
    let Some(created) = inspected
        .and_then(|i| i.created.as_deref())
        .and_then(parse_rfc3339)
    else {
        return false;
    };
    let script = "stat -c %Y \"${PGDATA:-/var/lib/postgresql/data}/PG_VERSION\"";
    let Ok(output) = exec(docker, id, &["sh", "-c", script]).await else {
        return false;
    };
    let written = output
        .lines
        .first()
        .and_then(|l| l.trim().parse::<i128>().ok());
    output.code == 0 && written.is_some_and(|seconds| (seconds + 1) * 1_000_000_000 < created)
}

/// The container's address on one of its networks (Postgres trusts connections from inside
/// the container to 127.0.0.1, so the password is only asked for on this one).
fn container_address(inspected: Option<&ContainerInspectResponse>) -> Option<String> {
    inspected?
        .network_settings
        .as_ref()?
        .networks
        .as_ref()?
        .values()
        .filter_map(|n| n.ip_address.clone())
        .find(|ip| !ip.is_empty())
}

fn container_env<'i>(
    inspected: Option<&'i ContainerInspectResponse>,
    key: &str,
) -> Option<&'i str> {
    inspected?
        .config
        .as_ref()?
        .env
        .as_ref()?
        .iter()
        .find_map(|e| e.strip_prefix(key)?.strip_prefix('='))
}

async fn postgres_credentials(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let (state, services, connection) = kind_to_check(&facts, "Postgres", is_postgres).await?;
    let mut outcomes = Vec::new();
    for service in services {
        let name = &service.name;
        let Some(container) = state.running(name) else {
            outcomes.push(not_running(name));
            continue;
        };
        let Some(password) = service.environment.get("POSTGRES_PASSWORD") else {
            outcomes.push(Outcome::skipped(format!(
                "`{name}` sets no POSTGRES_PASSWORD (no password to check)"
            )));
            continue;
        };
        let user = service
            .environment
            .get("POSTGRES_USER")
            .map_or("postgres", String::as_str);
        let inspected = state.inspected.get(name);
        let Some(address) = container_address(inspected) else {
            outcomes.push(Outcome::skipped(format!(
                "`{name}` has no network address to connect to"
            )));
            continue;
        };
        let secret = format!("PGPASSWORD={password}");
        let argv = [
            "env",
            secret.as_str(),
            "PGCONNECT_TIMEOUT=5",
            "psql",
            "-h",
            &address,
            "-U",
            user,
            "-d",
            "postgres",
            "-tAc",
            "select 1",
        ];
        let auth = match exec(&connection.docker, &container.id, &argv).await {
            Ok(output) => Auth::of(output.code, &output.lines),
            Err(error) => {
                outcomes.push(Outcome::warn(format!(
                    "cannot run `psql` in `{name}`: {error}"
                )));
                continue;
            }
        };
        let skipped_init = matches!(auth, Auth::Refused(_))
            && (skipped_initialization(&connection.docker, &container.id).await
                || data_predates(&connection.docker, &container.id, inspected).await);
        let container_differs =
            container_env(inspected, "POSTGRES_PASSWORD").is_some_and(|p| p != password);
        outcomes.push(credentials_outcome(&Tried {
            service: name,
            container: &container.name,
            user,
            auth,
            skipped_init,
            container_differs,
        }));
    }
    Ok(Outcome::combine(outcomes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;

    #[test]
    fn majors_are_compared() {
        let stack = crate::model::test_stack("extends = \"rails\"\n");
        let db = &stack.services["db"];
        assert_eq!(major_outcome(db, "db-data", "16", "16").status, Status::Ok);
        assert_eq!(
            major_outcome(db, "db-data", "none", "16").status,
            Status::Ok
        );
        let outcome = major_outcome(db, "db-data", "14", "16");
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.summary,
            "volume `db-data` holds Postgres 14 data, but `postgres:16` runs Postgres 16"
        );
        assert!(outcome.fixes[0].description.contains("devboot db upgrade"));
    }

    #[test]
    fn refused_credentials_on_a_volume_initialised_before_are_an_error_with_both_fixes() {
        let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(Auth::of(0, &lines(" 1")), Auth::Accepted);
        let refused = Auth::of(
            2,
            &lines(
                "psql: error: connection to server at \"172.18.0.2\", port 5432 failed: FATAL:  password authentication failed for user \"postgres\"",
            ),
        );
        assert!(
            matches!(&refused, Auth::Refused(line) if line.starts_with("connection to server at"))
        );
        assert!(matches!(
            Auth::of(127, &lines("env: 'psql': No such file or directory")),
            Auth::Untested(127, _)
        ));

        let tried = |auth: Auth, skipped_init: bool| Tried {
            service: "db",
            container: "shop-db-1",
            user: "postgres",
            auth,
            skipped_init,
            container_differs: true,
        };
        let outcome = credentials_outcome(&tried(refused.clone(), true));
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.summary,
            "`db` refuses user `postgres` with the configured POSTGRES_PASSWORD: its data volume was initialised with other credentials"
        );
        assert!(
            outcome.details[0].contains("Skipping initialization"),
            "{:?}",
            outcome.details
        );
        assert!(
            outcome
                .details
                .iter()
                .any(|d| d.contains("created with another POSTGRES_PASSWORD"))
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("docker exec -it shop-db-1 psql -U postgres -d postgres -c '\\password postgres'")
        );
        assert!(outcome.fixes[0].description.contains("ALTER USER"));
        assert_eq!(
            outcome.fixes[1].command.as_deref(),
            Some("devboot down --volumes && devboot up")
        );

        let changed_inside = credentials_outcome(&tried(refused, false));
        assert_eq!(changed_inside.status, Status::Error);
        assert!(changed_inside.details[0].contains("ALTER USER"));
        assert_eq!(
            credentials_outcome(&tried(Auth::Accepted, true)).status,
            Status::Ok
        );
        assert_eq!(
            credentials_outcome(&tried(Auth::Untested(127, vec![]), false)).status,
            Status::Warn
        );
    }
}
