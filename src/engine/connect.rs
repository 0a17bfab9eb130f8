//! Connecting to the Docker engine: a bollard client for the resolved endpoint (a unix socket,
//! `tcp://` in the clear or with TLS, `ssh://` through [`super::ssh`]), with the API version
//! negotiated down to what the engine speaks, and every way of not getting an answer classified
//! into an [`UnreachableReason`] that carries its fix. Also checks the negotiated version
//! against what a profile requires.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;

use super::endpoint::{self, Endpoint, Tls};
use super::ssh::{self, SshFailed, SshTarget};
use crate::env::Environment;
use crate::error::{Error, UnreachableReason};
pub use crate::model::units::parse_api_version;
use crate::redact::Redactor;

/// How long a normal engine request may take (pulls and builds stream, so this bounds silence).
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// How long the first exchange may take: a dead endpoint must fail fast, not after minutes.
const NEGOTIATION_DEADLINE: Duration = Duration::from_secs(3);

/// The same over SSH, which logs in first (ssh's own `ConnectTimeout` is 30 s).
const SSH_NEGOTIATION_DEADLINE: Duration = Duration::from_secs(35);

/// A client talking to a live engine.
#[derive(Debug)]
pub struct Connection {
    pub docker: Docker,
    pub endpoint: Endpoint,
    /// The API version both sides speak, e.g. `1.41`.
    pub api_version: String,
}

/// Connects to the engine the environment points at and negotiates the API version.
pub async fn connect(env: &Environment) -> Result<Connection, Error> {
    let endpoint = endpoint::resolve(env)?;
    let deadline = if endpoint.host.starts_with("ssh://") {
        SSH_NEGOTIATION_DEADLINE
    } else {
        NEGOTIATION_DEADLINE
    };
    let docker = client_for(env, &endpoint)?;
    negotiate(docker, endpoint, deadline, &Redactor::new(env)).await
}

/// Negotiates the API version with the engine behind `docker`, failing with
/// [`Error::EngineUnreachable`] when it does not answer within `deadline`.
async fn negotiate(
    docker: Docker,
    endpoint: Endpoint,
    deadline: Duration,
    redactor: &Redactor,
) -> Result<Connection, Error> {
    let docker = match tokio::time::timeout(deadline, docker.negotiate_version()).await {
        Ok(Ok(docker)) => docker,
        Ok(Err(error)) => {
            return Err(unreachable(&endpoint, unreachable_reason(&error, redactor)));
        }
        Err(_elapsed) => return Err(unreachable(&endpoint, UnreachableReason::Timeout)),
    };
    let api_version = docker.client_version().to_string();
    Ok(Connection {
        docker,
        endpoint,
        api_version,
    })
}

/// A bollard client for the endpoint; connecting happens on the first request, but a unix
/// socket that does not exist, or certificates that cannot be read, fail here already.
fn client_for(env: &Environment, endpoint: &Endpoint) -> Result<Docker, Error> {
    let host = endpoint.host.as_str();
    let version = bollard::API_DEFAULT_VERSION;
    let client = match (host.split_once("://"), &endpoint.tls) {
        (Some(("unix", _)), _) => Docker::connect_with_unix(host, REQUEST_TIMEOUT_SECS, version),
        (Some(("tcp" | "https", _)), Some(tls)) => {
            let files = tls_files(endpoint, tls)?;
            Docker::connect_with_ssl(
                host,
                &files.key,
                &files.cert,
                &files.ca,
                REQUEST_TIMEOUT_SECS,
                version,
            )
        }
        (Some(("tcp" | "http", _)), None) => {
            Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, version)
        }
        (Some(("ssh", _)), _) => {
            let target = SshTarget::parse(host)?;
            return ssh::client(env, &target, REQUEST_TIMEOUT_SECS, version);
        }
        (Some((scheme, _)), _) => {
            return Err(Error::Usage {
                message: format!(
                    "the Docker endpoint `{host}` ({}) uses `{scheme}://`, which devboot does not support",
                    endpoint.source
                ),
                hint: Some(
                    "devboot talks to the engine over `unix://`, `tcp://` (with TLS when \
                     DOCKER_TLS_VERIFY is set) or `ssh://`"
                        .into(),
                ),
            });
        }
        (None, _) => {
            return Err(Error::Usage {
                message: format!("`{host}` ({}) is not a Docker endpoint", endpoint.source),
                hint: Some(
                    "write it as `unix:///path/to/docker.sock`, `tcp://HOST:PORT` or `ssh://USER@HOST`"
                        .into(),
                ),
            });
        }
    };
    client.map_err(|error| unreachable(endpoint, unreachable_reason(&error, &Redactor::default())))
}

