//! `rails.*`: the application. This module holds the checks of the repository's files — a
//! stale `tmp/pids/server.pid`, a missing master key, Ruby versions that disagree, service URLs
//! pointing at `localhost` inside a container, and scripts with Windows line endings — which
//! read the files and the profile and never print a secret's value. The others are in the
//! modules named after them: `rails.container_env` ([`container_env`]),
//! `rails.pending_migrations` ([`migrations`]), `rails.binding` ([`binding`]),
//! `rails.lockfile_platforms` ([`lockfile`]), `rails.file_ownership` ([`ownership`]),
//! `rails.dev_image` ([`dev_image`]), `rails.bundle` ([`bundle`]) and `rails.container_user`
//! ([`container_user`]).

mod binding;
mod bundle;
mod container_env;
mod container_user;
mod dev_image;
mod lockfile;
mod migrations;
mod ownership;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use semver::Version;

use crate::doctor::check::{Check, Outcome, QUICK, Run, SLOW, SafeFix, Status};
use crate::doctor::facts::Facts;
use crate::doctor::facts::app::{self, dotenv_in, is_local_host, rails_app, url_host};
use crate::doctor::facts::project::app_services;

/// The family's checks, in report order.
pub(super) const CHECKS: &[Check] = &[
    SERVER_PID,
    MASTER_KEY,
    RUBY_VERSION,
    DATABASE_URL_LOCALHOST,
    container_env::CONTAINER_ENV,
    migrations::PENDING_MIGRATIONS,
    LINE_ENDINGS,
    binding::BINDING,
    lockfile::LOCKFILE_PLATFORMS,
    ownership::FILE_OWNERSHIP,
    dev_image::DEV_IMAGE,
    bundle::BUNDLE,
    container_user::CONTAINER_USER,
];

const SERVER_PID: Check = Check {
    id: "rails.server_pid",
    title: "No stale tmp/pids/server.pid",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Async(|facts| Box::pin(server_pid(facts))),
    safe_fix: Some(SafeFix {
        description: "remove the stale `tmp/pids/server.pid`",
        apply: remove_server_pid,
    }),
};

const MASTER_KEY: Check = Check {
    id: "rails.master_key",
    title: "The key for encrypted credentials is present",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(master_key),
    safe_fix: None,
};

const RUBY_VERSION: Check = Check {
    id: "rails.ruby_version",
    title: "Ruby versions agree (.ruby-version, Gemfile, Gemfile.lock, the app container)",
    depends_on: &["docker.daemon"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(ruby_version(facts))),
    safe_fix: None,
};

const DATABASE_URL_LOCALHOST: Check = Check {
    id: "rails.database_url_localhost",
    title: "Service URLs of the app do not point at localhost",
    depends_on: &["profile.valid"],
    timeout: QUICK,
    run: Run::Blocking(database_url_localhost),
    safe_fix: None,
};

const LINE_ENDINGS: Check = Check {
    id: "rails.line_endings",
    title: "Scripts have Unix line endings",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(line_endings),
    safe_fix: Some(SafeFix {
        description: "convert the listed scripts to Unix (LF) line endings",
        apply: convert_line_endings,
    }),
};

const SERVER_PID_FILE: &str = "tmp/pids/server.pid";

/// Programs a Rails server runs as.
const SERVER_PROCESSES: &[&str] = &[
    "ruby",
    "puma",
    "rails",
    "unicorn",
    "thin",
    "falcon",
    "passenger",
    "bundle",
];

/// The name of the running process `pid`, or `None` when no such process runs.
fn process_name(facts: &Facts, pid: u32) -> Option<String> {
    if facts.proc_root.join("self").exists() {
        let comm =
            std::fs::read_to_string(facts.proc_root.join(pid.to_string()).join("comm")).ok()?;
        return Some(comm.trim().to_owned());
    }
    let output = std::process::Command::new("ps")
        .args(["-p", &pid.to_string(), "-o", "comm="])
        .output()
        .ok()?;
    let name = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !name.is_empty())
        .then(|| name.rsplit('/').next().unwrap_or(&name).to_owned())
}

