//! `ports.*`: every host port the stack publishes is free, and when one is taken, which
//! process holds it. A port held by Docker itself may be this project's own running container;
//! telling the two apart needs the engine (planned: `ports.free` will then pass ports its own
//! containers hold).

use super::super::check::{Check, Outcome, QUICK, Run};
use super::super::facts::Facts;
use crate::host::ports;
use crate::model::PortPolicy;

pub(super) const FREE: Check = Check {
    id: "ports.free",
    title: "Host ports the stack publishes are free",
    depends_on: &["profile.valid"],
    timeout: QUICK,
    run: Run::Blocking(free),
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

/// How the usual host services on a well-known port are stopped.
fn stop_examples(container_port: u16) -> &'static str {
    match container_port {
        5432 => {
            " (`brew services stop postgresql`, `sudo systemctl stop postgresql`, or quit Postgres.app)"
        }
        6379 => " (`brew services stop redis`, `sudo systemctl stop redis-server`)",
        3306 => " (`brew services stop mysql`, `sudo systemctl stop mysql`)",
        _ => "",
    }
}

fn free(facts: &Facts) -> Outcome {
    let Some(stack) = facts.stack() else {
        return Outcome::skipped("the profile did not load");
    };
    let mut published = Vec::new();
    let mut taken = Vec::new();
    let mut by_docker = Vec::new();
    let mut moved = Vec::new();
    for service in stack.services.values() {
        for mapping in &service.ports {
            published.push(mapping.host);
            if ports::is_free(mapping.host_ip, mapping.host) {
                continue;
            }
            let owner = ports::owner(mapping.host);
            let described = format!(
                "{} (`{}`, {}:{})",
                ports::describe_taken(mapping.host, owner.as_ref()),
                service.name,
                mapping.host_ip,
                mapping.host
            );
            if mapping.policy == PortPolicy::Auto {
                moved.push(format!(
                    "{described}; devboot publishes another port instead"
                ));
            } else if owner
                .as_ref()
                .is_some_and(|o| DOCKER_PROCESSES.contains(&o.process.as_str()))
            {
                by_docker.push((service.name.clone(), mapping.host, described));
            } else {
                taken.push((
                    service.name.clone(),
                    mapping.host,
                    mapping.container,
                    described,
                ));
            }
        }
    }
    if published.is_empty() {
        return Outcome::ok("the stack publishes no host port");
    }
    if taken.is_empty() && by_docker.is_empty() {
        let list = published
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        return Outcome::ok(format!("free: {list}")).details(moved);
    }
    let mut outcome = if let Some((_, _, _, described)) = taken.first() {
        let summary = if taken.len() == 1 {
            described.clone()
        } else {
            let ports: Vec<String> = taken.iter().map(|(_, p, _, _)| p.to_string()).collect();
            format!("{} host ports are taken: {}", taken.len(), ports.join(", "))
        };
        Outcome::error(summary)
    } else {
        let ports: Vec<String> = by_docker.iter().map(|(_, p, _)| p.to_string()).collect();
        Outcome::warn(format!(
            "published by Docker already: {} (this stack's own containers, or another project's)",
            ports.join(", ")
        ))
    };
    if taken.len() + by_docker.len() > 1 {
        outcome = outcome
            .details(taken.iter().map(|(_, _, _, d)| d.clone()))
            .details(by_docker.iter().map(|(_, _, d)| d.clone()));
    }
    outcome = outcome.details(moved);
    if let Some((service, port, container, _)) = taken.first() {
        let spare = port.saturating_add(10_000).max(1024);
        outcome = outcome
            .fix(format!("stop the program holding the port{}", stop_examples(*container)))
            .fix(format!(
                "or publish another host port: in devboot.local.toml, `[services.{service}]` `ports = [\"{spare}:{container}\"]`, or let devboot choose: `ports = [{{ container = {container}, policy = \"auto\" }}]`"
            ));
    }
    if !by_docker.is_empty() {
        outcome = outcome.fix_with(
            "see whether this stack is already running; otherwise stop the other project's containers",
            "devboot status; docker ps --format '{{.Names}}\\t{{.Ports}}'",
        );
    }
    outcome
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::super::super::check::Status;
    use super::super::testing::{PROFILE, Sandbox};
    use super::*;

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
        let outcome = free(&sandbox.facts());
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
        let outcome = free(&sandbox.facts());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(outcome.summary, format!("free: {port}"));
    }

    #[test]
    fn a_taken_auto_port_is_fine() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sandbox = Sandbox::new();
        project_publishing(&sandbox, port, "auto");
        let outcome = free(&sandbox.facts());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(outcome.details[0].contains("publishes another port"));
    }

    #[test]
    fn without_published_ports_there_is_nothing_to_check() {
        let sandbox = Sandbox::new();
        sandbox.write("devboot.toml", PROFILE);
        assert_eq!(
            free(&sandbox.facts()).summary,
            "the stack publishes no host port"
        );
    }
}
