//! `rails.bundle`: every gem the Gemfile asks for is installed in the running app container
//! (`bundle check`), as after a teammate's Gemfile change or a production image.

use std::sync::Arc;
use std::time::Duration;

use crate::doctor::check::{Check, Outcome, Run};
use crate::doctor::engine::{ExecOutput, exec};
use crate::doctor::facts::Facts;
use crate::doctor::facts::project::{project_state, running_app};

pub(super) const BUNDLE: Check = Check {
    id: "rails.bundle",
    title: "The Gemfile's gems are installed in the app container",
    depends_on: &["docker.daemon", "profile.valid"],
    // Bundler resolves the Gemfile: a second or two, more on a large one.
    timeout: Duration::from_secs(60),
    run: Run::Async(|facts| Box::pin(bundle(facts))),
    safe_fix: None,
};

/// Lines of `bundle check`'s output shown.
const SHOWN: usize = 8;

async fn bundle(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let state = project_state(&facts).await?;
    let (service, id) = running_app(state)?;
    let connection = facts
        .connection()
        .await
        .map_err(|e| Outcome::skipped(format!("no engine: {e}")))?;
    let output = exec(&connection.docker, id, &["bundle", "check"])
        .await
        .map_err(|e| Outcome::error(format!("cannot run `bundle check` in `{service}`: {e}")))?;
    Ok(judge(service, &output))
}

fn judge(service: &str, output: &ExecOutput) -> Outcome {
    match output.code {
        0 => Outcome::ok(format!(
            "`{service}`: {}",
            output
                .tail(1)
                .first()
                .map_or("bundle check passes", String::as_str)
        )),
        // The shell could not find or run it.
        126 | 127 => Outcome::skipped(format!("`{service}` has no `bundle` command")),
        code => {
            let missing: Vec<&str> = output
                .lines
                .iter()
                .filter_map(|l| l.trim().strip_prefix("* "))
                .collect();
            let summary = if missing.is_empty() {
                format!("`bundle check` fails in `{service}` (exit code {code})")
            } else {
                format!(
                    "`{service}` lacks {} of the Gemfile: {}",
                    crate::error::plural(missing.len(), "gem"),
                    missing.join(", ")
                )
            };
            Outcome::error(summary)
                .details(output.tail(SHOWN))
                .detail("Rails does not boot without them: `Bundler::GemNotFound`, `Could not find gem …`")
                .fix_with("install them: `devboot up` rebuilds the app image and installs the bundle", "devboot up")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;

    fn output(code: i64, text: &str) -> ExecOutput {
        ExecOutput {
            code,
            lines: text.lines().map(str::to_owned).collect(),
        }
    }

    #[test]
    fn missing_gems_fail_with_the_fix() {
        // What Bundler prints when Gemfile.lock names gems that are not installed.
        let outcome = judge(
            "web",
            &output(
                1,
                "The following gems are missing\n * rack-mini-profiler (3.3.1)\n * faker (3.4.2)\nInstall missing gems with `bundle install`\n",
            ),
        );
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.summary,
            "`web` lacks 2 gems of the Gemfile: rack-mini-profiler (3.3.1), faker (3.4.2)"
        );
        assert_eq!(outcome.fixes[0].command.as_deref(), Some("devboot up"));
        let outcome = judge(
            "web",
            &output(0, "The Gemfile's dependencies are satisfied\n"),
        );
        assert_eq!(outcome.status, Status::Ok);
        assert_eq!(
            outcome.summary,
            "`web`: The Gemfile's dependencies are satisfied"
        );
        // Bundler 2.3 (Debian bookworm) after a Gemfile change the lockfile lacks, for real.
        let outcome = judge(
            "web",
            &output(
                1,
                "Bundler can't satisfy your Gemfile's dependencies.\nInstall missing gems with `bundle install`.\n",
            ),
        );
        assert_eq!(
            outcome.summary,
            "`bundle check` fails in `web` (exit code 1)"
        );
        assert_eq!(
            outcome.details[0],
            "Bundler can't satisfy your Gemfile's dependencies."
        );
        assert_eq!(
            judge("web", &output(127, "sh: bundle: not found")).status,
            Status::Skipped
        );
    }
}
