//! The report: one list of check results, redacted when it is built, that every output is
//! rendered from — the `--json` document (its serde form *is* the JSON contract of PRODUCT.md),
//! the text on the terminal and the `--report` files — so no output can show something another
//! does not, and none can show a secret.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::check::{Fix, Status};
use super::render;
use super::runner::CheckResult;
use crate::error::{Error, ExitStatus};
use crate::fsio;
use crate::redact::Redactor;

/// The version of the JSON document; bumped only for incompatible changes.
pub(super) const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    schema_version: u32,
    devboot_version: &'static str,
    summary: Summary,
    checks: Vec<CheckReport>,
    /// Wall time of the whole run (the text footer shows it; the JSON does not).
    #[serde(skip)]
    elapsed: Duration,
}

/// How many checks ended in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub ok: usize,
    pub warn: usize,
    pub error: usize,
    pub skipped: usize,
}

/// One check's result as reported: every string already redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
    pub fixes: Vec<Fix>,
    pub duration_ms: u64,
}

/// Where `--report` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    pub json: PathBuf,
    pub markdown: PathBuf,
}

impl Report {
    /// The report of `results` (in the order given), every string passed through `redactor`.
    /// This is the only way to make a report, so nothing unredacted can be rendered.
    pub fn new(results: Vec<CheckResult>, elapsed: Duration, redactor: &Redactor) -> Self {
        let checks: Vec<CheckReport> = results
            .into_iter()
            .map(|result| {
                let outcome = result.outcome;
                CheckReport {
                    id: redactor.redact(result.check.id),
                    title: redactor.redact(result.check.title),
                    status: outcome.status,
                    summary: redactor.redact(&outcome.summary),
                    details: outcome.details.iter().map(|d| redactor.redact(d)).collect(),
                    fixes: outcome
                        .fixes
                        .iter()
                        .map(|fix| Fix {
                            description: redactor.redact(&fix.description),
                            command: fix.command.as_deref().map(|c| redactor.redact(c)),
                        })
                        .collect(),
                    duration_ms: u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX),
                }
            })
            .collect();
        let mut summary = Summary::default();
        for check in &checks {
            *match check.status {
                Status::Ok => &mut summary.ok,
                Status::Warn => &mut summary.warn,
                Status::Error => &mut summary.error,
                Status::Skipped => &mut summary.skipped,
            } += 1;
        }
        Self {
            schema_version: SCHEMA_VERSION,
            devboot_version: env!("CARGO_PKG_VERSION"),
            summary,
            checks,
            elapsed,
        }
    }

    pub fn summary(&self) -> Summary {
        self.summary
    }

    pub fn checks(&self) -> &[CheckReport] {
        &self.checks
    }

    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    pub fn devboot_version(&self) -> &str {
        self.devboot_version
    }

    /// 1 when a check found an error, or a warning under `--strict`; else 0.
    pub fn exit_status(&self, strict: bool) -> ExitStatus {
        if self.summary.error > 0 || (strict && self.summary.warn > 0) {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        }
    }

    /// The JSON document, pretty-printed, with a final newline.
    pub fn to_json(&self) -> Result<String, Error> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("serializing the doctor report: {e}")))?;
        text.push('\n');
        Ok(text)
    }

    /// Writes the JSON document to `path` (a `.md` path gets `.json` instead) and a Markdown
    /// summary beside it with the `.md` extension, each atomically.
    pub fn write_files(&self, path: &Path) -> Result<ReportFiles, Error> {
        let json = if path.extension().is_some_and(|ext| ext == "md") {
            path.with_extension("json")
        } else {
            path.to_path_buf()
        };
        let markdown = path.with_extension("md");
        fsio::write_atomic(&json, self.to_json()?.as_bytes())?;
        fsio::write_atomic(&markdown, render::markdown(self).as_bytes())?;
        Ok(ReportFiles { json, markdown })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::doctor::check::{Check, Outcome, QUICK, Run};
    use crate::env::Environment;

    #[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
    fn noop(_: &crate::doctor::facts::Facts) -> Result<Outcome, Outcome> {
        Ok(Outcome::ok(""))
    }

    static CHECK: Check = Check {
        id: "env.example",
        title: "An example",
        depends_on: &[],
        timeout: QUICK,
        run: Run::Blocking(noop),
        safe_fix: None,
    };

    fn result(outcome: Outcome) -> CheckResult {
        CheckResult {
            check: &CHECK,
            outcome,
            duration: Duration::from_millis(3),
        }
    }

    fn report() -> Report {
        let env = Environment::from_vars(
            [
                ("HOME", "/home/bob"),
                (
                    "AWS_SECRET_ACCESS_KEY",
                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                ),
            ],
            "/home/bob".into(),
        );
        Report::new(
            vec![
                result(Outcome::ok("fine")),
                result(
                    Outcome::error("leaks wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
                        .detail("DATABASE_URL=postgres://app:hunter2@localhost/app")
                        .fix_with(
                            "edit /home/bob/.aws/credentials",
                            "chmod 600 /home/bob/.aws/credentials",
                        )
                        .fix("AKIAIOSFODNN7EXAMPLE is the key"),
                ),
                result(Outcome::warn("w")),
                result(Outcome::skipped("s")),
            ],
            Duration::from_millis(420),
            &Redactor::new(&env),
        )
    }

    #[test]
    fn json_has_exactly_the_contract_shape() {
        let value: serde_json::Value = serde_json::from_str(&report().to_json().unwrap()).unwrap();
        let keys = |v: &serde_json::Value| -> BTreeSet<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(
            keys(&value),
            ["checks", "devboot_version", "schema_version", "summary"]
                .map(String::from)
                .into()
        );
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["devboot_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            value["summary"],
            serde_json::json!({"ok": 1, "warn": 1, "error": 1, "skipped": 1})
        );
        let check = &value["checks"][1];
        assert_eq!(
            keys(check),
            [
                "details",
                "duration_ms",
                "fixes",
                "id",
                "status",
                "summary",
                "title"
            ]
            .map(String::from)
            .into()
        );
        assert_eq!(check["id"], "env.example");
        assert_eq!(check["status"], "error");
        assert_eq!(check["duration_ms"], 3);
        assert_eq!(
            check["fixes"][0],
            serde_json::json!({"description": "edit ~/.aws/credentials", "command": "chmod 600 ~/.aws/credentials"})
        );
        assert_eq!(check["fixes"][1]["command"], serde_json::Value::Null);
    }

    #[test]
    fn every_string_is_redacted_when_the_report_is_built() {
        let json = report().to_json().unwrap();
        for secret in ["wJalrXUtnFEMI", "hunter2", "AKIAIOSFODNN7", "/home/bob"] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        assert!(json.contains("****************MPLE"));
        assert!(json.contains("postgres://app:***@localhost/app"));
    }

    #[test]
    fn exit_status_is_failure_on_errors_and_on_warnings_under_strict() {
        let report = report();
        assert_eq!(report.exit_status(false), ExitStatus::Failure);
        let redactor = Redactor::default();
        let warn_only = Report::new(vec![result(Outcome::warn("w"))], Duration::ZERO, &redactor);
        assert_eq!(warn_only.exit_status(false), ExitStatus::Success);
        assert_eq!(warn_only.exit_status(true), ExitStatus::Failure);
        let clean = Report::new(
            vec![result(Outcome::ok("o")), result(Outcome::skipped("s"))],
            Duration::ZERO,
            &redactor,
        );
        assert_eq!(clean.exit_status(true), ExitStatus::Success);
    }

    #[test]
    fn report_files_are_written_as_json_and_markdown() {
        let dir = tempfile::tempdir().unwrap();
        let files = report()
            .write_files(&dir.path().join("out/doctor.json"))
            .unwrap();
        assert_eq!(files.markdown, dir.path().join("out/doctor.md"));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&files.json).unwrap()).unwrap();
        assert_eq!(json["summary"]["error"], 1);
        let markdown = std::fs::read_to_string(&files.markdown).unwrap();
        assert!(markdown.contains("env.example"), "{markdown}");
        assert!(!markdown.contains("hunter2"));

        let files = report().write_files(&dir.path().join("r.md")).unwrap();
        assert_eq!(files.json, dir.path().join("r.json"));
        assert!(files.markdown.is_file() && files.json.is_file());
    }
}
