//! The one error type of the library. Every variant says what went wrong; [`Error::hint`]
//! says what to do about it; [`Error::exit_status`] is the single place errors become exit
//! codes (PRODUCT.md: 1 operation failed, 2 bad input, 3 devboot's own bug).

use std::path::PathBuf;

use crate::aws::error::AwsError;
use crate::profile::diagnostic::Diagnostics;
use crate::redact::Redactor;

/// How a command ended; `lib.rs` turns it into the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done.
    Success,
    /// 1: the operation failed, or a check found an error.
    Failure,
    /// 2: bad flags or invalid input such as a broken profile.
    Usage,
    /// 3: devboot itself failed unexpectedly.
    Internal,
    /// A command devboot ran for the user in a container (`exec`, `run`, `psql`, …) ended
    /// with this status, passed through as devboot's own.
    Command(u8),
}

impl ExitStatus {
    /// The status of a command that ended with `code` in a container. Docker reports a
    /// process killed by signal N as 128 + N, as a shell does; anything outside 0-255 (the
    /// engine's -1 for "unknown") is a failure.
    pub fn of_command(code: i64) -> Self {
        u8::try_from(code).map_or(Self::Failure, Self::Command)
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        Self::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Internal => 3,
            ExitStatus::Command(code) => code,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Profile files that do not parse or do not make sense; each diagnostic is located.
    #[error("{0}")]
    InvalidProfile(Diagnostics),

    #[error("no `devboot.toml` in `{}` or any parent directory", .start.display())]
    NoProject { start: PathBuf },

    #[error("`{}` already exists", .path.display())]
    ProjectFileExists { path: PathBuf },

    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },

    /// The repository asked for something the developer has not approved; nothing changed.
    #[error("{message}")]
    Refused {
        message: String,
        hint: Option<String>,
    },

    /// A published catalog could not be fetched, or its content does not match `devboot.lock`.
    #[error("{message}")]
    Catalog {
        message: String,
        hint: Option<String>,
    },
    /// A command was to run in the stack, and the part it needs is not up (a service that
    /// is not running, an image not built yet).
    #[error("{message}")]
    NotUp { message: String },

    #[error("cannot {action} `{}`: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{} changed since devboot wrote {}: {}", plural(.paths.len(), "file"), if .paths.len() == 1 { "it" } else { "them" }, .paths.join(", "))]
    Conflicts { paths: Vec<String> },

    #[error("a prompt failed: {0}")]
    Prompt(String),

    /// Nothing answered at the Docker endpoint.
    #[error("cannot reach the Docker engine at `{endpoint}` ({source_of_endpoint}): {reason}")]
    EngineUnreachable {
        endpoint: String,
        /// Where the endpoint came from: `DOCKER_HOST`, a context, the default socket.
        source_of_endpoint: String,
        reason: UnreachableReason,
    },

    /// The engine answered but speaks an older API than the profile needs.
    #[error("the Docker engine speaks API {have}, the profile needs {need} or newer")]
    EngineTooOld { have: String, need: String },

    /// An engine request failed.
    #[error("{action}: {message}")]
    Engine {
        action: String,
        message: String,
        hint: Option<String>,
    },

    /// Prerequisites not met; nothing was changed.
    #[error("{} before starting anything:\n{}", plural(.0.len(), "problem"), .0.iter().map(|p| format!("  - {}", p.message)).collect::<Vec<_>>().join("\n"))]
    Prerequisites(Vec<Problem>),

    #[error("pulling `{image}` failed: {}{message}", kind.cause())]
    Pull {
        image: String,
        kind: PullFailure,
        message: String,
    },

