//! Faults in the middle of `up`, produced for real, and what `up` must do about each: fail
//! promptly in words a user understands, lose nothing, and converge on the next run.
//!
//! - The engine going away while `up` waits: the shared engine is reached through a
//!   unix-socket relay this test cuts, so nobody else's engine stops.
//! - The registry going away mid-pull, the engine's disk filling up during a pull or a build,
//!   the engine crashing and restarting between two `up`s: on a private engine of the test's
//!   own ([`PrivateEngine`]), which it may fill, kill and restart.

use std::net::TcpStream;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use crate::common::{Output, TestProject, require_engine, run, stderr_lines};
use crate::private_engine::PrivateEngine;
use crate::relay::Relay;
use crate::stack::{AUTO_PORTS, EngineProject};

#[test]
fn the_engine_going_away_mid_up_fails_promptly_and_the_next_up_converges() {
    if !require_engine() {
        return;
    }
    // The app waits for a healthcheck that never passes, so `up` is surely waiting when the
    // engine goes.
    let local = AUTO_PORTS.replace(
        "[services.web]\n",
        "[services.web]\nhealthcheck = { test = \"false\", interval = \"1s\", retries = 1000 }\n",
    );
    let stack = EngineProject::new("enginegone", &local);
    let socket = stack.project.dir.path().join("engine.sock");
    let relay = Relay::start(
        UnixListener::bind(&socket).unwrap(),
        || UnixStream::connect("/var/run/docker.sock"),
        None,
    );
    let mut up = stack
        .project
        .devboot()
        .args(["up", "--yes"])
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut up);
    let creating = lines
        .iter()
        .find(|line| line.contains("Creating") && line.contains("web"));
    assert!(creating.is_some(), "up never created web");
    // web starts, then `up` waits for a healthcheck that never passes (until its 480 s
    // deadline): a moment later, it is surely waiting.
    std::thread::sleep(Duration::from_secs(3));

    let cut_at = Instant::now();
    relay.cut();
    std::fs::remove_file(&socket).unwrap();
    let status = up.wait().unwrap();
    let took = cut_at.elapsed();
    // Everything it printed: the reader thread ends at the pipe's end.
    let rest: Vec<String> = lines.iter().collect();
    let said = rest.join("\n");
    assert_eq!(status.code(), Some(1), "{said}");
    // Promptly: before, an ended event stream was read in a loop until the 480 s deadline.
    assert!(took < Duration::from_secs(30), "took {took:?}: {said}");
    assert!(
        said.contains("the Docker engine stopped answering"),
        "{said}"
    );
    assert!(said.contains("start the engine again"), "the fix: {said}");
    assert!(!said.contains("hyper"), "no HTTP client jargon: {said}");

    // The engine is back (the real one): the next `up` converges, volumes kept.
    let volumes = |name: &str| {
        crate::stack::docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={name}"),
        ])
    };
    let before = volumes(&stack.name);
    let fixed = AUTO_PORTS.to_owned();
    stack.project.write(
        "devboot.local.toml",
        &format!("[project]\nname = \"{}\"\n\n{fixed}", stack.name),
    );
    let again = run(stack.project.devboot().args(["up", "--yes"]));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(volumes(&stack.name), before, "no volume lost or added");
}

/// The test registry, as the private engine sees it.
const REGISTRY: &str = "127.0.0.1:5000";

/// A small stack: Redis and Postgres from `registry`, each keeping data in a named volume.
fn redis_service() -> String {
    format!(
        "[services.redis]\nimage = \"{REGISTRY}/devboot/redis:7\"\nvolumes = [\"redis-data:/data\"]\n\
         healthcheck = {{ test = [\"redis-cli\", \"ping\"], interval = \"500ms\", timeout = \"3s\", retries = 120 }}\n"
    )
}

fn postgres_service(registry: &str) -> String {
    format!(
        "[services.db]\nimage = \"{registry}/devboot/postgres:15\"\n\
         volumes = [\"db-data:/var/lib/postgresql/data\"]\nenvironment = {{ POSTGRES_PASSWORD = \"postgres\" }}\n\
         healthcheck = {{ test = \"pg_isready -U postgres -h 127.0.0.1\", interval = \"500ms\", timeout = \"3s\", retries = 120 }}\n"
    )
}

/// A project named `name` declaring `services`.
fn project(name: &str, services: &str) -> TestProject {
    let project = TestProject::empty();
    write_profile(&project, name, services);
    project
}

fn write_profile(project: &TestProject, name: &str, services: &str) {
    project.write(
        "devboot.toml",
        &format!("schema = 1\n\n[project]\nname = \"{name}\"\n\n{services}"),
    );
}

