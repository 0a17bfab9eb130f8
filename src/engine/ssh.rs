//! Engines reached over SSH (`DOCKER_HOST=ssh://[user@]host[:port][/socket]`, or a context with
//! such a host), the way the Docker CLI reaches them: each connection is the developer's own
//! `ssh` (their config, keys, agent and `known_hosts`) running `docker system dial-stdio` on the
//! remote host, and the Docker API is spoken over that process's stdin and stdout.
//!
//! [`SshTarget`] parses the URL and builds the command line (pure). [`client`] makes the bollard
//! client: a hyper-util client whose connector spawns one `ssh` per connection, so the pool
//! keeps idle ones for the next request and parallel requests (pulls) get their own; a
//! connection's process is killed when the connection is dropped. When `ssh` ends without
//! answering, reading the connection fails with [`SshFailed`], carrying what it wrote to stderr.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll, ready};

use bollard::{BollardRequest, ClientVersion, Docker};
use http::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use crate::env::Environment;
use crate::error::Error;

/// Like the Docker CLI: ssh gives up on a host that does not answer after this.
const CONNECT_TIMEOUT: &str = "-o ConnectTimeout=30";

/// How much of ssh's stderr is kept for a message.
const STDERR_LIMIT: u64 = 4096;

/// Where an `ssh://` endpoint points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The engine's socket on the remote host, when the URL names one.
    pub socket: Option<String>,
}

impl SshTarget {
    /// Reads `ssh://[user@]host[:port][/path/to/docker.sock]` as the Docker CLI does: no
    /// password, no query or fragment, a host that is not an option to ssh.
    pub fn parse(endpoint: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::Usage {
            message: format!(
                "the SSH endpoint `{}` is not valid: {why}",
                crate::redact::mask_url_passwords(endpoint)
            ),
            hint: Some("write it as `ssh://[USER@]HOST[:PORT]`, e.g. `ssh://me@build-box`".into()),
        };
        let url = url::Url::parse(endpoint).map_err(|e| invalid(&e.to_string()))?;
        if url.scheme() != "ssh" {
            return Err(invalid("the scheme is not `ssh`"));
        }
        if url.password().is_some() {
            return Err(invalid(
                "a password in the URL is not supported (use a key or your ssh agent)",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("nothing may follow the host but a socket path"));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(address)) => address.to_string(),
            Some(host) => host.to_string(),
            None => String::new(),
        };
        if host.is_empty() {
            return Err(invalid("it names no host"));
        }
        // `ssh -oProxyCommand=…` would run a command: a host is never an option.
        if host.starts_with('-') {
            return Err(invalid("a host may not start with `-`"));
        }
        let user = match url.username() {
            "" => None,
            written => Some(
                percent_decode(written)
                    .filter(|user| !user.starts_with('-'))
                    .ok_or_else(|| invalid("the user is not a valid name"))?,
            ),
        };
        let socket = match url.path().trim_matches('/') {
            "" => None,
            _ => Some(
                percent_decode(url.path())
                    .ok_or_else(|| invalid("the socket path is not UTF-8"))?,
            ),
        };
        Ok(Self {
            user,
            host,
            port: url.port(),
            socket,
        })
    }

    /// The arguments to `ssh`, exactly the Docker CLI's:
    /// `[-l USER] [-p PORT] "-o ConnectTimeout=30" -T -- HOST docker [--host=unix://SOCKET]
    /// system dial-stdio`, plus `BatchMode=yes`: devboot opens many connections and may have no
    /// terminal, so a password prompt cannot be answered — keys or the agent are used.
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(user) = &self.user {
            args.extend(["-l".to_owned(), user.clone()]);
        }
        if let Some(port) = self.port {
            args.extend(["-p".to_owned(), port.to_string()]);
        }
        args.extend([
            CONNECT_TIMEOUT.to_owned(),
            "-o".to_owned(),
            "BatchMode=yes".to_owned(),
            "-T".to_owned(),
            "--".to_owned(),
            self.host.clone(),
            "docker".to_owned(),
        ]);
        if let Some(socket) = &self.socket {
            // The remote side runs the words through a shell.
            args.push(crate::shell::shell_word(&format!("--host=unix://{socket}")));
        }
        args.extend(["system".to_owned(), "dial-stdio".to_owned()]);
        args
    }

    /// Whether the host is this machine by its name (`localhost`, `127.0.0.1`, `::1`): an
    /// alias from the ssh config may still be, but cannot be told from here.
    pub fn is_loopback(&self) -> bool {
        super::endpoint::is_loopback_host(&self.host)
    }
}

