//! The one error type of the library. Every variant says what went wrong; [`Error::hint`]
//! says what to do about it; [`Error::exit_status`] is the single place errors become exit
//! codes (PRODUCT.md: 1 operation failed, 2 bad input, 3 devboot's own bug).

use std::path::PathBuf;

use crate::profile::diagnostic::Diagnostics;

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
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        Self::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Internal => 3,
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

    /// A broken invariant: a bug in devboot, not the user's doing.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
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
            Self::InvalidProfile(_) | Self::Prompt(_) => None,
            Self::NoProject { .. } => Some(
                "run `devboot init` in the repository, or pass `-C DIR` to point at it".into(),
            ),
            Self::ProjectFileExists { .. } => {
                Some("pass `--force` to replace it, or edit it by hand".into())
            }
            Self::Usage { hint, .. } => hint.clone(),
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
            Self::Io { .. } | Self::Conflicts { .. } | Self::Prompt(_) => ExitStatus::Failure,
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
