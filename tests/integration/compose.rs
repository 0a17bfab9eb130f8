//! Walking away to Docker Compose and back, with the real `docker-compose` (Compose v1, the one
//! on the test machines) on the real engine: Compose runs the compose file devboot wrote, and
//! devboot then takes what Compose started as its own when it is what devboot would run.

use std::process::Command;
use std::time::Duration;

use crate::common::{Output, require_engine, run};
use crate::stack::{AUTO_PORTS, EngineProject, http};

/// `docker-compose -f .devboot/compose.yaml -p PROJECT ARGS...` in the project's root.
fn compose(stack: &EngineProject, args: &[&str]) -> Output {
    let out = run(Command::new("docker-compose")
        .args(["-f", ".devboot/compose.yaml", "-p", &stack.name])
        .args(args)
        .current_dir(stack.project.root()));
    assert_eq!(out.code, 0, "docker-compose {args:?}:\n{}", out.stderr);
    out
}

fn changed(before: &[(String, String)], after: &[(String, String)]) -> Vec<String> {
    assert_eq!(before.len(), after.len(), "{before:?} -> {after:?}");
    before
        .iter()
        .zip(after)
        .filter(|(old, new)| old != new)
        .map(|(old, _)| old.0.clone())
        .collect()
}

fn wait_healthy(stack: &EngineProject, service: &str) {
    for _ in 0..120 {
        let status = stack.status();
        let health = status["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == service)
            .map(|s| s["health"].clone());
        if health == Some("healthy".into()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("`{service}` did not become healthy");
}

#[test]
fn up_after_compose_up_changes_nothing_unless_the_definition_did() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("compose", AUTO_PORTS);
    stack.up();
    let web = stack.host_port("web");
    assert_eq!(
        http("POST", web, "/notes?body=kept"),
        (200, "notes=1".to_owned())
    );
    let by_devboot = stack.container_ids();

    // Compose cannot read devboot's config hash, so it recreates each container once, from the
    // same file, on the same volumes and network, which it finds labelled as it would label them.
    let up = compose(&stack, &["up", "-d"]);
    assert!(!up.stderr.contains("has changed"), "{}", up.stderr);
    let by_compose = stack.container_ids();
    assert_eq!(
        changed(&by_devboot, &by_compose),
        ["db", "redis", "web"],
        "{}",
        up.stderr
    );

    // Back to devboot: nothing to do, nothing touched, the data is there.
    let back = stack.up();
    assert!(back.stderr.contains("nothing changed"), "{}", back.stderr);
    assert_eq!(stack.container_ids(), by_compose);
    let plan = stack.devboot(&["plan", "--json"]);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    for step in plan["containers"].as_array().unwrap() {
        assert_eq!(step["action"], "unchanged", "{step}");
    }
    let doctor = stack.devboot(&["doctor", "stack.config_drift"]);
    assert!(
        doctor.stdout.contains("ok stack.config_drift"),
        "{}",
        doctor.stdout
    );
    // `up` with nothing to change does not wait for what Compose just started.
    wait_healthy(&stack, "web");
    let web = stack.host_port("web");
    let (code, body) = http("GET", web, "/");
    assert_eq!(code, 200);
    assert!(body.starts_with("notes=1 "), "{body}");
    // And Compose still finds its own containers up to date.
    let again = compose(&stack, &["up", "-d"]);
    assert_eq!(stack.container_ids(), by_compose, "{}", again.stderr);

    // The profile changes web only: devboot recreates web and keeps what Compose made for the
    // others, whose definition the new file still gives.
    let local = stack.project.read("devboot.local.toml");
    stack.project.write(
        "devboot.local.toml",
        &format!("{local}\n[services.web.environment]\nGREETING = \"hi\"\n"),
    );
    stack.up();
    let after_change = stack.container_ids();
    assert_eq!(changed(&by_compose, &after_change), ["web"]);

    // Compose takes web back; then someone edits the generated file. What Compose made from it
    // can no longer be vouched for: devboot recreates all of it.
    compose(&stack, &["up", "-d"]);
    let before_edit = stack.container_ids();
    assert_eq!(changed(&after_change, &before_edit), ["web"]);
    let file = stack.project.read(".devboot/compose.yaml");
    stack
        .project
        .write(".devboot/compose.yaml", &format!("{file}# edited\n"));
    stack.up();
    assert_eq!(
        changed(&before_edit, &stack.container_ids()),
        ["db", "redis", "web"]
    );
}
