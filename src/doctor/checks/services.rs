//! `postgres.*` and `redis.*`: the data services of the stack, asked from inside their running
//! containers — Postgres accepts connections (its own healthcheck, or `pg_isready`), its data
//! volume was initialised by the major version the image runs (`PG_VERSION` in the data
//! directory; when the server is not running, a throw-away container reads the volume, as
//! `devboot up` does before it starts one), and Redis answers `PING`.

use std::sync::Arc;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;

use super::super::check::{Check, Outcome, Run, SLOW, Status};
use super::super::engine::{ProjectState, exec};
use super::super::facts::Facts;
use super::stack::project_state;
use crate::engine::connect::Connection;
use crate::engine::postgres;
use crate::error::Error;
use crate::model::Service;

pub(super) const POSTGRES_READY: Check = Check {
    id: "postgres.ready",
    title: "Postgres accepts connections",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(postgres_ready),
    safe_fix: None,
};

pub(super) const POSTGRES_VOLUME_MAJOR: Check = Check {
    id: "postgres.volume_major",
    title: "The Postgres data volume matches the server's major version",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(postgres_volume_major),
    safe_fix: None,
};

pub(super) const REDIS_READY: Check = Check {
    id: "redis.ready",
    title: "Redis answers PING",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(redis_ready),
    safe_fix: None,
};

/// The last segment of a service's image repository: `postgres` for `127.0.0.1:5000/x/postgres`.
fn image_name(service: &Service) -> &str {
    service
        .image
        .repository
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

pub(super) fn is_postgres(service: &Service) -> bool {
    postgres::data_volume(service).is_some()
        || ["postgres", "postgis", "pgvector"]
            .iter()
            .any(|name| image_name(service).contains(name))
        || service.environment.contains_key("POSTGRES_PASSWORD")
}

fn is_redis(service: &Service) -> bool {
    ["redis", "valkey"]
        .iter()
        .any(|name| image_name(service).contains(name))
        || service
            .healthcheck
            .as_ref()
            .is_some_and(|h| h.test.iter().any(|t| t.contains("redis-cli")))
}

/// The stack's services of a kind, or the outcome when it has none.
fn services_of<'s>(
    state: &'s ProjectState,
    kind: &str,
    is: fn(&Service) -> bool,
) -> Result<Vec<&'s Service>, Outcome> {
    let services: Vec<&Service> = state.stack.services.values().filter(|s| is(s)).collect();
    if services.is_empty() {
        Err(Outcome::skipped(format!("the stack has no {kind} service")))
    } else {
        Ok(services)
    }
}

/// The project's state, its services of a kind and the engine connection — or the outcome
/// saying why those services cannot be checked.
async fn kind_to_check<'f>(
    facts: &'f Facts,
    kind: &str,
    is: fn(&Service) -> bool,
) -> Result<(&'f ProjectState, Vec<&'f Service>, &'f Connection), Outcome> {
    let state = project_state(facts).await?;
    let services = services_of(state, kind, is)?;
    let connection = facts
        .connection()
        .await
        .map_err(|_| Outcome::skipped("no engine"))?;
    Ok((state, services, connection))
}

fn not_running(service: &str) -> Outcome {
    Outcome::skipped(format!(
        "`{service}` is not running (see `stack.containers`)"
    ))
}

/// Combines per-service outcomes: one service's outcome as it is, several joined, the worst
/// status winning.
fn combine(outcomes: Vec<Outcome>) -> Outcome {
    if outcomes.len() == 1 {
        return outcomes
            .into_iter()
            .next()
            .unwrap_or_else(|| Outcome::skipped("nothing to check"));
    }
    let status = outcomes
        .iter()
        .map(|o| o.status)
        .filter(|s| *s != Status::Skipped)
        .max()
        .unwrap_or(Status::Skipped);
    let summary = outcomes
        .iter()
        .map(|o| o.summary.clone())
        .collect::<Vec<_>>()
        .join("; ");
    let mut combined = match status {
        Status::Ok => Outcome::ok(summary),
        Status::Warn => Outcome::warn(summary),
        Status::Error => Outcome::error(summary),
        Status::Skipped => Outcome::skipped(summary),
    };
    for outcome in outcomes {
        combined.details.extend(outcome.details);
        combined.fixes.extend(outcome.fixes);
    }
    combined
}

fn postgres_ready(facts: Arc<Facts>) -> BoxFuture<'static, Outcome> {
    async move {
        let (state, services, connection) =
            match kind_to_check(&facts, "Postgres", is_postgres).await {
                Ok(found) => found,
                Err(outcome) => return outcome,
            };
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
                    Err(error) => {
                        Outcome::error(format!("cannot run `{shown}` in `{name}`: {error}"))
                    }
                },
            );
        }
        combine(outcomes)
    }
    .boxed()
}

