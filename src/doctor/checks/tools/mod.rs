//! `tools.*`: programs on the host — git, the Docker CLI, and the tools the profile requires
//! with their version constraints (`[requires.tools]`, checked by [`crate::host::tools`]),
//! Docker Compose (v2 plugin or v1 `docker-compose`) for the `docker compose` commands devboot
//! prints, and libpq's `pg_config` for a `bundle install` of the pg gem on the host.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use semver::Version;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::facts::Facts;
use crate::host::tools;

/// The family's checks, in report order.
pub(super) const CHECKS: &[Check] = &[GIT, DOCKER_CLI, REQUIRED, COMPOSE, LIBPQ];

const GIT: Check = Check {
    id: "tools.git",
    title: "git is installed",
    depends_on: &[],
    timeout: SLOW,
    run: Run::Blocking(git),
    safe_fix: None,
};

const DOCKER_CLI: Check = Check {
    id: "tools.docker_cli",
    title: "Docker CLI is installed",
    depends_on: &[],
    timeout: SLOW,
    run: Run::Blocking(docker_cli),
    safe_fix: None,
};

const REQUIRED: Check = Check {
    id: "tools.required",
    title: "Tools the profile requires",
    depends_on: &["profile.valid"],
    timeout: SLOW,
    run: Run::Blocking(required),
    safe_fix: None,
};

const COMPOSE: Check = Check {
    id: "tools.compose",
    title: "Docker Compose v2 is installed (for `docker compose` commands)",
    depends_on: &[],
    timeout: SLOW,
    run: Run::Blocking(compose),
    safe_fix: None,
};

const LIBPQ: Check = Check {
    id: "tools.libpq",
    title: "libpq's pg_config for a host-side `bundle install` of the pg gem",
    depends_on: &[],
    timeout: SLOW,
    run: Run::Blocking(libpq),
    safe_fix: None,
};

/// How long `docker compose version` or `pg_config --version` may take.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(5);

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
    let deadline = Instant::now() + PROGRAM_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "did not finish within {} s",
                    PROGRAM_TIMEOUT.as_secs()
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

