//! Faults in the middle of `up`, produced for real: the engine goes away while `up` waits for a
//! service. The engine is reached through a unix-socket relay this test owns, so "the engine
//! stopped answering" is a real closed connection and a refused reconnect, without stopping
//! the engine the other tests share. Then `up` must fail promptly, in words a user
//! understands, and the next `up` (engine back) must converge with the data kept.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{require_engine, run, stderr_lines};
use crate::stack::{AUTO_PORTS, EngineProject};

/// A relay from a socket of its own to the engine's; `cut` closes every connection and stops
/// listening, as an engine that died would.
struct EngineRelay {
    socket: PathBuf,
    open: Arc<Mutex<Vec<UnixStream>>>,
    cut: Arc<AtomicBool>,
}

impl EngineRelay {
    fn start(dir: &Path) -> Self {
        let socket = dir.join("engine.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let open: Arc<Mutex<Vec<UnixStream>>> = Arc::default();
        let cut = Arc::new(AtomicBool::new(false));
        let (accepted, stopped) = (open.clone(), cut.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(engine) = UnixStream::connect("/var/run/docker.sock") else {
                    continue;
                };
                let mut open = accepted.lock().unwrap();
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), engine.try_clone().unwrap()),
                    (engine.try_clone().unwrap(), client.try_clone().unwrap()),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
                open.extend([client, engine]);
            }
        });
        Self { socket, open, cut }
    }

    fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The engine "dies": no new connection is accepted, every open one is closed.
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and drops the listener.
        let _ = UnixStream::connect(&self.socket);
        let _ = std::fs::remove_file(&self.socket);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

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
    let relay = EngineRelay::start(stack.project.dir.path());
    let mut up = stack
        .project
        .devboot()
        .args(["up", "--yes"])
        .env("DOCKER_HOST", relay.docker_host())
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
