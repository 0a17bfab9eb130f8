//! Shared test helpers: a hermetic `devboot` command, temporary projects, fixture copies, and
//! the rule for tests that need a real Docker engine.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;

/// The repository root (where Cargo.toml is).
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// This process's user and group ids.
pub(crate) fn host_ids() -> (u32, u32) {
    (
        rustix::process::getuid().as_raw(),
        rustix::process::getgid().as_raw(),
    )
}

/// A temporary directory holding a project and a private HOME.
pub(crate) struct TestProject {
    pub(crate) dir: tempfile::TempDir,
}

impl TestProject {
    pub(crate) fn empty() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("devboot-test-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("app")).unwrap();
        Self { dir }
    }

    /// A copy of `tests/fixtures/<name>` as the project.
    pub(crate) fn fixture(name: &str) -> Self {
        let project = Self::empty();
        copy_dir(
            &repo_root().join("tests/fixtures").join(name),
            &project.root(),
        );
        project
    }

    /// The project directory.
    pub(crate) fn root(&self) -> PathBuf {
        self.dir.path().join("app")
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub(crate) fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.root().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub(crate) fn read_bytes(&self, relative: &str) -> Vec<u8> {
        std::fs::read(self.root().join(relative)).unwrap()
    }

    pub(crate) fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.root().join(relative)).unwrap()
    }

    /// `devboot` run in the project with a clean environment: private HOME, no DOCKER_* or
    /// AWS_* variables, no colour, no progress bars.
    pub(crate) fn devboot(&self) -> Command {
        let mut command = Command::new(cargo_bin("devboot"));
        command.current_dir(self.root()).env_clear();
        for (key, value) in std::env::vars_os() {
            let key_text = key.to_string_lossy();
            // PATH finds tools. The engine is the one the docker CLI of the helpers talks to:
            // the default one, or DOCKER_HOST when the suite is run against another engine
            // (README, *Run the tests*); tests that need another endpoint set theirs.
            if key_text == "PATH" || key_text == "TMPDIR" || key_text == "DOCKER_HOST" {
                command.env(&key, value);
            }
        }
        command
            .env("HOME", self.home())
            .env("NO_COLOR", "1")
            .env("DEVBOOT_NO_PROGRESS", "1")
            .env("LANG", "C.UTF-8");
        command
    }
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Output of a finished command, as text, for assertions and snapshots.
pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Output {
    /// `exit: N`, stdout and stderr, with the temporary directory written as `[TMP]`.
    pub(crate) fn snapshot(&self, project: &TestProject) -> String {
        let tmp = project.dir.path().display().to_string();
        format!(
            "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.code,
            self.stdout.replace(&tmp, "[TMP]"),
            self.stderr.replace(&tmp, "[TMP]")
        )
    }
}

/// Whether a tool is on PATH.
pub(crate) fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether this run must exercise real external parts (CI, or asked for explicitly): then a
/// missing part fails the test instead of skipping it.
pub(crate) fn parts_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("DEVBOOT_ENGINE_TESTS").is_ok_and(|v| v == "1")
}

/// `true` when a Docker engine answers; otherwise skips (returns `false`) — or, when parts are
/// required, fails.
pub(crate) fn require_engine() -> bool {
    let answers = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !answers {
        assert!(
            !parts_required(),
            "no Docker engine answers, and CI=true requires one (run `scripts/test-env up`)"
        );
        eprintln!(
            "skipping: no Docker engine (set DEVBOOT_ENGINE_TESTS=1 or CI=true to make this a failure)"
        );
    }
    answers
}

/// `true` when `tool` is installed; otherwise skips, or fails when parts are required.
pub(crate) fn require_tool(tool: &str) -> bool {
    let present = have(tool);
    if !present {
        assert!(
            !parts_required(),
            "`{tool}` is not installed, and CI=true requires it (run `scripts/test-env up`)"
        );
        eprintln!("skipping: `{tool}` is not installed");
    }
    present
}

/// A `moto_server` (the AWS API emulator) on a free loopback port, stopped on drop.
pub(crate) struct Moto {
    child: Child,
    host: String,
    port: u16,
}

impl Moto {
    /// Starts moto on a free loopback port, or `None` (skip) when it is not installed — a
    /// failure when parts are required.
    pub(crate) fn start() -> Option<Self> {
        if !require_tool("moto_server") {
            return None;
        }
        Some(Self::start_at("127.0.0.1", free_port()))
    }

    /// Starts moto on `host:port` (an address containers reach, for tests of the app) and
    /// waits until it accepts connections. When moto exits or never listens, the panic carries
    /// its stderr: the reason (an address not on this host, a port taken) is there.
    pub(crate) fn start_at(host: &str, port: u16) -> Self {
        assert!(
            !host.is_empty(),
            "moto_server needs an address to listen on"
        );
        let stderr = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new("moto_server")
            .args(["-H", host, "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut moto = Self {
            child,
            host: host.to_owned(),
            port,
        };
        let why = |what: &str| {
            let log = std::fs::read_to_string(stderr.path()).unwrap_or_default();
            format!("moto_server on {host}:{port} {what}; its stderr:\n{log}")
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect((host, port)).is_err() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("{}", why(&format!("exited ({status})")));
            }
            assert!(
                Instant::now() < deadline,
                "{}",
                why("did not listen in 30 s")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        moto
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }
}

/// The lines of `child`'s piped stderr as they come; the channel closes at the pipe's end.
pub(crate) fn stderr_lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead as _;
    let stderr = child.stderr.take().expect("stderr is piped");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines_tx.send(line);
        }
    });
    lines
}

/// A loopback port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