fn is_server_process(name: &str) -> bool {
    SERVER_PROCESSES.iter().any(|p| name.contains(p))
}

/// The pid `tmp/pids/server.pid` of the Rails app names, if it holds one.
fn pid_in_file(facts: &Facts) -> Option<u32> {
    let dir = rails_app(facts).ok()?;
    std::fs::read_to_string(dir.join(SERVER_PID_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

async fn server_pid(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    // The app container writes the file through the bind mount, with its own pids.
    if let Some(pid) = pid_in_file(&facts)
        && let Some((service, name)) = app::container_process(&facts, pid).await
        && is_server_process(&name)
    {
        return Ok(Outcome::ok(format!(
            "`{service}` runs the server that wrote it (pid {pid} in the container, `{name}`)"
        )));
    }
    server_pid_on_host(&facts)
}

/// Judges `tmp/pids/server.pid` by the host's processes.
fn server_pid_on_host(facts: &Facts) -> Result<Outcome, Outcome> {
    let dir = rails_app(facts)?;
    let path = dir.join(SERVER_PID_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Outcome::ok(format!("no {SERVER_PID_FILE}")));
    };
    let fixes = |outcome: Outcome| {
        outcome
            .fix_with(
                "remove it (`devboot doctor --fix` does this)",
                format!("rm {SERVER_PID_FILE}"),
            )
            .fix("for good: start the server with `-P /tmp/server.pid` (outside the mounted app), as devboot's rails profile does")
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        return Ok(fixes(Outcome::error(format!(
            "{SERVER_PID_FILE} holds no process id; `rails server` refuses to start while it exists"
        ))));
    };
    Ok(match process_name(facts, pid) {
        None => fixes(
            Outcome::error(format!("stale {SERVER_PID_FILE}: process {pid} is not running"))
                .detail("`rails server` exits with \"A server is already running\" while this file exists"),
        ),
        Some(name) if is_server_process(&name) => Outcome::ok(format!(
            "a server is running (pid {pid}, `{name}`)"
        )),
        Some(name) => fixes(
            Outcome::warn(format!(
                "{SERVER_PID_FILE} names pid {pid}, which is `{name}`, not a Rails server"
            ))
            .detail("the file is probably left from a server that crashed (in a container, pids differ from the host's)"),
        ),
    })
}

fn remove_server_pid(facts: &Facts) -> Result<(), String> {
    let path = facts.app_dir().join(SERVER_PID_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// Encrypted credentials and the key file that opens them; the per-environment pair wins in
/// development, as in Rails.
const CREDENTIALS: &[(&str, &str)] = &[
    (
        "config/credentials/development.yml.enc",
        "config/credentials/development.key",
    ),
    ("config/credentials.yml.enc", "config/master.key"),
];

fn master_key(facts: &Facts) -> Result<Outcome, Outcome> {
    let dir = rails_app(facts)?;
    let Some((credentials, key_file)) = CREDENTIALS
        .iter()
        .copied()
        .find(|(credentials, _)| dir.join(credentials).is_file())
    else {
        return Ok(Outcome::ok("no encrypted credentials"));
    };
    let from_profile = app_services(facts)
        .iter()
        .any(|service| service.environment.contains_key("RAILS_MASTER_KEY"));
    if facts.var("RAILS_MASTER_KEY").is_some() || from_profile {
        return Ok(Outcome::ok(format!(
            "{credentials}: RAILS_MASTER_KEY is set"
        )));
    }
    Ok(match std::fs::read_to_string(dir.join(key_file)) {
        Ok(key) => {
            let key = key.trim();
            if key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
                Outcome::ok(format!("{credentials}: {key_file} is present"))
            } else {
                Outcome::warn(format!(
                    "{key_file} does not look like a Rails key (32 hexadecimal characters); decrypting {credentials} may fail"
                ))
                .fix(format!("replace {key_file} with the key from your team's password manager"))
            }
        }
        Err(_) => Outcome::error(format!(
            "{credentials} exists but neither {key_file} nor RAILS_MASTER_KEY is there"
        ))
        .detail("Rails stops with `ActiveSupport::EncryptedFile::MissingKeyError` when it reads credentials")
        .fix(format!(
            "get the key from your team's password manager and write it to {key_file} (git-ignored), or set RAILS_MASTER_KEY"
        ))
        .fix("do not run `bin/rails credentials:edit` to make one: it creates a new key that cannot read the team's credentials"),
    })
}

/// `3.2.2` from `3.2.2`, `ruby-3.2.2`, `3.2.2p53` or `3.2`.
fn ruby_version_of(text: &str) -> Option<Version> {
    let text = text.trim();
    let text = text.strip_prefix("ruby-").unwrap_or(text);
    let numeric: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = numeric
        .split('.')
        .filter(|p| !p.is_empty())
        .map(str::parse::<u64>);
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some(Version::new(major, minor, patch))
}

/// Whether `version` meets a Gemfile requirement (`3.2.2`, `~> 3.2`, `>= 3.1`).
fn ruby_requirement_met(requirement: &str, version: &Version) -> Option<bool> {
    let requirement = requirement.trim();
    let (op, rest) = ["~>", ">=", "<=", "!=", ">", "<", "="]
        .iter()
        .find_map(|op| requirement.strip_prefix(op).map(|rest| (*op, rest)))
        .unwrap_or(("=", requirement));
    let wanted = ruby_version_of(rest)?;
    let segments = rest.trim().split('.').count();
    Some(match op {
        "~>" => {
            let upper = match segments {
                0 | 1 => return Some(version >= &wanted),
                2 => Version::new(wanted.major + 1, 0, 0),
                _ => Version::new(wanted.major, wanted.minor + 1, 0),
            };
            version >= &wanted && version < &upper
        }
        ">=" => version >= &wanted,
        "<=" => version <= &wanted,
        ">" => version > &wanted,
        "<" => version < &wanted,
        "!=" => version != &wanted,
        _ => version == &wanted,
    })
}

/// The Gemfile's `ruby "..."` requirement, unless it reads `.ruby-version` itself.
fn gemfile_ruby(gemfile: &str) -> Option<String> {
    gemfile.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("ruby ")?.trim();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let end = rest[1..].find(quote)?;
        Some(rest[1..=end].to_owned())
    })
}

/// The `RUBY VERSION` Gemfile.lock records.
fn lockfile_ruby(lockfile: &str) -> Option<Version> {
    let mut lines = lockfile.lines();
    lines.find(|line| line.trim() == "RUBY VERSION")?;
    ruby_version_of(lines.next()?.trim().strip_prefix("ruby ")?)
}

async fn ruby_version(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let files = ruby_version_files(&facts);
    let container = app::container_ruby(&facts).await;
    Ok(with_container_ruby(&facts, files, container))
}

/// Whether `version` is what `.ruby-version` asks for: as many segments as it writes (`3.2`
/// accepts any 3.2.x).
fn dot_version_matches(text: &str, wanted: &Version, version: &Version) -> bool {
    let text = text.trim().strip_prefix("ruby-").unwrap_or(text.trim());
    let segments = text
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .unwrap_or_default()
        .split('.')
        .filter(|p| !p.is_empty())
        .count();
    match segments {
        0 => true,
        1 => wanted.major == version.major,
        2 => (wanted.major, wanted.minor) == (version.major, version.minor),
        _ => wanted == version,
    }
}

/// Adds the comparison with the Ruby the running app container has (`(service, version)`) to
/// the comparison of the files.
fn with_container_ruby(
    facts: &Facts,
    files: Outcome,
    container: Option<(String, String)>,
) -> Outcome {
    let Some((service, running)) = container else {
        if files.status == Status::Skipped {
            return files;
        }
        return files.detail(
            "the app container is not running: the Ruby in it is compared while the stack is up",
        );
    };
    let Some(version) = ruby_version_of(&running) else {
        return files.detail(format!(
            "`{service}` reports Ruby `{running}`, which does not parse"
        ));
    };
    let dir = facts.app_dir();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let dot_version = read(".ruby-version").and_then(|t| {
        let line = t.lines().next()?.trim().to_owned();
        let wanted = ruby_version_of(&line)?;
        Some((line, wanted))
    });
    let gemfile = read("Gemfile").and_then(|t| gemfile_ruby(&t));
    let mut conflicts = Vec::new();
    if let Some((text, wanted)) = &dot_version
        && !dot_version_matches(text, wanted, &version)
    {
        conflicts.push(format!(
            "the app container `{service}` runs Ruby {running}, .ruby-version says {text}"
        ));
    }
    if let Some(requirement) = &gemfile
        && ruby_requirement_met(requirement, &version) == Some(false)
    {
        conflicts.push(format!(
            "the app container `{service}` runs Ruby {running}, the Gemfile asks for `{requirement}`"
        ));
    }
    if conflicts.is_empty() {
        return match files.status {
            Status::Skipped => {
                Outcome::ok(format!("the app container `{service}` runs Ruby {running}"))
            }
            _ => Outcome {
                summary: format!("{}; `{service}` runs Ruby {running}", files.summary),
                ..files
            },
        };
    }
    let rebuild = |outcome: Outcome| {
        outcome
            .fix("build the app image with the Ruby the project asks for: the Ruby of the Dockerfile's base image (`FROM ruby:X.Y`)")
            .fix_with("then recreate the app container from it", "devboot up")
    };
    if files.status == Status::Error {
        let summary = format!("{}; {}", files.summary, conflicts.join("; "));
        return rebuild(Outcome { summary, ..files });
    }
    rebuild(
        Outcome::error(conflicts.join("; "))
            .detail("Bundler stops with `Your Ruby version is X, but your Gemfile specified Y` inside the container"),
    )
}

/// Compares `.ruby-version`, the Gemfile's `ruby` line and Gemfile.lock's `RUBY VERSION`.
fn ruby_version_files(facts: &Facts) -> Outcome {
    let dir = facts.app_dir();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let dot_version = read(".ruby-version").and_then(|t| {
        let line = t.lines().next()?.to_owned();
        Some((line.trim().to_owned(), ruby_version_of(&line)?))
    });
    let gemfile = read("Gemfile").and_then(|t| gemfile_ruby(&t));
    let lockfile = read("Gemfile.lock").and_then(|t| lockfile_ruby(&t));
    let mut seen = Vec::new();
    let mut conflicts = Vec::new();
    if let Some((text, _)) = &dot_version {
        seen.push(format!(".ruby-version {text}"));
    }
    if let Some(requirement) = &gemfile {
        seen.push(format!("Gemfile `ruby \"{requirement}\"`"));
    }
    if let Some(version) = &lockfile {
        seen.push(format!("Gemfile.lock {version}"));
    }
    if seen.is_empty() {
        return Outcome::skipped(
            "no .ruby-version, Gemfile `ruby` line or Gemfile.lock RUBY VERSION",
        );
    }
    if let (Some((text, version)), Some(requirement)) = (&dot_version, &gemfile)
        && ruby_requirement_met(requirement, version) == Some(false)
    {
        {
            conflicts.push(format!(
                ".ruby-version says {text}, the Gemfile asks for `{requirement}`"
            ));
        }
    }
    if let (Some((text, version)), Some(locked)) = (&dot_version, &lockfile)
        && version != locked
    {
        {
            conflicts.push(format!(
                ".ruby-version says {text}, Gemfile.lock records {locked}"
            ));
        }
    }
    if let (Some(requirement), Some(locked), None) = (&gemfile, &lockfile, &dot_version)
        && ruby_requirement_met(requirement, locked) == Some(false)
    {
        {
            conflicts.push(format!(
                "the Gemfile asks for `{requirement}`, Gemfile.lock records {locked}"
            ));
        }
    }
    if conflicts.is_empty() {
        return Outcome::ok(seen.join(", "));
    }
    Outcome::error(conflicts.join("; "))
        .detail("Bundler stops with `Your Ruby version is X, but your Gemfile specified Y`")
        .fix("make .ruby-version, the Gemfile's `ruby` line and Gemfile.lock agree (`bundle update --ruby` rewrites the lock file)")
        .fix_with("then rebuild the app image with that Ruby", "devboot up")
}

/// Default ports of URL schemes, to find the service a URL means.
fn default_port(value: &str) -> Option<u16> {
    let scheme = value.split_once("://")?.0;
    match scheme {
        "postgres" | "postgresql" => Some(5432),
        "redis" | "rediss" => Some(6379),
        "mysql" | "mysql2" | "trilogy" => Some(3306),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn database_url_localhost(facts: &Facts) -> Result<Outcome, Outcome> {
    let services = app_services(facts);
    let stack = facts
        .stack()
        .ok_or_else(|| Outcome::skipped("the profile did not load"))?;
    if services.is_empty() {
        return Err(Outcome::skipped("the profile has no app service"));
    }
    let relevant = |name: &str| name.ends_with("_URL") || name.ends_with("_HOST");
    // (service, variable, value, where it is set)
    let mut findings: Vec<(&str, String, String, String)> = Vec::new();
    let dotenv = dotenv_in(facts.app_dir());
    for service in &services {
        let mut vars: Vec<(String, String, String)> = service
            .environment
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.clone(),
                    format!("[services.{}.environment]", service.name),
                )
            })
            .collect();
        // dotenv does not override variables the container already has.
        vars.extend(
            dotenv
                .iter()
                .filter(|(_, key, _)| !service.environment.contains_key(key))
                .map(|(file, key, value)| (key.clone(), value.clone(), (*file).to_owned())),
        );
        for (name, value, origin) in vars {
            if !relevant(&name) {
                continue;
            }
            let Some((range, _)) = url_host(&value) else {
                continue;
            };
            if is_local_host(&value[range]) {
                findings.push((service.name.as_str(), name, value, origin));
            }
        }
    }
    if findings.is_empty() {
        return Ok(Outcome::ok(format!(
            "no service URL of {} points at localhost",
            services
                .iter()
                .map(|s| format!("`{}`", s.name))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut outcome = Outcome::error(format!(
        "{} inside the container: {}",
        if findings.len() == 1 { "points at localhost" } else { "point at localhost" },
        findings
            .iter()
            .map(|(service, name, _, _)| format!("{name} of `{service}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .detail("inside a container, localhost is the container itself, not the database; connections are refused");
    for (service, name, value, origin) in &findings {
        let Some((range, port)) = url_host(value) else {
            continue;
        };
        let port = port.or_else(|| default_port(value));
        let target = stack.services.values().find(|other| {
            other.name != *service
                && port.is_some_and(|port| {
                    other
                        .ports
                        .iter()
                        .any(|p| p.container == port || p.host == port)
                })
        });
        outcome = outcome.detail(format!("{name} = {value} (from {origin})"));
        outcome = match target {
            Some(target) => {
                let fixed = format!("{}{}{}", &value[..range.start], target.name, &value[range.end..]);
                outcome.fix(format!(
                    "use the service name: set {name} = \"{fixed}\" in {origin} (devboot.local.toml to override a profile)"
                ))
            }
            None => outcome.fix(format!(
                "set {name} in {origin} to the compose service name of the server instead of localhost"
            )),
        };
    }
    Ok(outcome)
}

/// Files that run inside containers and break with `\r\n` endings.
fn script_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("bin"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    files.extend(
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|name| {
                        Path::new(name)
                            .extension()
                            .is_some_and(|ext| ext.eq_ignore_ascii_case("sh"))
                            || name.starts_with("Procfile")
                    })
            }),
    );
    files.retain(|path| path.is_file());
    files.sort();
    files
}

/// Script files with Windows line endings (text files only: no NUL byte).
fn crlf_scripts(dir: &Path) -> Vec<PathBuf> {
    script_files(dir)
        .into_iter()
        .filter(|path| {
            std::fs::read(path).is_ok_and(|bytes| {
                !bytes.contains(&0) && bytes.windows(2).any(|pair| pair == b"\r\n")
            })
        })
        .collect()
}

fn line_endings(facts: &Facts) -> Result<Outcome, Outcome> {
    let dir = facts.app_dir();
    if script_files(dir).is_empty() {
        return Err(Outcome::skipped("no bin/ scripts, *.sh or Procfile here"));
    }
    let bad = crlf_scripts(dir);
    if bad.is_empty() {
        return Ok(Outcome::ok(
            "bin/ scripts, *.sh and Procfiles have Unix line endings",
        ));
    }
    let names: Vec<String> = bad
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string())
        .collect();
    Ok(Outcome::error(format!("Windows (CRLF) line endings in {}", names.join(", ")))
        .detail("in a Linux container they fail with `/usr/bin/env: 'ruby\\r': No such file or directory`")
        .fix_with(
            "convert them (`devboot doctor --fix` does this)",
            format!("perl -pi -e 's/\\r$//' {}", names.join(" ")),
        )
        .fix_with(
            "keep git from converting them again",
            "git config --global core.autocrlf input && printf '* text=auto eol=lf\\n' >> .gitattributes",
        ))
}

fn convert_line_endings(facts: &Facts) -> Result<(), String> {
    for path in crlf_scripts(facts.app_dir()) {
        let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
        let mut converted = Vec::with_capacity(bytes.len());
        for (i, &byte) in bytes.iter().enumerate() {
            if !(byte == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
                converted.push(byte);
            }
        }
        crate::fsio::write_atomic(&path, &converted).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{PROFILE, Sandbox, reported, script};

    fn rails_app_sandbox() -> Sandbox {
        let sandbox = Sandbox::new();
        sandbox.write(
            "config/application.rb",
            "module App; class Application; end; end\n",
        );
        sandbox
    }

    #[test]
    fn outside_a_rails_app_the_app_checks_are_skipped() {
        let sandbox = Sandbox::new();
        assert_eq!(
            reported(server_pid_on_host(&sandbox.facts())).status,
            Status::Skipped
        );
        assert_eq!(
            reported(master_key(&sandbox.facts())).status,
            Status::Skipped
        );
    }

    #[test]
    fn a_pid_file_of_a_dead_process_is_stale_and_the_fix_removes_it() {
        let sandbox = rails_app_sandbox();
        assert_eq!(
            reported(server_pid_on_host(&sandbox.facts())).summary,
            "no tmp/pids/server.pid"
        );
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        sandbox.write(SERVER_PID_FILE, &format!("{pid}\n"));
        let outcome = reported(server_pid_on_host(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            format!("stale tmp/pids/server.pid: process {pid} is not running")
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("rm tmp/pids/server.pid")
        );

        remove_server_pid(&sandbox.facts()).unwrap();
        assert!(!sandbox.project().join(SERVER_PID_FILE).exists());
        assert_eq!(
            reported(server_pid_on_host(&sandbox.facts())).status,
            Status::Ok
        );
        remove_server_pid(&sandbox.facts()).unwrap();
    }

    /// Waits until the spawned child runs `name` (right after the fork it is still a copy of
    /// this test process).
    fn wait_for_exec(sandbox: &Sandbox, pid: u32, name: &str) {
        let facts = sandbox.facts();
        for _ in 0..500 {
            if process_name(&facts, pid).as_deref() == Some(name) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("process {pid} never became `{name}`");
    }

    #[test]
    fn a_pid_file_of_a_running_process_is_judged_by_its_name() {
        let sandbox = rails_app_sandbox();
        // A real process that is not a Rails server.
        let mut sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        wait_for_exec(&sandbox, sleeper.id(), "sleep");
        sandbox.write(SERVER_PID_FILE, &sleeper.id().to_string());
        let outcome = reported(server_pid_on_host(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert!(
            outcome.summary.contains("`sleep`, not a Rails server"),
            "{}",
            outcome.summary
        );
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();

        // A real process named like a Rails server: `sleep` copied to `puma`.
        let sleep = which::which("sleep").unwrap();
        let puma = sandbox.dir.path().join("puma");
        std::fs::copy(&sleep, &puma).unwrap();
        std::fs::set_permissions(&puma, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut server = std::process::Command::new(&puma).arg("30").spawn().unwrap();
        wait_for_exec(&sandbox, server.id(), "puma");
        sandbox.write(SERVER_PID_FILE, &server.id().to_string());
        let outcome = reported(server_pid_on_host(&sandbox.facts()));
        server.kill().unwrap();
        server.wait().unwrap();
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(outcome.summary.contains("`puma`"));

        sandbox.write(SERVER_PID_FILE, "garbage");
        assert_eq!(
            reported(server_pid_on_host(&sandbox.facts())).status,
            Status::Error
        );
    }

    #[test]
    fn encrypted_credentials_need_their_key() {
        let mut sandbox = rails_app_sandbox();
        assert_eq!(
            reported(master_key(&sandbox.facts())).summary,
            "no encrypted credentials"
        );
        sandbox.write("config/credentials.yml.enc", "ciphertext--iv--tag");
        let outcome = reported(master_key(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.summary,
            "config/credentials.yml.enc exists but neither config/master.key nor RAILS_MASTER_KEY is there"
        );
        assert!(outcome.fixes[1].description.contains("credentials:edit"));

        sandbox.write("config/master.key", "not-a-key\n");
        assert_eq!(reported(master_key(&sandbox.facts())).status, Status::Warn);
        sandbox.write("config/master.key", "0123456789abcdef0123456789abcdef\n");
        let outcome = reported(master_key(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok);
        assert!(
            !format!("{outcome:?}").contains("0123456789abcdef"),
            "the key is never shown"
        );

        // The per-environment file needs its own key; the environment variable also does.
        sandbox.write("config/credentials/development.yml.enc", "ciphertext");
        assert_eq!(reported(master_key(&sandbox.facts())).status, Status::Error);
        sandbox.var("RAILS_MASTER_KEY", "0123456789abcdef0123456789abcdef");
        assert_eq!(reported(master_key(&sandbox.facts())).status, Status::Ok);
    }

    #[test]
    fn ruby_versions_are_compared() {
        let sandbox = rails_app_sandbox();
        assert_eq!(ruby_version_files(&sandbox.facts()).status, Status::Skipped);
        sandbox.write(".ruby-version", "ruby-3.2.2\n");
        sandbox.write(
            "Gemfile",
            "source \"https://rubygems.org\"\nruby \"~> 3.2.0\"\ngem \"rails\"\n",
        );
        sandbox.write(
            "Gemfile.lock",
            "GEM\n  specs:\n\nRUBY VERSION\n   ruby 3.2.2p53\n\nBUNDLED WITH\n   2.4.10\n",
        );
        let outcome = ruby_version_files(&sandbox.facts());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            ".ruby-version ruby-3.2.2, Gemfile `ruby \"~> 3.2.0\"`, Gemfile.lock 3.2.2"
        );

        sandbox.write(".ruby-version", "3.3.0\n");
        let outcome = ruby_version_files(&sandbox.facts());
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.summary,
            ".ruby-version says 3.3.0, the Gemfile asks for `~> 3.2.0`; .ruby-version says 3.3.0, Gemfile.lock records 3.2.2"
        );
    }

    #[test]
    fn ruby_requirements_read_as_bundler_reads_them() {
        let v = |s: &str| ruby_version_of(s).unwrap();
        assert_eq!(ruby_requirement_met("3.2.2", &v("3.2.2")), Some(true));
        assert_eq!(ruby_requirement_met("~> 3.2", &v("3.9.1")), Some(true));
        assert_eq!(ruby_requirement_met("~> 3.2", &v("4.0.0")), Some(false));
        assert_eq!(ruby_requirement_met("~> 3.2.1", &v("3.2.9")), Some(true));
        assert_eq!(ruby_requirement_met("~> 3.2.1", &v("3.3.0")), Some(false));
        assert_eq!(ruby_requirement_met(">= 3.1", &v("3.0.6")), Some(false));
        assert_eq!(gemfile_ruby("ruby file: \".ruby-version\"\n"), None);
        assert_eq!(gemfile_ruby("  ruby '3.1.4'\n").as_deref(), Some("3.1.4"));
    }

    fn app_profile(web_env: &str) -> String {
        format!(
            "{PROFILE}ports = [\"5432:5432\"]\n\n[app]\nservice = \"web\"\n\n[services.web]\nbuild = \".\"\n\n[services.web.environment]\n{web_env}\n"
        )
    }

    #[test]
    fn service_urls_pointing_at_localhost_are_errors_naming_the_service_to_use() {
        let sandbox = Sandbox::new();
        sandbox.write(
            "devboot.toml",
            &app_profile("DATABASE_URL = \"postgres://app:s3cret@localhost:5432/app_dev\""),
        );
        let outcome = reported(database_url_localhost(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "points at localhost inside the container: DATABASE_URL of `web`"
        );
        assert_eq!(
            outcome.fixes[0].description,
            "use the service name: set DATABASE_URL = \"postgres://app:s3cret@db:5432/app_dev\" in [services.web.environment] (devboot.local.toml to override a profile)"
        );

        sandbox.write(
            "devboot.toml",
            &app_profile("DATABASE_URL = \"postgres://app@db:5432/app_dev\""),
        );
        sandbox.write(
            ".env",
            "REDIS_URL=redis://127.0.0.1:6379/0\nDATABASE_URL=postgres://localhost/x\n",
        );
        let outcome = reported(database_url_localhost(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "points at localhost inside the container: REDIS_URL of `web`"
        );
        assert!(
            outcome.details[1].ends_with("(from .env)"),
            "{:?}",
            outcome.details
        );

        std::fs::remove_file(sandbox.project().join(".env")).unwrap();
        let outcome = reported(database_url_localhost(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    }

    #[test]
    fn scripts_with_crlf_endings_are_found_and_converted() {
        let sandbox = Sandbox::new();
        assert_eq!(
            reported(line_endings(&sandbox.facts())).status,
            Status::Skipped
        );
        script(&sandbox.project().join("bin/setup"), "echo ok");
        sandbox.write("bin/rails", "#!/usr/bin/env ruby\r\nputs 1\r\n");
        sandbox.write("entrypoint.sh", "#!/bin/sh\r\nexec \"$@\"\r\n");
        sandbox.write("bin/binary", "\r\n\0");
        let outcome = reported(line_endings(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.summary,
            "Windows (CRLF) line endings in bin/rails, entrypoint.sh"
        );
        convert_line_endings(&sandbox.facts()).unwrap();
        assert_eq!(
            std::fs::read_to_string(sandbox.project().join("bin/rails")).unwrap(),
            "#!/usr/bin/env ruby\nputs 1\n"
        );
        assert_eq!(reported(line_endings(&sandbox.facts())).status, Status::Ok);
        assert_eq!(
            std::fs::read(sandbox.project().join("bin/binary")).unwrap(),
            b"\r\n\0"
        );
    }
}
