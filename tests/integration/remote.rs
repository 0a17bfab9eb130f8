//! The engine reached as a remote one, as `scripts/test-env` sets it up: the shared engine
//! behind a TLS relay on 127.0.0.1 that requires a client certificate of the test CA, and
//! behind an sshd of its own on 127.0.0.1 that lets the test key run `docker system
//! dial-stdio`. Each runs the fixture stack end to end in a hermetic home holding the
//! certificates, or the ssh config and `known_hosts` (the key in an ssh agent); and the ways
//! these fail say why. An ssh alias stands for a machine that is not this one, for bind mounts
//! on a remote engine.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TestProject, parts_required, require_engine, run};
use crate::doctor::create_context;
use crate::stack::{AUTO_PORTS, EngineProject, http};

/// Where `scripts/test-env` listens (its `TLS_ADDR` and `SSH_PORT`).
const TLS_ADDR: &str = "127.0.0.1:12376";
const SSH_PORT: u16 = 12222;

/// `scripts/test-env`'s state directory, found as the script finds it.
fn test_env_state() -> PathBuf {
    if let Ok(dir) = std::env::var("DEVBOOT_TEST_STATE") {
        return dir.into();
    }
    let base = std::env::var("XDG_STATE_HOME").map_or_else(
        |_| PathBuf::from(std::env::var("HOME").unwrap()).join(".local/state"),
        PathBuf::from,
    );
    base.join("devboot-test-env")
}

/// The test-env part at `address` (with its files in `dir`), or a skip — a failure when parts
/// are required.
fn require_part(what: &str, address: &str, dir: &Path) -> Option<PathBuf> {
    if !require_engine() {
        return None;
    }
    let there = dir.is_dir()
        && TcpStream::connect_timeout(&address.parse().unwrap(), Duration::from_secs(1)).is_ok();
    if !there {
        assert!(
            !parts_required(),
            "the engine over {what} ({address}, {}) is missing, and CI=true requires it (run `scripts/test-env up`)",
            dir.display()
        );
        eprintln!("skipping: the engine over {what} is not set up (scripts/test-env up)");
        return None;
    }
    Some(dir.to_owned())
}

fn require_tls() -> Option<PathBuf> {
    require_part("TLS", TLS_ADDR, &test_env_state().join("tls"))
}

fn require_ssh() -> Option<PathBuf> {
    require_part(
        "SSH",
        &format!("127.0.0.1:{SSH_PORT}"),
        &test_env_state().join("ssh"),
    )
}

/// Copies `ca.pem` from `ca_dir` and `cert.pem`, `key.pem` from `client_dir` into `to`.
fn certificates(to: &Path, ca_dir: &Path, client_dir: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(ca_dir.join("ca.pem"), to.join("ca.pem")).unwrap();
    for file in ["cert.pem", "key.pem"] {
        std::fs::copy(client_dir.join(file), to.join(file)).unwrap();
    }
}

/// `up` twice, timed: the first creates the stack, the second finds it up to date.
fn cold_and_no_op_up(stack: &EngineProject, over: &str) {
    let started = Instant::now();
    let first = stack.up();
    let cold = started.elapsed();
    assert!(
        first.stdout.contains(&format!("{} is up", stack.name)),
        "{}",
        first.stdout
    );
    let ids = stack.container_ids();
    assert_eq!(ids.len(), 3, "{ids:?}");
    let web = stack.host_port("web");
    assert_eq!(http("GET", web, "/"), (200, "notes=0 visits=1".to_owned()));

    let started = Instant::now();
    let again = stack.up();
    let no_op = started.elapsed();
    assert!(again.stderr.contains("Up to date"), "{}", again.stderr);
    assert_eq!(stack.container_ids(), ids);
    eprintln!(
        "figures: up over {over}: cold {:.1}s, no-op {:.2}s",
        cold.as_secs_f64(),
        no_op.as_secs_f64()
    );
}

