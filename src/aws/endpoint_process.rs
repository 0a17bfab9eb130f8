//! The credential endpoint as a background process whose lifetime follows the stack: `up`
//! starts it (`devboot aws serve`, a hidden command), a later `up` reuses it while it serves
//! the same settings, and `down` stops it.
//!
//! This module owns the project's endpoint files, kept under the user's state directory —
//! never in the project, so no file in a repository holds the endpoint's secrets:
//!
//! * `endpoint.json` (mode 0600): the random path and token, and the last port. They stay the
//!   same across runs, so the app container's definition (and its config hash) does too;
//! * `endpoint.pid`: the serving process, its address and port, and the fingerprint of its
//!   settings;
//! * `endpoint.log`: what the process reports while serving (never a secret).
//!
//! `up` tells the process where to listen (`devboot aws serve --address <ip>`, from the
//! relay's [route](super::route)). Start-up handshake: the process prints one line on stdout
//! once its first credentials are in hand — `ready <port>` — or `error <code> <message>`
//! before it exits.

use std::io::{BufRead as _, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::AwsError;
use super::server::EndpointSecrets;
use crate::digest::Digest;
use crate::env::Environment;
use crate::model::Stack;

/// How long `up` waits for the first credentials (an SSO refresh or a `credential_process`
/// may prompt or be slow); the endpoint itself gives up on one fetch after 120 s.
pub const START_TIMEOUT: Duration = Duration::from_secs(130);

/// Variables that decide which credentials the endpoint serves: when one changes, a running
/// endpoint is replaced rather than reused.
const FINGERPRINT_VARS: &[&str] = &["HOME", "XDG_STATE_HOME", "DEVBOOT_AWS_STS_ENDPOINT"];

/// The endpoint files of one project.
#[derive(Debug, Clone)]
pub struct EndpointFiles {
    dir: PathBuf,
}

/// What `endpoint.json` holds. `Debug` hides the secrets.
#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    path: String,
    token: String,
    #[serde(default)]
    port: Option<u16>,
}

/// A serving endpoint, as its pid file describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Running {
    pub pid: u32,
    /// Where it listens (pid files from before routes: the credential network's gateway).
    #[serde(default = "link_local_address")]
    pub address: IpAddr,
    pub port: u16,
    pub fingerprint: String,
}

impl Running {
    pub fn socket(&self) -> SocketAddr {
        SocketAddr::from((self.address, self.port))
    }
}

fn link_local_address() -> IpAddr {
    super::ENDPOINT_HOST_ADDRESS.into()
}

impl EndpointFiles {
    /// The files of the project at `stack.root`, under [`Environment::state_dir`].
    pub fn for_stack(env: &Environment, stack: &Stack) -> Result<Self, AwsError> {
        let base = env.state_dir().ok_or_else(|| AwsError::Wiring {
            message: "there is no home directory to keep the credential endpoint's files in"
                .to_owned(),
            hint: Some("set HOME (or XDG_STATE_HOME)".to_owned()),
        })?;
        let root = Digest::of(stack.root.display().to_string().as_bytes());
        let name = format!("{}-{}", stack.project, &root.as_str()[..12]);
        Ok(Self {
            dir: base.join("projects").join(name),
        })
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("endpoint.log")
    }

    fn secrets_path(&self) -> PathBuf {
        self.dir.join("endpoint.json")
    }

    fn pid_path(&self) -> PathBuf {
        self.dir.join("endpoint.pid")
    }

    /// The project's endpoint secrets, generated and stored (0600) on first use.
    pub fn secrets(&self) -> Result<EndpointSecrets, AwsError> {
        if let Some(stored) = self.stored()? {
            return Ok(EndpointSecrets {
                path: stored.path,
                token: stored.token,
            });
        }
        let secrets = EndpointSecrets::generate()?;
        self.store(&Stored {
            path: secrets.path.clone(),
            token: secrets.token.clone(),
            port: None,
        })?;
        Ok(secrets)
    }

    /// The stored secrets, without creating any.
    pub fn stored_secrets(&self) -> Option<EndpointSecrets> {
        let stored = self.stored().ok()??;
        Some(EndpointSecrets {
            path: stored.path,
            token: stored.token,
        })
    }

