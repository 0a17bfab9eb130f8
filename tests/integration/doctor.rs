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

use crate::common::{Output, TestProject, free_port, require_engine, require_tool, run};
use crate::report::{check, commands, details, expect, one_json, summary};
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
    "docker.provider",
    "docker.platform",
    "docker.subnets",
    "stack.orphan_volumes",
    "postgres.credentials",
    "rails.lockfile_platforms",
    "docker.proxy",
    "rails.dev_image",
    "rails.bundle",
    "rails.container_user",
];

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
        "docker.provider",
        "docker.platform",
        "stack.healthchecks",
        "postgres.credentials",
        "rails.binding",
        "rails.lockfile_platforms",
    ] {
        expect(&report, id, "ok");
    }
    assert_eq!(
        summary(check(&report, "postgres.credentials")),
        "`db` accepts user `postgres` with the configured POSTGRES_PASSWORD"
    );
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

    // The web server started without `-b`: Rails binds to localhost in development.
    project.write(
        "devboot.local.toml",
        &local_toml.replace(
            "[services.web]\n",
            "[services.web]\ncommand = [\"bin/rails\", \"server\", \"-p\", \"3000\", \"-P\", \"/tmp/server.pid\"]\n",
        ),
    );
    let (out, report) = doctor(&stack, &["rails.binding"]);
    assert_eq!(out.code, 1);
    let binding = expect(&report, "rails.binding", "error");
    assert!(
        summary(binding).starts_with("`web` serves on the container's loopback only: no `-b`"),
        "{binding:#}"
    );
    assert_eq!(commands(binding), ["bin/rails server -b 0.0.0.0"]);

    // `web` waits only for `db` to start.
    project.write(
        "devboot.local.toml",
        &local_toml.replace(
            "[services.web]\n",
            "[services.web]\ndepends_on = { db = \"started\", redis = \"healthy\" }\n",
        ),
    );
    let (_, report) = doctor(&stack, &["stack.healthchecks"]);
    let health = expect(&report, "stack.healthchecks", "warn");
    assert_eq!(
        summary(health),
        "`web` waits only for `db` to start, not to be healthy"
    );
    assert_eq!(commands(health), ["devboot up"]);
    project.write("devboot.local.toml", &local_toml);

    // Gemfile.lock locked on a Mac only.
    let lockfile = project.read("Gemfile.lock");
    project.write(
        "Gemfile.lock",
        &lockfile.replace(
            "PLATFORMS\n  x86_64-linux\n",
            "PLATFORMS\n  arm64-darwin-22\n",
        ),
    );
    let (out, report) = doctor(&stack, &["rails.lockfile_platforms"]);
    assert_eq!(out.code, 0, "a warning");
    let platforms = expect(&report, "rails.lockfile_platforms", "warn");
    let engine_platform = match engine_arch().as_str() {
        "aarch64" => "aarch64-linux",
        _ => "x86_64-linux",
    };
    assert!(
        summary(platforms).starts_with(&format!(
            "Gemfile.lock lists arm64-darwin-22, not {engine_platform}"
        )),
        "{platforms:#}"
    );
    assert_eq!(
        commands(platforms)[0],
        format!("bundle lock --add-platform {engine_platform}")
    );
    project.write("Gemfile.lock", &lockfile);

    // POSTGRES_PASSWORD changed after the volume was initialised: `up` recreates `db`, whose
    // entrypoint skips initialisation, so the volume keeps the old password.
    project.write(
        "devboot.local.toml",
        &format!("{local_toml}\n[services.db.environment]\nPOSTGRES_PASSWORD = \"changed-pa55\"\n"),
    );
    stack.up();
    let (out, report) = doctor(&stack, &["postgres.credentials"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(!out.stdout.contains("changed-pa55"), "{}", out.stdout);
    let credentials = expect(&report, "postgres.credentials", "error");
    eprintln!(
        "DEBUG {credentials:#}\n{}",
        docker(&["logs", &format!("{}-db-1", stack.name)])
    );
    assert_eq!(
        summary(credentials),
        "`db` refuses user `postgres` with the configured POSTGRES_PASSWORD: its data volume was initialised with other credentials"
    );
    assert!(
        credentials["details"][0]
            .as_str()
            .unwrap()
            .contains("Skipping initialization"),
        "{credentials:#}"
    );
    assert_eq!(
        commands(credentials),
        [
            format!(
                "docker exec -it {}-db-1 psql -U postgres -d postgres -c '\\password postgres'",
                stack.name
            )
            .as_str(),
            "devboot down --volumes && devboot up"
        ]
    );
    project.write("devboot.local.toml", &local_toml);
    stack.up();
    let (_, report) = doctor(&stack, &["postgres.credentials"]);
    expect(&report, "postgres.credentials", "ok");

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

/// The engine's architecture as `/info` reports it (`x86_64`, `aarch64`).
fn engine_arch() -> String {
    docker(&["info", "--format", "{{.Architecture}}"])
        .trim()
        .to_owned()
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
            .contains("devboot db upgrade"),
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

/// Writes a context as `docker context create NAME --docker host=HOST` does; returns the
/// name's digest, which also names the context's TLS directory.
pub(crate) fn create_context(home: &Path, name: &str, host: &str) -> String {
    let hash = Sha256::digest(name.as_bytes())
        .iter()
        .fold(String::new(), |mut hex, byte| {
            write!(hex, "{byte:02x}").unwrap();
            hex
        });
    let dir = home.join(".docker/contexts/meta").join(&hash);
    std::fs::create_dir_all(&dir).unwrap();
    let meta = serde_json::json!({
        "Name": name,
        "Metadata": {},
        "Endpoints": { "docker": { "Host": host, "SkipTLSVerify": false } },
    });
    std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
    hash
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
    crate::common::host_ids().0 == 0
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
        if !require_tool("setpriv") {
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

#[test]
fn volumes_of_a_compose_project_without_containers_are_listed_with_their_rm_command() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("doctor-vol", AUTO_PORTS);
    let gone = format!("devboot-test-gone-{}", std::process::id());
    let create = |project: &str, volume: &str| {
        let name = format!("{project}_{volume}");
        docker(&[
            "volume",
            "create",
            "--label",
            &format!("com.docker.compose.project={project}"),
            "--label",
            &format!("com.docker.compose.volume={volume}"),
            &name,
        ]);
        name
    };
    let orphan = create(&gone, "db-data");
    // This project's own volume, kept by `devboot down`, is not left over.
    let own = create(&stack.name, "redis-data");
    let (out, report) = doctor(&stack, &["stack.orphan_volumes"]);
    docker(&["volume", "rm", &orphan]);
    assert_eq!(out.code, 0, "a warning: {}", out.stdout);
    let volumes = expect(&report, "stack.orphan_volumes", "warn");
    assert!(
        summary(volumes).contains(&format!("`{gone}` (1)")),
        "{volumes:#}"
    );
    assert!(!summary(volumes).contains(&stack.name), "{volumes:#}");
    let rm = commands(volumes)[0];
    assert!(
        rm.starts_with("docker volume rm ") && rm.split(' ').any(|v| v == orphan),
        "{volumes:#}"
    );
    assert!(!rm.contains(&own), "{volumes:#}");
    assert!(
        volumes["fixes"][0]["description"]
            .as_str()
            .unwrap()
            .contains("deletes their data")
    );
    let (_, report) = doctor(&stack, &["stack.orphan_volumes"]);
    assert!(
        !summary(check(&report, "stack.orphan_volumes")).contains(&gone),
        "removed: {report:#}"
    );
}

/// A tun interface (what a VPN client creates) with an address, and an engine network; both
/// removed when dropped, also when the test fails.
struct VpnRoute {
    iface: String,
    network: String,
}

impl Drop for VpnRoute {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["tuntap", "del", &self.iface, "mode", "tun"])
            .output();
        docker(&["network", "rm", &self.network]);
    }
}

#[test]
fn an_engine_network_on_a_vpn_route_is_found_with_the_address_pool_fix() {
    if !require_engine() || !is_root() || !require_tool("ip") {
        return;
    }
    let stack = EngineProject::new("doctor-net", AUTO_PORTS);
    let vpn = VpnRoute {
        iface: format!("dvbt{}", std::process::id() % 100_000),
        network: format!("devboot-test-net-{}", std::process::id()),
    };
    docker(&[
        "network",
        "create",
        "--subnet",
        "10.213.57.0/24",
        &vpn.network,
    ]);
    for args in [
        vec!["tuntap", "add", vpn.iface.as_str(), "mode", "tun"],
        vec!["addr", "add", "10.213.0.1/16", "dev", vpn.iface.as_str()],
        vec!["link", "set", vpn.iface.as_str(), "up"],
    ] {
        let out = Command::new("ip").args(&args).output().unwrap();
        assert!(out.status.success(), "ip {args:?}: {out:?}");
    }
    let (out, report) = doctor(&stack, &["docker.subnets"]);
    assert_eq!(out.code, 0, "a warning: {}", out.stdout);
    let subnets = expect(&report, "docker.subnets", "warn");
    assert!(
        summary(subnets).contains(&format!(
            "network `{}` 10.213.57.0/24 overlaps the host's route to 10.213.0.0/16 via `{}`",
            vpn.network, vpn.iface
        )),
        "{subnets:#}"
    );
    assert!(
        subnets["fixes"][0]["description"]
            .as_str()
            .unwrap()
            .contains("default-address-pools"),
        "{subnets:#}"
    );
    assert!(
        commands(subnets).contains(&"sudo systemctl restart docker"),
        "{subnets:#}"
    );
    assert!(
        commands(subnets).contains(&format!("docker network rm {}", vpn.network).as_str()),
        "{subnets:#}"
    );
    let network = vpn.network.clone();
    drop(vpn);
    let (_, report) = doctor(&stack, &["docker.subnets"]);
    assert!(
        !summary(check(&report, "docker.subnets")).contains(&network),
        "{report:#}"
    );
}

/// Loads an image of architecture `arch` (one file, no binary) as `docker save` writes one.
fn load_image_of_arch(tag: &str, arch: &str) {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("image");
    std::fs::create_dir_all(dir.path().join("layer")).unwrap();
    std::fs::create_dir_all(&image).unwrap();
    std::fs::write(dir.path().join("layer/hello"), "hello\n").unwrap();
    let tar = |from: &Path, to: &Path| {
        let out = Command::new("tar")
            .arg("-C")
            .arg(from)
            .arg("-cf")
            .arg(to)
            .arg(".")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    tar(&dir.path().join("layer"), &image.join("layer.tar"));
    let hex = |bytes: &[u8]| {
        Sha256::digest(bytes)
            .iter()
            .fold(String::new(), |mut s, b| {
                write!(s, "{b:02x}").unwrap();
                s
            })
    };
    let layer = hex(&std::fs::read(image.join("layer.tar")).unwrap());
    let config = serde_json::json!({
        "architecture": arch, "os": "linux",
        "config": {"Cmd": ["/hello"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer}")]},
    })
    .to_string();
    let config_file = format!("{}.json", hex(config.as_bytes()));
    std::fs::write(image.join(&config_file), &config).unwrap();
    let manifest =
        serde_json::json!([{"Config": config_file, "RepoTags": [tag], "Layers": ["layer.tar"]}]);
    std::fs::write(image.join("manifest.json"), manifest.to_string()).unwrap();
    let archive = dir.path().join("image.tar");
    tar(&image, &archive);
    let out = Command::new("docker")
        .arg("load")
        .arg("-i")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn an_image_of_another_architecture_warns_with_the_platform_to_pull() {
    if !require_engine() || !require_tool("tar") {
        return;
    }
    let engine = engine_arch();
    let (foreign, native) = if engine == "aarch64" {
        ("amd64", "arm64")
    } else {
        ("arm64", "amd64")
    };
    let tag = format!("devboot-test-{foreign}-{}:1", std::process::id());
    load_image_of_arch(&tag, foreign);
    let stack = EngineProject::new("doctor-arch", &format!("{AUTO_PORTS}image = \"{tag}\"\n"));
    let (out, report) = doctor(&stack, &["docker.platform"]);
    docker(&["rmi", &tag]);
    assert_eq!(out.code, 0, "a warning: {}", out.stdout);
    let platform = expect(&report, "docker.platform", "warn");
    assert_eq!(
        summary(platform),
        format!(
            "`redis` ({tag}) is linux/{foreign}, but the engine runs {engine} (linux/{native})"
        )
    );
    assert_eq!(
        commands(platform),
        [
            format!("docker pull --platform linux/{native} {tag}").as_str(),
            "devboot up"
        ]
    );
}

#[test]
fn files_a_container_wrote_as_root_are_found_with_the_chown_fix() {
    if !require_engine() || !is_root() || !require_tool("setpriv") {
        return;
    }
    let project = TestProject::fixture("rails-app");
    // The developer (here `nobody`) owns the checkout and their home.
    let chown = |path: &Path| {
        let out = Command::new("chown")
            .arg("-R")
            .arg("65534:65534")
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    chown(project.dir.path());
    let doctor_as_nobody = || {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("devboot"))
            .args(["doctor", "--json", "rails.file_ownership"])
            .current_dir(project.root())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", project.home())
            .env("NO_COLOR", "1");
        let out = run(&mut command);
        let report = one_json(&out);
        (out, report)
    };
    let (_, report) = doctor_as_nobody();
    expect(&report, "rails.file_ownership", "ok");

    // A container running as root writes into the bind-mounted tmp/ and log/.
    let out = Command::new("docker")
        .arg("run")
        .arg("--rm")
        .arg("-v")
        .arg(format!("{}:/app", project.root().display()))
        .args([
            "--entrypoint",
            "sh",
            "127.0.0.1:5000/devboot/redis:7",
            "-c",
            "mkdir -p /app/tmp/cache/bootsnap && touch /app/tmp/cache/bootsnap/x /app/log/development.log",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (out, report) = doctor_as_nobody();
    assert_eq!(out.code, 0, "a warning: {}\n{}", out.stdout, out.stderr);
    let owned = expect(&report, "rails.file_ownership", "warn");
    assert!(
        summary(owned).ends_with("belong to another user (4 of root): log, tmp"),
        "{owned:#}"
    );
    assert_eq!(commands(owned), ["sudo chown -R $(id -u):$(id -g) log tmp"]);
    chown(&project.root());
    let (_, report) = doctor_as_nobody();
    expect(&report, "rails.file_ownership", "ok");
}

#[test]
fn a_host_clock_ten_minutes_off_the_engines_is_an_error_with_the_sync_fix() {
    if !require_engine() || !require_tool("faketime") {
        return;
    }
    let project = TestProject::empty();
    let doctor_at = |offset: &str| {
        let command = project.devboot();
        let program = command.get_program().to_owned();
        let mut faked = Command::new("faketime");
        faked.arg("-f").arg(offset).arg(program);
        faked.current_dir(project.root()).env_clear();
        for (key, value) in command.get_envs() {
            if let Some(value) = value {
                faked.env(key, value);
            }
        }
        faked.args(["doctor", "docker.clock", "--json"]);
        one_json(&run(&mut faked))
    };
    // libfaketime moves this process's clock only: the engine keeps the real time.
    let skewed = doctor_at("+10m");
    let clock = expect(&skewed, "docker.clock", "error");
    assert!(summary(clock).contains("behind the host"), "{clock:#}");
    assert!(
        commands(clock).contains(&"sudo timedatectl set-ntp true"),
        "{clock:#}"
    );
    expect(&doctor_at("+0"), "docker.clock", "ok");
}

#[test]
fn a_missing_default_socket_warns_while_the_context_socket_answers() {
    if !require_engine() || !require_tool("unshare") {
        return;
    }
    if !is_root() {
        assert!(
            !crate::common::parts_required(),
            "hiding /var/run/docker.sock in a mount namespace needs root"
        );
        eprintln!("skipping: hiding /var/run/docker.sock in a mount namespace needs root");
        return;
    }
    let real = Path::new("/var/run/docker.sock");
    if !real.exists() {
        eprintln!("skipping: the engine does not listen at /var/run/docker.sock here");
        return;
    }
    // The engine's real socket, reached through another path, as Colima or OrbStack put it.
    let project = TestProject::empty();
    let socket = project.dir.path().join("colima/docker.sock");
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    std::fs::write(&socket, "").unwrap();
    let home = project.home();
    create_context(&home, "colima", &format!("unix://{}", socket.display()));
    std::fs::write(
        home.join(".docker/config.json"),
        r#"{"currentContext": "colima"}"#,
    )
    .unwrap();
    // In a private mount namespace: the socket bound to that path, and /run (where
    // /var/run/docker.sock lives) replaced by an empty tmpfs. The machine's socket is untouched.
    let in_namespace = |hide_default: bool| {
        let command = project.devboot();
        let mut namespaced = Command::new("unshare");
        namespaced
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount --bind /var/run/docker.sock \"$1\" && {} exec \"$0\" doctor --json docker.default_socket docker.daemon",
                if hide_default { "mount -t tmpfs devboot-test /run &&" } else { "" }
            ))
            .arg(command.get_program())
            .arg(&socket)
            .current_dir(project.root())
            .env_clear();
        for (key, value) in command.get_envs() {
            if let Some(value) = value {
                namespaced.env(key, value);
            }
        }
        let out = run(&mut namespaced);
        (one_json(&out), out)
    };
    let (report, out) = in_namespace(true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    expect(&report, "docker.daemon", "ok");
    let warned = expect(&report, "docker.default_socket", "warn");
    assert_eq!(
        summary(warned),
        format!(
            "the engine answers at unix://{} (context `colima` from config.json), but /var/run/docker.sock does not exist",
            socket.display()
        )
    );
    assert_eq!(
        commands(warned)[..2],
        [
            format!("sudo ln -s {} /var/run/docker.sock", socket.display()),
            format!("export DOCKER_HOST=unix://{}", socket.display()),
        ]
    );
    assert!(
        Path::new("/var/run/docker.sock").exists(),
        "the real socket is untouched"
    );
    // Without hiding it: the default socket answers too.
    let (report, _) = in_namespace(false);
    let fine = expect(&report, "docker.default_socket", "ok");
    assert!(
        summary(fine).ends_with("/var/run/docker.sock answers too"),
        "{fine:#}"
    );
}

#[test]
fn a_container_off_its_network_and_a_listener_on_the_db_port_are_found() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("dnsshadow", AUTO_PORTS);
    stack.up();
    let db_port = stack.host_port("db");
    let (_, report) = doctor(&stack, &["stack.container_dns", "postgres.shadowed"]);
    let dns = expect(&report, "stack.container_dns", "ok");
    assert!(summary(dns).starts_with("in `web`: db → "), "{dns:#}");
    let shadowed = expect(&report, "postgres.shadowed", "ok");
    assert_eq!(
        summary(shadowed),
        format!("localhost:{db_port} (DATABASE_URL in .devboot/env) is the stack's `db`")
    );

    // The app container taken off the project network: `db` no longer resolves in it.
    let network = format!("{}_default", stack.name);
    let web = format!("{}-web-1", stack.name);
    docker(&["network", "disconnect", &network, &web]);
    let (out, report) = doctor(&stack, &["stack.container_dns"]);
    assert_eq!(out.code, 1);
    let dns = expect(&report, "stack.container_dns", "error");
    assert!(
        summary(dns).starts_with("`web` cannot resolve `db`, `redis`"),
        "{dns:#}"
    );
    let connect = format!("docker network connect --alias web {network} {web}");
    assert_eq!(commands(dns)[0], connect);
    // The fix it gives works.
    let args: Vec<&str> = connect.split(' ').skip(1).collect();
    docker(&args);
    let (_, report) = doctor(&stack, &["stack.container_dns"]);
    expect(&report, "stack.container_dns", "ok");

    // The stack stopped, and another process now listens on the port `.devboot/env` names.
    let out = stack.devboot(&["down", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let listener = TcpListener::bind(("127.0.0.1", db_port)).unwrap();
    let (out, report) = doctor(&stack, &["postgres.shadowed"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let shadowed = expect(&report, "postgres.shadowed", "error");
    let pid = std::process::id();
    assert!(
        summary(shadowed).starts_with(&format!(
            "localhost:{db_port} (DATABASE_URL in .devboot/env) is not the stack's Postgres: port {db_port} is in use by `"
        )) && summary(shadowed).ends_with(&format!("(pid {pid})")),
        "{shadowed:#}"
    );
    assert_eq!(
        commands(shadowed)[..2],
        [format!("kill {pid}").as_str(), "devboot up"]
    );
    drop(listener);
}

#[test]
fn an_image_on_ecr_without_a_live_login_is_found_with_the_login_command() {
    const ECR: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    let project = TestProject::fixture("rails-app");
    project.write(
        "devboot.local.toml",
        &format!("[services.redis]\nimage = \"{ECR}/devboot/redis:7\"\n"),
    );
    let bin = project.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let doctor = || {
        let out = run(project
            .devboot()
            .args(["doctor", "--json", "aws.ecr_login"])
            .env("PATH", &bin));
        (out.code, one_json(&out))
    };
    let login = format!(
        "aws ecr get-login-password --region eu-west-1 | docker login --username AWS --password-stdin {ECR}"
    );

    // No credentials at all.
    let (code, report) = doctor();
    assert_eq!(code, 1);
    let none = expect(&report, "aws.ecr_login", "error");
    assert_eq!(
        summary(none),
        format!("no credentials for {ECR} (`redis`): pulls fail with `no basic auth credentials`")
    );
    assert_eq!(commands(none), [login.as_str()]);

    // A `docker login` written two days ago: the 12-hour token is dead.
    let config = project.home().join(".docker/config.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let secret = "QVdTOmV5SndZWGxzYjJGa0lqb2labUZyWlNKOQ==";
    std::fs::write(
        &config,
        format!(r#"{{"auths": {{"{ECR}": {{"auth": "{secret}"}}}}}}"#),
    )
    .unwrap();
    let touched = Command::new("touch")
        .args(["-d", "2 days ago"])
        .arg(&config)
        .status()
        .unwrap();
    assert!(touched.success());
    let (code, report) = doctor();
    assert_eq!(code, 1);
    let stale = expect(&report, "aws.ecr_login", "error");
    assert!(
        summary(stale).starts_with(&format!("the `docker login` to {ECR} is older than 12 h")),
        "{stale:#}"
    );
    assert_eq!(commands(stale), [login.as_str()]);
    assert!(
        !report.to_string().contains(secret),
        "the token never shows"
    );

    // Fresh: works now, but only for 12 hours.
    std::fs::write(
        &config,
        format!(r#"{{"auths": {{"{ECR}": {{"auth": "{secret}"}}}}}}"#),
    )
    .unwrap();
    let (code, report) = doctor();
    assert_eq!(code, 0);
    expect(&report, "aws.ecr_login", "warn");

    // The ECR credential helper named but not installed, then installed.
    std::fs::write(
        &config,
        format!(r#"{{"credHelpers": {{"{ECR}": "ecr-login"}}}}"#),
    )
    .unwrap();
    let (_, report) = doctor();
    let missing = expect(&report, "aws.ecr_login", "error");
    assert!(
        summary(missing).starts_with("`docker-credential-ecr-login` for"),
        "{missing:#}"
    );
    let helper = bin.join("docker-credential-ecr-login");
    std::fs::write(&helper, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (code, report) = doctor();
    assert_eq!(code, 0);
    let ok = expect(&report, "aws.ecr_login", "ok");
    assert_eq!(
        summary(ok),
        format!("{ECR} (`redis`): credential helper `docker-credential-ecr-login`")
    );
}

/// The app container as a production image leaves it: the development group left out of the
/// bundle, a gem the Gemfile asks for not installed, and a `USER` that is not the developer.
#[test]
fn a_production_like_app_container_is_found_by_the_rails_image_checks() {
    if !require_engine() || !is_root() {
        return;
    }
    let local =
        format!("{AUTO_PORTS}\n[services.web.environment]\nBUNDLE_WITHOUT = \"development\"\n");
    let stack = EngineProject::new("devimage", &local);
    stack.up();
    let ids = ["rails.dev_image", "rails.bundle", "rails.container_user"];
    let (_, report) = doctor(&stack, &ids);
    let dev_image = expect(&report, "rails.dev_image", "warn");
    assert_eq!(
        summary(dev_image),
        "`web` runs a production image: BUNDLE_WITHOUT=development",
        "{dev_image:#}"
    );
    assert_eq!(commands(dev_image), ["devboot up"]);
    expect(&report, "rails.bundle", "ok");
    let user = expect(&report, "rails.container_user", "ok");
    assert_eq!(
        summary(user),
        "`web` runs as root (no USER), uid 0 like you"
    );

    // A teammate's Gemfile change that this container has not installed.
    let gemfile = stack.project.read("Gemfile");
    stack.project.write(
        "Gemfile",
        &format!("{gemfile}gem \"devboot_absent_gem\", \"1.2.3\"\n"),
    );
    let (_, report) = doctor(&stack, &["rails.bundle"]);
    let bundle = expect(&report, "rails.bundle", "error");
    assert_eq!(
        summary(bundle),
        "`bundle check` fails in `web` (exit code 1)",
        "{bundle:#}"
    );
    // Bundler's own words come with it (it does not name a gem the lockfile lacks).
    assert!(
        details(bundle).contains(&"Bundler can't satisfy your Gemfile's dependencies."),
        "{bundle:#}"
    );
    assert_eq!(commands(bundle), ["devboot up"]);
    stack.project.write("Gemfile", &gemfile);

    // An image whose USER is uid 1000, as Rails' production Dockerfile ends, for a developer
    // who is root here: judged from the container's config, running or not.
    let dockerfile = stack.project.read("Dockerfile");
    stack
        .project
        .write("Dockerfile", &format!("{dockerfile}USER 1000:1000\n"));
    let _ = stack.devboot(&["up", "--yes"]);
    let (_, report) = doctor(&stack, &["rails.container_user"]);
    let user = expect(&report, "rails.container_user", "warn");
    assert_eq!(
        summary(user),
        "`web` runs as `1000:1000` (uid 1000:1000), you as 0:0",
        "{user:#}"
    );
    assert_eq!(
        commands(user),
        ["sudo chown -R $(id -u):$(id -g) log tmp db"]
    );
}