#[test]
fn up_runs_the_stack_over_tls_with_client_certificates() {
    let Some(tls) = require_tls() else {
        return;
    };
    let stack = EngineProject::new("tls", AUTO_PORTS)
        .env("DOCKER_HOST", format!("tcp://{TLS_ADDR}"))
        .env("DOCKER_TLS_VERIFY", "1");
    // DOCKER_CERT_PATH unset: the certificates are in ~/.docker, as the Docker CLI looks.
    certificates(
        &stack.project.home().join(".docker"),
        &tls.join("client"),
        &tls.join("client"),
    );
    cold_and_no_op_up(&stack, "TLS");
    let status = stack.status();
    assert!(
        status["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["health"] == "healthy"),
        "{status}"
    );
}

#[test]
fn a_tls_context_reaches_the_engine_and_bad_certificates_say_why() {
    let Some(tls) = require_tls() else {
        return;
    };
    let project = TestProject::fixture("rails-app");
    let docker_dir = project.home().join(".docker");
    // A context as `docker context create secure --docker host=tcp://…,ca=…,cert=…,key=…`
    // writes it: metadata under contexts/meta, the files under contexts/tls.
    let digest = create_context(&project.home(), "secure", &format!("tcp://{TLS_ADDR}"));
    let context_tls = docker_dir.join("contexts/tls").join(&digest).join("docker");
    certificates(&context_tls, &tls.join("client"), &tls.join("client"));
    let status = |vars: &[(&str, String)]| {
        let mut command = project.devboot();
        command.args(["status", "--json"]);
        command.envs(vars.iter().map(|(k, v)| (*k, v)));
        run(&mut command)
    };
    let through_context = status(&[("DOCKER_CONTEXT", "secure".into())]);
    assert_eq!(through_context.code, 0, "{}", through_context.stderr);

    // A client certificate the engine's CA did not sign: the engine refuses the handshake.
    let wrong_client = project.home().join("wrong-client");
    certificates(&wrong_client, &tls.join("client"), &tls.join("rogue"));
    let out = status(&[
        ("DOCKER_HOST", format!("tcp://{TLS_ADDR}")),
        ("DOCKER_TLS_VERIFY", "1".into()),
        ("DOCKER_CERT_PATH", wrong_client.display().to_string()),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "cannot reach the Docker engine at `tcp://{TLS_ADDR}` (from DOCKER_HOST): the engine refused the TLS handshake"
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("cert.pem"), "{}", out.stderr);

    // A CA that did not sign the engine's certificate: devboot does not trust the engine.
    let unknown_ca = project.home().join("unknown-ca");
    certificates(&unknown_ca, &tls.join("rogue"), &tls.join("client"));
    let out = status(&[
        ("DOCKER_HOST", format!("tcp://{TLS_ADDR}")),
        ("DOCKER_TLS_VERIFY", "1".into()),
        ("DOCKER_CERT_PATH", unknown_ca.display().to_string()),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the engine's certificate is not trusted"),
        "{}",
        out.stderr
    );

    // A missing file is named before anything is tried.
    let out = status(&[
        ("DOCKER_HOST", format!("tcp://{TLS_ADDR}")),
        ("DOCKER_TLS_VERIFY", "1".into()),
        ("DOCKER_CERT_PATH", "/nonexistent-certs".into()),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("/nonexistent-certs/ca.pem"),
        "{}",
        out.stderr
    );
}

/// A hermetic ssh setup in `home`: `~/.ssh/config` and `known_hosts` for the test sshd, the
/// key only in an ssh agent (its socket in `SSH_AUTH_SOCK`), and a `bin/ssh` that makes the
/// real ssh read that config (OpenSSH finds `~/.ssh` through the user database, not `HOME`).
struct SshHome {
    agent: Child,
    agent_socket: PathBuf,
    path: String,
}

impl SshHome {
    fn new(home: &Path, ssh_state: &Path) -> Self {
        let dot_ssh = home.join(".ssh");
        std::fs::create_dir_all(&dot_ssh).unwrap();
        std::fs::copy(ssh_state.join("known_hosts"), dot_ssh.join("known_hosts")).unwrap();
        std::fs::copy(
            ssh_state.join("client_ed25519.pub"),
            dot_ssh.join("id_ed25519.pub"),
        )
        .unwrap();
        // The public half names which agent key to offer; the private half stays in the agent.
        let config = format!(
            "Host 127.0.0.1 devboot-test-box\n  HostName 127.0.0.1\n  Port {SSH_PORT}\n  \
             IdentityFile {dot}/id_ed25519.pub\n  IdentitiesOnly yes\n  \
             UserKnownHostsFile {dot}/known_hosts\n  StrictHostKeyChecking yes\n",
            dot = dot_ssh.display()
        );
        std::fs::write(dot_ssh.join("config"), config).unwrap();

        let agent_socket = home.join("agent.sock");
        let agent = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&agent_socket)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !agent_socket.exists() {
            assert!(Instant::now() < deadline, "ssh-agent did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let added = run(Command::new("ssh-add")
            .arg(ssh_state.join("client_ed25519"))
            .env("SSH_AUTH_SOCK", &agent_socket));
        assert_eq!(added.code, 0, "{}", added.stderr);

        let bin = home.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let real_ssh = run(Command::new("sh").args(["-c", "command -v ssh"]));
        std::fs::write(
            bin.join("ssh"),
            format!(
                "#!/bin/sh\nexec {} -F \"$HOME/.ssh/config\" \"$@\"\n",
                real_ssh.stdout.trim()
            ),
        )
        .unwrap();
        let mut permissions = std::fs::metadata(bin.join("ssh")).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(bin.join("ssh"), permissions).unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        Self {
            agent,
            agent_socket,
            path,
        }
    }
}

impl Drop for SshHome {
    fn drop(&mut self) {
        let _ = self.agent.kill();
        let _ = self.agent.wait();
    }
}

fn user() -> String {
    run(Command::new("id").arg("-un")).stdout.trim().to_owned()
}

#[test]
fn up_runs_the_stack_over_ssh_with_the_agents_key() {
    let Some(ssh_state) = require_ssh() else {
        return;
    };
    let stack = EngineProject::new("ssh", AUTO_PORTS);
    let ssh = SshHome::new(&stack.project.home(), &ssh_state);
    let stack = stack
        .env("PATH", ssh.path.clone())
        .env("SSH_AUTH_SOCK", ssh.agent_socket.display().to_string())
        .env(
            "DOCKER_HOST",
            format!("ssh://{}@127.0.0.1:{SSH_PORT}", user()),
        );
    cold_and_no_op_up(&stack, "SSH");
    // Exec streams (hijacked connections) work over dial-stdio too.
    let exec = stack.devboot(&["exec", "db", "psql", "-U", "postgres", "-tAc", "select 6*7"]);
    assert_eq!(exec.code, 0, "{}", exec.stderr);
    assert_eq!(exec.stdout.trim(), "42");
    drop(stack);
    drop(ssh);
}

#[test]
fn ssh_that_cannot_log_in_says_what_ssh_said() {
    let Some(ssh_state) = require_ssh() else {
        return;
    };
    let project = TestProject::fixture("rails-app");
    let ssh = SshHome::new(&project.home(), &ssh_state);
    let mut command = project.devboot();
    command
        .args(["status"])
        .env("PATH", &ssh.path)
        // No agent: the key is nowhere ssh may use it.
        .env(
            "DOCKER_HOST",
            format!("ssh://{}@127.0.0.1:{SSH_PORT}", user()),
        );
    let out = run(&mut command);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("ssh failed: ") && out.stderr.contains("Permission denied (publickey)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("ssh HOST docker version"),
        "{}",
        out.stderr
    );

    // A host that is an option to ssh is refused before ssh runs.
    let mut command = project.devboot();
    command
        .args(["status"])
        .env("PATH", &ssh.path)
        .env("DOCKER_HOST", "ssh://-oProxyCommand=touch%20pwned");
    let out = run(&mut command);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("may not start with `-`"),
        "{}",
        out.stderr
    );
}

#[test]
fn bind_mounts_on_an_engine_on_another_machine_stop_up_with_what_to_do() {
    let Some(ssh_state) = require_ssh() else {
        return;
    };
    let stack = EngineProject::new("remote-binds", AUTO_PORTS);
    let ssh = SshHome::new(&stack.project.home(), &ssh_state);
    // `devboot-test-box` is an alias in the ssh config: to devboot, another machine.
    let stack = stack
        .env("PATH", ssh.path.clone())
        .env("SSH_AUTH_SOCK", ssh.agent_socket.display().to_string())
        .env("DOCKER_HOST", format!("ssh://{}@devboot-test-box", user()));
    let out = stack.devboot(&["up", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "the engine at `ssh://{}@devboot-test-box` runs on another machine, and bind mounts name that machine's files",
            user()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("→ /app of `web`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("DEVBOOT_REMOTE_BIND_MOUNTS=synced"),
        "{}",
        out.stderr
    );
    assert!(stack.container_ids().is_empty(), "nothing was created");
    drop(stack);
    drop(ssh);
}