    /// Deletes the stored secrets (the project stopped using the endpoint).
    pub fn forget(&self) {
        let _ = std::fs::remove_file(self.secrets_path());
    }

    /// The port the endpoint had last time, to keep the relay's target unchanged.
    pub fn last_port(&self) -> Option<u16> {
        self.stored().ok().flatten().and_then(|s| s.port)
    }

    fn stored(&self) -> Result<Option<Stored>, AwsError> {
        let path = self.secrets_path();
        match std::fs::read(&path) {
            // A damaged file is replaced: the secrets are only worth what the running stack
            // holds, and the app container is recreated with new ones.
            Ok(bytes) => Ok(serde_json::from_slice::<Stored>(&bytes)
                .ok()
                .filter(|s| s.path.starts_with("/creds/") && !s.token.is_empty())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(AwsError::Io { path, source }),
        }
    }

    fn store(&self, stored: &Stored) -> Result<(), AwsError> {
        let json = serde_json::to_vec_pretty(stored).expect("plain data serializes");
        // A fresh temporary file is created 0600, and the rename keeps that mode.
        crate::fsio::write_atomic(&self.secrets_path(), &json).map_err(|e| AwsError::Io {
            path: self.secrets_path(),
            source: std::io::Error::other(e.to_string()),
        })
    }

    /// Records the serving process (called by the process itself once it listens).
    pub fn record_running(&self, running: &Running) -> Result<(), AwsError> {
        if let Some(mut stored) = self.stored()? {
            stored.port = Some(running.port);
            self.store(&stored)?;
        }
        let json = serde_json::to_vec(running).expect("plain data serializes");
        crate::fsio::write_atomic(&self.pid_path(), &json).map_err(|e| AwsError::Io {
            path: self.pid_path(),
            source: std::io::Error::other(e.to_string()),
        })
    }

    /// Forgets the serving process (called by the process as it exits).
    pub fn clear_running(&self, pid: u32) {
        if self.running().is_some_and(|r| r.pid == pid) {
            let _ = std::fs::remove_file(self.pid_path());
        }
    }

    /// The endpoint process serving this project, if one is alive.
    pub fn running(&self) -> Option<Running> {
        let running: Running =
            serde_json::from_slice(&std::fs::read(self.pid_path()).ok()?).ok()?;
        is_endpoint_process(running.pid).then_some(running)
    }

    /// Stops the serving process, if any, and waits (up to 5 s) until it has gone.
    pub async fn stop(&self) -> Option<Running> {
        let running = self.running()?;
        let pid = rustix::process::Pid::from_raw(i32::try_from(running.pid).ok()?)?;
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while is_endpoint_process(running.pid) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = std::fs::remove_file(self.pid_path());
        Some(running)
    }
}

/// Whether this host still holds the endpoint's address (the credential network's gateway):
/// binding a UDP socket there fails once the network has been removed.
pub fn host_address_present() -> bool {
    std::net::UdpSocket::bind(SocketAddr::from((super::ENDPOINT_HOST_ADDRESS, 0))).is_ok()
}

/// Whether `pid` is alive and is a `devboot aws serve` process (a recycled pid is not).
fn is_endpoint_process(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        args.windows(2)
            .any(|w| w == [b"aws".as_slice(), b"serve".as_slice()])
    })
}

/// A digest of everything that decides which credentials the endpoint serves and where: the
/// project's AWS settings, the address it listens on (the relay's route) and the AWS
/// variables of the environment (values hashed, never stored).
pub fn fingerprint(env: &Environment, stack: &Stack, address: IpAddr) -> String {
    let settings = serde_json::to_string(&stack.aws).unwrap_or_default();
    let mut text = format!("{settings}\n{address}\n");
    for (name, value) in env.vars() {
        if name.starts_with("AWS_") || FINGERPRINT_VARS.contains(&name) {
            text.push_str(&format!("{name}={value}\n"));
        }
    }
    Digest::of(text.as_bytes()).into_string()
}

