//! `postgres.shadowed`: the address the host side of the app uses for the database
//! (`DATABASE_URL` of the environment doctor runs in, of `.devboot/env`, and the `db` service's
//! published host port) is answered by the stack's Postgres container, not by a Postgres
//! installed on the host (or any other process) that holds the same port on localhost. Then
//! `psql`, `bin/rails` on the host and GUI clients talk to the wrong server: `password
//! authentication failed` with the right credentials, or the data is not there.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use bollard::models::ContainerInspectResponse;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::facts::Facts;
use crate::doctor::facts::ports::{engine_view, stop_examples};
use crate::doctor::facts::project::{is_postgres, project_state};
use crate::host::ports::{self, PortOwner};
use crate::render::HOST_ENV_FILE;

pub(super) const SHADOWED: Check = Check {
    id: "postgres.shadowed",
    title: "Nothing on the host shadows the stack's Postgres on localhost",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(shadowed(facts))),
    safe_fix: None,
};

/// A localhost port the host side of the app is told to reach Postgres at, and who says so.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    port: u16,
    /// "`DATABASE_URL` in .devboot/env", "the host port of `db`", ...
    source: String,
}

/// What holds a localhost port.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    /// Nothing listens.
    Nothing,
    /// The stack's own Postgres container publishes it.
    Stack(String),
    /// A container that is not the stack's Postgres: "container `x` of project `y`".
    Container(String),
    /// A host process (its name and pid, when visible).
    Process(Option<PortOwner>),
}

/// The port of a Postgres URL whose host is this machine's loopback: `None` for other hosts or
/// schemes.
fn localhost_port(url: &str) -> Option<u16> {
    let url = url.trim();
    let written = crate::urls::read(url)?;
    if !matches!(written.url.scheme(), "postgres" | "postgresql" | "postgis") {
        return None;
    }
    let host = url[written.host.clone()]
        .trim_start_matches('[')
        .trim_end_matches(']');
    let local = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !local {
        return None;
    }
    if written.has_port() {
        written.port
    } else {
        Some(5432)
    }
}

/// The value of `name` in a shell file as devboot renders it (`NAME='value'`, quotes as
/// `'\''`), or unquoted.
fn env_file_value(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix(name)?.strip_prefix('=')?;
        Some(
            match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                Some(quoted) => quoted.replace(r"'\''", "'"),
                None => value.trim_matches('"').to_owned(),
            },
        )
    })
}

/// The localhost ports the host side of the app uses for Postgres: the environment's
/// `DATABASE_URL`, that of `.devboot/env`, and the host ports the stack's Postgres services
/// publish (as `devboot up` assigns them now).
fn targets(
    env_url: Option<&str>,
    env_file: Option<&str>,
    published: &[(String, u16)],
) -> Vec<Target> {
    let mut found: Vec<Target> = Vec::new();
    let mut add = |port: u16, source: String| {
        if !found.iter().any(|t| t.port == port) {
            found.push(Target { port, source });
        }
    };
    if let Some(port) = env_url.and_then(localhost_port) {
        add(port, "DATABASE_URL in your environment".to_owned());
    }
    if let Some(port) = env_file
        .and_then(|text| env_file_value(text, "DATABASE_URL"))
        .as_deref()
        .and_then(localhost_port)
    {
        add(port, format!("DATABASE_URL in {HOST_ENV_FILE}"));
    }
    for (service, port) in published {
        add(*port, format!("the host port of `{service}`"));
    }
    found
}

/// The host ports a container publishes.
fn published_ports(inspected: &ContainerInspectResponse) -> Vec<u16> {
    inspected
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .into_iter()
        .flat_map(|ports| ports.values())
        .flatten()
        .flatten()
        .filter_map(|binding| binding.host_port.as_deref()?.parse().ok())
        .collect()
}