#[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
fn compose(facts: &Facts) -> Result<Outcome, Outcome> {
    let find = |program: &str| tools::find_on_path(program, facts.var("PATH"));
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
    Ok(compose_outcome(&found))
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
    let Some(path) = tools::find_on_path(program, facts.var("PATH")) else {
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

#[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
fn git(facts: &Facts) -> Result<Outcome, Outcome> {
    Ok(installed(
        facts,
        "git",
        "devboot reads .gitignore and Rails apps use git for gems from git sources",
        "install git (`sudo apt-get install git`, `xcode-select --install` on macOS)",
    ))
}

#[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
fn docker_cli(facts: &Facts) -> Result<Outcome, Outcome> {
    Ok(installed(
        facts,
        "docker",
        "devboot talks to the engine itself, but `docker compose -f .devboot/compose.yaml` and the commands doctor suggests need the CLI",
        "install Docker (Docker Desktop, or `sudo apt-get install docker.io` / the docker-ce packages)",
    ))
}

fn required(facts: &Facts) -> Result<Outcome, Outcome> {
    let stack = facts
        .stack()
        .ok_or_else(|| Outcome::skipped("the profile did not load"))?;
    let requirements = &stack.requirements.tools;
    if requirements.is_empty() {
        return Ok(Outcome::ok("the profile requires no host tools"));
    }
    let wanted: Vec<String> = requirements
        .iter()
        .map(|(tool, requirement)| format!("{tool} {requirement}"))
        .collect();
    let problems = tools::check(requirements, facts.var("PATH"));
    if problems.is_empty() {
        return Ok(Outcome::ok(format!("all present: {}", wanted.join(", "))));
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
    Ok(outcome)
}

/// One `pg` spec Gemfile.lock locks: its version and its platform (`None` for the source gem,
/// which compiles against libpq; `x86_64-linux`, `arm64-darwin`, ... for the precompiled ones
/// pg ships since 1.6, which bundle libpq).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PgSpec {
    version: String,
    platform: Option<String>,
}

/// The `pg` specs of Gemfile.lock (the `    pg (VERSION[-PLATFORM])` lines of its `specs:`).
fn locked_pg(lockfile: &str) -> Vec<PgSpec> {
    lockfile
        .lines()
        .filter_map(|line| {
            let spec = line.trim_end().strip_prefix("    ")?;
            let inside = spec.strip_prefix("pg (")?.strip_suffix(')')?;
            // Gem versions have no `-`; what follows one is the platform.
            let (version, platform) = match inside.split_once('-') {
                Some((version, platform)) => (version, Some(platform.to_owned())),
                None => (inside, None),
            };
            Some(PgSpec {
                version: version.to_owned(),
                platform,
            })
        })
        .collect()
}

/// The Gemfile's `gem "pg"` line, when it has one (comments aside).
fn gemfile_pg_line(gemfile: &str) -> Option<&str> {
    gemfile.lines().map(str::trim).find(|line| {
        let Some(rest) = line.strip_prefix("gem") else {
            return false;
        };
        let rest = rest.trim_start_matches([' ', '\t', '(']);
        ["\"pg\"", "'pg'"].iter().any(|name| rest.starts_with(name))
    })
}

/// Whether a gem platform (`x86_64-linux`, `aarch64-linux-gnu`, `arm64-darwin`) runs on a
/// machine whose CPU and OS `std::env::consts` names `arch` and `os`; `musl` for a musl libc.
fn runs_here(platform: &str, arch: &str, os: &str, musl: bool) -> bool {
    let cpu = match (arch, os) {
        ("aarch64", "macos") => "arm64",
        (arch, _) => arch,
    };
    let Some(system) = platform
        .strip_prefix(cpu)
        .and_then(|rest| rest.strip_prefix('-'))
    else {
        return false;
    };
    match os {
        "linux" if musl => system == "linux-musl",
        "linux" => system == "linux" || system == "linux-gnu",
        "macos" => system == "darwin" || system.starts_with("darwin-"),
        _ => false,
    }
}

/// The value of `key` in a Bundler config file (`KEY: "value"` lines of YAML).
fn bundle_config_value<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    text.lines().find_map(|line| {
        let value = line
            .trim()
            .strip_prefix(key)?
            .trim_start()
            .strip_prefix(':')?;
        let value = value.trim();
        Some(
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value),
        )
    })
}

/// The path of `--with-pg-config=PATH` in Bundler's `build.pg` flags.
fn with_pg_config(flags: &str) -> Option<&str> {
    flags
        .split_whitespace()
        .find_map(|flag| flag.strip_prefix("--with-pg-config="))
        .map(|path| path.trim_matches(['"', '\'']))
        .filter(|path| !path.is_empty())
}

/// Bundler's `build.pg` setting (`bundle config build.pg ...`) and where it is set, in
/// Bundler's order: the app's `.bundle/config` (or `$BUNDLE_APP_CONFIG/config`),
/// `BUNDLE_BUILD__PG`, then `~/.bundle/config` (or `$BUNDLE_USER_CONFIG`).
/// Where `build.pg` is set and its value, and whether the setting is the developer's own (the
/// environment or the user's Bundler config) rather than the repository's `.bundle/config`.
fn build_pg_setting(facts: &Facts) -> Option<(String, String, bool)> {
    const KEY: &str = "BUNDLE_BUILD__PG";
    let app = facts.app_dir();
    let local = facts
        .var("BUNDLE_APP_CONFIG")
        .map_or_else(|| app.join(".bundle"), |dir| app.join(dir))
        .join("config");
    let global = facts
        .var("BUNDLE_USER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| facts.home().map(|home| home.join(".bundle/config")));
    let from_file = |path: &Path, own: bool| {
        let text = std::fs::read_to_string(path).ok()?;
        let value = bundle_config_value(&text, KEY)?.to_owned();
        Some((facts.display(path), value, own))
    };
    from_file(&local, false)
        .or_else(|| facts.var(KEY).map(|v| (KEY.to_owned(), v.to_owned(), true)))
        .or_else(|| global.as_deref().and_then(|path| from_file(path, true)))
}

/// Where the pg gem's build would find `pg_config`, and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PgConfig {
    /// At `shown` (named by `source`: `PATH`, or where `build.pg` is set); `version` is what
    /// `pg_config --version` printed, or why it failed.
    Found {
        shown: String,
        source: String,
        version: Result<String, String>,
    },
    /// `build.pg` names a `pg_config` that is not there.
    Dangling {
        shown: String,
        source: String,
    },
    Missing,
}