/// `devboot up` of `project` on `engine`, and how long it took.
fn up(engine: &PrivateEngine, project: &TestProject) -> (Output, Duration) {
    let started = Instant::now();
    let out = run(project
        .devboot()
        .args(["up", "--yes"])
        .env("DOCKER_HOST", engine.docker_host()));
    (out, started.elapsed())
}

/// What a failed `up` said in the end, for the test's log (`--nocapture`).
fn show(fault: &str, out: &Output, took: Duration) {
    let lines: Vec<&str> = out.stderr.lines().collect();
    let end = lines[lines.len().saturating_sub(4)..].join("\n");
    eprintln!("{fault}: exit {} after {took:.1?}\n{end}\n", out.code);
}

fn assert_up(engine: &PrivateEngine, project: &TestProject) -> Duration {
    let (out, took) = up(engine, project);
    assert_eq!(
        out.code, 0,
        "devboot up failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    took
}

/// `service state` of each container of project `name`, sorted.
fn containers(engine: &PrivateEngine, name: &str) -> Vec<String> {
    let out = engine.docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
        "--format",
        "{{.Label \"com.docker.compose.service\"}} {{.State}}",
    ]);
    let mut lines: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// Redis's value for `key` in project `name`'s container.
fn redis_get(engine: &PrivateEngine, name: &str, key: &str) -> String {
    let out = engine.docker(&["exec", &format!("{name}-redis-1"), "redis-cli", "get", key]);
    out.stdout.trim().to_owned()
}

/// Stores a key in Redis, written to its volume.
fn redis_keep(engine: &PrivateEngine, name: &str, key: &str, value: &str) {
    let container = format!("{name}-redis-1");
    for command in [&["set", key, value][..], &["save"]] {
        let out = engine.docker(&[&["exec", &container, "redis-cli"][..], command].concat());
        assert_eq!(out.stdout.trim(), "OK", "{}", out.stderr);
    }
}

fn psql(engine: &PrivateEngine, name: &str, sql: &str) -> Output {
    engine.docker(&[
        "exec",
        &format!("{name}-db-1"),
        "psql",
        "-U",
        "postgres",
        "-tAc",
        sql,
    ])
}

/// The volumes of project `name`.
fn volumes(engine: &PrivateEngine, name: &str) -> String {
    engine
        .docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={name}"),
        ])
        .stdout
}

#[test]
fn the_registry_going_away_mid_pull_fails_clearly_and_the_next_up_converges() {
    let Some(engine) = PrivateEngine::start(1024) else {
        return;
    };
    let name = "registrygone";
    let project = project(name, &redis_service());
    assert_up(&engine, &project);
    redis_keep(&engine, name, "kept", "yes");

    // Postgres comes through a relay that stops 8 MB into the download (its big layer is
    // 75 MB): the connection closes and the registry refuses every retry.
    let relayed = "127.0.0.1:5001";
    let relay = Relay::start(
        engine.listen(5001),
        || TcpStream::connect(REGISTRY),
        Some(8 << 20),
    );
    let services = format!("{}\n{}", redis_service(), postgres_service(relayed));
    write_profile(&project, name, &services);
    let (failed, took) = up(&engine, &project);
    show("registry gone mid-pull", &failed, took);
    let said = format!("{}\n{}", failed.stdout, failed.stderr);
    assert!(
        relay.is_cut(),
        "the cut never came: {} bytes",
        relay.returned()
    );
    assert_eq!(failed.code, 1, "{said}");
    // The engine itself retries a broken layer 5 times, 5 to 25 s apart (75 s in all); `up`
    // says so meanwhile, and fails as soon as the engine gives up.
    assert!(took < Duration::from_secs(150), "took {took:?}: {said}");
    let image = format!("{relayed}/devboot/postgres:15");
    assert!(
        said.contains(&format!(
            "Retrying {image}: the registry stopped answering; the engine tries again in 5 s"
        )),
        "{said}"
    );
    // The engine fetches the image's configuration beside its layers; when the scheduling of a
    // busy machine puts that request after the cut, the engine gives up on the configuration
    // after its own quick retries instead of retrying a layer. Either way `up` says so clearly.
    let retries = said.lines().filter(|l| l.contains("Retrying")).count();
    if !said.contains("error pulling image configuration") {
        assert!(retries >= 3, "each retry is said: {said}");
    }
    assert!(
        said.contains(&format!(
            "pulling `{image}` failed: the registry is not answering: "
        )),
        "{said}"
    );
    assert!(
        said.contains("then run `devboot up` again"),
        "the fix: {said}"
    );

    // Nothing half-done: no Postgres container, Redis untouched with its data.
    assert_eq!(containers(&engine, name), ["redis running"]);
    assert_eq!(redis_get(&engine, name, "kept"), "yes");
    let kept_volumes = volumes(&engine, name);

    // The registry answers again: the next `up` converges, nothing lost.
    let _back = Relay::start(engine.listen(5001), || TcpStream::connect(REGISTRY), None);
    let took = assert_up(&engine, &project);
    eprintln!("registry back: up converged in {took:.1?}");
    assert_eq!(containers(&engine, name), ["db running", "redis running"]);
    assert_eq!(redis_get(&engine, name, "kept"), "yes");
    for volume in kept_volumes.lines() {
        assert!(volumes(&engine, name).contains(volume), "{volume} lost");
    }
}