/// The three files of a TLS endpoint.
struct TlsFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// The certificates of `tls`, checked before the first connection so a missing one is named:
/// `ca.pem` (the engine's certificate must chain to it; bollard also trusts the system's roots,
/// where the Docker CLI trusts `ca.pem` alone), and the client's `cert.pem` with `key.pem` — both,
/// or neither for an engine that asks for no client certificate, as for the CLI. TLS without
/// verifying the engine is refused.
fn tls_files(endpoint: &Endpoint, tls: &Tls) -> Result<TlsFiles, Error> {
    if !tls.verify {
        return Err(Error::Usage {
            message: format!(
                "the Docker endpoint `{}` ({}) asks for TLS without verifying the engine's certificate (`DOCKER_TLS`, or the context's `SkipTLSVerify`), which devboot refuses",
                endpoint.host, endpoint.source
            ),
            hint: Some(
                "verify it: put the engine's CA in `ca.pem` and set `DOCKER_TLS_VERIFY=1`, or \
                 recreate the context with `--docker host=…,ca=…,cert=…,key=…`"
                    .into(),
            ),
        });
    }
    let files = TlsFiles {
        ca: tls.dir.join("ca.pem"),
        cert: tls.dir.join("cert.pem"),
        key: tls.dir.join("key.pem"),
    };
    let client_pair = files.cert.exists() || files.key.exists();
    let needed = if client_pair {
        vec![&files.ca, &files.cert, &files.key]
    } else {
        vec![&files.ca]
    };
    for path in needed {
        if let Err(error) = std::fs::File::open(path) {
            return Err(Error::Usage {
                message: format!(
                    "TLS to `{}` ({}) needs `{}`: {error}",
                    endpoint.host,
                    endpoint.source,
                    path.display()
                ),
                hint: Some(
                    "the CA, client certificate and key are `ca.pem`, `cert.pem` and `key.pem` in \
                     DOCKER_CERT_PATH (default ~/.docker), or in the context's TLS files \
                     (`docker context create NAME --docker host=tcp://…,ca=…,cert=…,key=…`)"
                        .into(),
                ),
            });
        }
    }
    Ok(files)
}

fn unreachable(endpoint: &Endpoint, reason: UnreachableReason) -> Error {
    Error::EngineUnreachable {
        endpoint: endpoint.host.clone(),
        source_of_endpoint: endpoint.source.to_string(),
        reason,
    }
}

/// Why bollard got no answer: its own classification first, then what ssh said or what TLS
/// refused, then the first OS error in the chain of causes that says something, else the whole
/// chain as text. ssh's words go through `redactor`.
fn unreachable_reason(error: &BollardError, redactor: &Redactor) -> UnreachableReason {
    match error {
        BollardError::SocketNotFoundError(_) => UnreachableReason::MissingSocket,
        BollardError::RequestTimeoutError => UnreachableReason::Timeout,
        BollardError::CertPathError { path } | BollardError::CertParseError { path } => {
            UnreachableReason::Tls(format!("cannot read `{}` as PEM", path.display()))
        }
        _ => causes(error)
            .find_map(|cause| {
                if let Some(ssh) = cause.downcast_ref::<SshFailed>() {
                    return Some(UnreachableReason::Ssh(redactor.redact(&ssh.stderr)));
                }
                if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
                    return Some(UnreachableReason::Tls(tls_refusal(tls)));
                }
                io_kind(cause).and_then(reason_for_io_kind)
            })
            .unwrap_or_else(|| UnreachableReason::Other(describe(error))),
    }
}

/// What a TLS failure means for a Docker endpoint.
fn tls_refusal(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InvalidCertificate(why) => format!(
            "the engine's certificate is not trusted ({why:?}): it is not signed by the CA in `ca.pem`, or not for this host"
        ),
        rustls::Error::AlertReceived(alert) => format!(
            "the engine refused the TLS handshake ({alert:?}): it does not accept this client certificate (`cert.pem`), or the certificate is not signed by its CA"
        ),
        other => format!("TLS failed: {other}"),
    }
}