    #[error(
        "`{image}` has no build for {wanted}, the platform `{service}` runs on; the registry offers {}",
        offered.join(", ")
    )]
    ImagePlatform {
        service: String,
        image: String,
        wanted: String,
        offered: Vec<String>,
    },

    #[error("building `{service}` failed: {message}{}", tail(.output))]
    Build {
        service: String,
        message: String,
        output: Vec<String>,
    },

    /// The engine could not write: its data directory's filesystem is full. `output` is the
    /// end of a build's output, when a build hit it.
    #[error("{action} failed: the Docker engine's disk is full ({message}){}", tail(.output))]
    EngineDiskFull {
        action: String,
        message: String,
        output: Vec<String>,
    },

    /// A service did not become healthy (exited, crashed, or timed out).
    #[error("service `{service}` {what}{}{}", crash_line(.crash.as_ref()), tail(.logs))]
    Service {
        service: String,
        what: String,
        /// The exception in its log and where in the app it was raised.
        crash: Option<crate::crash::Crash>,
        logs: Vec<String>,
    },

    #[error(
        "setup command `{command}` failed with exit code {code}{}{}",
        crash_line(.crash.as_ref()),
        tail(.output)
    )]
    Setup {
        command: String,
        code: i64,
        /// The exception its output shows and where in the app it was raised.
        crash: Option<crate::crash::Crash>,
        output: Vec<String>,
    },

    #[error(
        "volume `{volume}` holds Postgres {data_major} data, but `{image}` runs Postgres {image_major}"
    )]
    PostgresMajorMismatch {
        volume: String,
        data_major: String,
        image: String,
        image_major: String,
    },

    #[error("another devboot is changing this project (lock `{}`)", .path.display())]
    Locked { path: PathBuf },

    #[error("interrupted; nothing half-done was left behind")]
    Interrupted,

    /// Resolving the developer's AWS identity or credentials failed.
    #[error(transparent)]
    Aws(#[from] AwsError),

    /// A broken invariant: a bug in devboot, not the user's doing.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The error with the container output it quotes (a crashed service's log tail, a setup
    /// command's or a build's output) passed through `redactor`.
    #[must_use]
    pub fn redacted(mut self, redactor: &Redactor) -> Self {
        if let Self::Service { logs: lines, .. }
        | Self::Setup { output: lines, .. }
        | Self::Build { output: lines, .. } = &mut self
        {
            for line in lines.iter_mut() {
                *line = redactor.redact(line);
            }
        }
        self
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// What the user can do about it, shown under the error as `hint: ...`.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::InvalidProfile(_) | Self::Prompt(_) | Self::Interrupted => None,
            Self::EngineUnreachable { reason, .. } => Some(reason.fix().to_owned()),
            Self::EngineTooOld { .. } => Some(
                "upgrade Docker Engine (or Docker Desktop), or lower `requires.docker_api` in the profile".into(),
            ),
            Self::Engine { hint, .. }
            | Self::Usage { hint, .. }
            | Self::Refused { hint, .. }
            | Self::Catalog { hint, .. } => hint.clone(),
            Self::Aws(error) => error.hint(),
            Self::NotUp { .. } => Some("start the stack with `devboot up`; `devboot status` shows each service".into()),
            Self::Prerequisites(problems) => {
                let fixes: Vec<String> = problems.iter().filter_map(|p| p.fix.clone()).collect();
                (!fixes.is_empty()).then(|| fixes.join("\n      "))
            }
            Self::Pull { kind, .. } => Some(kind.fix().to_owned()),
            Self::ImagePlatform { service, offered, .. } => Some(format!(
                "use a tag that is built for several platforms (most official images are), or set \
                 `platform = \"{}\"` under [services.{service}] to run this one under emulation \
                 (QEMU or Rosetta: several times slower, and the engine must have it enabled)",
                offered.first().map_or("linux/amd64", String::as_str)
            )),
            Self::Build { .. } => Some("run with `-v` to see the whole build output".into()),
            Self::EngineDiskFull { .. } => Some(format!(
                "{}; then run `devboot up` again: it continues where it stopped",
                crate::requirements::FREE_ENGINE_DISK
            )),
            Self::Service { service, .. } => Some(format!("see `devboot logs {service}`; `devboot doctor` checks the usual causes")),
            Self::Setup { .. } => Some("fix the command's error above, then run `devboot up` again; it resumes where it stopped".into()),
            Self::PostgresMajorMismatch {
                data_major,
                image_major,
                ..
            } => {
                let pin = format!(
                    "pin the old image (`image = \"postgres:{data_major}\"` under [services.db] in devboot.local.toml)"
                );
                let older = matches!(
                    (data_major.parse::<u32>(), image_major.parse::<u32>()),
                    (Ok(data), Ok(image)) if data < image
                );
                Some(if older {
                    format!(
                        "`devboot db upgrade` moves the data to Postgres {image_major} (snapshot first, every table's rows checked, the old data kept until `--finish`); or {pin}"
                    )
                } else {
                    format!("{pin}; devboot does not downgrade data")
                })
            }
            Self::Locked { .. } => Some("wait for the other run to finish; if none is running, the lock is released automatically".into()),
            Self::NoProject { .. } => Some(
                "run `devboot init` in the repository, or pass `-C DIR` to point at it".into(),
            ),
            Self::ProjectFileExists { .. } => {
                Some("pass `--force` to replace it, or edit it by hand".into())
            }
            Self::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    Some("check the file's owner and permissions (`ls -l`)".into())
                }
                _ => None,
            },
            Self::Conflicts { .. } => Some(
                "keep your edits by removing the file from the profile's `[files]`, or delete the file to let devboot write it again".into(),
            ),
            Self::Internal(_) => Some(
                "this is a bug in devboot; please report it with the command you ran".into(),
            ),
        }
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Self::InvalidProfile(_)
            | Self::NoProject { .. }
            | Self::ProjectFileExists { .. }
            | Self::Usage { .. } => ExitStatus::Usage,
            Self::Io { .. }
            | Self::Refused { .. }
            | Self::Catalog { .. }
            | Self::NotUp { .. }
            | Self::Conflicts { .. }
            | Self::Prompt(_)
            | Self::EngineUnreachable { .. }
            | Self::EngineTooOld { .. }
            | Self::Engine { .. }
            | Self::Prerequisites(_)
            | Self::Pull { .. }
            | Self::ImagePlatform { .. }
            | Self::Build { .. }
            | Self::EngineDiskFull { .. }
            | Self::Service { .. }
            | Self::Setup { .. }
            | Self::PostgresMajorMismatch { .. }
            | Self::Locked { .. }
            | Self::Interrupted
            | Self::Aws(_) => ExitStatus::Failure,
            Self::Internal(_) => ExitStatus::Internal,
        }
    }
}