fn libpq(facts: &Facts) -> Result<Outcome, Outcome> {
    let dir = facts.app_dir();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let (lockfile, gemfile) = (read("Gemfile.lock"), read("Gemfile"));
    if lockfile.is_none() && gemfile.is_none() {
        return Err(Outcome::skipped(format!(
            "no Gemfile in {}",
            facts.display(dir)
        )));
    }
    let specs = lockfile.as_deref().map(locked_pg).unwrap_or_default();
    let pg_line = gemfile.as_deref().and_then(gemfile_pg_line);
    let pg = match (specs.first(), pg_line) {
        (Some(spec), _) => format!("pg {} (Gemfile.lock)", spec.version),
        (None, Some(_)) => "pg (Gemfile)".to_owned(),
        (None, None) => {
            let files = match (&lockfile, &gemfile) {
                (Some(_), Some(_)) => "Gemfile, Gemfile.lock",
                (Some(_), None) => "Gemfile.lock",
                _ => "Gemfile",
            };
            return Err(Outcome::skipped(format!(
                "the app does not use the pg gem ({files})"
            )));
        }
    };
    // pg ≥ 1.6 ships precompiled gems with libpq inside: when the lock has the one for this
    // machine, Bundler installs it and compiles nothing (unless told to build from source).
    let forced = pg_line.is_some_and(|line| line.contains("force_ruby_platform"))
        || facts
            .var("BUNDLE_FORCE_RUBY_PLATFORM")
            .is_some_and(|v| v != "false");
    let musl = cfg!(target_env = "musl");
    let precompiled = specs.iter().find(|spec| {
        spec.platform.as_deref().is_some_and(|platform| {
            runs_here(platform, std::env::consts::ARCH, std::env::consts::OS, musl)
        })
    });
    if let (Some(spec), false) = (precompiled, forced) {
        return Ok(Outcome::ok(format!(
            "Gemfile.lock locks pg {}-{}, precompiled with libpq inside: nothing to build",
            spec.version,
            spec.platform.as_deref().unwrap_or_default()
        )));
    }
    let version_of = |path: &Path| {
        output_of(path, &["--version"])
            .map(|text| text.lines().next().unwrap_or("").trim().to_owned())
    };
    let config = if let Some((source, flags, own)) = build_pg_setting(facts)
        && let Some(path) = with_pg_config(&flags)
    {
        let path = Path::new(path);
        let source = format!("`build.pg` in {source}");
        if path.is_file() {
            // A program the repository names is never run on the host.
            let version = if own {
                version_of(path)
            } else {
                Err("not run: the repository's Bundler config names it".to_owned())
            };
            PgConfig::Found {
                shown: facts.display(path),
                source,
                version,
            }
        } else {
            PgConfig::Dangling {
                shown: facts.display(path),
                source,
            }
        }
    } else {
        match tools::find_on_path("pg_config", facts.var("PATH")) {
            Some(path) => PgConfig::Found {
                shown: facts.display(&path),
                source: "PATH".to_owned(),
                version: version_of(&path),
            },
            None => PgConfig::Missing,
        }
    };
    Ok(libpq_outcome(&pg, &config, cfg!(target_os = "macos")))
}

