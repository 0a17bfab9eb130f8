//! The fixture stack on Podman: `up`, `status`, `down` and `doctor` through the Docker-compatible
//! API of a rootful `podman system service`, which `scripts/test-env up` starts beside the
//! Docker engine (its own socket, storage and networks). Podman differs from Docker where it
//! matters to devboot: healthchecks run only from systemd timers (none here), networks are
//! netavark bridges, and `/version` names a `Podman Engine` component.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::common::{TestProject, parts_required, run};
use crate::report::{expect, one_json, summary};
use crate::stack::{AUTO_PORTS, EngineProject, http};

/// The socket `scripts/test-env up` gives the Podman service (in its state directory).
fn podman_socket() -> PathBuf {
    let state = std::env::var_os("DEVBOOT_TEST_STATE").map_or_else(
        || {
            std::env::var_os("XDG_STATE_HOME")
                .map_or_else(
                    || PathBuf::from(std::env::var_os("HOME").unwrap()).join(".local/state"),
                    PathBuf::from,
                )
                .join("devboot-test-env")
        },
        PathBuf::from,
    );
    state.join("podman/podman.sock")
}

/// Podman's version when its service answers at `host`.
fn podman_version(host: &str) -> Option<String> {
    let out = run(Command::new("docker")
        .env_remove("DOCKER_CONTEXT")
        .env("DOCKER_HOST", host)
        .args(["version", "--format", "{{.Server.Version}}"]));
    (out.code == 0).then(|| out.stdout.trim().to_owned())
}

/// `DOCKER_HOST` of the Podman service and Podman's version; `None` (skip) when it does not
/// answer — a failure when parts are required.
fn require_podman() -> Option<(String, String)> {
    let host = format!("unix://{}", podman_socket().display());
    let version = podman_version(&host);
    if version.is_none() {
        assert!(
            !parts_required(),
            "no Podman service answers at {host}, and CI=true requires one (run `scripts/test-env up` as root)"
        );
        eprintln!(
            "skipping: no Podman service at {host} (`scripts/test-env up` starts one as root)"
        );
    }
    Some(host).zip(version)
}

#[test]
fn the_fixture_stack_runs_on_podman() {
    let Some((host, _)) = require_podman() else {
        return;
    };
    let stack = EngineProject::new("podman", AUTO_PORTS).on_engine(&host);
    // The app images earlier runs built (one per run) only take Podman's space.
    let earlier = stack.docker(&[
        "images",
        "-q",
        "--filter",
        "reference=devboot-test-podman-*-web",
    ]);
    for image in earlier.lines() {
        stack.docker(&["rmi", image]);
    }
    // Pull for real: drop Podman's copies of the registry's images.
    stack.docker(&[
        "rmi",
        "127.0.0.1:5000/devboot/postgres:15",
        "127.0.0.1:5000/devboot/redis:7",
    ]);

    let started = Instant::now();
    let first = stack.up();
    let cold = started.elapsed();
    for pulled in ["postgres:15", "redis:7"] {
        assert!(
            first
                .stderr
                .contains(&format!("Pulled 127.0.0.1:5000/devboot/{pulled}")),
            "{}",
            first.stderr
        );
    }
    assert!(first.stderr.contains("Built web"), "{}", first.stderr);
    assert!(
        first.stderr.contains("bin/rails db:prepare"),
        "{}",
        first.stderr
    );

    // Podman ran the healthchecks (devboot asked it to: there are no systemd timers here).
    let status = stack.status();
    let services = status["services"].as_array().unwrap();
    assert_eq!(services.len(), 3, "{status:#}");
    for service in services {
        assert_eq!(service["state"], "running", "{service}");
        assert_eq!(service["health"], "healthy", "{service}");
    }
    // Ports published by Podman (netavark) on this host, and services finding each other by
    // name on the project's network (aardvark-dns).
    let web = stack.host_port("web");
    assert_eq!(http("GET", web, "/"), (200, "notes=0 visits=1".to_owned()));
    assert_eq!(
        http("POST", web, "/notes?body=podman"),
        (200, "notes=1".to_owned())
    );

    let before = stack.container_ids();
    assert_eq!(before.len(), 3, "{before:?}");
    let started = Instant::now();
    let again = stack.up();
    let no_op = started.elapsed();
    assert!(again.stderr.contains("Up to date"), "{}", again.stderr);
    assert_eq!(stack.container_ids(), before);
    eprintln!(
        "podman: cold up {:.1}s, no-op up {:.1}s",
        cold.as_secs_f64(),
        no_op.as_secs_f64()
    );

    let down = stack.devboot(&["down"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(down.stderr.contains("Kept"), "{}", down.stderr);
    assert!(stack.container_ids().is_empty());
    let networks = stack.docker(&[
        "network",
        "ls",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={}", stack.name),
    ]);
    assert!(networks.trim().is_empty(), "{networks}");

    // The data survived on Podman's volume.
    stack.up();
    let (code, body) = http("GET", stack.host_port("web"), "/");
    assert_eq!(code, 200);
    assert!(body.starts_with("notes=1 "), "{body}");
}

#[test]
fn doctor_names_podman_from_its_version_answer() {
    let Some((host, version)) = require_podman() else {
        return;
    };
    let project = TestProject::fixture("rails-app");
    let out = run(project
        .devboot()
        .env("DOCKER_HOST", &host)
        .args(["doctor", "--json"]));
    let report = one_json(&out);
    expect(&report, "docker.daemon", "ok");
    let provider = expect(&report, "docker.provider", "warn");
    assert!(
        summary(provider).starts_with(&format!(
            "the engine is Podman {version} behind the Docker API"
        )),
        "{provider:#}"
    );
    let api = expect(&report, "docker.api_version", "ok");
    assert!(
        summary(api).starts_with(&format!("Podman {version}, API ")),
        "{api:#}"
    );
}
