//! What a check is — a stable dotted id, a title, the ids it depends on, a time limit, a run
//! function and an optional safe fix — and what it returns: an [`Outcome`] with a [`Status`],
//! a one-line summary, details and [`Fix`]es.
//!
//! A run function returns `Result<Outcome, Outcome>`: `Err` is an outcome reached early (the
//! check does not apply here, or what it needs cannot be read), so `?` ends the check with it.
//! The runner reports `Ok` and `Err` alike.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;

use super::facts::Facts;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Error,
    /// Not applicable here, or a check it depends on did not pass.
    Skipped,
}

impl Status {
    /// Whether checks that depend on this one may run: a warning means "works, but".
    pub fn satisfies_dependents(self) -> bool {
        matches!(self, Self::Ok | Self::Warn)
    }

    /// The name the JSON uses: `ok`, `warn`, `error`, `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Error => "error",
            Self::Skipped => "skipped",
        }
    }

    /// Whether the check found something to fix.
    pub fn is_problem(self) -> bool {
        matches!(self, Self::Warn | Self::Error)
    }
}

/// One way to fix a problem: what to do and, where there is one, the exact command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub description: String,
    pub command: Option<String>,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
    pub fixes: Vec<Fix>,
}

impl Outcome {
    fn new(status: Status, summary: impl Into<String>) -> Self {
        Self {
            status,
            summary: summary.into(),
            details: Vec::new(),
            fixes: Vec::new(),
        }
    }

    pub fn ok(summary: impl Into<String>) -> Self {
        Self::new(Status::Ok, summary)
    }

    pub fn warn(summary: impl Into<String>) -> Self {
        Self::new(Status::Warn, summary)
    }

    pub fn error(summary: impl Into<String>) -> Self {
        Self::new(Status::Error, summary)
    }

    /// Not applicable on this machine or in this directory; the summary says why.
    pub fn skipped(summary: impl Into<String>) -> Self {
        Self::new(Status::Skipped, summary)
    }

    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.details.push(detail.into());
        self
    }

    #[must_use]
    pub fn details<S: Into<String>>(mut self, details: impl IntoIterator<Item = S>) -> Self {
        self.details.extend(details.into_iter().map(Into::into));
        self
    }

    /// A fix that is a step to take rather than a command.
    #[must_use]
    pub fn fix(mut self, description: impl Into<String>) -> Self {
        self.fixes.push(Fix {
            description: description.into(),
            command: None,
        });
        self
    }

    /// A fix with the exact command that applies it.
    #[must_use]
    pub fn fix_with(mut self, description: impl Into<String>, command: impl Into<String>) -> Self {
        self.fixes.push(Fix {
            description: description.into(),
            command: Some(command.into()),
        });
        self
    }

    /// Combines per-service outcomes: one service's outcome as it is, several joined, the worst
    /// status winning.
    pub fn combine(outcomes: Vec<Self>) -> Self {
        if outcomes.len() == 1 {
            return outcomes
                .into_iter()
                .next()
                .unwrap_or_else(|| Self::skipped("nothing to check"));
        }
        let status = outcomes
            .iter()
            .map(|o| o.status)
            .filter(|s| *s != Status::Skipped)
            .max()
            .unwrap_or(Status::Skipped);
        let summary = outcomes
            .iter()
            .map(|o| o.summary.clone())
            .collect::<Vec<_>>()
            .join("; ");
        let mut combined = match status {
            Status::Ok => Self::ok(summary),
            Status::Warn => Self::warn(summary),
            Status::Error => Self::error(summary),
            Status::Skipped => Self::skipped(summary),
        };
        for outcome in outcomes {
            combined.details.extend(outcome.details);
            combined.fixes.extend(outcome.fixes);
        }
        combined
    }
}

/// A check that reads files or runs short processes: it runs on the blocking thread pool.
pub(super) type BlockingRun = fn(&Facts) -> Result<Outcome, Outcome>;