async fn shadowed(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let state = project_state(&facts).await?;
    let services: Vec<_> = state
        .stack
        .services
        .values()
        .filter(|s| is_postgres(s))
        .collect();
    if services.is_empty() {
        return Err(Outcome::skipped("the stack has no Postgres service"));
    }
    let published: Vec<(String, u16)> = services
        .iter()
        .flat_map(|s| {
            s.ports
                .iter()
                .filter(|p| p.host_ip.is_unspecified() || p.host_ip.is_loopback())
                .map(|p| (s.name.clone(), p.host))
        })
        .collect();
    let env_file = std::fs::read_to_string(state.stack.root.join(HOST_ENV_FILE)).ok();
    let targets = targets(facts.var("DATABASE_URL"), env_file.as_deref(), &published);
    if targets.is_empty() {
        return Err(Outcome::skipped(
            "no localhost address for Postgres: no published port, no DATABASE_URL at localhost",
        ));
    }
    // The running Postgres containers of the stack, by the host ports they publish.
    let mut own: BTreeMap<u16, String> = BTreeMap::new();
    for service in &services {
        if state.running(&service.name).is_none() {
            continue;
        }
        if let Some(inspected) = state.inspected.get(&service.name) {
            for port in published_ports(inspected) {
                own.insert(port, service.name.clone());
            }
        }
    }
    let taken: Vec<u16> = targets
        .iter()
        .map(|t| t.port)
        .filter(|&port| !ports::is_free(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
        .collect();
    let view = if taken.iter().any(|port| !own.contains_key(port)) {
        engine_view(&facts).await
    } else {
        None
    };
    let mut holders = BTreeMap::new();
    for port in taken {
        let holder = if let Some(service) = own.get(&port) {
            Holder::Stack(service.clone())
        } else if let Some(container) = view.as_ref().and_then(|v| v.others.get(&port)) {
            Holder::Container(container.clone())
        } else if view.as_ref().is_some_and(|v| v.own.contains(&port)) {
            Holder::Container("another container of this project".to_owned())
        } else {
            let owner = tokio::task::spawn_blocking(move || ports::owner(port))
                .await
                .ok()
                .flatten();
            Holder::Process(owner)
        };
        holders.insert(port, holder);
    }
    let running: Vec<(String, Vec<u16>)> = services
        .iter()
        .filter(|s| state.running(&s.name).is_some())
        .map(|s| {
            let ports = state
                .inspected
                .get(&s.name)
                .map(published_ports)
                .unwrap_or_default();
            (s.name.clone(), ports)
        })
        .collect();
    Ok(judge(&targets, &holders, &running, &state.stack.root))
}

/// Judges who answers at each target port. `holders` has the taken ports; `running` the stack's
/// running Postgres services with the host ports they publish.
fn judge(
    targets: &[Target],
    holders: &BTreeMap<u16, Holder>,
    running: &[(String, Vec<u16>)],
    root: &Path,
) -> Outcome {
    let mut fine = Vec::new();
    let mut shadows = Vec::new();
    for target in targets {
        match holders.get(&target.port).unwrap_or(&Holder::Nothing) {
            Holder::Nothing => fine.push(format!(
                "nothing listens on localhost:{} ({})",
                target.port, target.source
            )),
            Holder::Stack(service) => fine.push(format!(
                "localhost:{} ({}) is the stack's `{service}`",
                target.port, target.source
            )),
            Holder::Container(container) => shadows.push((
                target,
                format!("port {} is published by {container}", target.port),
                None,
            )),
            Holder::Process(owner) => shadows.push((
                target,
                ports::describe_taken(target.port, owner.as_ref()),
                owner.clone(),
            )),
        }
    }
    if shadows.is_empty() {
        return Outcome::ok(fine.join("; "));
    }
    let stack_at = if running.is_empty() {
        "the stack's Postgres is not running".to_owned()
    } else {
        running
            .iter()
            .map(|(service, ports)| match ports.as_slice() {
                [] => format!("the stack's `{service}` publishes no host port"),
                ports => format!(
                    "the stack's `{service}` answers at localhost:{}",
                    ports
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", localhost:")
                ),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let (first, holder, _) = &shadows[0];
    let mut outcome = Outcome::error(format!(
        "localhost:{} ({}) is not the stack's Postgres: {holder}",
        first.port, first.source
    ))
    .detail(format!(
        "{stack_at}; psql, `bin/rails` and database GUIs on this machine reach the other server instead: `password authentication failed` with the right password, or the data is missing"
    ));
    for (target, holder, _) in &shadows[1..] {
        outcome = outcome.detail(format!(
            "also localhost:{} ({}): {holder}",
            target.port, target.source
        ));
    }
    outcome.details.extend(fine);
    for (_, _, owner) in &shadows {
        if let Some(owner) = owner {
            outcome = outcome.fix_with(
                format!(
                    "stop `{}` if it is a Postgres installed on this machine{}",
                    owner.process,
                    stop_examples(5432)
                ),
                format!("kill {}", owner.pid),
            );
        }
    }
    if shadows
        .iter()
        .any(|(t, _, _)| t.source.contains(HOST_ENV_FILE))
    {
        outcome = outcome.fix_with(
            format!(
                "{HOST_ENV_FILE} names the port of an earlier `devboot up`: run it again to rewrite the file with the port the stack publishes now"
            ),
            "devboot up",
        );
    }
    if shadows
        .iter()
        .any(|(t, _, _)| t.source.contains("your environment"))
    {
        outcome = outcome.fix_with(
            "load the addresses the stack publishes into this shell (and drop the DATABASE_URL export from your shell's rc file)",
            format!("set -a; . {}; set +a", root.join(HOST_ENV_FILE).display()),
        );
    }
    outcome.fix(
        "or publish the database on another host port: `[services.db] ports = [{ container = 5432, policy = \"auto\" }]` in devboot.local.toml, then `devboot up`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;

    #[test]
    fn localhost_postgres_urls_give_their_port() {
        assert_eq!(
            localhost_port("postgres://u:p@127.0.0.1:15432/app"),
            Some(15432)
        );
        assert_eq!(localhost_port("postgresql://localhost/app"), Some(5432));
        assert_eq!(localhost_port("postgres://u@[::1]:6000/app"), Some(6000));
        assert_eq!(localhost_port("postgres://u:p@db:5432/app"), None);
        assert_eq!(localhost_port("redis://127.0.0.1:6379/0"), None);
        assert_eq!(localhost_port("postgres://127.0.0.1:x/app"), None);
        assert_eq!(
            localhost_port("postgres://app:Zx9/k+Q@127.0.0.1:15432/app"),
            Some(15432)
        );
    }

    #[test]
    fn targets_come_from_the_environment_the_env_file_and_the_published_ports() {
        let file = "# Generated by devboot\nCOMPOSE_PROJECT_NAME='shop'\nDATABASE_URL='postgres://postgres:it'\\''s@127.0.0.1:15432/app'\n";
        assert_eq!(
            env_file_value(file, "DATABASE_URL").as_deref(),
            Some("postgres://postgres:it's@127.0.0.1:15432/app")
        );
        let found = targets(
            Some("postgres://localhost:5432/app"),
            Some(file),
            &[("db".into(), 15432), ("db".into(), 25432)],
        );
        assert_eq!(
            found,
            [
                Target {
                    port: 5432,
                    source: "DATABASE_URL in your environment".into()
                },
                Target {
                    port: 15432,
                    source: "DATABASE_URL in .devboot/env".into()
                },
                Target {
                    port: 25432,
                    source: "the host port of `db`".into()
                },
            ]
        );
        assert!(targets(Some("postgres://db/app"), None, &[]).is_empty());
    }

    #[test]
    fn a_port_held_by_a_host_process_is_an_error_naming_it() {
        let targets = [
            Target {
                port: 15432,
                source: "DATABASE_URL in .devboot/env".into(),
            },
            Target {
                port: 25432,
                source: "the host port of `db`".into(),
            },
        ];
        let root = Path::new("/src/shop");
        let owner = PortOwner {
            pid: 4242,
            process: "postgres".into(),
        };
        let holders = BTreeMap::from([(15432, Holder::Process(Some(owner)))]);
        let outcome = judge(&targets, &holders, &[], root);
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "localhost:15432 (DATABASE_URL in .devboot/env) is not the stack's Postgres: port 15432 is in use by `postgres` (pid 4242)"
        );
        assert!(outcome.details[0].starts_with("the stack's Postgres is not running"));
        assert_eq!(outcome.fixes[0].command.as_deref(), Some("kill 4242"));
        assert_eq!(outcome.fixes[1].command.as_deref(), Some("devboot up"));

        let env_target = [Target {
            port: 5432,
            source: "DATABASE_URL in your environment".into(),
        }];
        let holders = BTreeMap::from([(
            5432,
            Holder::Container("container `pg` of project `other`".into()),
        )]);
        let outcome = judge(&env_target, &holders, &[("db".into(), vec![25432])], root);
        assert_eq!(outcome.status, Status::Error);
        assert!(outcome.details[0].starts_with("the stack's `db` answers at localhost:25432"));
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("set -a; . /src/shop/.devboot/env; set +a")
        );
    }

    #[test]
    fn the_stacks_own_container_or_a_free_port_is_fine() {
        let targets = [
            Target {
                port: 15432,
                source: "DATABASE_URL in .devboot/env".into(),
            },
            Target {
                port: 5432,
                source: "DATABASE_URL in your environment".into(),
            },
        ];
        let holders = BTreeMap::from([(15432, Holder::Stack("db".into()))]);
        let outcome = judge(
            &targets,
            &holders,
            &[("db".into(), vec![15432])],
            Path::new("/x"),
        );
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "localhost:15432 (DATABASE_URL in .devboot/env) is the stack's `db`; nothing listens on localhost:5432 (DATABASE_URL in your environment)"
        );
    }
}
