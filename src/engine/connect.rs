//! Connecting to the Docker engine: a bollard client for the resolved endpoint, with the API
//! version negotiated down to what the engine speaks, and every way of not getting an answer
//! classified into an [`UnreachableReason`] that carries its fix. Also checks the negotiated
//! version against what a profile requires.

use std::io;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;

use super::endpoint::{self, Endpoint, EndpointSource};
use crate::env::Environment;
use crate::error::{Error, UnreachableReason};
pub use crate::model::units::parse_api_version;

/// How long a normal engine request may take (pulls and builds stream, so this bounds silence).
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// How long the first exchange may take: a dead endpoint must fail fast, not after minutes.
const NEGOTIATION_DEADLINE: Duration = Duration::from_secs(3);

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
    if endpoint.source == EndpointSource::DockerHostVar && env.var("DOCKER_TLS_VERIFY").is_some() {
        return Err(Error::Usage {
            message: format!(
                "DOCKER_TLS_VERIFY asks for TLS to `{}`, which devboot does not support",
                endpoint.host
            ),
            hint: Some(
                "use the engine's unix socket, or tunnel the TLS endpoint to a local one".into(),
            ),
        });
    }
    connect_to(endpoint, NEGOTIATION_DEADLINE).await
}

/// Connects to `endpoint`, failing with [`Error::EngineUnreachable`] when the engine does not
/// answer the version negotiation within `deadline`.
async fn connect_to(endpoint: Endpoint, deadline: Duration) -> Result<Connection, Error> {
    let docker = client_for(&endpoint)?;
    let docker = match tokio::time::timeout(deadline, docker.negotiate_version()).await {
        Ok(Ok(docker)) => docker,
        Ok(Err(error)) => return Err(unreachable(&endpoint, unreachable_reason(&error))),
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
/// socket that does not exist fails here already.
fn client_for(endpoint: &Endpoint) -> Result<Docker, Error> {
    let host = endpoint.host.as_str();
    let version = bollard::API_DEFAULT_VERSION;
    let client = match host.split_once("://") {
        Some(("unix", _)) => Docker::connect_with_unix(host, REQUEST_TIMEOUT_SECS, version),
        Some(("tcp" | "http", _)) => Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, version),
        Some((scheme, _)) => {
            return Err(Error::Usage {
                message: format!(
                    "the Docker endpoint `{host}` ({}) uses `{scheme}://`, which devboot does not support",
                    endpoint.source
                ),
                hint: Some(
                    "devboot talks to the engine over `unix://` or `tcp://`; for an engine reached \
                     over SSH, forward its socket (`ssh -NL /tmp/docker.sock:/var/run/docker.sock HOST`) \
                     and set `DOCKER_HOST=unix:///tmp/docker.sock`"
                        .into(),
                ),
            });
        }
        None => {
            return Err(Error::Usage {
                message: format!("`{host}` ({}) is not a Docker endpoint", endpoint.source),
                hint: Some("write it as `unix:///path/to/docker.sock` or `tcp://HOST:PORT`".into()),
            });
        }
    };
    client.map_err(|error| unreachable(endpoint, unreachable_reason(&error)))
}

fn unreachable(endpoint: &Endpoint, reason: UnreachableReason) -> Error {
    Error::EngineUnreachable {
        endpoint: endpoint.host.clone(),
        source_of_endpoint: endpoint.source.to_string(),
        reason,
    }
}

/// Why bollard got no answer: its own classification first, then the first OS error in the
/// chain of causes that says something, else the whole chain as text.
fn unreachable_reason(error: &BollardError) -> UnreachableReason {
    match error {
        BollardError::SocketNotFoundError(_) => UnreachableReason::MissingSocket,
        BollardError::RequestTimeoutError => UnreachableReason::Timeout,
        _ => causes(error)
            .find_map(|cause| io_kind(cause).and_then(reason_for_io_kind))
            .unwrap_or_else(|| UnreachableReason::Other(describe(error))),
    }
}

/// `error` and its causes, outermost first. Wrappers that hide what they wrap from
/// `source()` are looked into: bollard's transparent `IOError`, and an `io::Error` built around
/// another error.
fn causes<'e>(
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

    fn endpoint(host: &str) -> Endpoint {
        Endpoint {
            host: host.to_owned(),
            source: EndpointSource::DockerHostVar,
        }
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
            assert_eq!(unreachable_reason(&error), expected, "{error:?}");
        }
        let other = BollardError::DockerResponseServerError {
            status_code: 500,
            message: "engine on fire".into(),
        };
        assert_eq!(
            unreachable_reason(&other),
            UnreachableReason::Other(
                "Docker responded with status code 500: engine on fire".into()
            )
        );
    }

    #[test]
    fn unsupported_endpoints_are_usage_errors() {
        for host in [
            "ssh://me@box",
            "npipe:////./pipe/docker_engine",
            "fd://",
            "localhost:2375",
        ] {
            assert!(
                matches!(client_for(&endpoint(host)), Err(Error::Usage { .. })),
                "{host}"
            );
        }
        assert!(client_for(&endpoint("tcp://127.0.0.1:2375")).is_ok());
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