/// Judges where `pg_config` is for the pg gem `pg` names; on macOS the Homebrew fix comes first.
fn libpq_outcome(pg: &str, config: &PgConfig, macos: bool) -> Outcome {
    let outcome = match config {
        PgConfig::Found {
            shown,
            source,
            version: Ok(version),
        } => {
            let version = if version.is_empty() {
                "pg_config"
            } else {
                version
            };
            return Outcome::ok(format!(
                "{version} ({shown}, from {source}): {pg} builds here"
            ));
        }
        PgConfig::Found {
            shown,
            version: Err(reason),
            ..
        } => Outcome::warn(format!("`{shown} --version` failed: {reason}")),
        PgConfig::Dangling { shown, source } => Outcome::warn(format!(
            "{source} names `--with-pg-config={shown}`, which does not exist"
        )),
        PgConfig::Missing => Outcome::warn(format!(
            "`pg_config` is not on PATH: `bundle install` on this machine cannot build {pg}"
        )),
    };
    let outcome = outcome
        .detail(format!(
            "{pg} is a native extension compiled against libpq: without its headers and `pg_config`, `bundle install` fails with `Can't find the 'libpq-fe.h header`"
        ))
        .detail("inside the app container nothing is needed: its image installs the gems; this is for `bundle install`, `bin/rails` and editor tooling run on this machine");
    let debian = |o: Outcome| {
        o.fix_with(
            "Debian/Ubuntu: install libpq's headers and `pg_config`",
            "sudo apt-get install libpq-dev",
        )
    };
    let fedora = |o: Outcome| {
        o.fix_with(
            "Fedora/RHEL: install libpq's headers and `pg_config`",
            "sudo dnf install libpq-devel",
        )
    };
    let brew = |o: Outcome| {
        o.fix_with(
            "macOS: install Homebrew's libpq (it is not linked onto PATH) and tell Bundler where its `pg_config` is",
            "brew install libpq && bundle config build.pg --with-pg-config=$(brew --prefix libpq)/bin/pg_config",
        )
    };
    if macos {
        fedora(debian(brew(outcome)))
    } else {
        brew(fedora(debian(outcome)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{PROFILE, Sandbox, reported, script, write};

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
            reported(git(&sandbox.facts())).status,
            Status::Warn,
            "no git on an empty PATH"
        );
        assert_eq!(reported(docker_cli(&sandbox.facts())).status, Status::Warn);

        script(&bin.join("git"), "echo 'git version 2.39.2'");
        script(
            &bin.join("docker"),
            "echo 'Docker version 28.1.1, build 4eba377'",
        );
        let outcome = reported(git(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok);
        assert!(
            outcome.summary.starts_with("git 2.39.2 ("),
            "{}",
            outcome.summary
        );
        assert!(
            reported(docker_cli(&sandbox.facts()))
                .summary
                .starts_with("docker 28.1.1")
        );

        script(&bin.join("git"), "echo 'cannot run' >&2; exit 3");
        let outcome = reported(git(&sandbox.facts()));
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
        let outcome = reported(required(&sandbox.facts()));
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
        let outcome = reported(required(&sandbox.facts()));
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
        let outcome = reported(compose(&sandbox.facts()));
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
        let outcome = reported(compose(&sandbox.facts()));
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
        let outcome = reported(compose(&sandbox.facts()));
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
            reported(required(&sandbox.facts())).summary,
            "the profile requires no host tools"
        );
    }

    const LOCK: &str = "GEM\n  remote: https://rubygems.org/\n  specs:\n    pg (1.6.2)\n    pg (1.6.2-aarch64-linux-gnu)\n    pg (1.6.2-arm64-darwin)\n    pg (1.6.2-x86_64-linux)\n    pgvector (0.3.2)\n    rails (8.0.2)\n      pg (>= 1.0)\n\nPLATFORMS\n  ruby\n\nDEPENDENCIES\n  pg (~> 1.1)\n\nCHECKSUMS\n  pg (1.6.2) sha256=abc\n";

    #[test]
    fn the_pg_gem_is_read_from_gemfile_lock_and_the_gemfile() {
        let specs = locked_pg(LOCK);
        let platforms: Vec<Option<&str>> = specs.iter().map(|s| s.platform.as_deref()).collect();
        assert_eq!(
            platforms,
            [
                None,
                Some("aarch64-linux-gnu"),
                Some("arm64-darwin"),
                Some("x86_64-linux")
            ]
        );
        assert!(specs.iter().all(|s| s.version == "1.6.2"));
        assert!(locked_pg("GEM\n  specs:\n    pgvector (0.3.2)\n    mysql2 (0.5.6)\n").is_empty());

        assert_eq!(
            gemfile_pg_line("source \"https://rubygems.org\"\ngem \"pg\", \"~> 1.1\"\n"),
            Some("gem \"pg\", \"~> 1.1\"")
        );
        assert!(gemfile_pg_line("gem('pg', force_ruby_platform: true)").is_some());
        for without in [
            "# gem \"pg\"\n",
            "gem \"pgvector\"\n",
            "gem 'pg_search'\n",
            "",
        ] {
            assert_eq!(gemfile_pg_line(without), None, "{without:?}");
        }
    }

    #[test]
    fn precompiled_pg_gems_match_this_machines_platform() {
        assert!(runs_here("x86_64-linux", "x86_64", "linux", false));
        assert!(runs_here("x86_64-linux-gnu", "x86_64", "linux", false));
        assert!(!runs_here("x86_64-linux", "x86_64", "linux", true));
        assert!(runs_here("x86_64-linux-musl", "x86_64", "linux", true));
        assert!(runs_here("aarch64-linux-gnu", "aarch64", "linux", false));
        assert!(runs_here("arm64-darwin", "aarch64", "macos", false));
        assert!(runs_here("x86_64-darwin-23", "x86_64", "macos", false));
        assert!(!runs_here("arm64-darwin", "x86_64", "macos", false));
        assert!(!runs_here("x64-mingw-ucrt", "x86_64", "windows", false));
    }

    #[test]
    fn bundlers_build_pg_setting_is_read() {
        let config = "---\nBUNDLE_PATH: \"vendor/bundle\"\nBUNDLE_BUILD__PG: \"--with-pg-config=/opt/homebrew/opt/libpq/bin/pg_config\"\n";
        let flags = bundle_config_value(config, "BUNDLE_BUILD__PG").unwrap();
        assert_eq!(
            with_pg_config(flags),
            Some("/opt/homebrew/opt/libpq/bin/pg_config")
        );
        assert_eq!(bundle_config_value(config, "BUNDLE_JOBS"), None);
        assert_eq!(with_pg_config("--with-opt-dir=/usr/local"), None);
    }

    #[test]
    fn a_missing_pg_config_warns_with_a_fix_per_system() {
        let outcome = libpq_outcome("pg 1.4.5 (Gemfile.lock)", &PgConfig::Missing, false);
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(
            outcome.summary,
            "`pg_config` is not on PATH: `bundle install` on this machine cannot build pg 1.4.5 (Gemfile.lock)"
        );
        let commands: Vec<&str> = outcome
            .fixes
            .iter()
            .filter_map(|f| f.command.as_deref())
            .collect();
        assert_eq!(
            commands,
            [
                "sudo apt-get install libpq-dev",
                "sudo dnf install libpq-devel",
                "brew install libpq && bundle config build.pg --with-pg-config=$(brew --prefix libpq)/bin/pg_config",
            ]
        );
        assert!(
            outcome.details[1].starts_with("inside the app container nothing is needed"),
            "{:?}",
            outcome.details
        );
        // On macOS, Homebrew's fix first.
        let mac = libpq_outcome("pg (Gemfile)", &PgConfig::Missing, true);
        assert!(
            mac.fixes[0].description.starts_with("macOS"),
            "{:?}",
            mac.fixes
        );

        let dangling = libpq_outcome(
            "pg (Gemfile)",
            &PgConfig::Dangling {
                shown: "/opt/homebrew/opt/libpq/bin/pg_config".into(),
                source: "`build.pg` in ~/.bundle/config".into(),
            },
            true,
        );
        assert_eq!(dangling.status, Status::Warn);
        assert_eq!(
            dangling.summary,
            "`build.pg` in ~/.bundle/config names `--with-pg-config=/opt/homebrew/opt/libpq/bin/pg_config`, which does not exist"
        );
        assert_eq!(dangling.fixes.len(), 3);
    }

    #[test]
    fn libpq_is_checked_only_for_apps_using_pg() {
        let mut sandbox = Sandbox::new();
        let bin = with_bin(&mut sandbox);
        assert_eq!(
            reported(libpq(&sandbox.facts())).summary,
            format!("no Gemfile in {}", sandbox.project().display())
        );
        sandbox.write("Gemfile", "gem \"mysql2\"\n");
        let outcome = reported(libpq(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Skipped);
        assert_eq!(outcome.summary, "the app does not use the pg gem (Gemfile)");

        // In the Gemfile only (not bundled yet): needed all the same.
        sandbox.write("Gemfile", "gem \"pg\", \"~> 1.5\"\n");
        let outcome = reported(libpq(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert!(outcome.summary.ends_with("cannot build pg (Gemfile)"));

        script(&bin.join("pg_config"), "echo 'PostgreSQL 16.2'");
        let outcome = reported(libpq(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            format!(
                "PostgreSQL 16.2 ({}, from PATH): pg (Gemfile) builds here",
                bin.join("pg_config").display()
            )
        );

        // Bundler's build.pg wins over PATH (the macOS fix leaves pg_config off PATH).
        let keg = sandbox.dir.path().join("libpq/bin/pg_config");
        write(
            &sandbox.home().join(".bundle/config"),
            &format!(
                "---\nBUNDLE_BUILD__PG: \"--with-pg-config={}\"\n",
                keg.display()
            ),
        );
        let outcome = reported(libpq(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert!(
            outcome.summary.starts_with("`build.pg` in "),
            "{}",
            outcome.summary
        );
        script(&keg, "echo 'PostgreSQL 17.0 (Homebrew)'");
        let outcome = reported(libpq(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(
            outcome.summary.starts_with("PostgreSQL 17.0 (Homebrew) (")
                && outcome.summary.contains("from `build.pg` in "),
            "{}",
            outcome.summary
        );

        script(&keg, "echo 'broken' >&2; exit 1");
        let outcome = reported(libpq(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert!(
            outcome.summary.ends_with("--version` failed: broken"),
            "{}",
            outcome.summary
        );

        // One the repository's own `.bundle/config` names is never run on the host.
        let marker = sandbox.dir.path().join("ran");
        let planted = sandbox.write("bin/pg_config", "");
        script(&planted, &format!("touch '{}'", marker.display()));
        sandbox.write(
            ".bundle/config",
            &format!(
                "---\nBUNDLE_BUILD__PG: \"--with-pg-config={}\"\n",
                planted.display()
            ),
        );
        let outcome = reported(libpq(&sandbox.facts()));
        assert!(outcome.summary.contains("not run"), "{outcome:?}");
        assert!(!marker.exists(), "the repository's pg_config ran");
    }

    #[test]
    fn a_precompiled_pg_for_this_machine_needs_no_libpq() {
        let mut sandbox = Sandbox::new();
        with_bin(&mut sandbox);
        let arch = std::env::consts::ARCH;
        let platform = match std::env::consts::OS {
            "macos" if arch == "aarch64" => "arm64-darwin".to_owned(),
            "macos" => format!("{arch}-darwin"),
            _ if cfg!(target_env = "musl") => format!("{arch}-linux-musl"),
            _ => format!("{arch}-linux"),
        };
        sandbox.write("Gemfile", "gem \"pg\"\n");
        sandbox.write(
            "Gemfile.lock",
            &format!("GEM\n  specs:\n    pg (1.6.2)\n    pg (1.6.2-{platform})\n"),
        );
        let outcome = reported(libpq(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            format!(
                "Gemfile.lock locks pg 1.6.2-{platform}, precompiled with libpq inside: nothing to build"
            )
        );
        // Unless the Gemfile asks to build it from source.
        sandbox.write("Gemfile", "gem \"pg\", force_ruby_platform: true\n");
        assert_eq!(reported(libpq(&sandbox.facts())).status, Status::Warn);
    }
}