/// `error` and its causes, outermost first. Wrappers that hide what they wrap from
/// `source()` are looked into: bollard's transparent `IOError`, and an `io::Error` built around
/// another error.
pub(super) fn causes<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'e (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |&cause| {
        if let Some(BollardError::IOError { err }) = cause.downcast_ref::<BollardError>() {
            return Some(err as &(dyn std::error::Error + 'static));
        }
        if let Some(inner) = cause
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
        {
            return Some(inner as &(dyn std::error::Error + 'static));
        }
        cause.source()
    })
}

fn io_kind(cause: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    cause.downcast_ref::<io::Error>().map(io::Error::kind)
}

fn reason_for_io_kind(kind: io::ErrorKind) -> Option<UnreachableReason> {
    match kind {
        io::ErrorKind::NotFound => Some(UnreachableReason::MissingSocket),
        io::ErrorKind::ConnectionRefused => Some(UnreachableReason::Refused),
        io::ErrorKind::PermissionDenied => Some(UnreachableReason::PermissionDenied),
        io::ErrorKind::TimedOut => Some(UnreachableReason::Timeout),
        _ => None,
    }
}

/// The chain of causes as one line, without the repetitions of wrappers that quote their source.
fn describe(error: &BollardError) -> String {
    let mut text = String::new();
    for message in causes(error).map(ToString::to_string) {
        if !text.contains(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
    }
    text
}

/// Checks that the negotiated API version `have` is at least `need` (when the profile sets one).
pub fn check_api_version(have: &str, need: Option<(u32, u32)>) -> Result<(), Error> {
    let Some(need) = need else {
        return Ok(());
    };
    let Some(have_version) = parse_api_version(have) else {
        return Err(Error::Engine {
            action: "checking the engine's API version".into(),
            message: format!("the engine reported API version `{have}`, which is not MAJOR.MINOR"),
            hint: Some("check `docker version`; the engine may not be Docker".into()),
        });
    };
    if have_version >= need {
        Ok(())
    } else {
        Err(Error::EngineTooOld {
            have: have.to_owned(),
            need: format!("{}.{}", need.0, need.1),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::engine::endpoint::EndpointSource;

    fn endpoint(host: &str) -> Endpoint {
        Endpoint {
            host: host.to_owned(),
            source: EndpointSource::DockerHostVar,
            tls: None,
        }
    }

    /// Connects to `endpoint` as [`connect`] does, within `deadline`.
    async fn connect_to(endpoint: Endpoint, deadline: Duration) -> Result<Connection, Error> {
        let env = Environment::default();
        let docker = client_for(&env, &endpoint)?;
        negotiate(docker, endpoint, deadline, &Redactor::default()).await
    }

    fn reason(result: Result<Connection, Error>) -> UnreachableReason {
        match result {
            Err(Error::EngineUnreachable { reason, .. }) => reason,
            Err(other) => panic!("expected EngineUnreachable, got {other:?}"),
            Ok(connection) => panic!("connected to {:?}", connection.endpoint),
        }
    }

    #[test]
    fn api_versions_parse_as_two_numbers() {
        assert_eq!(parse_api_version("1.41"), Some((1, 41)));
        assert_eq!(parse_api_version("2.0"), Some((2, 0)));
        for bad in [
            "", "1", "1.", ".41", "1.41.0", "v1.41", "+1.41", "1.4a", " 1.41",
        ] {
            assert_eq!(parse_api_version(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn api_versions_compare_as_numbers() {
        assert!(check_api_version("1.41", None).is_ok());
        assert!(check_api_version("1.41", Some((1, 41))).is_ok());
        assert!(check_api_version("1.43", Some((1, 41))).is_ok());
        assert!(check_api_version("2.0", Some((1, 99))).is_ok());
        match check_api_version("1.9", Some((1, 41))) {
            Err(Error::EngineTooOld { have, need }) => {
                assert_eq!((have.as_str(), need.as_str()), ("1.9", "1.41"));
            }
            other => panic!("expected EngineTooOld, got {other:?}"),
        }
        assert!(matches!(
            check_api_version("latest", Some((1, 41))),
            Err(Error::Engine { .. })
        ));
    }

    #[test]
    fn failures_map_to_reasons() {
        let io_error = |kind| BollardError::IOError {
            err: io::Error::from(kind),
        };
        let cases = [
            (
                BollardError::SocketNotFoundError("/x.sock".into()),
                UnreachableReason::MissingSocket,
            ),
            (
                BollardError::RequestTimeoutError,
                UnreachableReason::Timeout,
            ),
            (
                io_error(io::ErrorKind::ConnectionRefused),
                UnreachableReason::Refused,
            ),
            (
                io_error(io::ErrorKind::PermissionDenied),
                UnreachableReason::PermissionDenied,
            ),
            (
                io_error(io::ErrorKind::TimedOut),
                UnreachableReason::Timeout,
            ),
            (
                // The telling error may sit under ones that say nothing.
                BollardError::IOError {
                    err: io::Error::other(io::Error::from(io::ErrorKind::PermissionDenied)),
                },
                UnreachableReason::PermissionDenied,
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(
                unreachable_reason(&error, &Redactor::default()),
                expected,
                "{error:?}"
            );
        }
        let other = BollardError::DockerResponseServerError {
            status_code: 500,
            message: "engine on fire".into(),
        };
        assert_eq!(
            unreachable_reason(&other, &Redactor::default()),
            UnreachableReason::Other(
                "Docker responded with status code 500: engine on fire".into()
            )
        );
    }

    #[test]
    fn unsupported_endpoints_are_usage_errors() {
        let env = Environment::default();
        for host in [
            "ssh://-oProxyCommand=x",
            "npipe:////./pipe/docker_engine",
            "fd://",
            "localhost:2375",
        ] {
            assert!(
                matches!(client_for(&env, &endpoint(host)), Err(Error::Usage { .. })),
                "{host}"
            );
        }
        assert!(client_for(&env, &endpoint("tcp://127.0.0.1:2375")).is_ok());
    }

    #[test]
    fn tls_names_a_missing_file_and_refuses_to_skip_verification() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment::default();
        let mut tls_endpoint = endpoint("tcp://127.0.0.1:2376");
        tls_endpoint.tls = Some(Tls {
            dir: dir.path().to_owned(),
            verify: true,
        });
        let message = match client_for(&env, &tls_endpoint) {
            Err(Error::Usage { message, .. }) => message,
            other => panic!("expected a usage error, got {other:?}"),
        };
        assert!(
            message.contains(&dir.path().join("ca.pem").display().to_string()),
            "{message}"
        );
        // A client certificate without its key names the key; a CA alone is enough.
        std::fs::write(dir.path().join("ca.pem"), "").unwrap();
        std::fs::write(dir.path().join("cert.pem"), "").unwrap();
        let message = match client_for(&env, &tls_endpoint) {
            Err(Error::Usage { message, .. }) => message,
            other => panic!("expected a usage error, got {other:?}"),
        };
        assert!(message.contains("key.pem"), "{message}");
        std::fs::remove_file(dir.path().join("cert.pem")).unwrap();
        assert!(
            tls_files(&tls_endpoint, tls_endpoint.tls.as_ref().unwrap()).is_ok(),
            "a CA alone"
        );
        tls_endpoint.tls = Some(Tls {
            dir: dir.path().to_owned(),
            verify: false,
        });
        let message = match client_for(&env, &tls_endpoint) {
            Err(Error::Usage { message, .. }) => message,
            other => panic!("expected a usage error, got {other:?}"),
        };
        assert!(message.contains("without verifying"), "{message}");
    }

    #[tokio::test]
    async fn a_missing_socket_fails_at_once() {
        let started = Instant::now();
        let result = connect_to(
            endpoint("unix:///nonexistent/devboot.sock"),
            NEGOTIATION_DEADLINE,
        )
        .await;
        assert_eq!(reason(result), UnreachableReason::MissingSocket);
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[tokio::test]
    async fn a_socket_nobody_listens_on_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("closed.sock");
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        let plain_file = dir.path().join("plain.sock");
        std::fs::write(&plain_file, "").unwrap();
        for path in [socket, plain_file] {
            let started = Instant::now();
            let host = format!("unix://{}", path.display());
            let result = connect_to(endpoint(&host), NEGOTIATION_DEADLINE).await;
            assert_eq!(reason(result), UnreachableReason::Refused, "{host}");
            assert!(started.elapsed() < Duration::from_millis(500));
        }
    }

    #[tokio::test]
    async fn a_listener_that_hangs_up_or_stays_silent_is_classified() {
        let dir = tempfile::tempdir().unwrap();

        let hangs_up = dir.path().join("hangs-up.sock");
        let listener = tokio::net::UnixListener::bind(&hangs_up).unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
        let host = format!("unix://{}", hangs_up.display());
        let result = connect_to(endpoint(&host), NEGOTIATION_DEADLINE).await;
        assert!(matches!(reason(result), UnreachableReason::Other(_)));

        let silent = dir.path().join("silent.sock");
        let listener = tokio::net::UnixListener::bind(&silent).unwrap();
        tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                open.push(stream);
            }
        });
        let host = format!("unix://{}", silent.display());
        let result = connect_to(endpoint(&host), Duration::from_millis(200)).await;
        assert_eq!(reason(result), UnreachableReason::Timeout);
    }

    /// Talks to the real engine; runs when `DEVBOOT_ENGINE_TESTS=1`, and must pass when `CI=true`.
    #[tokio::test]
    async fn connects_to_the_real_engine() {
        let env = Environment::capture();
        let required =
            env.var("CI") == Some("true") || env.var("DEVBOOT_ENGINE_TESTS") == Some("1");
        if !required {
            return;
        }
        let connection = connect(&env)
            .await
            .expect("an engine must answer when CI=true or DEVBOOT_ENGINE_TESTS=1");
        let version = parse_api_version(&connection.api_version).unwrap();
        assert!(version >= (1, 41), "negotiated {}", connection.api_version);
        connection.docker.ping().await.unwrap();
    }
}
