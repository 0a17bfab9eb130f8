//! `tools.*`: programs on the host — git, the Docker CLI, and the tools the profile requires
//! with their version constraints (`[requires.tools]`, checked by [`crate::host::tools`]), and
//! Docker Compose (v2 plugin or v1 `docker-compose`) for the `docker compose` commands devboot
//! prints.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use semver::Version;

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

pub(super) const COMPOSE: Check = Check {
    id: "tools.compose",
    title: "Docker Compose v2 is installed (for `docker compose` commands)",
    depends_on: &[],
    timeout: SLOW,
    run: Run::Blocking(compose),
    safe_fix: None,
};

/// How long `docker compose version` may take.
const COMPOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `program args`, with the output of both streams, or why it could not run or failed.
fn output_of(program: &Path, args: &[&str]) -> Result<String, String> {
    // An executable just written may be busy (`ETXTBSY`) for a moment: try again.
    let mut attempts = 0;
    let mut child = loop {
        match Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => break child,
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 5 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    let deadline = Instant::now() + COMPOSE_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "did not finish within {} s",
                    COMPOSE_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(text.lines().next().unwrap_or("failed").trim().to_owned())
    }
}

/// What is installed: the `docker compose` plugin's version, and `docker-compose`'s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ComposeFound {
    plugin: Option<Version>,
    standalone: Option<Version>,
}

fn compose(facts: &Facts) -> Outcome {
    let find = |program: &str| which::which_in(program, facts.var("PATH"), &facts.env.cwd).ok();
    let version = |program: &Path, args: &[&str]| {
        output_of(program, args)
            .ok()
            .and_then(|text| tools::parse_version(&text))
    };
    let found = ComposeFound {
        plugin: find("docker").and_then(|docker| version(&docker, &["compose", "version"])),
        standalone: find("docker-compose").and_then(|c| {
            // Compose v1 is a Python entry script that takes ~0.4 s to start; the version is
            // usually in its header, which costs nothing to read.
            let head = read_head(&c);
            v1_script_version(&head).or_else(|| version(&c, &["version"]))
        }),
    };
    compose_outcome(&found)
}

/// The first 512 bytes of `path` (an executable's shebang and header).
fn read_head(path: &Path) -> String {
    use std::io::Read as _;
    let mut head = [0_u8; 512];
    let read = std::fs::File::open(path)
        .and_then(|mut file| file.read(&mut head))
        .unwrap_or(0);
    String::from_utf8_lossy(&head[..read]).into_owned()
}

/// The version a Compose v1 Python entry script names in its header
/// (`# EASY-INSTALL-ENTRY-SCRIPT: 'docker-compose==1.29.2',...`, as Debian's package has it).
fn v1_script_version(head: &str) -> Option<Version> {
    let shebang = head.lines().next()?;
    if !(shebang.starts_with("#!") && shebang.contains("python")) {
        return None;
    }
    let (_, rest) = head.split_once("docker-compose==")?;
    tools::parse_version(rest.split(['\'', '"', ' ', '\n']).next()?)
}

fn compose_outcome(found: &ComposeFound) -> Outcome {
    const WHY: &str = "devboot itself does not need Compose: it talks to the engine; Compose is for `docker compose -f .devboot/compose.yaml ps / logs / exec`, which devboot's messages suggest";
    let install = "install the Compose v2 plugin: it comes with Docker Desktop; on Linux, the `docker-compose-plugin` package of Docker's apt/dnf repository";
    let standalone = found.standalone.as_ref().map(|v| {
        if v.major >= 2 {
            format!("docker-compose {v} (v2, standalone)")
        } else {
            format!("docker-compose {v} (Compose v1, unsupported since June 2023)")
        }
    });
    match (&found.plugin, &found.standalone) {
        (Some(plugin), _) if plugin.major >= 2 => {
            let outcome = Outcome::ok(format!("docker compose {plugin} (plugin)"));
            match standalone {
                Some(also) => outcome.detail(format!("also installed: {also}")),
                None => outcome,
            }
        }
        (_, Some(v)) if v.major >= 2 => Outcome::warn(format!(
            "only the standalone {}: type `docker-compose` where devboot's messages say `docker compose`",
            standalone.unwrap_or_default()
        ))
        .detail(WHY)
        .fix(install),
        (_, Some(_)) => Outcome::warn(format!(
            "only {}; no `docker compose` plugin",
            standalone.unwrap_or_default()
        ))
        .detail(WHY)
        .detail("Compose v1 reads .devboot/compose.yaml, but differs from v2 in container names and `depends_on` conditions, and gets no fixes")
        .fix(install),
        _ => Outcome::warn("no Docker Compose (`docker compose` or `docker-compose`)")
            .detail(WHY)
            .fix(install),
    }
}

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
    fn a_python_compose_v1_is_read_from_its_header() {
        let debian = "#!/usr/bin/python3\n# EASY-INSTALL-ENTRY-SCRIPT: 'docker-compose==1.29.2','console_scripts','docker-compose'\nimport re\n";
        assert_eq!(v1_script_version(debian), Some(Version::new(1, 29, 2)));
        // Without the version in the header (pip's entry scripts), it is asked.
        assert_eq!(
            v1_script_version("#!/usr/bin/python3\nfrom compose.cli.main import main\n"),
            None
        );
        assert_eq!(v1_script_version("\u{7f}ELF..."), None);
    }

    #[test]
    fn compose_v2_is_found_as_a_plugin_and_v1_warns() {
        let mut sandbox = Sandbox::new();
        let bin = with_bin(&mut sandbox);
        let outcome = compose(&sandbox.facts());
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(
            outcome.summary,
            "no Docker Compose (`docker compose` or `docker-compose`)"
        );

        // Docker without the plugin, and Compose v1 (as Debian's docker-compose package).
        script(
            &bin.join("docker"),
            "[ \"$1\" = compose ] && { echo \"docker: 'compose' is not a docker command.\" >&2; exit 1; }; echo 'Docker version 20.10.24'",
        );
        script(
            &bin.join("docker-compose"),
            "echo 'docker-compose version 1.29.2, build unknown'",
        );
        let outcome = compose(&sandbox.facts());
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "only docker-compose 1.29.2 (Compose v1, unsupported since June 2023); no `docker compose` plugin"
        );
        assert!(
            outcome.fixes[0]
                .description
                .contains("docker-compose-plugin")
        );

        script(
            &bin.join("docker"),
            "[ \"$1\" = compose ] && { echo 'Docker Compose version v2.24.5'; exit 0; }; exit 1",
        );
        let outcome = compose(&sandbox.facts());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(outcome.summary, "docker compose 2.24.5 (plugin)");
        assert_eq!(
            outcome.details,
            ["also installed: docker-compose 1.29.2 (Compose v1, unsupported since June 2023)"]
        );
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
