//! A fixture Rails project on the real engine, shared by the engine and doctor tests: unique
//! Compose project names, `auto` host ports, one test at a time on the engine, and cleanup
//! (containers, network, volumes) even when a test fails.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::common::{Output, TestProject, run};

static ENGINE: Mutex<()> = Mutex::new(());

/// A fixture project on the engine, with a unique Compose project name; removed (containers,
/// network, volumes) when dropped.
pub(crate) struct EngineProject {
    pub(crate) project: TestProject,
    pub(crate) name: String,
    /// devboot runs as this uid (and gid), in the engine's group, instead of the test's user.
    run_as: Option<u32>,
    /// Variables every devboot run of the project gets (an engine endpoint, say).
    vars: Vec<(String, String)>,
    /// `DOCKER_HOST` of the engine this project runs on, when not the default engine.
    docker_host: Option<String>,
    _serial: MutexGuard<'static, ()>,
}

impl EngineProject {
    /// The Rails 6.1 fixture (`tests/fixtures/rails-app`).
    pub(crate) fn new(tag: &str, local_toml: &str) -> Self {
        Self::of_fixture("rails-app", tag, local_toml)
    }

    /// A copy of `tests/fixtures/<fixture>`, with `local_toml` after the unique project name
    /// in its `devboot.local.toml`.
    pub(crate) fn of_fixture(fixture: &str, tag: &str, local_toml: &str) -> Self {
        let serial = ENGINE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let project = TestProject::fixture(fixture);
        let name = format!("devboot-test-{tag}-{}", std::process::id());
        project.write(
            "devboot.local.toml",
            &format!("[project]\nname = \"{name}\"\n\n{local_toml}"),
        );
        Self {
            project,
            name,
            run_as: None,
            vars: Vec::new(),
            docker_host: None,
            _serial: serial,
        }
    }

    /// devboot runs as `uid` (gid the same) with the Docker socket's group, as a developer who
    /// is not root: the project and its HOME become theirs. Needs root and `setpriv`.
    pub(crate) fn run_as(mut self, uid: u32) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = self.project.dir.path();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        // The binary where that user may run it (the checkout may sit in root's home).
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::copy(
            assert_cmd::cargo::cargo_bin("devboot"),
            dir.join("bin/devboot"),
        )
        .unwrap();
        chown_tree(&self.project.root(), uid);
        chown_tree(&self.project.home(), uid);
        self.run_as = Some(uid);
        self
    }

    /// Every devboot run of the project, `down` on drop included, gets `key=value`.
    pub(crate) fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.vars.push((key.to_owned(), value.into()));
        self
    }

    /// devboot (and [`EngineProject::docker`]) talk to the engine at `docker_host` instead.
    pub(crate) fn on_engine(mut self, docker_host: &str) -> Self {
        self.docker_host = Some(docker_host.to_owned());
        self.env("DOCKER_HOST", docker_host)
    }

    /// The docker CLI against this project's engine; stdout.
    pub(crate) fn docker(&self, args: &[&str]) -> String {
        let mut command = Command::new("docker");
        if let Some(host) = &self.docker_host {
            command
                .env_remove("DOCKER_CONTEXT")
                .env("DOCKER_HOST", host);
        }
        String::from_utf8_lossy(&command.args(args).output().unwrap().stdout).into_owned()
    }

    pub(crate) fn devboot(&self, args: &[&str]) -> Output {
        let mut command = self.project.devboot();
        command.args(args);
        command.envs(self.vars.iter().map(|(k, v)| (k, v)));
        let Some(uid) = self.run_as else {
            return run(&mut command);
        };
        let socket_group = std::fs::metadata("/var/run/docker.sock")
            .map_or(0, |m| std::os::unix::fs::MetadataExt::gid(&m));
        let mut as_user = Command::new("setpriv");
        as_user
            .args([
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                format!("--groups={socket_group}"),
            ])
            .arg(self.project.dir.path().join("bin/devboot"))
            .args(command.get_args())
            .env_clear()
            .current_dir(self.project.root());
        for (key, value) in command.get_envs() {
            if let Some(value) = value {
                as_user.env(key, value);
            }
        }
        run(&mut as_user)
    }

    pub(crate) fn up(&self) -> Output {
        let out = self.devboot(&["up", "--yes"]);
        assert_eq!(
            out.code, 0,
            "devboot up failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        out
    }

    /// Container IDs of the project by service.
    pub(crate) fn container_ids(&self) -> Vec<(String, String)> {
        let out = self.docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.name),
            "--format",
            "{{.Label \"com.docker.compose.service\"}} {{.ID}}",
        ]);
        let mut ids: Vec<(String, String)> = out
            .lines()
            .filter_map(|l| {
                l.split_once(' ')
                    .map(|(s, id)| (s.to_owned(), id.to_owned()))
            })
            .collect();
        ids.sort();
        ids
    }

    /// Runs `sql` with psql in the project's `db` container (database `app_development`);
    /// returns psql's exit code and its output, unaligned.
    pub(crate) fn psql(&self, sql: &str) -> (i32, String) {
        let out = run(Command::new("docker").args([
            "exec",
            &format!("{}-db-1", self.name),
            "psql",
            "-U",
            "postgres",
            "-d",
            "app_development",
            "-v",
            "ON_ERROR_STOP=1",
            "-tAc",
            sql,
        ]));
        (
            out.code,
            format!("{}{}", out.stdout.trim(), out.stderr.trim()),
        )
    }

    pub(crate) fn status(&self) -> serde_json::Value {
        let out = self.devboot(&["status", "--json"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap()
    }

    pub(crate) fn host_port(&self, service: &str) -> u16 {
        let status = self.status();
        let service = status["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == service)
            .unwrap();
        u16::try_from(service["ports"][0]["host"].as_u64().unwrap()).unwrap()
    }
}

impl Drop for EngineProject {
    fn drop(&mut self) {
        let _ = self.devboot(&["down", "--volumes", "--yes"]);
        // `down` keeps database snapshots on purpose; a test's go with it.
        let filter = format!("label=dev.devboot.snapshot.project={}", self.name);
        let snapshots = self.docker(&["volume", "ls", "-q", "--filter", &filter]);
        for volume in snapshots.lines() {
            self.docker(&["volume", "rm", volume]);
        }
    }
}

/// `chown -R uid:uid path` (symbolic links themselves, not what they point at).
pub(crate) fn chown_tree(path: &std::path::Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid);
        }
    }
}

