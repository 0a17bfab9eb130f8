//! `up`, `down`, `status`, `logs` and `plan` against a real Docker engine, a real registry and
//! the fixture Rails app (Postgres, Redis, Rails). Engine tests run one at a time (they share
//! the engine and the registry's images) and each cleans up its own project, even on failure.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use crate::common::{TestProject, require_engine, run, stderr_lines};
use crate::report::{details, expect, one_json};
use crate::stack::{
    AUTO_PORTS, EngineProject, POSTGRES_18_STAND_IN, build_postgres_18_stand_in, docker, http,
    seed_postgres_volume, seed_postgres_volume_at, with_db_image,
};

#[test]
fn up_runs_the_rails_app_converges_and_keeps_data() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("e2e", AUTO_PORTS);
    // Pull for real: drop the local copies of the registry's images.
    docker(&[
        "rmi",
        "127.0.0.1:5000/devboot/postgres:15",
        "127.0.0.1:5000/devboot/redis:7",
    ]);

    let first = stack.up();
    assert!(
        first
            .stderr
            .contains("Pulled 127.0.0.1:5000/devboot/postgres:15"),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("Built web"), "{}", first.stderr);
    assert!(
        first.stderr.contains("bin/rails db:prepare"),
        "{}",
        first.stderr
    );
    assert!(
        first.stdout.contains(&format!("{} is up", stack.name)),
        "{}",
        first.stdout
    );

    let status = stack.status();
    for service in status["services"].as_array().unwrap() {
        assert_eq!(service["state"], "running", "{service}");
        assert_eq!(service["health"], "healthy", "{service}");
        assert!(service["ports"][0]["host"].as_u64().is_some(), "{service}");
    }
    let web = stack.host_port("web");
    assert_eq!(http("GET", web, "/"), (200, "notes=0 visits=1".to_owned()));
    assert_eq!(
        http("POST", web, "/notes?body=hello"),
        (200, "notes=1".to_owned())
    );
    assert_eq!(http("GET", web, "/"), (200, "notes=1 visits=2".to_owned()));

    let logs = stack.devboot(&["logs", "web", "-n", "50"]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert!(logs.stdout.contains("Listening on"), "{}", logs.stdout);
    let all = stack.devboot(&["logs", "-n", "5"]);
    assert!(
        all.stdout.lines().any(|l| l.starts_with("redis | ")),
        "{}",
        all.stdout
    );

    // Compose v1 sees the containers devboot started.
    let ps = Command::new("docker-compose")
        .args(["-f", ".devboot/compose.yaml", "-p", &stack.name, "ps"])
        .current_dir(stack.project.root())
        .output()
        .unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    for service in ["db", "redis", "web"] {
        assert!(
            ps.contains(&format!("{}-{service}-1", stack.name)),
            "docker-compose ps:\n{ps}"
        );
    }

    // Nothing changed: nothing is touched.
    let before = stack.container_ids();
    let again = stack.up();
    assert!(again.stderr.contains("Up to date"), "{}", again.stderr);
    assert_eq!(stack.container_ids(), before);

    // One env value of web changed: only web is recreated.
    let local = stack.project.read("devboot.local.toml");
    stack.project.write(
        "devboot.local.toml",
        &format!("{local}\n[services.web.environment]\nGREETING = \"hi\"\n"),
    );
    stack.up();
    let after = stack.container_ids();
    assert_eq!(after.len(), 3);
    for ((service, old), (_, new)) in before.iter().zip(&after) {
        assert_eq!(old == new, service != "web", "{service}: {old} -> {new}");
    }

    // down keeps the data; up brings it back.
    let down = stack.devboot(&["down"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(stack.container_ids().is_empty());
    assert!(down.stderr.contains("Kept"), "{}", down.stderr);
    stack.up();
    let web = stack.host_port("web");
    let (code, body) = http("GET", web, "/");
    assert_eq!(code, 200);
    assert!(body.starts_with("notes=1 "), "{body}");

    // down --volumes removes the data.
    let down = stack.devboot(&["down", "--volumes", "--yes"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    let volumes = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={}", stack.name),
    ]);
    assert!(volumes.trim().is_empty(), "{volumes}");
}

#[test]
fn a_taken_fixed_port_stops_up_before_anything_is_created() {
    if !require_engine() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stack = EngineProject::new(
        "port",
        &format!("{AUTO_PORTS}\n").replace(
            "ports = [{ container = 3000, policy = \"auto\" }]",
            &format!("ports = [\"{port}:3000\"]"),
        ),
    );
    // plan runs the same gate: it says `up` would stop, and why.
    let plan = stack.devboot(&["plan"]);
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stderr.contains(&format!("port {port}")),
        "{}",
        plan.stderr
    );
    let plan = stack.devboot(&["plan", "--json"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert!(
        json["blocked_by"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("port {port}")),
        "{json}"
    );

    let out = stack.devboot(&["up", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("port {port}")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("(pid {})", std::process::id())),
        "names the owner: {}",
        out.stderr
    );
    assert!(stack.container_ids().is_empty(), "nothing was created");
    let network = Command::new("docker")
        .args(["network", "inspect", &format!("{}_default", stack.name)])
        .output()
        .unwrap();
    assert!(!network.status.success(), "no network was created");
    drop(listener);
}

#[test]
fn an_auto_port_moves_off_a_taken_port_and_is_remembered() {
    if !require_engine() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stack = EngineProject::new(
        "auto",
        &AUTO_PORTS.replace(
            "{ container = 3000, policy = \"auto\" }",
            &format!("{{ container = 3000, host = {port}, policy = \"auto\" }}"),
        ),
    );
    stack.up();
    let chosen = stack.host_port("web");
    assert_ne!(chosen, port);
    let state: serde_json::Value =
        serde_json::from_str(&stack.project.read(".devboot/state.json")).unwrap();
    assert_eq!(state["ports"]["web:3000"], u64::from(chosen));
    stack.up();
    assert_eq!(stack.host_port("web"), chosen, "the choice is remembered");
    let env = stack.project.read(".devboot/env");
    assert!(
        env.contains(&format!("127.0.0.1:{}", stack.host_port("db"))),
        "{env}"
    );
    drop(listener);
}

#[test]
fn a_postgres_volume_of_another_major_version_is_refused() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("pgmajor", AUTO_PORTS);
    seed_postgres_volume(&stack, "14");
    let out = stack.devboot(&["up", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("holds Postgres 14 data"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("devboot db upgrade"), "{}", out.stderr);
    let db = stack.container_ids().into_iter().find(|(s, _)| s == "db");
    assert!(db.is_none(), "the db container was not created");
}

/// The fixture stack with `image` as its database.
#[test]
fn postgres_18_gets_its_volume_where_18_keeps_its_data() {
    if !require_engine() {
        return;
    }
    build_postgres_18_stand_in();
    // Only the image is set: the built-in profile's volume follows its major.
    let stack = EngineProject::new("pg18", &with_db_image(POSTGRES_18_STAND_IN));
    let config = stack.devboot(&["config"]);
    assert!(
        config.stdout.contains("target: \"/var/lib/postgresql\""),
        "{}",
        config.stdout
    );
    stack.up();
    let db = || {
        stack
            .container_ids()
            .into_iter()
            .find(|(s, _)| s == "db")
            .unwrap()
            .1
    };
    let mounts = docker(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Name}} {{.Destination}}{{end}}",
        &db(),
    ]);
    assert_eq!(
        mounts.trim(),
        format!("{}_db-data /var/lib/postgresql", stack.name)
    );
    let version = docker(&[
        "exec",
        &db(),
        "cat",
        "/var/lib/postgresql/18/docker/PG_VERSION",
    ]);
    assert_eq!(
        version.trim(),
        "15",
        "the stand-in's server is 15, in 18's layout"
    );
    // Created again on the volume: the guard reads PG_VERSION where 18 keeps it, and lets it be.
    assert_eq!(stack.devboot(&["down"]).code, 0);
    stack.up();
}

#[test]
fn the_major_guard_reads_either_layout() {
    if !require_engine() {
        return;
    }
    build_postgres_18_stand_in();
    // A volume of the old layout (16's data at its root) under an image of 18's layout.
    let stack = EngineProject::new("pg18old", &with_db_image(POSTGRES_18_STAND_IN));
    seed_postgres_volume(&stack, "16");
    let out = stack.devboot(&["up", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "volume `db-data` holds Postgres 16 data, but `{POSTGRES_18_STAND_IN}` runs Postgres 15"
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("does not downgrade"), "{}", out.stderr);
    drop(stack);
    // A volume of 18's layout under an image of the old one.
    let stack = EngineProject::new("pg18new", AUTO_PORTS);
    seed_postgres_volume_at(&stack, "18/docker/PG_VERSION", "18");
    let out = stack.devboot(&["up", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("volume `db-data` holds Postgres 18 data"),
        "{}",
        out.stderr
    );
    let db = stack.container_ids().into_iter().find(|(s, _)| s == "db");
    assert!(db.is_none(), "the db container was not created");
}

#[test]
fn an_image_built_for_another_platform_is_refused_before_the_pull_and_platform_picks_it() {
    if !require_engine() {
        return;
    }
    // A manifest list in the local registry that offers only linux/arm64 (its one entry is
    // the redis fixture, annotated): what an amd64-only tag is to an Apple Silicon engine.
    let list = format!(
        "127.0.0.1:5000/devboot-test/arm-only:{}",
        std::process::id()
    );
    let fixture = "127.0.0.1:5000/devboot/redis:7";
    for args in [
        vec!["manifest", "create", "--insecure", &list, fixture],
        vec![
            "manifest", "annotate", "--os", "linux", "--arch", "arm64", &list, fixture,
        ],
        vec!["manifest", "push", "--insecure", "--purge", &list],
    ] {
        let out = run(Command::new("docker").args(&args));
        assert_eq!(out.code, 0, "docker {args:?}: {}", out.stderr);
    }
    let stack = EngineProject::new("platform", &format!("{AUTO_PORTS}image = \"{list}\"\n"));
    let out = stack.devboot(&["up", "--yes"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "`{list}` has no build for linux/amd64, the platform `redis` runs on; the registry offers linux/arm64"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("`platform = \"linux/arm64\"` under [services.redis]"),
        "{}",
        out.stderr
    );
    let pulled = run(Command::new("docker").args(["image", "inspect", &list]));
    assert_ne!(pulled.code, 0, "nothing was downloaded");

    // Asked for by name, that platform is pulled (its content is the fixture, so it runs).
    let local = stack.project.read("devboot.local.toml");
    stack.project.write(
        "devboot.local.toml",
        &format!("{local}platform = \"linux/arm64\"\n"),
    );
    stack.up();
    assert!(
        stack
            .project
            .read(".devboot/compose.yaml")
            .contains("platform: \"linux/arm64\""),
        "the compose file says it too"
    );
    docker(&["image", "rm", "-f", &list]);
}

#[test]
fn a_second_up_is_refused_while_one_runs_and_ctrl_c_leaves_nothing_blocking() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("interrupt", AUTO_PORTS);
    let mut first = stack
        .project
        .devboot()
        .args(["up", "--yes"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first run is changing the engine.
    let lines = stderr_lines(&mut first);
    let started = lines
        .iter()
        .find(|line| line.contains("Creating"))
        .expect("the first up starts containers");
    assert!(started.contains("Creating"));

    let second = stack.devboot(&["up", "--yes"]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("another devboot is changing this project"),
        "{}",
        second.stderr
    );

    let interrupted_at = std::time::Instant::now();
    Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status()
        .unwrap();
    let status = first.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(
        interrupted_at.elapsed() < Duration::from_secs(5),
        "Ctrl-C stops promptly"
    );
    // Everything it printed: the reader thread ends at the pipe's end.
    let rest: Vec<String> = lines.iter().collect();
    assert!(rest.iter().any(|l| l.contains("interrupted")), "{rest:?}");

    // Whatever was half-done, the next up completes.
    stack.up();
    let web = stack.host_port("web");
    assert_eq!(http("GET", web, "/").0, 200);
}

#[test]
fn a_crashing_service_fails_up_with_its_exit_code_and_logs() {
    if !require_engine() {
        return;
    }
    let local = AUTO_PORTS.replace(
        "[services.web]\n",
        "[services.web]\ncommand = \"echo 'config/boot.rb: boom' >&2; exit 3\"\n",
    );
    let stack = EngineProject::new("crash", &local);
    let out = stack.devboot(&["up", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("service `web` exited with code 3"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("| config/boot.rb: boom"),
        "shows the last log lines: {}",
        out.stderr
    );
    assert!(out.stderr.contains("devboot logs web"), "{}", out.stderr);
}

/// A syntax error in `config/routes.rb`: the log's last lines are all framework frames, so
/// `up` and doctor's `stack.containers` both show the exception and the app's file first.
#[test]
fn a_broken_routes_file_is_named_by_up_and_by_doctor() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("routes", AUTO_PORTS);
    stack.project.write(
        "config/routes.rb",
        "Rails.application.routes.draw do\n  root \"pages#index\"\n  resources :notes, only: :create do\n  get \"aws\", to: \"aws#show\"\nend\n",
    );
    let out = stack.devboot(&["up", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // Either the server dies first (`service `web` exited`) or `bin/rails db:prepare` fails
    // loading the routes: both name the exception and the file right under the error.
    let error = out
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("error: "))
        .nth(1)
        .unwrap_or_default();
    assert!(
        error.contains("/app/config/routes.rb:5: syntax error, unexpected end-of-input")
            && error.trim_end().ends_with("at config/routes.rb:5"),
        "the exception right under the failure: {}",
        out.stderr
    );

    // When `db:prepare` failed first, the server may still be booting: doctor judges the
    // container once it has crashed.
    let web = format!("{}-web-1", stack.name);
    let waited = Command::new("timeout")
        .args(["120", "docker", "wait", &web])
        .output()
        .unwrap();
    assert!(waited.status.success(), "web did not stop: {waited:?}");
    let doctor = run(stack
        .project
        .devboot()
        .args(["doctor", "--json", "stack.containers"]));
    let report = one_json(&doctor);
    let containers = expect(&report, "stack.containers", "error");
    let details = details(containers);
    assert!(
        details.iter().any(|d| d.starts_with("`web` crashed: ")
            && d.ends_with("(SyntaxError) at config/routes.rb:5")),
        "{details:#?}"
    );
}

#[test]
fn a_failing_setup_command_fails_up_with_its_output() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new(
        "setup",
        &format!(
            "[app]\nsetup = [\"echo migrating; echo 'PG::Error: nope' >&2; exit 4\"]\n\n{AUTO_PORTS}"
        ),
    );
    let out = stack.devboot(&["up", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("failed with exit code 4"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("| PG::Error: nope"), "{}", out.stderr);
    // The stack itself is up; fixing the command and running up again completes.
    let fixed = stack
        .project
        .read("devboot.local.toml")
        .replace("exit 4", "true");
    stack.project.write("devboot.local.toml", &fixed);
    let again = stack.up();
    assert!(
        again.stderr.contains("Running"),
        "setup runs again until it succeeds: {}",
        again.stderr
    );
}

#[test]
fn an_unreachable_engine_names_the_endpoint_and_the_fix() {
    let project = TestProject::fixture("rails-app");
    let out = run(project
        .devboot()
        .args(["up", "--yes"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("unix:///nonexistent/docker.sock"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("DOCKER_HOST"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: start Docker"), "{}", out.stderr);
    assert!(
        !project.root().join(".devboot/compose.yaml").exists(),
        "nothing was written"
    );
}

#[test]
fn plan_lists_images_and_containers_without_changing_anything() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("plan", AUTO_PORTS);
    let out = stack.devboot(&["plan", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let containers: Vec<_> = plan["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(containers, ["create", "create", "create"]);
    let build = plan["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["services"] == serde_json::json!(["web"]))
        .unwrap();
    assert_eq!(build["action"], "build");
    assert!(
        !stack.project.root().join(".devboot").exists(),
        "plan wrote nothing"
    );
    assert!(stack.container_ids().is_empty());
}

#[test]
fn a_second_checkout_with_the_same_project_name_never_touches_the_first() {
    if !require_engine() {
        return;
    }
    let first = EngineProject::new("checkout", AUTO_PORTS);
    let up = first.devboot(&["up", "--yes", "redis"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let before = first.container_ids();
    assert_eq!(before.len(), 1, "{before:?}");

    // A second clone whose local file names the same project runs under a name of its own.
    let same_name = |project: &TestProject| {
        project.write(
            "devboot.local.toml",
            &format!("[project]\nname = \"{}\"\n\n{AUTO_PORTS}", first.name),
        );
    };
    let second = TestProject::fixture("rails-app");
    same_name(&second);
    let up = run(second.devboot().args(["up", "--yes", "redis"]));
    assert_eq!(up.code, 0, "{}", up.stderr);
    let status = run(second.devboot().args(["status", "--json"]));
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_ne!(status["project"], first.name.as_str(), "{status}");
    let down = run(second.devboot().args(["down", "--volumes", "--yes"]));
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(
        first.container_ids(),
        before,
        "the first checkout's stack is untouched"
    );
    let volumes = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={}", first.name),
    ]);
    assert!(!volumes.trim().is_empty(), "its data volume is kept");

    // Once the first checkout is gone, its stack is no one's: a new checkout takes its name.
    let first_root = first.project.root();
    std::fs::rename(&first_root, first_root.with_file_name("moved")).unwrap();
    let third = TestProject::fixture("rails-app");
    same_name(&third);
    let taken = run(third.devboot().args(["status", "--json"]));
    std::fs::rename(first_root.with_file_name("moved"), &first_root).unwrap();
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    let taken: serde_json::Value = serde_json::from_str(&taken.stdout).unwrap();
    assert_eq!(taken["project"], first.name.as_str(), "{taken}");
}

#[test]
fn editing_the_bind_mounted_app_rebuilds_nothing_but_the_dockerfile_does() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("edit", AUTO_PORTS);
    // The fixture's Dockerfile is a development one: built as it is, and `plan` says why.
    let plan = stack.devboot(&["plan", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["builds"][0]["service"], "web", "{json}");
    assert_eq!(json["builds"][0]["source"], "dockerfile", "{json}");
    assert_eq!(json["builds"][0]["dockerfile"], "Dockerfile", "{json}");
    let first = stack.up();
    assert!(first.stderr.contains("Built web"), "{}", first.stderr);
    let before = stack.container_ids();

    // A controller the Dockerfile copies, but `.:/app` mounts. (A changed Gemfile.lock is a setup
    // input: the bundle step runs again and web restarts, see the Gemfile test.)
    let controller = "app/controllers/pages_controller.rb";
    let text = stack.project.read(controller);
    stack.project.write(
        controller,
        &text.replace("notes=#{Note.count}", "notes: #{Note.count}"),
    );
    let plan = stack.devboot(&["plan", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let web_image = json["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["services"][0] == "web")
        .unwrap();
    assert_eq!(web_image["action"], "present", "{json}");
    let again = stack.up();
    assert!(!again.stderr.contains("Built web"), "{}", again.stderr);
    assert!(again.stderr.contains("Up to date"), "{}", again.stderr);
    assert_eq!(stack.container_ids(), before);
    // The running app serves the edit through the mount.
    let web = stack.host_port("web");
    let (code, body) = http("GET", web, "/");
    assert_eq!(code, 200);
    assert!(body.starts_with("notes: 0"), "{body}");

    // The Dockerfile itself is what the image is made of: it rebuilds and recreates web.
    let dockerfile = stack.project.read("Dockerfile");
    stack.project.write(
        "Dockerfile",
        &format!("{dockerfile}ENV DEVBOOT_TEST_EDIT=1\n"),
    );
    let rebuilt = stack.up();
    assert!(rebuilt.stderr.contains("Built web"), "{}", rebuilt.stderr);
    let after = stack.container_ids();
    for ((service, old), (_, new)) in before.iter().zip(&after) {
        assert_eq!(old == new, service != "web", "{service}: {old} -> {new}");
    }
}

/// The Ruby image devboot's development image starts from (`.ruby-version` 3.3.8); the test
/// environment provides a stand-in, as it does for the Rails 7.2 fixture.
const RUBY_IMAGE: &str = "docker.io/library/ruby:3.3.8-slim";

#[test]
fn a_production_dockerfile_is_replaced_by_devboots_image_running_as_the_developer() {
    if !require_engine() {
        return;
    }
    let present = Command::new("docker")
        .args(["image", "inspect", RUBY_IMAGE])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        assert!(
            !crate::common::parts_required(),
            "{RUBY_IMAGE} is missing (run `scripts/test-env up`)"
        );
        eprintln!("skipping: no {RUBY_IMAGE}");
        return;
    }
    // The fixture with Rails 7.2's production Dockerfile; web only sleeps (the 6.1 app does
    // not run on Ruby 3.3): this is about the image.
    let stack = EngineProject::new(
        "devimage",
        &AUTO_PORTS.replacen(
            "[services.db]",
            "command = [\"sleep\", \"600\"]\ndepends_on = []\nhealthcheck = { disable = true }\n\
             [app]\nsetup = []\n[services.db]",
            1,
        ),
    );
    stack.project.write(
        "Dockerfile",
        include_str!("../data/dockerfiles/rails-7.2.Dockerfile"),
    );
    stack.project.write(".ruby-version", "ruby-3.3.8\n");

    let plan = stack.devboot(&["plan", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let build = &json["builds"][0];
    assert_eq!(build["source"], "devboot", "{json}");
    assert_eq!(build["replaces"], "Dockerfile", "{json}");
    assert_eq!(
        build["dockerfile"], ".devboot/images/web/Dockerfile",
        "{json}"
    );

    let up = stack.devboot(&["up", "--yes", "web"]);
    assert_eq!(up.code, 0, "{}\n{}", up.stdout, up.stderr);
    assert!(
        up.stderr.contains("web: devboot's development image"),
        "{}",
        up.stderr
    );
    assert!(up.stderr.contains("Built web"), "{}", up.stderr);
    let written = stack.project.read(".devboot/images/web/Dockerfile");
    assert!(
        written.contains("FROM docker.io/library/ruby:3.3.8-slim"),
        "{written}"
    );
    assert!(
        written.contains("libpq-dev"),
        "pg is in Gemfile.lock: {written}"
    );

    // The container runs as the developer, with a writable home; the production image's
    // `USER 1000:1000` would not.
    let (uid, gid) = crate::common::host_ids();
    let container = format!("{}-web-1", stack.name);
    let inside = docker(&[
        "exec",
        &container,
        "sh",
        "-c",
        "echo \"$(id -u):$(id -g)\" && touch \"$HOME/.probe\" && touch /usr/local/bundle/.probe && echo writable",
    ]);
    assert_eq!(inside.trim(), format!("{uid}:{gid}\nwritable"));

    // Nothing the image is made of changed: nothing is rebuilt.
    stack.project.write("README.md", "edited\n");
    let again = stack.devboot(&["up", "--yes", "web"]);
    assert!(!again.stderr.contains("Built web"), "{}", again.stderr);

    // Forced as it is, the production image runs as uid 1000: plan says what goes wrong.
    let local = stack.project.read("devboot.local.toml");
    stack.project.write(
        "devboot.local.toml",
        &format!("{local}\n[services.web.build]\nsource = \"dockerfile\"\n"),
    );
    let plan = stack.devboot(&["plan"]);
    if uid != 1000 {
        assert!(
            plan.stdout.contains("runs as `USER 1000:1000` (uid 1000)"),
            "{}",
            plan.stdout
        );
    }
    assert!(
        plan.stdout
            .contains("web: Dockerfile, because the profile asks for `Dockerfile` as it is"),
        "{}",
        plan.stdout
    );
}

/// The daily loop on the real fixture: a gem added to the Gemfile is installed (and locked) by
/// the setup in the running `web`, which restarts (same container, new start) and serves with
/// it; no image is rebuilt and no container recreated.
#[test]
fn a_changed_gemfile_reruns_the_bundle_step_and_restarts_web_without_a_rebuild() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("gems", AUTO_PORTS);
    let first = stack.up();
    assert!(
        first
            .stderr
            .contains("bundle check || bundle install --local || bundle install"),
        "{}",
        first.stderr
    );
    let web = stack.host_port("web");
    let container = format!("{}-web-1", stack.name);
    let started_at = || docker(&["inspect", "-f", "{{.State.StartedAt}}", &container]);
    let (code, gems) = http("GET", web, "/gems");
    assert_eq!(code, 200, "{gems}");
    assert!(gems.split(' ').any(|g| g == "rails"), "{gems}");
    assert!(!gems.split(' ').any(|g| g == "multi_json"), "{gems}");
    // The bundle lives on the project's `bundle` volume.
    let mounts = docker(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}",
        &container,
    ]);
    assert!(
        mounts.contains(&format!("{}_bundle:/usr/local/bundle", stack.name)),
        "{mounts}"
    );

    // Add a gem the image has (a Debian system gem) but the Gemfile does not list.
    let before = stack.container_ids();
    let image = docker(&["inspect", "-f", "{{.Image}}", &container]);
    let started = started_at();
    let gemfile = stack.project.read("Gemfile");
    stack
        .project
        .write("Gemfile", &format!("{gemfile}\ngem \"multi_json\"\n"));
    let plan = stack.devboot(&["plan", "--json"]);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(
        plan["setup_plan"],
        serde_json::json!({"run": true, "changed_inputs": ["Gemfile"], "restart": ["web"]})
    );
    let plan = stack.devboot(&["plan"]);
    assert!(
        plan.stdout
            .contains("runs now: Gemfile changed; then restarts web"),
        "{}",
        plan.stdout
    );
    let changed = stack.up();
    assert!(
        changed
            .stderr
            .contains("Gemfile: running the setup again, then restarting web"),
        "{}",
        changed.stderr
    );
    assert!(
        changed
            .stderr
            .contains("Running bundle check || bundle install --local || bundle install"),
        "{}",
        changed.stderr
    );
    assert!(
        changed.stderr.contains("Restarting web"),
        "{}",
        changed.stderr
    );
    assert!(!changed.stderr.contains("Built"), "{}", changed.stderr);
    assert_eq!(stack.container_ids(), before, "nothing was recreated");
    assert_eq!(docker(&["inspect", "-f", "{{.Image}}", &container]), image);
    assert_ne!(started_at(), started, "web was restarted");
    assert!(
        stack.project.read("Gemfile.lock").contains("multi_json ("),
        "the setup locked the new gem"
    );
    // The restarted server loaded it, and so does a new process in the container.
    let (code, gems) = http("GET", web, "/gems");
    assert_eq!(code, 200, "{gems}");
    assert!(gems.split(' ').any(|g| g == "multi_json"), "{gems}");
    let runner = docker(&[
        "exec",
        &container,
        "bin/rails",
        "runner",
        "print defined?(MultiJson).inspect",
    ]);
    assert_eq!(runner, "\"constant\"");

    // The setup locked the Gemfile: that is no change for the next `up`.
    let again = stack.up();
    assert!(again.stderr.contains("Up to date"), "{}", again.stderr);
    assert!(!again.stderr.contains("Running"), "{}", again.stderr);

    // `down` keeps the bundle; `down --volumes` removes it.
    let bundle_volume = format!("{}_bundle", stack.name);
    let volume_exists = || {
        !docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("name=^{bundle_volume}$"),
        ])
        .trim()
        .is_empty()
    };
    assert_eq!(stack.devboot(&["down"]).code, 0);
    assert!(volume_exists(), "down keeps the bundle volume");
    assert_eq!(stack.devboot(&["down", "--volumes", "--yes"]).code, 0);
    assert!(!volume_exists(), "down --volumes removes it");
}

#[test]
fn a_network_an_old_engine_let_twice_is_removed_whole_by_down() {
    if !require_engine() {
        return;
    }
    // Engines before API 1.44 create a second network of a name that exists when asked
    // without `CheckDuplicate` (what a create cancelled mid-flight and retried amounts to).
    let stack = EngineProject::new("dupnet", AUTO_PORTS);
    stack.up();
    let network = format!("{}_default", stack.name);
    let body = format!(r#"{{"Name":"{network}","Driver":"bridge","CheckDuplicate":false}}"#);
    // The engine under test (DOCKER_HOST when the suite runs against another one).
    let socket = std::env::var("DOCKER_HOST").map_or_else(
        |_| "/var/run/docker.sock".to_owned(),
        |host| host.trim_start_matches("unix://").to_owned(),
    );
    let mut engine = std::os::unix::net::UnixStream::connect(socket).unwrap();
    write!(
        engine,
        "POST /v1.41/networks/create HTTP/1.0\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    engine.read_to_string(&mut answer).unwrap();
    if answer.starts_with("HTTP/1.0 409") {
        // Engines from API 1.44 (Docker 25) refuse a second network of a name whatever the
        // request says: nothing to clean up there.
        eprintln!("this engine refuses duplicate network names: {answer}");
        return;
    }
    assert!(answer.starts_with("HTTP/1.0 201"), "{answer}");
    let named = || {
        docker(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("name=^{network}$"),
        ])
        .lines()
        .count()
    };
    assert_eq!(named(), 2, "the engine holds two networks of one name");

    let down = stack.devboot(&["down", "--yes"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(
        down.stderr.contains(&format!("Removed network {network}")),
        "{}",
        down.stderr
    );
    assert_eq!(named(), 0, "both went");
}