/// `%xx` sequences decoded (URLs carry a user or socket path so), `None` when the result is
/// not UTF-8 or holds a NUL.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .ok()
        .filter(|text| !text.contains('\0'))
}

/// `ssh` ended without speaking the Docker API; what it said on stderr (not yet redacted).
#[derive(Debug, thiserror::Error)]
#[error("ssh ended: {stderr}")]
pub struct SshFailed {
    pub stderr: String,
}

/// A bollard client whose every connection is `ssh … docker system dial-stdio` to `target`.
pub fn client(
    env: &Environment,
    target: &SshTarget,
    timeout_secs: u64,
    version: &ClientVersion,
) -> Result<Docker, Error> {
    let program =
        crate::host::tools::find_on_path("ssh", env.var("PATH")).ok_or_else(|| Error::Usage {
            message: "`ssh` is not on PATH; devboot reaches an `ssh://` engine with it".into(),
            hint: Some("install OpenSSH's client (`apt install openssh-client`)".into()),
        })?;
    let connector = DialStdioConnector {
        program,
        args: target.args(),
        vars: env
            .vars()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    };
    let client = Client::builder(TokioExecutor::new()).build(connector);
    // The address only names the engine in bollard's URLs; the connector ignores it.
    let address = format!("http://{}", target.host);
    Docker::connect_with_custom_transport(
        move |request: BollardRequest| {
            let response = client.request(request);
            async move { response.await.map_err(bollard::errors::Error::from) }
        },
        Some(address),
        timeout_secs,
        version,
    )
    .map_err(|error| Error::Engine {
        action: "setting up the SSH connection".into(),
        message: error.to_string(),
        hint: None,
    })
}

/// Spawns one `ssh … docker system dial-stdio` per connection the client opens.
#[derive(Debug, Clone)]
struct DialStdioConnector {
    program: PathBuf,
    args: Vec<String>,
    vars: Vec<(String, String)>,
}

impl tower_service::Service<Uri> for DialStdioConnector {
    type Response = TokioIo<DialStdio>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let spawned = DialStdio::spawn(&self.program, &self.args, &self.vars);
        Box::pin(async move { spawned.map(TokioIo::new) })
    }
}

/// One `ssh` process as a byte stream: writes go to its stdin, reads come from its stdout.
#[derive(Debug)]
pub struct DialStdio {
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// Killed when the connection is dropped.
    _child: Child,
    /// ssh's stderr, collected until it closes.
    stderr: Option<JoinHandle<String>>,
}

impl DialStdio {
    fn spawn(
        program: &std::path::Path,
        args: &[String],
        vars: &[(String, String)],
    ) -> io::Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            .env_clear()
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("ssh was started without pipes"));
        };
        let stderr = tokio::spawn(async move {
            let mut bytes = Vec::new();
            let mut limited = stderr.take(STDERR_LIMIT);
            let _ = limited.read_to_end(&mut bytes).await;
            // Drain the rest so ssh never blocks on a full pipe.
            let _ = tokio::io::copy(&mut limited.into_inner(), &mut tokio::io::sink()).await;
            String::from_utf8_lossy(&bytes).into_owned()
        });
        Ok(Self {
            stdin,
            stdout,
            _child: child,
            stderr: Some(stderr),
        })
    }
}