pub(crate) fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A plain HTTP/1.0 request to 127.0.0.1; returns status and body.
pub(crate) fn http(method: &str, port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Every port of the fixture stack on `auto`, so tests never collide with what runs on the host.
pub(crate) const AUTO_PORTS: &str = "[services.web]\nports = [{ container = 3000, policy = \"auto\" }]\n\
    [services.db]\nports = [{ container = 5432, policy = \"auto\" }]\n\
    [services.redis]\nports = [{ container = 6379, policy = \"auto\" }]\n";

/// [`AUTO_PORTS`] with `image` as the database's.
pub(crate) fn with_db_image(image: &str) -> String {
    AUTO_PORTS.replace(
        "[services.db]\n",
        &format!("[services.db]\nimage = \"{image}\"\n"),
    )
}

/// A stand-in for `postgres:18`'s layout, built (in seconds, offline) from the Postgres fixture:
/// it keeps its data in `/var/lib/postgresql/18/docker` and, like the official 18 image, refuses
/// to start with a volume at `/var/lib/postgresql/data`. The server is still the fixture's
/// (Debian's Postgres 15, `PG_MAJOR=15`): the layout is 18's, the version is not.
pub(crate) const POSTGRES_18_STAND_IN: &str = "devboot-test/postgres:18";

pub(crate) fn build_postgres_18_stand_in() {
    let dockerfile = "FROM 127.0.0.1:5000/devboot/postgres:15\n\
        ENV PGDATA=/var/lib/postgresql/18/docker\n\
        RUN printf '%s\\n' '#!/bin/sh' \
          'if grep -q \" /var/lib/postgresql/data \" /proc/self/mountinfo; then' \
          '  echo \"Error: in 18+, the data is in /var/lib/postgresql/18/docker; mount the volume at /var/lib/postgresql\" >&2; exit 1' \
          'fi' 'exec docker-entrypoint.sh \"$@\"' >/usr/local/bin/pg18-entrypoint.sh \
         && chmod 0755 /usr/local/bin/pg18-entrypoint.sh\n\
        ENTRYPOINT [\"pg18-entrypoint.sh\"]\n\
        CMD [\"postgres\"]\n";
    let mut build = Command::new("docker");
    build
        .env("DOCKER_BUILDKIT", "0")
        .args([
            "build",
            "-q",
            "--network",
            "none",
            "-t",
            POSTGRES_18_STAND_IN,
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = build.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dockerfile.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "building the postgres:18 stand-in: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Creates the project's `db-data` volume (labelled as devboot labels it) holding Postgres data
/// that claims to come from major version `major`.
pub(crate) fn seed_postgres_volume(stack: &EngineProject, major: &str) {
    seed_postgres_volume_at(stack, "PG_VERSION", major);
}

/// Like [`seed_postgres_volume`], with `PG_VERSION` at `path` in the volume (`18/docker/PG_VERSION`
/// is Postgres 18's layout).
pub(crate) fn seed_postgres_volume_at(stack: &EngineProject, path: &str, major: &str) {
    let volume = format!("{}_db-data", stack.name);
    docker(&[
        "volume",
        "create",
        "--label",
        &format!("com.docker.compose.project={}", stack.name),
        "--label",
        "com.docker.compose.volume=db-data",
        &volume,
    ]);
    docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/data"),
        "--entrypoint",
        "sh",
        "127.0.0.1:5000/devboot/postgres:15",
        "-c",
        &format!("mkdir -p \"$(dirname /data/{path})\" && echo {major} > /data/{path}"),
    ]);
}