/// Starts `devboot aws serve` for the project at `root` in the background (its own process
/// group, so the terminal's Ctrl-C does not reach it) with `env`'s variables, and waits for
/// its handshake line (on a blocking thread). It listens on `address`; returns the port too.
pub async fn start(
    env: &Environment,
    files: &EndpointFiles,
    root: &Path,
    address: IpAddr,
) -> Result<SocketAddr, AwsError> {
    let (env, files, root) = (env.clone(), files.clone(), root.to_path_buf());
    tokio::task::spawn_blocking(move || spawn(&env, &files, &root, address))
        .await
        .map_err(|e| AwsError::EndpointStart {
            message: e.to_string(),
            log: None,
        })?
}

fn spawn(
    env: &Environment,
    files: &EndpointFiles,
    root: &Path,
    address: IpAddr,
) -> Result<SocketAddr, AwsError> {
    use std::os::unix::process::CommandExt as _;

    let log_path = files.log_path();
    let io_error = |source| AwsError::Io {
        path: log_path.clone(),
        source,
    };
    std::fs::create_dir_all(&files.dir).map_err(io_error)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io_error)?;
    let exe = std::env::current_exe().map_err(|source| AwsError::Io {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    let mut child = Command::new(exe)
        .arg("--directory")
        .arg(root)
        .args(["aws", "serve", "--address"])
        .arg(address.to_string())
        .env_clear()
        .envs(env.vars())
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| AwsError::EndpointStart {
            message: format!("cannot start `devboot aws serve`: {e}"),
            log: None,
        })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    // The child answers within START_TIMEOUT or exits (closing the pipe) after its own
    // fetch timeout, so this read ends.
    let read = BufReader::new(stdout).read_line(&mut line);
    match parse_handshake(&line) {
        Some(Handshake::Ready(port)) => {
            // The child lives on; it is reaped by init once this process exits.
            drop(child);
            Ok(SocketAddr::from((address, port)))
        }
        Some(Handshake::Failed { code, message }) => {
            let _ = child.wait();
            Err(AwsError::EndpointStart {
                message: format!("{message} ({code})"),
                log: None,
            })
        }
        None => {
            let _ = child.kill();
            let status = child.wait().ok();
            Err(AwsError::EndpointStart {
                message: match (read, status) {
                    (Err(e), _) => format!("reading its first line failed: {e}"),
                    (_, Some(status)) => format!("it exited ({status}) without answering"),
                    _ => "it did not answer".to_owned(),
                },
                log: Some(log_path),
            })
        }
    }
}