/// A check that talks to a server (the engine, AWS): it runs as a task on the runtime. It is
/// written as an `async fn(Arc<Facts>) -> Result<Outcome, Outcome>` and declared boxed:
/// `Run::Async(|facts| Box::pin(check(facts)))`.
pub(super) type AsyncRun = fn(Arc<Facts>) -> BoxFuture<'static, Result<Outcome, Outcome>>;

#[derive(Debug, Clone, Copy)]
pub enum Run {
    Blocking(BlockingRun),
    Async(AsyncRun),
}

/// An action `--fix` may take for a failing check, after the user confirmed it. Only actions
/// that delete no data qualify; anything else is a [`Fix`] the user runs by hand.
#[derive(Debug, Clone, Copy)]
pub struct SafeFix {
    /// What it does, as the confirmation prompt shows it: "remove the stale `tmp/pids/server.pid`".
    pub description: &'static str,
    /// Applies the fix; the error says why it could not.
    pub apply: fn(&Facts) -> Result<(), String>,
}

/// A diagnostic check, declared once in the registry (`checks::CHECKS`).
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Stable dotted id (`docker.daemon`); users select and mentors quote checks by it.
    pub id: &'static str,
    pub title: &'static str,
    /// Checks that must pass (ok or warn) before this one runs; otherwise it is skipped.
    pub depends_on: &'static [&'static str],
    pub timeout: Duration,
    pub run: Run,
    pub safe_fix: Option<SafeFix>,
}

impl Check {
    /// The family: the id up to its first dot (`docker` for `docker.daemon`).
    pub fn family(&self) -> &'static str {
        family_of(self.id)
    }
}

/// The family of a check id.
pub(super) fn family_of(id: &str) -> &str {
    id.split_once('.').map_or(id, |(family, _)| family)
}

/// The time limit of checks that only read local files.
pub(super) const QUICK: Duration = Duration::from_secs(5);

/// The time limit of checks that run host programs or talk to a local server.
pub(super) const SLOW: Duration = Duration::from_secs(15);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_serialize_as_the_json_contract_names_them() {
        let names: Vec<String> = [Status::Ok, Status::Warn, Status::Error, Status::Skipped]
            .iter()
            .map(|s| serde_json::to_string(s).unwrap())
            .collect();
        assert_eq!(names, ["\"ok\"", "\"warn\"", "\"error\"", "\"skipped\""]);
        let quoted: Vec<String> = [Status::Ok, Status::Warn, Status::Error, Status::Skipped]
            .iter()
            .map(|s| format!("\"{}\"", s.as_str()))
            .collect();
        assert_eq!(quoted, names);
    }

    #[test]
    fn warnings_let_dependents_run_errors_and_skips_do_not() {
        assert!(Status::Ok.satisfies_dependents());
        assert!(Status::Warn.satisfies_dependents());
        assert!(!Status::Error.satisfies_dependents());
        assert!(!Status::Skipped.satisfies_dependents());
    }

    #[test]
    fn outcomes_build_up_details_and_fixes() {
        let outcome = Outcome::error("broken")
            .detail("one")
            .details(["two", "three"])
            .fix("do this")
            .fix_with("or run", "true");
        assert_eq!(outcome.details, ["one", "two", "three"]);
        assert_eq!(outcome.fixes[0].command, None);
        assert_eq!(outcome.fixes[1].command.as_deref(), Some("true"));
        assert_eq!(family_of("docker.daemon"), "docker");
        assert_eq!(family_of("docker"), "docker");
    }

    #[test]
    fn several_outcomes_combine_with_the_worst_status() {
        let combined = Outcome::combine(vec![
            Outcome::ok("a").detail("1"),
            Outcome::error("b").fix("do"),
            Outcome::skipped("c"),
        ]);
        assert_eq!(combined.status, Status::Error);
        assert_eq!(combined.summary, "a; b; c");
        assert_eq!(combined.details, ["1"]);
        assert_eq!(combined.fixes.len(), 1);
        assert_eq!(
            Outcome::combine(vec![Outcome::skipped("x")]).status,
            Status::Skipped
        );
    }
}