impl Connection for DialStdio {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl DialStdio {
    /// Once ssh's stdout or stdin is gone: why, if ssh said something on stderr before it
    /// closed; `None` for a plain end (the engine closed the connection).
    fn poll_failure(&mut self, cx: &mut Context<'_>) -> Poll<Option<SshFailed>> {
        let Some(stderr) = self.stderr.as_mut() else {
            return Poll::Ready(None);
        };
        let text = ready!(Pin::new(stderr).poll(cx)).unwrap_or_default();
        self.stderr = None;
        let text = text.trim();
        Poll::Ready((!text.is_empty()).then(|| SshFailed {
            stderr: text.to_owned(),
        }))
    }
}

impl AsyncRead for DialStdio {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.stdout).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            return Poll::Ready(Ok(()));
        }
        match ready!(self.poll_failure(cx)) {
            Some(failure) => Poll::Ready(Err(io::Error::other(failure))),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for DialStdio {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match ready!(Pin::new(&mut self.stdin).poll_write(cx, buf)) {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                match ready!(self.poll_failure(cx)) {
                    Some(failure) => Poll::Ready(Err(io::Error::other(failure))),
                    None => Poll::Ready(Err(error)),
                }
            }
            written => Poll::Ready(written),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> SshTarget {
        SshTarget::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn refused(url: &str) -> String {
        match SshTarget::parse(url) {
            Err(Error::Usage { message, .. }) => message,
            other => panic!("{url}: expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn urls_parse_like_the_docker_cli() {
        assert_eq!(
            parsed("ssh://me@build-box:2222"),
            SshTarget {
                user: Some("me".into()),
                host: "build-box".into(),
                port: Some(2222),
                socket: None,
            }
        );
        let bare = parsed("ssh://build-box/");
        assert_eq!((bare.user, bare.port, bare.socket), (None, None, None));
        assert_eq!(parsed("ssh://[::1]:22").host, "::1");
        assert_eq!(
            parsed("ssh://me@box/run/user/1000/docker.sock").socket,
            Some("/run/user/1000/docker.sock".into())
        );
        assert_eq!(
            parsed("ssh://first.last%40corp@box").user.as_deref(),
            Some("first.last@corp")
        );
    }

    #[test]
    fn hostile_or_unsupported_urls_are_refused() {
        assert!(refused("ssh://-oProxyCommand=touch%20x").contains("may not start with `-`"));
        assert!(refused("ssh://-oProxyCommand=x@host").contains("not a valid name"));
        assert!(refused("ssh://%2Dl@host").contains("not a valid name"));
        assert!(refused("ssh://me:secret@box").contains("password"));
        assert!(refused("ssh://box?x=1").contains("nothing may follow"));
        assert!(refused("ssh://box#x").contains("nothing may follow"));
        assert!(refused("ssh://").contains("not valid"));
        assert!(refused("tcp://box:2376").contains("not `ssh`"));
        // The password never reaches the message.
        assert!(!refused("ssh://me:secret@box").contains("secret@"));
    }

    #[test]
    fn the_command_line_is_the_docker_clis() {
        assert_eq!(
            parsed("ssh://me@box:2222").args(),
            [
                "-l",
                "me",
                "-p",
                "2222",
                "-o ConnectTimeout=30",
                "-o",
                "BatchMode=yes",
                "-T",
                "--",
                "box",
                "docker",
                "system",
                "dial-stdio"
            ]
        );
        assert_eq!(
            parsed("ssh://box").args(),
            [
                "-o ConnectTimeout=30",
                "-o",
                "BatchMode=yes",
                "-T",
                "--",
                "box",
                "docker",
                "system",
                "dial-stdio"
            ]
        );
        let with_socket = parsed("ssh://box/home/me/my docker.sock").args();
        assert_eq!(
            with_socket[with_socket.len() - 3..],
            [
                "'--host=unix:///home/me/my docker.sock'",
                "system",
                "dial-stdio"
            ]
        );
    }

    #[test]
    fn loopback_hosts_are_this_machine() {
        for url in ["ssh://127.0.0.1", "ssh://me@localhost:2222", "ssh://[::1]"] {
            assert!(parsed(url).is_loopback(), "{url}");
        }
        for url in [
            "ssh://build-box",
            "ssh://10.0.0.5",
            "ssh://localhost.example",
        ] {
            assert!(!parsed(url).is_loopback(), "{url}");
        }
    }

    /// A stand-in `ssh` that fails as a real one does: words on stderr, nothing on stdout.
    #[tokio::test]
    async fn what_ssh_says_on_failure_is_the_error() {
        let dir = tempfile::tempdir().unwrap();
        crate::doctor::testing::script(
            &dir.path().join("ssh"),
            "echo 'me@box: Permission denied (publickey).' >&2\nexit 255",
        );
        let env = Environment::from_vars(
            [("PATH", dir.path().display().to_string())],
            dir.path().to_owned(),
        );
        let docker = client(
            &env,
            &parsed("ssh://me@box"),
            5,
            bollard::API_DEFAULT_VERSION,
        )
        .unwrap();
        let error = docker.ping().await.unwrap_err();
        let failure = super::super::connect::causes(&error)
            .find_map(|cause| cause.downcast_ref::<SshFailed>())
            .unwrap_or_else(|| panic!("no SshFailed in {error:?}"));
        assert_eq!(failure.stderr, "me@box: Permission denied (publickey).");
    }
}
