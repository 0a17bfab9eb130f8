//! `ports.*`: every host port the stack publishes is free, and when one is taken, by what — a
//! process (named with its pid), another project's container (named with its project), or
//! this project's own running container, which is fine. The ports are probed on the host;
//! the engine, when it answers, says which containers publish what.

use std::net::IpAddr;
use std::sync::Arc;

use crate::doctor::check::{Check, Outcome, QUICK, Run};
use crate::doctor::facts::Facts;
use crate::doctor::facts::ports::{EngineView, engine_view, stop_examples};
use crate::host::ports::{self, PortOwner};
use crate::model::PortPolicy;

/// The family's checks, in report order.
pub(super) const CHECKS: &[Check] = &[FREE];

const FREE: Check = Check {
    id: "ports.free",
    title: "Host ports the stack publishes are free",
    depends_on: &["profile.valid"],
    timeout: QUICK,
    run: Run::Async(|facts| Box::pin(free(facts))),
    safe_fix: None,
};

/// Processes through which Docker engines publish ports.
const DOCKER_PROCESSES: &[&str] = &[
    "docker-proxy",
    "dockerd",
    "com.docker.backend",
    "com.docker.backe",
    "vpnkit",
    "gvproxy",
    "rootlessport",
    "limactl",
];

/// A published port of the stack, as probed on the host.
#[derive(Debug, Clone)]
struct Probed {
    service: String,
    host_ip: IpAddr,
    host: u16,
    container: u16,
    policy: PortPolicy,
    /// Whether something holds it.
    taken: bool,
    /// The process holding it, when visible; looked up only for ports the engine does not
    /// account for (walking `/proc` costs more than everything else here).
    owner: Option<PortOwner>,
}

fn probe(facts: &Facts) -> Result<Vec<Probed>, Outcome> {
    let stack = facts
        .stack()
        .ok_or_else(|| Outcome::skipped("the profile did not load"))?;
    Ok(stack
        .services
        .values()
        .flat_map(|service| {
            service.ports.iter().map(|mapping| Probed {
                service: service.name.clone(),
                host_ip: mapping.host_ip,
                host: mapping.host,
                container: mapping.container,
                policy: mapping.policy,
                taken: !ports::is_free(mapping.host_ip, mapping.host),
                owner: None,
            })
        })
        .collect())
}

async fn free(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let probing = Arc::clone(&facts);
    let probed = tokio::task::spawn_blocking(move || probe(&probing))
        .await
        .unwrap_or_else(|error| {
            Err(Outcome::error(format!("probing the ports failed: {error}")))
        })?;
    // Only a taken port needs the engine's word on who holds it.
    let view = if probed.iter().any(|p| p.taken) {
        engine_view(&facts).await
    } else {
        None
    };
    // The processes behind the ports no container accounts for.
    let unexplained = |p: &Probed| {
        p.taken
            && !view
                .as_ref()
                .is_some_and(|v| v.own.contains(&p.host) || v.others.contains_key(&p.host))
    };
    let probed = if probed.iter().any(unexplained) {
        let lookup = probed.clone();
        let explained: Vec<bool> = probed.iter().map(|p| !unexplained(p)).collect();
        tokio::task::spawn_blocking(move || {
            lookup
                .into_iter()
                .zip(explained)
                .map(|(mut port, explained)| {
                    if !explained {
                        port.owner = ports::owner(port.host);
                    }
                    port
                })
                .collect()
        })
        .await
        .unwrap_or(probed)
    } else {
        probed
    };
    Ok(judge(&probed, view.as_ref()))
}

