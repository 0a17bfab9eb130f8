//! Renderings of a [`Report`] for people: the terminal text (grouped by family, `✓ ! ✗ –` or
//! ASCII, problems expanded with their fixes, a one-line footer), the Markdown summary of
//! `--report`, and the `--list` of checks. Everything here reads the already-redacted report.

use std::fmt::Write as _;

use super::check::{Check, Status, family_of};
use super::report::{CheckReport, Report, Summary};
use crate::error::plural;
use crate::output::{Printer, Role, Verbosity};

/// The heading of each family, in the order families appear in the registry.
fn family_heading(family: &str) -> &str {
    match family {
        "host" => "Host",
        "tools" => "Tools",
        "profile" => "Profile",
        "env" => "Environment",
        "docker" => "Docker engine",
        "ports" => "Ports",
        "stack" => "Stack",
        "postgres" => "Postgres",
        "redis" => "Redis",
        "rails" => "Rails app",
        "aws" => "AWS",
        other => other,
    }
}

fn symbol(status: Status, unicode: bool) -> &'static str {
    match (status, unicode) {
        (Status::Ok, true) => "✓",
        (Status::Warn, _) => "!",
        (Status::Error, true) => "✗",
        (Status::Skipped, true) => "–",
        (Status::Ok, false) => "ok",
        (Status::Error, false) => "x",
        (Status::Skipped, false) => "-",
    }
}

fn role(status: Status) -> Role {
    match status {
        Status::Ok => Role::Good,
        Status::Warn => Role::Warn,
        Status::Error => Role::Bad,
        Status::Skipped => Role::Dim,
    }
}

/// "3 ok, 1 warning, 1 error, 2 skipped in 0.42s".
pub(super) fn footer(summary: Summary, seconds: f64) -> String {
    format!(
        "{} ok, {}, {}, {} skipped in {seconds:.2}s",
        summary.ok,
        plural(summary.warn, "warning"),
        plural(summary.error, "error"),
        summary.skipped
    )
}

