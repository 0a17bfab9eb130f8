//! `devboot doctor` against faults produced for real: no engine, a dead Docker context, a
//! socket this user may not open, the fixture Rails stack running and then broken one way at a
//! time (a stopped container, a stale pid file, a missing master key, a new migration, a URL at
//! localhost, another Ruby, a container left from a removed service), a port held by a real
//! listener, a Postgres volume of another major version, and secrets in the environment and
//! in files that must not show in any output. Each asserts the check's id, status and fix.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::common::{Output, TestProject, require_engine, run};
use crate::stack::{AUTO_PORTS, EngineProject, docker, seed_postgres_volume};

/// Checks that need the engine: with none, each is skipped saying why.
const ENGINE_CHECKS: &[&str] = &[
    "docker.api_version",
    "docker.resources",
    "docker.clock",
    "stack.containers",
    "stack.config_drift",
    "stack.orphans",
    "postgres.ready",
    "postgres.volume_major",
    "redis.ready",
    "rails.ruby_version",
    "rails.container_env",
    "rails.pending_migrations",
];

/// The one JSON document on stdout.
fn one_json(out: &Output) -> Value {
    let mut documents = serde_json::Deserializer::from_str(&out.stdout).into_iter::<Value>();
    let report = documents
        .next()
        .unwrap_or_else(|| panic!("no JSON on stdout:\n{}\n{}", out.stdout, out.stderr))
        .unwrap();
    assert!(
        documents.next().is_none(),
        "more than one JSON document:\n{}",
        out.stdout
    );
    report
}

/// The result of check `id` in a `--json` report.
fn check<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no `{id}` in the report:\n{report:#}"))
}

/// Asserts the status of check `id` and returns it.
fn expect<'r>(report: &'r Value, id: &str, status: &str) -> &'r Value {
    let found = check(report, id);
    assert_eq!(found["status"], status, "{id}:\n{found:#}");
    found
}

fn summary(check: &Value) -> &str {
    check["summary"].as_str().unwrap()
}