/// `1 file`, `2 files`.
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Why a Docker endpoint did not answer, each with its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnreachableReason {
    /// The unix socket file does not exist: no engine running.
    MissingSocket,
    /// Something is there but nothing accepts connections.
    Refused,
    /// The socket exists but this user may not open it.
    PermissionDenied,
    /// No answer within the time limit.
    Timeout,
    /// `ssh` to an `ssh://` endpoint ended without answering: what it said (redacted).
    Ssh(String),
    /// The TLS handshake with a `tcp://` endpoint failed: why.
    Tls(String),
    Other(String),
}

impl UnreachableReason {
    pub fn fix(&self) -> &'static str {
        match self {
            Self::MissingSocket | Self::Refused => {
                "start Docker (`sudo systemctl start docker`, or open Docker Desktop), or point `DOCKER_HOST` at a running engine"
            }
            Self::PermissionDenied => {
                "add yourself to the `docker` group (`sudo usermod -aG docker $USER`, then log in again)"
            }
            Self::Timeout => "the engine is not answering; restart Docker",
            Self::Ssh(_) => {
                "`ssh HOST docker system dial-stdio` must work without a prompt: a key in your ssh agent or config, the host in known_hosts, and the docker CLI on the remote PATH (try `ssh HOST docker version`)"
            }
            Self::Tls(_) => {
                "use the CA, client certificate and key made for this engine (`ca.pem`, `cert.pem`, `key.pem` in DOCKER_CERT_PATH or the context's TLS files); check with `docker --tlsverify version`"
            }
            Self::Other(_) => "check `docker info`; `devboot doctor` diagnoses the usual causes",
        }
    }
}

impl std::fmt::Display for UnreachableReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingSocket => f.write_str("the socket does not exist (is Docker running?)"),
            Self::Refused => f.write_str("connection refused"),
            Self::PermissionDenied => f.write_str("permission denied"),
            Self::Timeout => f.write_str("no answer in time"),
            Self::Ssh(stderr) => write!(f, "ssh failed: {stderr}"),
            Self::Tls(message) | Self::Other(message) => f.write_str(message),
        }
    }
}

/// Why an image pull failed, each with its fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullFailure {
    NotFound,
    Unauthorized,
    Unreachable,
    RateLimited,
    Other,
}

impl PullFailure {
    pub fn fix(self) -> &'static str {
        match self {
            Self::NotFound => {
                "check the image name and tag in the profile (`devboot profile show --resolved`)"
            }
            Self::Unauthorized => {
                "log in to the registry (`docker login REGISTRY`) and run `devboot up` again"
            }
            Self::Unreachable => {
                "check the network, VPN or proxy settings, then run `devboot up` again: layers already downloaded are kept"
            }
            Self::RateLimited => {
                "wait and retry, or log in (`docker login`) for a higher pull limit"
            }
            Self::Other => "run `devboot up -v` for the engine's full message",
        }
    }

    /// What the failure means, before the engine's own words; nothing when those say it.
    fn cause(self) -> &'static str {
        match self {
            Self::Unreachable => "the registry is not answering: ",
            Self::NotFound | Self::Unauthorized | Self::RateLimited | Self::Other => "",
        }
    }
}

/// A prerequisite that is not met: what is wrong and the command or step that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub message: String,
    pub fix: Option<String>,
}

/// The last lines of some output, indented under an error.
fn crash_line(crash: Option<&crate::crash::Crash>) -> String {
    crash.map_or_else(String::new, |c| format!("\n  {}", c.summary()))
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(20);
    let shown: Vec<String> = lines[start..].iter().map(|l| format!("  | {l}")).collect();
    format!("\n{}", shown.join("\n"))
}