#[test]
fn a_full_engine_disk_fails_pulls_and_builds_clearly_and_loses_nothing() {
    let Some(engine) = PrivateEngine::start(640) else {
        return;
    };
    let kept = project("diskkept", &redis_service());
    assert_up(&engine, &kept);
    redis_keep(&engine, "diskkept", "kept", "yes");

    // Fill the engine's disk to its last 16 MiB, with a file beside its data root.
    let filler = engine.disk().join("filler");
    let free = rustix::fs::statvfs(engine.disk()).unwrap();
    let left = 16 << 20;
    let size = (free.f_bavail * free.f_frsize).saturating_sub(left);
    let file = std::fs::File::create(&filler).unwrap();
    rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, size).unwrap();
    // Closed, so removing it gives the space back.
    drop(file);

    // A pull fills the rest (Postgres's big layer is 75 MB).
    let pulling = project("diskpull", &postgres_service(REGISTRY));
    let (failed, took) = up(&engine, &pulling);
    show("disk full during a pull", &failed, took);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(
        failed.stderr.contains(&format!(
            "pulling `{REGISTRY}/devboot/postgres:15` failed: the Docker engine's disk is full ("
        )),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("`docker system prune`")
            && failed.stderr.contains("volumes are kept"),
        "the fix: {}",
        failed.stderr
    );
    assert_eq!(containers(&engine, "diskpull"), Vec::<String>::new());

    // A build whose step writes more than is left.
    let building = project(
        "diskbuild",
        "[services.app]\nbuild = \".\"\ncommand = [\"sleep\", \"infinity\"]\n",
    );
    building.write(
        "Dockerfile",
        &format!("FROM {REGISTRY}/devboot/redis:7\nRUN head -c 64000000 /dev/zero > /ballast\n"),
    );
    let (failed, took) = up(&engine, &building);
    show("disk full during a build", &failed, took);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("building `app` failed: the Docker engine's disk is full ("),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("No space left on device"),
        "the build's own words: {}",
        failed.stderr
    );

    // The project that was running is untouched.
    assert_eq!(containers(&engine, "diskkept"), ["redis running"]);
    assert_eq!(redis_get(&engine, "diskkept", "kept"), "yes");

    // Space freed: both converge.
    std::fs::remove_file(&filler).unwrap();
    let took = assert_up(&engine, &pulling) + assert_up(&engine, &building);
    eprintln!("disk freed: both ups converged in {took:.1?}");
    assert_eq!(containers(&engine, "diskpull"), ["db running"]);
    assert_eq!(containers(&engine, "diskbuild"), ["app running"]);
    assert_eq!(redis_get(&engine, "diskkept", "kept"), "yes");
}

#[test]
fn the_engine_crashing_between_two_ups_loses_nothing_and_up_starts_the_stack_again() {
    let Some(mut engine) = PrivateEngine::start(1024) else {
        return;
    };
    let name = "enginecrash";
    let services = format!("{}\n{}", redis_service(), postgres_service(REGISTRY));
    let project = project(name, &services);
    assert_up(&engine, &project);
    let created = psql(
        &engine,
        name,
        "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42);",
    );
    assert_eq!(created.code, 0, "{}", created.stderr);
    redis_keep(&engine, name, "kept", "yes");
    let ids = |engine: &PrivateEngine| engine.docker(&["ps", "-aq", "--no-trunc"]).stdout;
    let before = ids(&engine);

    engine.crash();
    engine.restart();
    // Back up, the engine has stopped what ran before (no restart policy).
    assert_eq!(containers(&engine, name), ["db exited", "redis exited"]);

    let took = assert_up(&engine, &project);
    eprintln!("engine crashed and restarted: up converged in {took:.1?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert_eq!(containers(&engine, name), ["db running", "redis running"]);
    assert_eq!(ids(&engine), before, "the same containers, started again");
    assert_eq!(
        psql(&engine, name, "SELECT n FROM kept").stdout.trim(),
        "42"
    );
    assert_eq!(redis_get(&engine, name, "kept"), "yes");
}
