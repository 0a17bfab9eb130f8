//! `docker.remote_files`: an engine on another machine (`tcp://` or `ssh://` to a host that is
//! not this one) mounts *its* host's paths, so the project's bind mounts would not show this
//! checkout. The rule is the gate's ([`requirements::bind_mounts`]): this check says it before
//! `up` is tried, with the same fixes.

use crate::doctor::check::{Check, Outcome, QUICK, Run};
use crate::doctor::facts::Facts;
use crate::engine::endpoint;
use crate::requirements::{self, REMOTE_BIND_MOUNTS_VAR};

pub(super) const REMOTE_FILES: Check = Check {
    id: "docker.remote_files",
    title: "The stack's bind mounts reach this checkout's files",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(remote_files),
    safe_fix: None,
};

fn remote_files(facts: &Facts) -> Result<Outcome, Outcome> {
    let endpoint = endpoint::resolve(&facts.env)
        .map_err(|error| Outcome::skipped(format!("{error} (see `docker.context`)")))?;
    let stack = facts
        .stack()
        .ok_or_else(|| Outcome::skipped("no project here"))?;
    if !endpoint.is_remote() {
        return Ok(Outcome::ok(format!(
            "the engine ({}) runs on this machine",
            endpoint.host
        )));
    }
    let synced = facts.var(REMOTE_BIND_MOUNTS_VAR) == Some("synced");
    Ok(
        match requirements::bind_mounts(stack, Some(&endpoint.host), synced) {
            Some(problem) => {
                let outcome = Outcome::error(problem.message)
                    .detail("`up` stops before creating anything: the app would see an empty directory the engine makes, not your code");
                match problem.fix {
                    Some(fix) => outcome.fix(fix),
                    None => outcome,
                }
            }
            None if synced => Outcome::ok(format!(
                "the engine ({}) is on another machine; {REMOTE_BIND_MOUNTS_VAR}=synced says this checkout is at the same path there",
                endpoint.host
            )),
            None => Outcome::ok(format!(
                "the engine ({}) is on another machine; the stack mounts no project files",
                endpoint.host
            )),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{Sandbox, reported};

    #[test]
    fn bind_mounts_on_a_remote_engine_are_an_error_until_synced() {
        let mut sandbox = Sandbox::new();
        sandbox.write("devboot.toml", "extends = \"rails\"\n");
        let local = reported(remote_files(&sandbox.facts()));
        assert_eq!(local.status, Status::Ok, "{local:?}");
        assert!(local.summary.contains("runs on this machine"));

        sandbox.var("DOCKER_HOST", "ssh://me@build-box");
        let remote = reported(remote_files(&sandbox.facts()));
        assert_eq!(remote.status, Status::Error, "{remote:?}");
        assert!(
            remote.summary.contains("runs on another machine"),
            "{}",
            remote.summary
        );
        assert!(
            remote.fixes[0]
                .description
                .contains("DEVBOOT_REMOTE_BIND_MOUNTS=synced")
        );

        sandbox.var(REMOTE_BIND_MOUNTS_VAR, "synced");
        let synced = reported(remote_files(&sandbox.facts()));
        assert_eq!(synced.status, Status::Ok, "{synced:?}");
    }
}
