//! Test fixtures for the AWS module: a temporary HOME with `~/.aws` files, a stub STS that
//! answers every call with one chosen error (moto checks neither signatures nor expiry), a
//! real `moto_server` on loopback, and a raw HTTP client for the credential endpoint.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::env::Environment;

/// A throwaway home directory.
pub(crate) struct TempHome(tempfile::TempDir);

impl TempHome {
    pub(crate) fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `text` at `relative` (creating directories).
    pub(crate) fn write(&self, relative: &str, text: &str) {
        let path = self.0.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// An environment with this HOME, IMDS off, and `vars`.
    pub(crate) fn env<'a>(
        &self,
        vars: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Environment {
        let home = self.0.path().to_string_lossy().into_owned();
        let mut all: Vec<(String, String)> = vec![
            ("HOME".into(), home),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ];
        all.extend(vars.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())));
        Environment::from_vars(all, self.0.path().to_path_buf())
    }
}

/// A variable of the real process environment: tests may read it, the library may not.
#[expect(
    clippy::disallowed_methods,
    reason = "tests read CI settings from the real environment"
)]
pub(crate) fn read_test_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Whether a missing test prerequisite must fail the run rather than skip: under CI
/// (`CI=true`), skipping would turn the run green with nothing tested.
pub(crate) fn required_in(ci: Option<&str>) -> bool {
    ci.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A stub STS endpoint that answers every request with one Query-protocol error and a
/// `Date` header `date_offset` seconds away from now.
pub(crate) struct StubSts {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl StubSts {
    pub(crate) async fn error(status: u16, code: &str, date_offset: i64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let body = format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>stub says {code}</Message></Error><RequestId>stub</RequestId></ErrorResponse>"
        );
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let body = body.clone();
                tokio::spawn(async move {
                    let _ = read_request(&mut stream).await;
                    let now = SystemTime::now();
                    let date = if date_offset >= 0 {
                        now + Duration::from_secs(date_offset.unsigned_abs())
                    } else {
                        now - Duration::from_secs(date_offset.unsigned_abs())
                    };
                    let date = aws_smithy_types::DateTime::from(date)
                        .fmt(aws_smithy_types::date_time::Format::HttpDate)
                        .unwrap();
                    let response = format!(
                        "HTTP/1.1 {status} Error\r\nContent-Type: text/xml\r\nDate: {date}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { addr, task }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for StubSts {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads a request head and as much body as `Content-Length` says.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut data = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        data.extend_from_slice(&chunk[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return Ok(());
            }
        }
    }
}

/// One raw HTTP/1.1 request; returns the status and body.
pub(crate) async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    authorization: Option<&str>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let auth = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    let request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A `moto_server` on 127.0.0.1, killed on drop.
pub(crate) struct MotoServer {
    child: Child,
    port: u16,
}

impl MotoServer {
    /// Starts moto, or `None` (skip) when `moto_server` is not installed — unless CI requires
    /// it, in which case the test fails.
    pub(crate) fn start() -> Option<Self> {
        let Ok(program) = which::which("moto_server") else {
            assert!(
                !required_in(read_test_var("CI").as_deref()),
                "moto_server is not installed, and CI=true requires the moto tests to run \
                 (scripts/test-env installs it: pip install 'moto[server]')"
            );
            eprintln!("skipping: moto_server is not installed (pip install 'moto[server]')");
            return None;
        };
        // A free port: bind, note it, release it for moto. Someone may take it in between;
        // moto then exits, and another port is tried.
        let stderr = tempfile::NamedTempFile::new().unwrap();
        for _ in 0..5 {
            let port = StdListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(&program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr.reopen().unwrap())
                .spawn()
                .unwrap();
            let mut server = Self { child, port };
            if server.wait_until_up() {
                return Some(server);
            }
        }
        let log = std::fs::read_to_string(stderr.path()).unwrap_or_default();
        panic!("moto_server did not start on any of 5 ports; its stderr:\n{log}");
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Polls every 20 ms until moto answers HTTP (it takes a second or two to import);
    /// `false` if it exited (port taken) or answered as something else.
    fn wait_until_up(&mut self) -> bool {
        use std::io::{Read as _, Write as _};
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let request =
                    "GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
                let mut answer = Vec::new();
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_end(&mut answer).is_ok()
                    && answer.starts_with(b"HTTP/1.")
                {
                    // moto's dashboard names itself; anything else holds the port.
                    let ours = answer.windows(4).any(|w| w == b"Moto");
                    return ours && matches!(self.child.try_wait(), Ok(None));
                }
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer within 60 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ci_true_makes_prerequisites_mandatory() {
        assert!(required_in(Some("true")));
        assert!(required_in(Some("TRUE")));
        assert!(required_in(Some("1")));
        assert!(!required_in(Some("false")));
        assert!(!required_in(Some("")));
        assert!(!required_in(None));
    }
}