fn judge(probed: &[Probed], view: Option<&EngineView>) -> Outcome {
    if probed.is_empty() {
        return Outcome::ok("the stack publishes no host port");
    }
    let mut own = Vec::new();
    let mut taken = Vec::new();
    let mut by_docker = Vec::new();
    let mut moved = Vec::new();
    for port in probed {
        if !port.taken {
            continue;
        }
        let owner = &port.owner;
        if view.is_some_and(|v| v.own.contains(&port.host)) {
            own.push(format!("{} (this project's `{}`)", port.host, port.service));
            continue;
        }
        let container = view.and_then(|v| v.others.get(&port.host));
        let holder = match container {
            Some(container) => format!("port {} is published by {container}", port.host),
            None => ports::describe_taken(port.host, owner.as_ref()),
        };
        let described = format!(
            "{holder} (`{}`, {}:{})",
            port.service, port.host_ip, port.host
        );
        if port.policy == PortPolicy::Auto {
            moved.push(format!(
                "{described}; devboot publishes another port instead"
            ));
        } else if container.is_none()
            && owner
                .as_ref()
                .is_some_and(|o| DOCKER_PROCESSES.contains(&o.process.as_str()))
        {
            by_docker.push((port.host, described));
        } else {
            taken.push((port, described));
        }
    }
    if taken.is_empty() && by_docker.is_empty() {
        let free: Vec<String> = probed
            .iter()
            .filter(|p| !p.taken)
            .map(|p| p.host.to_string())
            .collect();
        let mut parts = Vec::new();
        if !free.is_empty() {
            parts.push(format!("free: {}", free.join(", ")));
        }
        if !own.is_empty() {
            parts.push(format!("in use by this stack: {}", own.join(", ")));
        }
        if parts.is_empty() {
            parts.push("every port is `auto`".to_owned());
        }
        return Outcome::ok(parts.join("; ")).details(moved);
    }
    let mut outcome = if let Some((_, described)) = taken.first() {
        let summary = if taken.len() == 1 {
            described.clone()
        } else {
            let ports: Vec<String> = taken.iter().map(|(p, _)| p.host.to_string()).collect();
            format!("{} host ports are taken: {}", taken.len(), ports.join(", "))
        };
        Outcome::error(summary)
    } else {
        let ports: Vec<String> = by_docker.iter().map(|(p, _)| p.to_string()).collect();
        Outcome::warn(format!(
            "published by Docker already: {} (this stack's own containers, or another project's; the engine did not say)",
            ports.join(", ")
        ))
    };
    if taken.len() + by_docker.len() > 1 {
        outcome = outcome
            .details(taken.iter().map(|(_, d)| d.clone()))
            .details(by_docker.iter().map(|(_, d)| d.clone()));
    }
    outcome = outcome.details(moved);
    if let Some((port, _)) = taken.first() {
        let spare = port.host.saturating_add(10_000).max(1024);
        let (service, container) = (&port.service, port.container);
        let is_container = view.is_some_and(|v| v.others.contains_key(&port.host));
        outcome = if is_container {
            outcome.fix_with(
                "see which containers publish it, and stop them (`devboot down` in their project)",
                "docker ps --format '{{.Names}}\t{{.Label \"com.docker.compose.project\"}}\t{{.Ports}}'",
            )
        } else {
            outcome.fix(format!(
                "stop the program holding the port{}",
                stop_examples(container)
            ))
        };
        outcome = outcome.fix(format!(
            "or publish another host port: in devboot.local.toml, `[services.{service}]` `ports = [\"{spare}:{container}\"]`, or let devboot choose: `ports = [{{ container = {container}, policy = \"auto\" }}]`"
        ));
    }
    if !by_docker.is_empty() {
        outcome = outcome.fix_with(
            "see whether this stack is already running; otherwise stop the other project's containers",
            "devboot status; docker ps --format '{{.Names}}\t{{.Ports}}'",
        );
    }
    outcome
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{PROFILE, Sandbox, run};

    fn project_publishing(sandbox: &Sandbox, port: u16, policy: &str) {
        sandbox.write(
            "devboot.toml",
            &format!(
                "{PROFILE}ports = [{{ container = 5432, host = {port}, policy = \"{policy}\" }}]\n"
            ),
        );
    }

    #[test]
    fn a_port_held_by_a_real_listener_is_reported_with_its_owner() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sandbox = Sandbox::new();
        project_publishing(&sandbox, port, "fixed");
        let outcome = run(&FREE, sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert!(
            outcome
                .summary
                .starts_with(&format!("port {port} is in use")),
            "{}",
            outcome.summary
        );
        assert!(outcome.summary.contains("`db`"), "{}", outcome.summary);
        if cfg!(target_os = "linux") {
            // This test process holds it, and /proc says so.
            assert!(
                outcome
                    .summary
                    .contains(&format!("pid {}", std::process::id())),
                "{}",
                outcome.summary
            );
        }
        assert!(
            outcome.fixes[0]
                .description
                .contains("systemctl stop postgresql")
        );
        assert!(outcome.fixes[1].description.contains("[services.db]"));
        assert!(
            outcome.details.is_empty(),
            "one port: the summary says it all"
        );

        drop(listener);
        let outcome = run(&FREE, sandbox.facts());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(outcome.summary, format!("free: {port}"));
    }

    #[test]
    fn a_taken_auto_port_is_fine() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sandbox = Sandbox::new();
        project_publishing(&sandbox, port, "auto");
        let outcome = run(&FREE, sandbox.facts());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(outcome.details[0].contains("publishes another port"));
    }

    #[test]
    fn without_published_ports_there_is_nothing_to_check() {
        let sandbox = Sandbox::new();
        sandbox.write("devboot.toml", PROFILE);
        assert_eq!(
            run(&FREE, sandbox.facts()).summary,
            "the stack publishes no host port"
        );
    }
}
