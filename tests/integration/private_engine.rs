//! A Docker engine of the test's own, for faults the engine the other tests share must never
//! suffer: killed and restarted, its disk filled, its registry cut. It runs as root from the
//! installed `dockerd`, with everything of its own: a small data root on a loop-mounted ext4
//! file (so "disk full" is a real full filesystem), its own socket, exec root, pid file and
//! daemon config — and its own **network namespace**. That last one matters: a dockerd that
//! restarts and finds its stale default bridge deletes the interface named `docker0` when it
//! was given `--default-address-pool` (and always with `--bridge=none`); in the host's
//! namespace that is the shared engine's bridge. In a namespace of its own it can only touch
//! its own `docker0`, and its networks and published ports cannot collide with anyone's.
//!
//! Inside the namespace, `127.0.0.1:5000` is a relay to the test registry on the host, so the
//! fixture images keep their names; [`PrivateEngine::listen`] opens other listeners there (a
//! registry relay a test cuts). Everything is torn down on drop, also when a test fails: the
//! engine stopped, leftover processes of it killed, the namespace deleted, the data root
//! unmounted.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::common::{Output, parts_required, require_tool, run};
use crate::relay::Relay;

/// One private engine at a time: they are heavy for a 2-core machine.
static PRIVATE: Mutex<()> = Mutex::new(());
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// The test registry as seen from the host.
const REGISTRY: &str = "127.0.0.1:5000";

pub(crate) struct PrivateEngine {
    dir: tempfile::TempDir,
    /// The network namespace's name (`ip netns`).
    netns: String,
    dockerd: Option<Child>,
    registry: Option<Relay<TcpStream>>,
    _serial: MutexGuard<'static, ()>,
}

