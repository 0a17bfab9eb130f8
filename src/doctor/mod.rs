//! `devboot doctor`: diagnoses the machine, the engine, the project and the app, and says how
//! to fix what it finds. This module owns the framework — checks as values in a registry
//! ([`check`], `checks`), a runner that runs them concurrently along their dependencies under
//! time limits ([`runner`]), selection by id or family ([`select`]), redaction
//! ([`crate::redact`], with the host's and the profile's secrets),
//! the report every output is rendered from ([`report`], [`render`]) — and the checks.
//!
//! The command layer calls it like this:
//!
//! ```text
//! let selection = doctor::Selection::parse(&args.checks)?;          // usage error on a typo
//! let report = doctor::run(env, &start_dir, &selection, confirm).await;  // never fails
//! report.to_json()? / report.to_text(printer) / report.write_files(path)?
//! report.exit_status(args.strict)
//! ```

mod check;
mod checks;
mod engine;
mod facts;
mod render;
mod report;
mod runner;
mod select;
#[cfg(test)]
pub(crate) mod testing;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub use check::{Fix, Status};
pub use report::{CheckReport, Report, ReportFiles, Summary};
pub use runner::{Confirm, FixOffer};
pub use select::Selection;

use crate::env::Environment;
use crate::output::Printer;
use crate::redact::Redactor;

/// `doctor --list`: every check's id and title, one per line, in report order.
pub fn list() -> String {
    render::list(checks::CHECKS)
}

/// Runs the selected checks (and what they depend on) for the project around `start`, and
/// returns the redacted report. With `confirm`, failing checks' safe fixes are offered, applied
/// when confirmed, and those checks run again.
pub async fn run(
    env: &Environment,
    start: &Path,
    selection: &Selection,
    confirm: Option<&mut Confirm<'_>>,
) -> Report {
    let started = Instant::now();
    let facts = Arc::new(facts::Facts::new(env.clone(), start.to_path_buf()));
    let results = runner::run(checks::CHECKS, &facts, selection, confirm).await;
    Report::new(results, started.elapsed(), &redactor(&facts))
}

/// The redactor of a run: the secrets of the host environment and of every layer of the
/// project's profile, also when the profile loads but does not validate.
fn redactor(facts: &facts::Facts) -> Redactor {
    use crate::catalog::Refresh;
    let reloaded;
    let profile = match facts.project() {
        facts::ProjectLookup::Loaded(project) => Some(&project.profile),
        facts::ProjectLookup::Invalid { root, .. } => {
            reloaded = crate::catalog::Catalogs::for_project(&facts.env, root, Refresh::None)
                .and_then(|catalogs| crate::profile::load_project(root, &catalogs))
                .ok();
            reloaded.as_ref()
        }
        facts::ProjectLookup::Missing => None,
    };
    Redactor::for_project(&facts.env, profile)
}

impl Report {
    /// The report as the terminal shows it (for stdout).
    pub fn to_text(&self, printer: &Printer) -> String {
        render::text(self, printer)
    }