/// The report as the terminal shows it. Under `-q` only problems are listed; under `-v` every
/// check's details and duration are shown.
pub(super) fn text(report: &Report, printer: &Printer) -> String {
    let unicode = printer.unicode();
    let verbose = printer.verbosity() >= Verbosity::Verbose;
    let quiet = printer.verbosity() == Verbosity::Quiet;
    let shown: Vec<&CheckReport> = report
        .checks()
        .iter()
        .filter(|check| !quiet || check.status.is_problem())
        .collect();
    let width = shown.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let symbol_width = if unicode { 1 } else { 2 };
    let arrow = if unicode { "→" } else { "->" };
    let mut out = String::new();
    let mut family = None;
    for check in shown {
        let this_family = family_of(&check.id);
        if family != Some(this_family) {
            if family.is_some() {
                out.push('\n');
            }
            family = Some(this_family);
            let heading = family_heading(this_family);
            let _ = writeln!(out, "{}", printer.style(Role::Emphasis).apply_to(heading));
        }
        let mark = format!("{:<symbol_width$}", symbol(check.status, unicode));
        let id = format!("{:<width$}", check.id);
        let mut line = format!(
            "  {} {}  {}",
            printer.style(role(check.status)).apply_to(mark),
            id,
            check.summary
        );
        if verbose {
            let _ = write!(
                line,
                " {}",
                printer
                    .style(Role::Dim)
                    .apply_to(format!("({} ms)", check.duration_ms))
            );
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if check.status.is_problem() || verbose {
            let indent = " ".repeat(2 + symbol_width + 1 + 2);
            for detail in &check.details {
                let _ = writeln!(out, "{indent}{detail}");
            }
            for fix in &check.fixes {
                let label = printer.style(Role::Hint).apply_to(format!("{arrow} fix:"));
                let _ = writeln!(out, "{indent}{label} {}", fix.description);
                if let Some(command) = &fix.command {
                    for line in command.lines() {
                        let _ = writeln!(out, "{indent}    $ {line}");
                    }
                }
            }
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&footer(report.summary(), report.elapsed().as_secs_f64()));
    out.push('\n');
    out
}

/// Escapes text for a Markdown table cell or a line of prose.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The readable summary `--report` writes beside the JSON, for a mentor.
pub(super) fn markdown(report: &Report) -> String {
    let mut out = String::from("# devboot doctor report\n\n");
    let _ = writeln!(
        out,
        "devboot {} · {}\n",
        report.devboot_version(),
        footer(report.summary(), report.elapsed().as_secs_f64())
    );
    out.push_str("| | check | result |\n|---|---|---|\n");
    for check in report.checks() {
        let _ = writeln!(
            out,
            "| {} {} | `{}` | {} |",
            symbol(check.status, true),
            check.status.as_str(),
            check.id,
            md(&check.summary)
        );
    }
    let problems: Vec<&CheckReport> = report
        .checks()
        .iter()
        .filter(|check| check.status.is_problem())
        .collect();
    if !problems.is_empty() {
        out.push_str("\n## Problems\n");
    }
    for check in problems {
        let _ = writeln!(
            out,
            "\n### {} `{}` — {}\n\n{}\n",
            symbol(check.status, true),
            check.id,
            md(&check.title),
            md(&check.summary)
        );
        for detail in &check.details {
            let _ = writeln!(out, "- {}", md(detail));
        }
        if !check.details.is_empty() {
            out.push('\n');
        }
        for fix in &check.fixes {
            let _ = writeln!(out, "**Fix:** {}\n", md(&fix.description));
            if let Some(command) = &fix.command {
                let _ = writeln!(out, "```sh\n{command}\n```\n");
            }
        }
    }
    out
}

/// `--list`: every check's id and title, one per line.
pub(super) fn list(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    checks.iter().fold(String::new(), |mut out, check| {
        let _ = writeln!(out, "{:<width$}  {}", check.id, check.title);
        out
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::doctor::check::{Outcome, QUICK, Run};
    use crate::doctor::facts::Facts;
    use crate::doctor::runner::CheckResult;
    use crate::redact::Redactor;

    #[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
    fn noop(_: &Facts) -> Result<Outcome, Outcome> {
        Ok(Outcome::ok(""))
    }

    const fn check(id: &'static str) -> Check {
        Check {
            id,
            title: "A title",
            depends_on: &[],
            timeout: QUICK,
            run: Run::Blocking(noop),
            safe_fix: None,
        }
    }

    static CHECKS: &[Check] = &[
        check("host.os"),
        check("host.disk"),
        check("rails.server_pid"),
    ];

    fn report() -> Report {
        let results = vec![
            CheckResult {
                check: &CHECKS[0],
                outcome: Outcome::ok("Linux"),
                duration: Duration::from_millis(1),
            },
            CheckResult {
                check: &CHECKS[1],
                outcome: Outcome::warn("3.0 GiB free").detail("in /x"),
                duration: Duration::from_millis(2),
            },
            CheckResult {
                check: &CHECKS[2],
                outcome: Outcome::error("stale pid file")
                    .detail("pid 7 is not running")
                    .fix_with("remove it", "rm tmp/pids/server.pid"),
                duration: Duration::from_millis(3),
            },
        ];
        Report::new(results, Duration::from_millis(420), &Redactor::default())
    }

    #[test]
    fn text_groups_by_family_and_expands_problems() {
        let text = text(&report(), &Printer::plain());
        let expected = "\
Host
  ok host.os           Linux
  !  host.disk         3.0 GiB free
       in /x

Rails app
  x  rails.server_pid  stale pid file
       pid 7 is not running
       -> fix: remove it
           $ rm tmp/pids/server.pid

1 ok, 1 warning, 1 error, 0 skipped in 0.42s
";
        assert_eq!(text, expected);
    }

    #[test]
    fn markdown_lists_every_check_and_details_problems() {
        let markdown = markdown(&report());
        assert!(markdown.starts_with("# devboot doctor report\n"));
        assert!(
            markdown.contains("| ✓ ok | `host.os` | Linux |"),
            "{markdown}"
        );
        assert!(
            markdown.contains("### ✗ `rails.server_pid` — A title"),
            "{markdown}"
        );
        assert!(
            markdown.contains("```sh\nrm tmp/pids/server.pid\n```"),
            "{markdown}"
        );
        assert!(
            !markdown.contains("### ✓"),
            "passing checks are not expanded"
        );
    }

    #[test]
    fn list_shows_ids_and_titles() {
        assert_eq!(
            list(&CHECKS[..2]),
            "host.os    A title\nhost.disk  A title\n"
        );
    }

    #[test]
    fn footer_counts_in_words() {
        let summary = Summary {
            ok: 2,
            warn: 2,
            error: 0,
            skipped: 1,
        };
        assert_eq!(
            footer(summary, 1.234),
            "2 ok, 2 warnings, 0 errors, 1 skipped in 1.23s"
        );
    }
}