impl PrivateEngine {
    /// Starts an engine whose data root is a fresh `disk_mib` MiB filesystem. `None` (skip)
    /// when this is not root or a tool is missing; a failure when parts are required.
    pub(crate) fn start(disk_mib: u64) -> Option<Self> {
        if !rustix::process::geteuid().is_root() {
            assert!(
                !parts_required(),
                "a private Docker engine needs root, and CI=true requires it"
            );
            eprintln!("skipping: a private Docker engine needs root");
            return None;
        }
        for tool in ["dockerd", "docker", "ip", "nsenter", "mkfs.ext4", "mount"] {
            if !require_tool(tool) {
                return None;
            }
        }
        let serial = PRIVATE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Short: the engine's sockets live below it, and unix socket paths are short.
        let dir = tempfile::Builder::new().prefix("dbe-").tempdir().unwrap();
        let number = STARTED.fetch_add(1, Ordering::SeqCst);
        let mut engine = Self {
            netns: format!("devboot-test-{}-{number}", std::process::id()),
            dir,
            dockerd: None,
            registry: None,
            _serial: serial,
        };
        engine.mount_data_root(disk_mib);
        std::fs::write(engine.path("daemon.json"), "{}").unwrap();
        std::fs::create_dir(engine.path("exec")).unwrap();
        sh("ip", &["netns", "add", &engine.netns]);
        sh("ip", &["-n", &engine.netns, "link", "set", "lo", "up"]);
        let registry = Relay::start(engine.listen(5000), || TcpStream::connect(REGISTRY), None);
        engine.registry = Some(registry);
        engine.start_dockerd();
        Some(engine)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Where the engine's data root lives: a filesystem of its own (fill it to fill the engine's
    /// disk).
    pub(crate) fn disk(&self) -> PathBuf {
        self.path("disk")
    }

    /// A loop-mounted ext4 file; where loop devices are not available, a size-limited tmpfs
    /// (a full tmpfs fails writes with the same `ENOSPC`).
    fn mount_data_root(&self, disk_mib: u64) {
        let image = self.path("disk.img");
        std::fs::File::create(&image)
            .unwrap()
            .set_len(disk_mib << 20)
            .unwrap();
        std::fs::create_dir(self.disk()).unwrap();
        sh("mkfs.ext4", &["-q", "-F", &image.display().to_string()]);
        let looped = run(Command::new("mount").args([
            "-o",
            "loop",
            &image.display().to_string(),
            &self.disk().display().to_string(),
        ]));
        if looped.code != 0 {
            eprintln!(
                "no loop device ({}); the private engine's data root is a tmpfs",
                looped.stderr.trim()
            );
            sh(
                "mount",
                &[
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={disk_mib}m"),
                    "tmpfs",
                    &self.disk().display().to_string(),
                ],
            );
        }
    }

    fn start_dockerd(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("dockerd.log"))
            .unwrap();
        let dir = |name: &str| self.path(name).display().to_string();
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg("dockerd")
            .args(["--config-file", &dir("daemon.json")])
            .args(["--host", &self.docker_host()])
            .args(["--data-root", &format!("{}/docker", dir("disk"))])
            .args(["--exec-root", &dir("exec")])
            .args(["--pidfile", &dir("dockerd.pid")])
            // Alone in its namespace it needs no firewall rules: ports are published by the
            // userland proxy, and nothing of the host's is touched.
            .args(["--iptables=false", "--ip-forward=false"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.dockerd = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self
            .docker(&["info", "--format", "{{.ServerVersion}}"])
            .code
            != 0
        {
            if let Some(status) = self.dockerd.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "the private dockerd exited ({status}):\n{}",
                    self.log_tail()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the private dockerd did not answer in 60 s:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.path("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `DOCKER_HOST` for devboot and the docker CLI.
    pub(crate) fn docker_host(&self) -> String {
        format!("unix://{}", self.path("docker.sock").display())
    }

    /// The docker CLI against this engine.
    pub(crate) fn docker(&self, args: &[&str]) -> Output {
        run(Command::new("docker")
            .env_remove("DOCKER_CONTEXT")
            .args(["--host", &self.docker_host()])
            .args(args))
    }

    /// A listener on `127.0.0.1:port` inside the engine's network namespace: what the engine
    /// reaches as `127.0.0.1:port`.
    pub(crate) fn listen(&self, port: u16) -> TcpListener {
        let netns = format!("/run/netns/{}", self.netns);
        // Only the calling thread enters the namespace; a socket stays in the namespace it was
        // made in, so the listener works from any thread afterwards.
        std::thread::spawn(move || {
            let namespace = std::fs::File::open(netns).unwrap();
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&namespace),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .unwrap();
            TcpListener::bind(("127.0.0.1", port)).unwrap()
        })
        .join()
        .unwrap()
    }

    /// The engine crashes: `kill -9`, as an out-of-memory kill or a power cut would end it.
    /// Its containerd dies with it (it is bound to its parent); containers stay behind.
    pub(crate) fn crash(&mut self) {
        let mut dockerd = self.dockerd.take().expect("the engine runs");
        dockerd.kill().unwrap();
        dockerd.wait().unwrap();
        // Only a restart after its containerd is gone really restarts: the engine would wait
        // for an old one that is still dying.
        let containerd = std::fs::read_to_string(self.path("exec/containerd/containerd.pid"))
            .ok()
            .and_then(|pid| pid.trim().parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw);
        let deadline = Instant::now() + Duration::from_secs(30);
        while containerd.is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok()) {
            assert!(Instant::now() < deadline, "containerd outlived its engine");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the engine again after [`crash`](Self::crash), on the same data.
    pub(crate) fn restart(&mut self) {
        self.start_dockerd();
    }

    /// Processes of this engine (containerd, shims, the userland proxy...): every process
    /// whose command line names this engine's directory.
    fn processes(&self) -> Vec<rustix::process::Pid> {
        let needle = self.dir.path().display().to_string();
        let me = std::process::id();
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| *pid != me)
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|line| String::from_utf8_lossy(&line).contains(&needle))
            })
            .filter_map(|pid| rustix::process::Pid::from_raw(i32::try_from(pid).ok()?))
            .collect()
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        if let Some(mut dockerd) = self.dockerd.take() {
            // Stopped properly, the engine stops its containers and unmounts what it mounted.
            let pid = rustix::process::Pid::from_child(&dockerd);
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(30);
            while dockerd.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = dockerd.kill();
            let _ = dockerd.wait();
        }
        for pid in self.processes() {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        if let Some(registry) = self.registry.take() {
            registry.cut();
        }
        let _ = run(Command::new("ip").args(["netns", "delete", &self.netns]));
        unmount_below(self.dir.path());
    }
}

/// Unmounts everything mounted at or below `dir`, deepest first.
fn unmount_below(dir: &Path) {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|point| Path::new(point).starts_with(dir))
        .collect();
    points.sort_by_key(|point| std::cmp::Reverse(point.len()));
    for point in points {
        if run(Command::new("umount").arg(point)).code != 0 {
            let _ = run(Command::new("umount").args(["--lazy", point]));
        }
    }
}

/// Runs a setup command, failing the test with its output when it fails.
fn sh(program: &str, args: &[&str]) {
    let out = run(Command::new(program).args(args));
    assert_eq!(
        out.code,
        0,
        "`{program} {}` failed: {}{}",
        args.join(" "),
        out.stdout,
        out.stderr
    );
}