    /// The Markdown summary `--report` writes.
    pub fn to_markdown(&self) -> String {
        render::markdown(self)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Sandbox;
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    /// A machine broken in several ways at once: no engine, a stale pid file, a missing master
    /// key, a URL at localhost with a password, secrets in the environment.
    fn broken_machine() -> Sandbox {
        let mut sandbox = Sandbox::new();
        let dead = sandbox.dir.path().join("dead.sock");
        let bin = sandbox.dir.path().join("bin");
        sandbox
            .var("DOCKER_HOST", format!("unix://{}", dead.display()))
            .var("AWS_SECRET_ACCESS_KEY", SECRET)
            .var(
                "HTTPS_PROXY",
                "http://AKIAIOSFODNN7EXAMPLE:hunter2@proxy:3128",
            )
            .var("PATH", bin.display().to_string());
        sandbox.write(
            "devboot.toml",
            "schema = 1\n[project]\nname = \"broken\"\n[app]\nservice = \"web\"\n[services.web]\nbuild = \".\"\n[services.web.environment]\nDATABASE_URL = \"postgres://app:hunter2@localhost/app\"\n",
        );
        sandbox.write("config/application.rb", "");
        sandbox.write("config/credentials.yml.enc", "x");
        sandbox.write("tmp/pids/server.pid", "999999999");
        sandbox.write(".ruby-version", "3.2.2");
        sandbox
    }

    fn by_id<'r>(report: &'r Report, id: &str) -> &'r CheckReport {
        report.checks().iter().find(|c| c.id == id).unwrap()
    }

    #[tokio::test]
    async fn a_broken_machine_is_diagnosed_in_registry_order_without_leaking_secrets() {
        let sandbox = broken_machine();
        let facts = sandbox.facts();
        let report = run(&facts.env, &facts.start, &Selection::all(), None).await;
        let ids: Vec<&str> = report.checks().iter().map(|c| c.id.as_str()).collect();
        let registry: Vec<&str> = checks::CHECKS.iter().map(|c| c.id).collect();
        assert_eq!(ids, registry);

        assert_eq!(by_id(&report, "docker.daemon").status, Status::Error);
        let ruby = by_id(&report, "rails.ruby_version");
        assert_eq!(
            (ruby.status, ruby.summary.as_str()),
            (Status::Skipped, "skipped: `docker.daemon` failed")
        );
        assert_eq!(by_id(&report, "rails.server_pid").status, Status::Error);
        assert_eq!(by_id(&report, "rails.master_key").status, Status::Error);
        assert_eq!(
            by_id(&report, "rails.database_url_localhost").status,
            Status::Error
        );
        assert_eq!(report.exit_status(false), crate::error::ExitStatus::Failure);

        let json = report.to_json().unwrap();
        let text = report.to_text(&Printer::plain());
        let markdown = report.to_markdown();
        let home = sandbox.home().display().to_string();
        for output in [&json, &text, &markdown] {
            for secret in [SECRET, "hunter2", "AKIAIOSFODNN7", home.as_str()] {
                assert!(
                    !output.contains(secret),
                    "`{secret}` leaked into:\n{output}"
                );
            }
        }
        assert!(text.contains("Rails app\n"), "{text}");
        assert!(
            text.trim_end().lines().last().unwrap().contains(" ok, "),
            "{text}"
        );
    }

    #[tokio::test]
    async fn selection_reports_only_what_was_asked() {
        let sandbox = broken_machine();
        let facts = sandbox.facts();
        let selection = Selection::parse(&["rails.ruby_version".into(), "host.os".into()]).unwrap();
        let report = run(&facts.env, &facts.start, &selection, None).await;
        let ids: Vec<&str> = report.checks().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["host.os", "rails.ruby_version"]);
        assert_eq!(
            report.checks()[1].summary,
            "skipped: `docker.daemon` failed"
        );
    }

    #[tokio::test]
    async fn fix_removes_the_stale_pid_file_and_reports_the_new_result() {
        let sandbox = broken_machine();
        let facts = sandbox.facts();
        let selection = Selection::parse(&["rails".into()]).unwrap();
        let mut offers = Vec::new();
        let mut confirm = |offer: &FixOffer| {
            offers.push(offer.check_id);
            offer.check_id == "rails.server_pid"
        };
        let report = run(&facts.env, &facts.start, &selection, Some(&mut confirm)).await;
        assert_eq!(offers, ["rails.server_pid"]);
        let pid = by_id(&report, "rails.server_pid");
        assert_eq!(pid.status, Status::Ok, "{pid:?}");
        assert_eq!(
            pid.details[0],
            "--fix applied: remove the stale `tmp/pids/server.pid`"
        );
        assert!(!sandbox.project().join("tmp/pids/server.pid").exists());
        // A fix nobody confirmed changes nothing.
        assert_eq!(by_id(&report, "rails.master_key").status, Status::Error);
    }

    #[test]
    fn the_report_is_redacted_with_the_hosts_and_the_profiles_secrets() {
        const STRIPE: &str = "sk_test_devboot_hidden_1234";
        const GITHUB: &str = "ghp_devbootHostToken0123456789";
        let mut sandbox = Sandbox::new();
        sandbox.var("GITHUB_TOKEN", GITHUB);
        let profile = format!(
            "schema = 1\n[project]\nname = \"shop\"\n[app]\nservice = \"web\"\n[services.web]\nimage = \"ruby:3.3\"\n[services.web.environment]\nSTRIPE_SECRET_KEY = \"{STRIPE}\"\n"
        );
        sandbox.write("devboot.toml", &profile);
        let line = format!("web | {STRIPE} {GITHUB}");
        let redacted = redactor(&sandbox.facts()).redact(&line);
        assert_eq!(redacted, "web | [redacted] [redacted]");
        // A profile that loads but does not validate still gives up its secrets.
        sandbox.write(
            "devboot.toml",
            &profile.replace("[services.web]\n", "[services.web]\nports = [\"nope\"]\n"),
        );
        let facts = sandbox.facts();
        assert!(matches!(
            facts.project(),
            facts::ProjectLookup::Invalid { .. }
        ));
        assert_eq!(
            redactor(&facts).redact(&line),
            "web | [redacted] [redacted]"
        );
    }

    #[test]
    fn list_names_every_check() {
        let list = list();
        assert_eq!(list.lines().count(), checks::CHECKS.len());
        assert!(list.contains("rails.server_pid"));
    }
}