/// The commands of a check's fixes.
fn commands(check: &Value) -> Vec<&str> {
    check["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["command"].as_str())
        .collect()
}

/// `devboot doctor ARGS --json` in the stack's project.
fn doctor(stack: &EngineProject, args: &[&str]) -> (Output, Value) {
    let mut all = vec!["doctor", "--json"];
    all.extend_from_slice(args);
    let out = stack.devboot(&all);
    let report = one_json(&out);
    (out, report)
}

/// A pid no process has: one that just exited.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// A port free right now on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn without_an_engine_doctor_fails_fast_and_skips_what_needs_it() {
    let project = TestProject::fixture("rails-app");
    let started = Instant::now();
    let out = run(project
        .devboot()
        .args(["doctor", "--json"])
        .env("DOCKER_HOST", "unix:///nonexistent.sock"));
    let elapsed = started.elapsed();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report = one_json(&out);
    let daemon = expect(&report, "docker.daemon", "error");
    assert!(
        summary(daemon).contains("unix:///nonexistent.sock"),
        "{daemon:#}"
    );
    assert!(summary(daemon).contains("DOCKER_HOST"), "{daemon:#}");
    let fix = daemon["fixes"][0]["description"].as_str().unwrap();
    assert!(fix.contains("start Docker"), "{daemon:#}");
    for id in ENGINE_CHECKS {
        let skipped = expect(&report, id, "skipped");
        assert_eq!(summary(skipped), "skipped: `docker.daemon` failed", "{id}");
    }
    assert!(report["summary"]["error"].as_u64().unwrap() >= 1);
    // The benchmark measures properly (well under a second); this only catches a hang.
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn a_running_stack_is_healthy_then_each_fault_is_found_with_its_fix() {
    if !require_engine() {
        return;
    }
    let web_port = free_port();
    let local = AUTO_PORTS.replace(
        "ports = [{ container = 3000, policy = \"auto\" }]",
        &format!("ports = [\"{web_port}:3000\"]"),
    );
    let stack = EngineProject::new("doctor", &local);
    stack.up();
    let project = &stack.project;

    // Healthy: exit 0, and the engine checks say what they saw.
    let out = stack.devboot(&["doctor"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let started = Instant::now();
    let (out, report) = doctor(&stack, &[]);
    let elapsed = started.elapsed();
    assert_eq!(out.code, 0, "{}", out.stdout);
    // What this machine's size or clock decides may warn, never fail.
    for id in ["docker.resources", "docker.clock"] {
        assert_ne!(
            check(&report, id)["status"],
            "error",
            "{:#}",
            check(&report, id)
        );
    }
    for id in [
        "docker.daemon",
        "docker.context",
        "docker.socket_permission",
        "docker.api_version",
        "stack.containers",
        "stack.config_drift",
        "stack.orphans",
        "postgres.ready",
        "postgres.volume_major",
        "redis.ready",
        "rails.server_pid",
        "rails.ruby_version",
        "rails.container_env",
        "rails.pending_migrations",
        "ports.free",
    ] {
        expect(&report, id, "ok");
    }
    assert_eq!(
        summary(check(&report, "stack.containers")),
        "running: db (healthy), redis (healthy), web (healthy)"
    );
    assert!(
        summary(check(&report, "ports.free"))
            .contains(&format!("{web_port} (this project's `web`)")),
        "{:#}",
        check(&report, "ports.free")
    );
    assert!(summary(check(&report, "postgres.volume_major")).contains("holds Postgres 15 data"));
    assert!(summary(check(&report, "rails.ruby_version")).ends_with("`web` runs Ruby 3.1.2"));
    assert_eq!(
        summary(check(&report, "rails.pending_migrations")),
        "1 migration, all applied in `app_development`"
    );
    // The second run reuses the migration status (no Rails boot); loosely timed here.
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");

    redaction(&stack);

    // A stale tmp/pids/server.pid: an error, and --fix removes it.
    let pid = dead_pid();
    project.write("tmp/pids/server.pid", &format!("{pid}\n"));
    let (out, report) = doctor(&stack, &["rails.server_pid"]);
    assert_eq!(out.code, 1);
    let stale = expect(&report, "rails.server_pid", "error");
    assert_eq!(
        summary(stale),
        format!("stale tmp/pids/server.pid: process {pid} is not running")
    );
    assert_eq!(commands(stale), ["rm tmp/pids/server.pid"]);
    let (out, report) = doctor(&stack, &["rails.server_pid", "--fix", "--yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let fixed = expect(&report, "rails.server_pid", "ok");
    assert_eq!(
        fixed["details"][0],
        "--fix applied: remove the stale `tmp/pids/server.pid`"
    );
    assert!(!project.root().join("tmp/pids/server.pid").exists());

    // Encrypted credentials without their key.
    project.write("config/credentials.yml.enc", "c2VjcmV0--aXY=--dGFn");
    let (_, report) = doctor(&stack, &["rails.master_key"]);
    let missing = expect(&report, "rails.master_key", "error");
    assert!(
        summary(missing).contains("config/master.key"),
        "{missing:#}"
    );
    assert!(
        missing["fixes"][0]["description"]
            .as_str()
            .unwrap()
            .contains("password manager")
    );
    std::fs::remove_file(project.root().join("config/credentials.yml.enc")).unwrap();

    // Another Ruby in .ruby-version than the app container runs.
    let ruby_version = project.read(".ruby-version");
    project.write(".ruby-version", "3.3.0\n");
    let (_, report) = doctor(&stack, &["rails.ruby_version"]);
    let ruby = expect(&report, "rails.ruby_version", "error");
    assert!(
        summary(ruby).contains("the app container `web` runs Ruby 3.1.2, .ruby-version says 3.3.0"),
        "{ruby:#}"
    );
    assert!(commands(ruby).contains(&"devboot up"), "{ruby:#}");
    project.write(".ruby-version", &ruby_version);

    // A migration added to the app (bind-mounted into `web`) and not run.
    let migration = "db/migrate/20990101000000_add_title_to_notes.rb";
    project.write(
        migration,
        "class AddTitleToNotes < ActiveRecord::Migration[6.1]\n  def change\n    add_column :notes, :title, :string\n  end\nend\n",
    );
    let (out, report) = doctor(&stack, &["rails.pending_migrations"]);
    assert_eq!(out.code, 1);
    let pending = expect(&report, "rails.pending_migrations", "error");
    assert_eq!(
        summary(pending),
        "1 migration is pending in `app_development`: 20990101000000"
    );
    assert_eq!(
        pending["details"][0],
        "down  20990101000000  Add title to notes"
    );
    assert_eq!(
        commands(pending),
        [
            "devboot up",
            "docker compose -f .devboot/compose.yaml exec web bin/rails db:migrate"
        ]
    );
    std::fs::remove_file(project.root().join(migration)).unwrap();
    let (_, report) = doctor(&stack, &["rails.pending_migrations"]);
    expect(&report, "rails.pending_migrations", "ok");

    // DATABASE_URL at localhost in devboot.local.toml: wrong for the app, and the running
    // container no longer matches the profile.
    let local_toml = project.read("devboot.local.toml");
    project.write(
        "devboot.local.toml",
        &format!(
            "{local_toml}\n[services.web.environment]\nDATABASE_URL = \"postgres://postgres:postgres@localhost:5432\"\n"
        ),
    );
    let (_, report) = doctor(
        &stack,
        &["rails.database_url_localhost", "stack.config_drift"],
    );
    let localhost = expect(&report, "rails.database_url_localhost", "error");
    assert_eq!(
        summary(localhost),
        "points at localhost inside the container: DATABASE_URL of `web`"
    );
    assert!(
        localhost["fixes"][0]["description"]
            .as_str()
            .unwrap()
            .contains("postgres://postgres:***@db:5432"),
        "{localhost:#}"
    );
    let drift = expect(&report, "stack.config_drift", "warn");
    assert!(summary(drift).starts_with("`web` differs"), "{drift:#}");
    assert!(commands(drift).contains(&"devboot up"));
    project.write("devboot.local.toml", &local_toml);

    // A container of a service the profile does not have.
    let orphan = format!("{}-sidekiq-1", stack.name);
    docker(&[
        "run",
        "-d",
        "--name",
        &orphan,
        "--label",
        &format!("com.docker.compose.project={}", stack.name),
        "--label",
        "com.docker.compose.service=sidekiq",
        "--entrypoint",
        "sleep",
        "127.0.0.1:5000/devboot/redis:7",
        "300",
    ]);
    let (_, report) = doctor(&stack, &["stack.orphans"]);
    let orphans = expect(&report, "stack.orphans", "warn");
    assert!(
        summary(orphans).contains(&format!("`{orphan}` (service `sidekiq`")),
        "{orphans:#}"
    );
    assert_eq!(
        commands(orphans),
        [format!("docker rm -f {orphan}").as_str()]
    );
    docker(&["rm", "-f", &orphan]);

    // Redis stopped.
    docker(&["stop", &format!("{}-redis-1", stack.name)]);
    let (out, report) = doctor(&stack, &[]);
    assert_eq!(out.code, 1);
    let containers = expect(&report, "stack.containers", "error");
    assert!(
        summary(containers).starts_with("`redis` exited with code"),
        "{containers:#}"
    );
    assert!(
        commands(containers).contains(&"devboot logs redis -n 100"),
        "{containers:#}"
    );
    assert!(
        commands(containers).contains(&"devboot up"),
        "{containers:#}"
    );
    let redis = expect(&report, "redis.ready", "skipped");
    assert_eq!(
        summary(redis),
        "`redis` is not running (see `stack.containers`)"
    );

    // A container started with REDIS_URL at localhost (up succeeds: Redis connects lazily).
    project.write(
        "devboot.local.toml",
        &format!(
            "{local_toml}\n[services.web.environment]\nREDIS_URL = \"redis://localhost:6379/0\"\n"
        ),
    );
    stack.up();
    let (out, report) = doctor(&stack, &[]);
    assert_eq!(out.code, 1);
    let env = expect(&report, "rails.container_env", "error");
    assert_eq!(
        summary(env),
        "the `web` container has REDIS_URL pointing at localhost"
    );
    assert!(commands(env).contains(&"devboot up"));
    expect(&report, "rails.database_url_localhost", "error");
    expect(&report, "stack.containers", "ok");
    expect(&report, "redis.ready", "ok");
}

/// Secrets in the environment, in `.env` and in `~/.aws/credentials` never reach the text,
/// the JSON or the `--report` files; the access key id shows as its last four characters and
/// the home directory as `~`.
fn redaction(stack: &EngineProject) {
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const TOKEN: &str = "IQoJb3JpZ2luX2VjEDoaCXVzLWVhc3QtMSJHMEUCIQDsessiontokenEXAMPLE";
    let project = &stack.project;
    let home = project.home();
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        format!("[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n"),
    )
    .unwrap();
    // A credential helper that is not installed: its error names ~/.docker/config.json.
    std::fs::create_dir_all(home.join(".docker")).unwrap();
    std::fs::write(
        home.join(".docker/config.json"),
        r#"{"credsStore": "devboot-test-missing"}"#,
    )
    .unwrap();
    project.write(
        ".env",
        "DATABASE_URL=postgres://postgres:dotenv-pa55word@db:5432/app_development\n",
    );
    let report_dir = tempfile::tempdir().unwrap();
    let report_path = report_dir.path().join("doctor.json");
    let with_secrets = |args: &[&str]| {
        run(project
            .devboot()
            .args(args)
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_SESSION_TOKEN", TOKEN)
            .env(
                "DATABASE_URL",
                "postgres://postgres:env-pa55word@localhost:5432/app",
            )
            .env(
                "HTTPS_PROXY",
                format!("http://{KEY_ID}:proxy-pa55word@proxy:3128"),
            ))
    };
    let text = with_secrets(&["doctor"]);
    let json = with_secrets(&["doctor", "--json"]);
    let written = with_secrets(&["doctor", "--report", report_path.to_str().unwrap()]);
    assert_eq!(
        written.code, 1,
        "the missing helper is an error: {}",
        written.stdout
    );
    let markdown = std::fs::read_to_string(report_dir.path().join("doctor.md")).unwrap();
    let report_json = std::fs::read_to_string(&report_path).unwrap();
    let home_text = home.display().to_string();
    let outputs = [
        ("text", format!("{}{}", text.stdout, text.stderr)),
        ("json", json.stdout.clone()),
        (
            "report text",
            format!("{}{}", written.stdout, written.stderr),
        ),
        ("report json", report_json),
        ("report markdown", markdown),
    ];
    for (name, output) in &outputs {
        for secret in [
            SECRET,
            KEY_ID,
            TOKEN,
            "env-pa55word",
            "dotenv-pa55word",
            "proxy-pa55word",
            home_text.as_str(),
        ] {
            assert!(
                !output.contains(secret),
                "`{secret}` leaked into the {name}:\n{output}"
            );
        }
        assert!(
            output.contains("****************MPLE"),
            "the key id, masked, in the {name}:\n{output}"
        );
        assert!(
            output.contains("~/.docker/config.json"),
            "the home as `~` in the {name}:\n{output}"
        );
    }
    std::fs::remove_file(home.join(".docker/config.json")).unwrap();
    std::fs::remove_file(project.root().join(".env")).unwrap();
}

#[test]
fn a_port_held_by_a_process_is_named_with_its_pid() {
    if !require_engine() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stack = EngineProject::new(
        "doctor-port",
        &AUTO_PORTS.replace(
            "ports = [{ container = 5432, policy = \"auto\" }]",
            &format!("ports = [\"{port}:5432\"]"),
        ),
    );
    let (out, report) = doctor(&stack, &["ports.free"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let taken = expect(&report, "ports.free", "error");
    assert!(
        summary(taken).starts_with(&format!("port {port} is in use by `")),
        "{taken:#}"
    );
    assert!(
        summary(taken).contains(&format!("(pid {})", std::process::id())),
        "{taken:#}"
    );
    assert!(summary(taken).contains("(`db`, 127.0.0.1:"), "{taken:#}");
    let fixes: Vec<&str> = taken["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["description"].as_str().unwrap())
        .collect();
    assert!(fixes[0].contains("systemctl stop postgresql"), "{fixes:?}");
    assert!(fixes[1].contains("[services.db]"), "{fixes:?}");
    drop(listener);
    let (out, report) = doctor(&stack, &["ports.free"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    expect(&report, "ports.free", "ok");
}

#[test]
fn a_postgres_volume_of_another_major_is_found_without_starting_postgres() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("doctor-pg", AUTO_PORTS);
    let image = "127.0.0.1:5000/devboot/postgres:15";
    docker(&["pull", image]);
    seed_postgres_volume(&stack, "14");
    let (out, report) = doctor(&stack, &["postgres.volume_major"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let major = expect(&report, "postgres.volume_major", "error");
    assert_eq!(
        summary(major),
        format!("volume `db-data` holds Postgres 14 data, but `{image}` runs Postgres 15")
    );
    assert!(
        major["fixes"][0]["description"]
            .as_str()
            .unwrap()
            .contains("pg_dumpall"),
        "{major:#}"
    );
    assert!(
        stack.container_ids().is_empty(),
        "no container of the project was created"
    );
    let leftovers = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("volume={}_db-data", stack.name),
    ]);
    assert!(
        leftovers.trim().is_empty(),
        "the probe container was removed: {leftovers}"
    );
}

/// Writes a context as `docker context create NAME --docker host=HOST` does.
fn create_context(home: &Path, name: &str, host: &str) {
    let hash = Sha256::digest(name.as_bytes())
        .iter()
        .fold(String::new(), |mut hex, byte| {
            write!(hex, "{byte:02x}").unwrap();
            hex
        });
    let dir = home.join(".docker/contexts/meta").join(hash);
    std::fs::create_dir_all(&dir).unwrap();
    let meta = serde_json::json!({
        "Name": name,
        "Metadata": {},
        "Endpoints": { "docker": { "Host": host, "SkipTLSVerify": false } },
    });
    std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
}

#[test]
fn a_dead_docker_context_is_an_error_and_fix_switches_back_to_default() {
    let project = TestProject::fixture("rails-app");
    let home = project.home();
    let dead = project.dir.path().join("colima/docker.sock");
    create_context(&home, "colima", &format!("unix://{}", dead.display()));
    std::fs::write(
        home.join(".docker/config.json"),
        r#"{"auths": {"127.0.0.1:5000": {}}, "currentContext": "colima"}"#,
    )
    .unwrap();
    let doctor = |args: &[&str], context_var: Option<&str>| {
        let mut command = project.devboot();
        command.args(["doctor", "--json"]).args(args);
        if let Some(name) = context_var {
            command.env("DOCKER_CONTEXT", name);
        }
        let out = run(&mut command);
        let report = one_json(&out);
        (out, report)
    };

    let (out, report) = doctor(&["docker.context", "docker.daemon"], None);
    assert_eq!(out.code, 1);
    let context = expect(&report, "docker.context", "error");
    assert_eq!(
        summary(context),
        format!(
            "context `colima` (context `colima` from config.json) points at unix://{}, but no socket exists there",
            dead.display()
        )
    );
    assert_eq!(commands(context)[0], "docker context use default");
    let daemon = expect(&report, "docker.daemon", "error");
    assert!(summary(daemon).contains("colima"), "{daemon:#}");

    let (out, report) = doctor(&["docker.context", "--fix", "--yes"], None);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let fixed = expect(&report, "docker.context", "ok");
    assert_eq!(
        fixed["details"][0],
        "--fix applied: switch the Docker CLI back to the `default` context (`currentContext` in its config.json)"
    );
    assert!(
        summary(fixed).starts_with("the default context"),
        "{fixed:#}"
    );
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(home.join(".docker/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["currentContext"], "default");
    assert!(
        config["auths"]["127.0.0.1:5000"].is_object(),
        "other settings are kept: {config}"
    );

    // DOCKER_CONTEXT overrides config.json: the fix is to unset it, which only the user can.
    let (out, report) = doctor(&["docker.context", "--fix", "--yes"], Some("colima"));
    assert_eq!(out.code, 1);
    let context = expect(&report, "docker.context", "error");
    assert_eq!(commands(context)[0], "unset DOCKER_CONTEXT");
    assert!(
        context["details"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().starts_with("--fix could not")),
        "{context:#}"
    );
}

#[test]
fn an_engine_short_of_what_the_profile_requires_is_an_error() {
    if !require_engine() {
        return;
    }
    let project = TestProject::fixture("rails-app");
    project.write(
        "devboot.local.toml",
        "[requires]\ndocker_api = \"1.99\"\nmemory = \"64TiB\"\n",
    );
    let out =
        run(project
            .devboot()
            .args(["doctor", "--json", "docker.api_version", "docker.resources"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = one_json(&out);
    let api = expect(&report, "docker.api_version", "error");
    assert!(
        summary(api).ends_with("the profile needs 1.99 or newer"),
        "{api:#}"
    );
    assert_eq!(commands(api), ["devboot profile show --resolved"]);
    let resources = expect(&report, "docker.resources", "error");
    assert!(
        summary(resources).contains("the profile needs 64.0 TiB"),
        "{resources:#}"
    );
}

/// Whether this process runs as root (then `setpriv` makes a user the socket refuses).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn a_socket_this_user_may_not_open_names_the_group_to_join() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("docker.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let devboot = assert_cmd::cargo::cargo_bin("devboot");
    let mut command = if is_root() {
        if !crate::common::require_tool("setpriv") {
            return;
        }
        // root may open anything: run devboot as `nobody`, with the socket root:docker 0660.
        let docker_gid = std::fs::read_to_string("/etc/group")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("docker:x:")?.split(':').next()?.parse().ok());
        std::os::unix::fs::chown(&socket, Some(0), docker_gid).unwrap();
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o660)).unwrap();
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&devboot);
        command
    } else {
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o000)).unwrap();
        Command::new(&devboot)
    };
    command
        .args([
            "doctor",
            "--json",
            "docker.socket_permission",
            "docker.daemon",
        ])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env("DOCKER_HOST", format!("unix://{}", socket.display()));
    let out = run(&mut command);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report = one_json(&out);
    let permission = expect(&report, "docker.socket_permission", "error");
    assert!(
        summary(permission).starts_with(&format!("permission denied on {}", socket.display())),
        "{permission:#}"
    );
    assert!(
        commands(permission)[0].starts_with("sudo usermod -aG "),
        "{permission:#}"
    );
    let daemon = expect(&report, "docker.daemon", "error");
    assert!(summary(daemon).contains("permission denied"), "{daemon:#}");
}