/// A command as a shell would show it.
fn shown_command(argv: &[String]) -> String {
    match argv {
        [sh, c, script] if sh == "sh" && c == "-c" => script.clone(),
        _ => argv.join(" "),
    }
}

fn postgres_volume_major(facts: Arc<Facts>) -> BoxFuture<'static, Outcome> {
    async move {
        let state = match project_state(&facts).await {
            Ok(state) => state,
            Err(outcome) => return outcome,
        };
        let Ok(connection) = facts.connection().await else {
            return Outcome::skipped("no engine");
        };
        let with_volume: Vec<(&Service, &str, &str)> = state
            .stack
            .services
            .values()
            .filter_map(|s| postgres::data_volume(s).map(|(volume, target)| (s, volume, target)))
            .collect();
        if with_volume.is_empty() {
            return Outcome::skipped("the stack has no Postgres service with a data volume");
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
                    let script = format!(
                        "cat \"${{PGDATA:-{target}}}/PG_VERSION\" 2>/dev/null || cat {target}/PG_VERSION 2>/dev/null || echo none; \
                         echo \"${{PG_MAJOR:-$(postgres --version 2>/dev/null | sed 's/[^0-9]*\\([0-9]*\\).*/\\1/')}}\""
                    );
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
                None => match postgres::check_major(&connection.docker, &state.stack.project, service).await {
                    Ok(()) => Outcome::ok(format!(
                        "`{volume}` holds no data of another major version than {} runs",
                        service.image
                    ))
                    .detail(format!("read from a throw-away container, since `{name}` is not running")),
                    Err(error @ Error::PostgresMajorMismatch { .. }) => mismatch(&error),
                    Err(error) => Outcome::warn(format!(
                        "cannot read `{volume}`'s PG_VERSION: {error}"
                    ))
                    .fix_with("pull or build the images first", "devboot up"),
                },
            };
            outcomes.push(outcome);
        }
        combine(outcomes)
    }
    .boxed()
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

fn redis_ready(facts: Arc<Facts>) -> BoxFuture<'static, Outcome> {
    async move {
        let (state, services, connection) = match kind_to_check(&facts, "Redis", is_redis).await {
            Ok(found) => found,
            Err(outcome) => return outcome,
        };
        let mut outcomes = Vec::new();
        for service in services {
            let name = &service.name;
            let Some(container) = state.running(name) else {
                outcomes.push(not_running(name));
                continue;
            };
            outcomes.push(match exec(&connection.docker, &container.id, &["redis-cli", "ping"]).await {
                Ok(output) => {
                    let text = output.text();
                    if text.contains("PONG") {
                        Outcome::ok(format!("`{name}` answers PING"))
                    } else if text.contains("NOAUTH") {
                        Outcome::ok(format!("`{name}` answers (it requires a password)"))
                    } else if text.contains("LOADING") {
                        Outcome::warn(format!("`{name}` is still loading its dataset"))
                            .fix("wait a moment; large datasets take a while to load")
                    } else {
                        Outcome::error(format!(
                            "`{name}` does not answer PING (`redis-cli ping` exited with code {})",
                            output.code
                        ))
                        .details(output.tail(5).into_iter().map(|l| format!("  {name} | {l}")))
                        .detail("`MISCONF` means Redis cannot write its snapshot: the disk is full or the volume is not writable")
                        .fix_with(
                            format!("read what Redis says in `{name}`'s log"),
                            format!("devboot logs {name} -n 100"),
                        )
                    }
                }
                Err(error) => Outcome::error(format!("cannot run `redis-cli ping` in `{name}`: {error}")),
            });
        }
        combine(outcomes)
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_services_are_recognised_by_image_and_healthcheck() {
        let stack = crate::model::test_stack("extends = \"rails\"\n");
        assert!(is_postgres(&stack.services["db"]));
        assert!(!is_postgres(&stack.services["redis"]));
        assert!(is_redis(&stack.services["redis"]));
        assert!(!is_redis(&stack.services["web"]));
        assert!(!is_postgres(&stack.services["web"]));
    }

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
        assert!(outcome.fixes[0].description.contains("pg_dumpall"));
    }

    #[test]
    fn several_outcomes_combine_with_the_worst_status() {
        let combined = combine(vec![
            Outcome::ok("a").detail("1"),
            Outcome::error("b").fix("do"),
            Outcome::skipped("c"),
        ]);
        assert_eq!(combined.status, Status::Error);
        assert_eq!(combined.summary, "a; b; c");
        assert_eq!(combined.details, ["1"]);
        assert_eq!(combined.fixes.len(), 1);
        assert_eq!(combine(vec![Outcome::skipped("x")]).status, Status::Skipped);
    }
}