/// Asks the endpoint at `addr` for credentials the way an SDK would, until it answers 200 or
/// `within` has passed. Through the relay (whose peers alone an endpoint off loopback
/// answers) it proves that the whole path from the app container's side to the host works. Connections refused or cut while the
/// relay starts are retried every 20 ms.
pub async fn probe(
    addr: SocketAddr,
    secrets: &EndpointSecrets,
    within: Duration,
) -> Result<(), String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        secrets.path,
        addr.ip(),
        secrets.token
    );
    let deadline = tokio::time::Instant::now() + within;
    let mut last = String::from("no answer");
    while tokio::time::Instant::now() < deadline {
        let attempt = async {
            let mut stream = tokio::net::TcpStream::connect(addr).await?;
            stream.write_all(request.as_bytes()).await?;
            let mut head = [0_u8; 64];
            let read = stream.read(&mut head).await?;
            Ok::<_, std::io::Error>(String::from_utf8_lossy(&head[..read]).into_owned())
        };
        match tokio::time::timeout(Duration::from_secs(2), attempt).await {
            Ok(Ok(head)) if head.starts_with("HTTP/1.1 200") => return Ok(()),
            Ok(Ok(head)) if head.starts_with("HTTP/") => {
                // An answer that is not 200 will not change by retrying.
                return Err(head.lines().next().unwrap_or_default().to_owned());
            }
            Ok(Ok(_)) => "the connection closed without an answer".clone_into(&mut last),
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => "no answer within 2 s".clone_into(&mut last),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(last)
}

/// The handshake line of `devboot aws serve`.
#[derive(Debug, PartialEq, Eq)]
pub enum Handshake {
    Ready(u16),
    Failed { code: String, message: String },
}

impl Handshake {
    pub fn line(&self) -> String {
        match self {
            Self::Ready(port) => format!("ready {port}\n"),
            Self::Failed { code, message } => {
                format!("error {code} {}\n", message.replace('\n', " "))
            }
        }
    }
}

pub fn parse_handshake(line: &str) -> Option<Handshake> {
    let line = line.trim_end();
    if let Some(port) = line.strip_prefix("ready ") {
        return port.parse().ok().map(Handshake::Ready);
    }
    let rest = line.strip_prefix("error ")?;
    let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
    Some(Handshake::Failed {
        code: code.to_owned(),
        message: message.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_in(home: &Path, extra: &[(&str, &str)]) -> Environment {
        let mut vars = vec![("HOME".to_owned(), home.display().to_string())];
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Environment::from_vars(vars, home.to_path_buf())
    }

    #[test]
    fn handshake_lines_round_trip() {
        for handshake in [
            Handshake::Ready(40123),
            Handshake::Failed {
                code: "SsoTokenExpired".into(),
                message: "run `aws sso login --profile dev`".into(),
            },
        ] {
            assert_eq!(parse_handshake(&handshake.line()), Some(handshake));
        }
        assert_eq!(parse_handshake("ready x"), None);
        assert_eq!(parse_handshake(""), None);
    }

    #[test]
    fn secrets_are_kept_private_and_stable() {
        use std::os::unix::fs::PermissionsExt as _;
        let home = tempfile::tempdir().unwrap();
        let stack =
            crate::model::test_stack("extends = \"rails\"\n[aws]\nregion = \"eu-west-1\"\n");
        let files = EndpointFiles::for_stack(&env_in(home.path(), &[]), &stack).unwrap();
        let first = files.secrets().unwrap();
        assert_eq!(
            files.secrets().unwrap(),
            first,
            "the same secrets on every run"
        );
        assert!(first.path.starts_with("/creds/"));
        let path = files.secrets_path();
        assert!(path.starts_with(home.path().join(".local/state/devboot/projects")));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the user may read the secrets");
        files
            .record_running(&Running {
                pid: 1,
                address: crate::aws::ENDPOINT_HOST_ADDRESS.into(),
                port: 41000,
                fingerprint: "f".into(),
            })
            .unwrap();
        assert_eq!(files.last_port(), Some(41000));
        assert_eq!(
            files.secrets().unwrap(),
            first,
            "recording the port keeps them"
        );
        // pid 1 is not `devboot aws serve`.
        assert_eq!(files.running(), None);
        // A pid file from before routes listened on the credential network's gateway.
        let old: Running =
            serde_json::from_str(r#"{"pid":7,"port":41000,"fingerprint":"f"}"#).unwrap();
        assert_eq!(old.socket().to_string(), "169.254.170.1:41000");
    }

    #[test]
    fn the_fingerprint_follows_aws_settings_address_and_variables_only() {
        let home = tempfile::tempdir().unwrap();
        let stack =
            crate::model::test_stack("extends = \"rails\"\n[aws]\nregion = \"eu-west-1\"\n");
        let link_local = IpAddr::from(crate::aws::ENDPOINT_HOST_ADDRESS);
        let print =
            |extra: &[(&str, &str)]| fingerprint(&env_in(home.path(), extra), &stack, link_local);
        assert_eq!(print(&[]), print(&[("TERM", "xterm")]));
        assert_ne!(print(&[]), print(&[("AWS_PROFILE", "dev")]));
        let other =
            crate::model::test_stack("extends = \"rails\"\n[aws]\nregion = \"us-east-1\"\n");
        let home_env = env_in(home.path(), &[]);
        assert_ne!(print(&[]), fingerprint(&home_env, &other, link_local));
        // Another route is another endpoint.
        let loopback = IpAddr::from(std::net::Ipv4Addr::LOCALHOST);
        assert_ne!(print(&[]), fingerprint(&home_env, &stack, loopback));
    }
}
