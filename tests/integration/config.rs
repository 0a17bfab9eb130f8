//! `devboot config` and `devboot plan` on the fixture Rails app; Compose v1 judges the file.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::common::{TestProject, require_tool, run};

#[test]
fn the_fixture_stack_renders_a_compose_file_compose_accepts() {
    let project = TestProject::fixture("rails-app");
    let out = run(project.devboot().arg("config"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("\"127.0.0.1:5000/devboot/postgres:15\""),
        "{}",
        out.stdout
    );
    if !require_tool("docker-compose") {
        return;
    }
    let mut compose = Command::new("docker-compose")
        .args(["-f", "-", "config", "-q"])
        .current_dir(project.root())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    compose
        .stdin
        .take()
        .unwrap()
        .write_all(out.stdout.as_bytes())
        .unwrap();
    let result = compose.wait_with_output().unwrap();
    assert!(
        result.status.success(),
        "docker-compose rejected the file: {}",
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn values_that_look_like_syntax_reach_compose_unchanged() {
    let project = TestProject::fixture("rails-app");
    project.write(
        "devboot.local.toml",
        "[services.web.environment]\nTRICKY = \"a: b # c ${HOME} $USER 'q' \\\"dq\\\" \\n é\"\n",
    );
    let out = run(project.devboot().arg("config"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    if !require_tool("docker-compose") {
        return;
    }
    let path = project.root().join(".devboot-test-compose.yaml");
    std::fs::write(&path, &out.stdout).unwrap();
    let resolved = Command::new("docker-compose")
        .arg("-f")
        .arg(&path)
        .arg("config")
        .output()
        .unwrap();
    assert!(
        resolved.status.success(),
        "{}",
        String::from_utf8_lossy(&resolved.stderr)
    );
    let resolved: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&resolved.stdout).unwrap();
    // Compose's own `config` output re-escapes `$`; read it back the way Compose would.
    let value = resolved["services"]["web"]["environment"]["TRICKY"]
        .as_str()
        .unwrap()
        .replace("$$", "$");
    assert_eq!(value, "a: b # c ${HOME} $USER 'q' \"dq\" \n é");
}

#[test]
fn plan_without_an_engine_lists_files_and_names_the_endpoint() {
    let project = TestProject::fixture("rails-app");
    let out = run(project
        .devboot()
        .arg("plan")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"));
    assert!(
        out.stdout.contains("create     .devboot/compose.yaml"),
        "{}",
        out.stdout
    );
    assert!(
        !project.root().join(".devboot").exists(),
        "plan has no side effects"
    );
}
