//! `tools.*`: programs on the host — git, the Docker CLI, and the tools the profile requires
//! with their version constraints (`[requires.tools]`, checked by [`crate::host::tools`]).

use super::super::check::{Check, Outcome, Run, SLOW};
use super::super::facts::Facts;
use crate::host::tools;

pub(super) const GIT: Check = Check {
    id: "tools.git",
    title: "git is installed",
    depends_on: &[],
    timeout: SLOW,
    run: Run::Blocking(git),
    safe_fix: None,
};

pub(super) const DOCKER_CLI: Check = Check {
    id: "tools.docker_cli",
    title: "Docker CLI is installed",
    depends_on: &[],
    timeout: SLOW,
    run: Run::Blocking(docker_cli),
    safe_fix: None,
};

pub(super) const REQUIRED: Check = Check {
    id: "tools.required",
    title: "Tools the profile requires",
    depends_on: &["profile.valid"],
    timeout: SLOW,
    run: Run::Blocking(required),
    safe_fix: None,
};

/// Finds `program` on the environment's PATH and reads its version.
fn installed(facts: &Facts, program: &str, why: &str, install: &str) -> Outcome {
    let Ok(path) = which::which_in(program, facts.var("PATH"), &facts.env.cwd) else {
        return Outcome::warn(format!("`{program}` is not on PATH"))
            .detail(why)
            .fix(install);
    };
    let shown = facts.display(&path);
    match tools::version_of(&path) {
        Ok(Some(version)) => Outcome::ok(format!("{program} {version} ({shown})")),
        Ok(None) => Outcome::ok(format!("{program} at {shown} (it printed no version)")),
        Err(reason) => Outcome::warn(format!("`{shown} --version` failed: {reason}"))
            .detail(why)
            .fix(format!("reinstall `{program}`: {install}")),
    }
}

fn git(facts: &Facts) -> Outcome {
    installed(
        facts,
        "git",
        "devboot reads .gitignore and Rails apps use git for gems from git sources",
        "install git (`sudo apt-get install git`, `xcode-select --install` on macOS)",
    )
}

fn docker_cli(facts: &Facts) -> Outcome {
    installed(
        facts,
        "docker",
        "devboot talks to the engine itself, but `docker compose -f .devboot/compose.yaml` and the commands doctor suggests need the CLI",
        "install Docker (Docker Desktop, or `sudo apt-get install docker.io` / the docker-ce packages)",
    )
}

fn required(facts: &Facts) -> Outcome {
    let Some(stack) = facts.stack() else {
        return Outcome::skipped("the profile did not load");
    };
    let requirements = &stack.requirements.tools;
    if requirements.is_empty() {
        return Outcome::ok("the profile requires no host tools");
    }
    let wanted: Vec<String> = requirements
        .iter()
        .map(|(tool, requirement)| format!("{tool} {requirement}"))
        .collect();
    let problems = tools::check(requirements, facts.var("PATH"));
    if problems.is_empty() {
        return Outcome::ok(format!("all present: {}", wanted.join(", ")));
    }
    let mut outcome = Outcome::error(format!(
        "{} of {} required tools missing or too old",
        problems.len(),
        requirements.len()
    ));
    for problem in problems {
        outcome = outcome.detail(problem.message);
        if let Some(fix) = problem.fix {
            outcome = outcome.fix(fix);
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::super::super::check::Status;
    use super::super::testing::{PROFILE, Sandbox, script};
    use super::*;

    fn with_bin(sandbox: &mut Sandbox) -> std::path::PathBuf {
        let bin = sandbox.dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        sandbox.var("PATH", bin.display().to_string());
        bin
    }

    #[test]
    fn git_and_docker_are_found_on_path_with_their_versions() {
        let mut sandbox = Sandbox::new();
        let bin = with_bin(&mut sandbox);
        assert_eq!(
            git(&sandbox.facts()).status,
            Status::Warn,
            "no git on an empty PATH"
        );
        assert_eq!(docker_cli(&sandbox.facts()).status, Status::Warn);

        script(&bin.join("git"), "echo 'git version 2.39.2'");
        script(
            &bin.join("docker"),
            "echo 'Docker version 28.1.1, build 4eba377'",
        );
        let outcome = git(&sandbox.facts());
        assert_eq!(outcome.status, Status::Ok);
        assert!(
            outcome.summary.starts_with("git 2.39.2 ("),
            "{}",
            outcome.summary
        );
        assert!(
            docker_cli(&sandbox.facts())
                .summary
                .starts_with("docker 28.1.1")
        );

        script(&bin.join("git"), "echo 'cannot run' >&2; exit 3");
        let outcome = git(&sandbox.facts());
        assert_eq!(outcome.status, Status::Warn);
        assert!(
            outcome.summary.contains("cannot run"),
            "{}",
            outcome.summary
        );
    }

    #[test]
    fn required_tools_are_checked_against_the_profile() {
        let mut sandbox = Sandbox::new();
        let bin = with_bin(&mut sandbox);
        sandbox.write(
            "devboot.toml",
            &format!("{PROFILE}\n[requires.tools]\nfaketool = \">=2.0\"\nabsent = \"*\"\n"),
        );
        script(&bin.join("faketool"), "echo 'faketool 1.5.0'");
        let outcome = required(&sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(outcome.summary, "2 of 2 required tools missing or too old");
        assert!(
            outcome.details.iter().any(|d| d.contains("absent")),
            "{:?}",
            outcome.details
        );
        assert!(
            outcome.details.iter().any(|d| d.contains("1.5.0")),
            "{:?}",
            outcome.details
        );

        script(&bin.join("faketool"), "echo 'faketool 2.1.0'");
        script(&bin.join("absent"), "echo 'absent 0.1'");
        let outcome = required(&sandbox.facts());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(outcome.summary, "all present: absent *, faketool >=2.0");
    }

    #[test]
    fn a_profile_without_tool_requirements_is_fine() {
        let sandbox = Sandbox::new();
        sandbox.write("devboot.toml", PROFILE);
        assert_eq!(
            required(&sandbox.facts()).summary,
            "the profile requires no host tools"
        );
    }
}
