//! `rails.*` checks of how the app is set up to run in its container: the server binds to an
//! address the published port reaches (not the container's own loopback), Gemfile.lock lists
//! the engine's platform, and the project's files belong to the user (not to root, as files a
//! container wrote through the bind mount do on Linux).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;

use crate::doctor::check::{Check, Outcome, QUICK, Run, SLOW};
use crate::doctor::facts::Facts;
use crate::doctor::facts::platform::{engine_arch, oci_arch};
use crate::model::{Command, Stack};

pub(super) const BINDING: Check = Check {
    id: "rails.binding",
    title: "The app server listens on all of the container's addresses",
    depends_on: &["profile.valid"],
    timeout: QUICK,
    run: Run::Blocking(binding),
    safe_fix: None,
};

pub(super) const LOCKFILE_PLATFORMS: Check = Check {
    id: "rails.lockfile_platforms",
    title: "Gemfile.lock lists the engine's platform",
    depends_on: &["docker.daemon"],
    timeout: SLOW,
    run: Run::Async(lockfile_platforms),
    safe_fix: None,
};

pub(super) const FILE_OWNERSHIP: Check = Check {
    id: "rails.file_ownership",
    title: "The project's files belong to you",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(file_ownership),
    safe_fix: None,
};

/// Where the app's command comes from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AppCommand {
    argv: Vec<String>,
    origin: String,
}

/// The app service's command: the profile's, else the `CMD` of the Dockerfile it builds; a
/// `bin/dev` / foreman command is followed into `Procfile.dev`'s `web:` line.
fn app_command(stack: &Stack) -> Option<(String, AppCommand)> {
    let service = stack.app_service()?;
    let mut command = match &service.command {
        Some(Command::Argv(argv)) => AppCommand {
            argv: argv.clone(),
            origin: format!("[services.{}] command", service.name),
        },
        Some(Command::Shell(script)) => AppCommand {
            argv: words(script),
            origin: format!("[services.{}] command", service.name),
        },
        None => {
            let build = service.build.as_ref()?;
            let dockerfile = Path::new(&build.context).join(&build.dockerfile);
            let text = std::fs::read_to_string(stack.root.join(&dockerfile)).ok()?;
            AppCommand {
                argv: dockerfile_cmd(&text)?,
                origin: format!("the CMD of {}", dockerfile.display()),
            }
        }
    };
    let joined = command.argv.join(" ");
    if joined.contains("bin/dev") || joined.contains("foreman") || joined.contains("overmind") {
        let procfile = ["Procfile.dev", "Procfile"].iter().find_map(|name| {
            let text = std::fs::read_to_string(stack.root.join(name)).ok()?;
            let line = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("web:"))?
                .to_owned();
            Some((*name, line))
        });
        if let Some((name, line)) = procfile {
            command = AppCommand {
                argv: words(&line),
                origin: format!("the `web:` line of {name}"),
            };
        }
    }
    Some((service.name.clone(), command))
}

/// A shell command's words, quotes removed (enough to find flags).
fn words(script: &str) -> Vec<String> {
    script
        .split_whitespace()
        .map(|w| w.trim_matches(['"', '\'']).to_owned())
        .collect()
}

/// The last `CMD` of a Dockerfile, exec form (`["a", "b"]`) or shell form.
fn dockerfile_cmd(text: &str) -> Option<Vec<String>> {
    let line = text.lines().rev().find_map(|l| {
        let l = l.trim();
        let (keyword, rest) = l.split_once(char::is_whitespace)?;
        keyword.eq_ignore_ascii_case("CMD").then(|| rest.trim())
    })?;
    if line.starts_with('[') {
        serde_json::from_str(line).ok()
    } else {
        Some(words(line))
    }
}

/// What the server in a command binds to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bind {
    /// An address given with `-b` / `--binding` / `--bind` / `-o` (or `BINDING`).
    Given(String),
    /// None given, and the server's default is the loopback (`rails server` in development).
    LocalDefault(&'static str),
    /// None given; the server listens everywhere by default (Puma, Rails outside development).
    AllDefault(&'static str),
    /// Not a server devboot knows.
    Unknown,
}

/// The value of `flags` in `argv`: `-b X`, `-bX`, `--binding=X`, `--binding X`.
fn flag_value(argv: &[String], flags: &[&str]) -> Option<String> {
    for (i, word) in argv.iter().enumerate() {
        for flag in flags {
            if word == flag {
                return argv.get(i + 1).cloned();
            }
            if let Some(value) = word.strip_prefix(&format!("{flag}=")) {
                return Some(value.to_owned());
            }
            if flag.len() == 2
                && let Some(value) = word.strip_prefix(flag)
                && !value.is_empty()
            {
                return Some(value.to_owned());
            }
        }
    }
    None
}

fn bind_of(argv: &[String], env: &BTreeMap<String, String>) -> Bind {
    let is = |word: &String, name: &str| word == name || word.ends_with(&format!("/{name}"));
    let rails_at = argv.iter().position(|w| is(w, "rails"));
    let server =
        rails_at.is_some_and(|i| argv.get(i + 1).is_some_and(|w| w == "server" || w == "s"));
    if server {
        if let Some(value) = flag_value(argv, &["-b", "--binding"]) {
            return Bind::Given(value);
        }
        if let Some(value) = env.get("BINDING") {
            return Bind::Given(value.clone());
        }
        let rails_env = env
            .get("RAILS_ENV")
            .or_else(|| env.get("RACK_ENV"))
            .map_or("development", String::as_str);
        return if rails_env == "development" {
            Bind::LocalDefault("`rails server` binds to localhost in development")
        } else {
            Bind::AllDefault("`rails server` binds to 0.0.0.0 outside development")
        };
    }
    if argv.iter().any(|w| is(w, "puma")) {
        return flag_value(argv, &["-b", "--bind"]).map_or(
            Bind::AllDefault("Puma binds to 0.0.0.0 by default"),
            Bind::Given,
        );
    }
    if argv.iter().any(|w| is(w, "rackup")) {
        return flag_value(argv, &["-o", "--host"]).map_or(
            Bind::LocalDefault("`rackup` binds to localhost in development"),
            Bind::Given,
        );
    }
    Bind::Unknown
}

/// The host part of a bind address: `127.0.0.1` of `tcp://127.0.0.1:3000`.
fn bind_host(value: &str) -> &str {
    let rest = value.split_once("://").map_or(value, |(_, rest)| rest);
    let rest = rest.split(['/', '?']).next().unwrap_or(rest);
    if rest.starts_with('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| &host[1..]);
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.contains(':') => {
            host
        }
        _ => rest,
    }
}

/// Whether a bind address is the loopback (`0.0.0.0` is every address, not the loopback).
fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "::1" | "ip6-localhost") || host.starts_with("127.")
}

fn binding(facts: &Facts) -> Outcome {
    let Some(stack) = facts.stack() else {
        return Outcome::skipped("the profile did not load");
    };
    let Some(app) = stack.app_service() else {
        return Outcome::skipped("the profile has no app service");
    };
    let Some((service, command)) = app_command(stack) else {
        return Outcome::skipped(format!(
            "`{}` runs its image's own command, which is not known here",
            app.name
        ));
    };
    binding_outcome(&service, &command, &app.environment)
}

fn binding_outcome(service: &str, command: &AppCommand, env: &BTreeMap<String, String>) -> Outcome {
    let shown = command.argv.join(" ");
    let local = |why: String| {
        let mut fixed: Vec<String> = command.argv.clone();
        // Drop the binding given, then bind to every address right after `server`.
        if let Some(i) = fixed
            .iter()
            .position(|w| w == "-b" || w == "--binding")
            .filter(|i| i + 1 < fixed.len())
        {
            fixed.drain(i..=i + 1);
        }
        fixed.retain(|w| !w.starts_with("--binding=") && (!w.starts_with("-b") || w.len() <= 2));
        let at = fixed
            .iter()
            .position(|w| w == "server" || w == "s")
            .map_or(fixed.len(), |i| i + 1);
        fixed.splice(at..at, ["-b".to_owned(), "0.0.0.0".to_owned()]);
        let toml: Vec<String> = fixed.iter().map(|w| format!("\"{w}\"")).collect();
        Outcome::error(format!(
            "`{service}` serves on the container's loopback only: {why}, so the published port reaches nothing"
        ))
        .detail(format!("`{shown}` ({})", command.origin))
        .detail("requests to the published port get `Connection reset by peer` or an empty reply, although the container runs and its log says it is listening")
        .fix_with(
            format!(
                "bind to every address of the container: set `[services.{service}] command = [{}]` in devboot.local.toml (or the profile), then `devboot up`",
                toml.join(", ")
            ),
            "bin/rails server -b 0.0.0.0",
        )
    };
    match bind_of(&command.argv, env) {
        Bind::Given(value) if is_loopback(bind_host(&value)) => {
            local(format!("it binds to `{value}`"))
        }
        Bind::Given(value) => Outcome::ok(format!("`{service}` binds to `{value}`"))
            .detail(format!("`{shown}` ({})", command.origin)),
        Bind::LocalDefault(why) => local(format!("no `-b`, and {why}")),
        Bind::AllDefault(why) => Outcome::ok(format!("`{service}`: {why}"))
            .detail(format!("`{shown}` ({})", command.origin)),
        Bind::Unknown => Outcome::skipped(format!(
            "`{service}` runs `{shown}`, not a Rails, Puma or rackup server this check knows"
        )),
    }
}

/// The `PLATFORMS` Gemfile.lock lists.
fn lockfile_platforms_of(lockfile: &str) -> Option<Vec<String>> {
    let mut lines = lockfile.lines();
    lines.find(|line| line.trim_end() == "PLATFORMS")?;
    Some(
        lines
            .take_while(|line| line.starts_with(' '))
            .map(|line| line.trim().to_owned())
            .filter(|line| !line.is_empty())
            .collect(),
    )
}

/// The gem platform of Linux on the engine's architecture: `x86_64-linux`, `aarch64-linux`.
fn gem_platform(engine_arch: &str) -> String {
    let cpu = match oci_arch(engine_arch).as_str() {
        "amd64" => "x86_64".to_owned(),
        "arm64" => "aarch64".to_owned(),
        "arm" => "arm".to_owned(),
        "386" => "x86".to_owned(),
        other => other.to_owned(),
    };
    format!("{cpu}-linux")
}

fn lockfile_platforms(facts: Arc<Facts>) -> BoxFuture<'static, Outcome> {
    async move {
        let path = facts.app_dir().join("Gemfile.lock");
        let Ok(lockfile) = std::fs::read_to_string(&path) else {
            return Outcome::skipped("no Gemfile.lock here");
        };
        let engine = match engine_arch(&facts).await {
            Ok(arch) => arch,
            Err(outcome) => return outcome,
        };
        lockfile_platforms_outcome(&lockfile, &engine)
    }
    .boxed()
}

fn lockfile_platforms_outcome(lockfile: &str, engine_arch: &str) -> Outcome {
    let Some(platforms) = lockfile_platforms_of(lockfile) else {
        return Outcome::skipped("Gemfile.lock has no PLATFORMS section");
    };
    let want = gem_platform(engine_arch);
    let covered = platforms
        .iter()
        .find(|p| *p == "ruby" || *p == &want || p.starts_with(&format!("{want}-")));
    if let Some(platform) = covered {
        let why = if platform == "ruby" {
            " (`ruby`: gems build from source)".to_owned()
        } else {
            String::new()
        };
        return Outcome::ok(format!(
            "Gemfile.lock lists {platform}{why}; the engine runs {engine_arch}"
        ));
    }
    Outcome::warn(format!(
        "Gemfile.lock lists {}, not {want}, the platform of the engine ({engine_arch})",
        if platforms.is_empty() {
            "no platform".to_owned()
        } else {
            platforms.join(", ")
        }
    ))
    .detail(format!("`bundle install` in the image then stops with `Your bundle only supports platforms [...] but your local platform is {want}` when the lock file is frozen, or re-resolves gems and rewrites Gemfile.lock through the bind mount"))
    .fix_with(
        "add the platform to Gemfile.lock (on the host, then commit it)",
        format!("bundle lock --add-platform {want}"),
    )
    .fix_with("then rebuild the app image", "devboot up")
}

/// Directories never walked: git's own, and dependency trees whose top directory tells enough.
const NOT_WALKED: &[&str] = &[".git", "node_modules", "vendor/bundle", ".devboot"];

/// At most this many entries are looked at.
const WALK_LIMIT: usize = 100_000;

/// Files under `dir` not owned by `uid`: `(relative path, owner uid)`, and whether the walk
/// stopped at [`WALK_LIMIT`].
fn foreign_files(dir: &Path, uid: u32) -> (Vec<(String, u32)>, bool) {
    use std::os::unix::fs::MetadataExt as _;
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0;
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > WALK_LIMIT {
                return (found, true);
            }
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let relative = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            if meta.uid() != uid {
                found.push((relative.clone(), meta.uid()));
            }
            if meta.is_dir() && !NOT_WALKED.contains(&relative.as_str()) {
                stack.push(path);
            }
        }
    }
    found.sort();
    (found, false)
}

/// The name of user `uid` from `/etc/passwd`, else the number.
fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

fn file_ownership(facts: &Facts) -> Outcome {
    if !cfg!(target_os = "linux") {
        return Outcome::skipped(
            "not Linux: Docker Desktop and similar map file ownership on bind mounts",
        );
    }
    let uid = rustix::process::getuid().as_raw();
    if uid == 0 {
        return Outcome::skipped("doctor runs as root, which may write every file");
    }
    let dir = facts.app_dir();
    let (found, stopped) = foreign_files(dir, uid);
    file_ownership_outcome(&found, stopped, &user_name)
}

fn file_ownership_outcome(
    found: &[(String, u32)],
    stopped: bool,
    name_of: &dyn Fn(u32) -> String,
) -> Outcome {
    let walked = if stopped {
        format!(" (looked at the first {WALK_LIMIT} entries)")
    } else {
        String::new()
    };
    if found.is_empty() {
        return Outcome::ok(format!("every file of the project is yours{walked}"));
    }
    // By top-level entry: `tmp` for `tmp/cache/x`.
    let mut tops: BTreeMap<&str, usize> = BTreeMap::new();
    let mut owners: BTreeMap<u32, usize> = BTreeMap::new();
    for (path, uid) in found {
        let top = path.split('/').next().unwrap_or(path);
        *tops.entry(top).or_default() += 1;
        *owners.entry(*uid).or_default() += 1;
    }
    let owners: Vec<String> = owners
        .iter()
        .map(|(uid, count)| format!("{count} of {}", name_of(*uid)))
        .collect();
    let listed: Vec<String> = tops.keys().map(|t| (*t).to_owned()).collect();
    let mut outcome = Outcome::warn(format!(
        "{} {} in the project belong to another user ({}): {}{walked}",
        found.len(),
        if found.len() == 1 { "file" } else { "files" },
        owners.join(", "),
        listed.join(", ")
    ))
    .detail("a container running as root wrote them through the bind mount; you cannot change or delete them: `Permission denied @ dir_s_mkdir`, git cannot clean them, and the next `up` or test run fails");
    outcome = outcome.details(
        found
            .iter()
            .take(5)
            .map(|(path, uid)| format!("{path} (owner: {})", name_of(*uid))),
    );
    if found.len() > 5 {
        outcome = outcome.detail(format!("… and {} more", found.len() - 5));
    }
    outcome
        .fix_with(
            "take them back",
            format!("sudo chown -R $(id -u):$(id -g) {}", listed.join(" ")),
        )
        .fix("for good, have the app container run as your user (uid:gid) or write tmp/ and log/ outside the mount")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::checks::testing::Sandbox;

    fn argv(text: &str) -> Vec<String> {
        words(text)
    }

    fn command(text: &str) -> AppCommand {
        AppCommand {
            argv: argv(text),
            origin: "[services.web] command".to_owned(),
        }
    }

    #[test]
    fn rails_servers_without_a_binding_serve_localhost_in_development() {
        let env = BTreeMap::new();
        let outcome = binding_outcome(
            "web",
            &command("bin/rails server -p 3000 -P /tmp/server.pid"),
            &env,
        );
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "`web` serves on the container's loopback only: no `-b`, and `rails server` binds to localhost in development, so the published port reaches nothing"
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("bin/rails server -b 0.0.0.0")
        );
        assert!(
            outcome.fixes[0].description.contains(
                r#"command = ["bin/rails", "server", "-b", "0.0.0.0", "-p", "3000", "-P", "/tmp/server.pid"]"#
            ),
            "{:?}",
            outcome.fixes
        );

        let bound = binding_outcome("web", &command("bundle exec rails s -b 127.0.0.1"), &env);
        assert_eq!(bound.status, Status::Error);
        assert!(
            bound.summary.contains("it binds to `127.0.0.1`"),
            "{}",
            bound.summary
        );
        assert!(
            bound.fixes[0]
                .description
                .contains(r#"["bundle", "exec", "rails", "s", "-b", "0.0.0.0"]"#),
            "{:?}",
            bound.fixes
        );

        for fine in [
            "bin/rails server -b 0.0.0.0 -p 3000",
            "bin/rails server --binding=0.0.0.0",
            "bundle exec puma -C config/puma.rb",
            "puma -b tcp://0.0.0.0:3000",
        ] {
            assert_eq!(
                binding_outcome("web", &command(fine), &env).status,
                Status::Ok,
                "{fine}"
            );
        }
        assert_eq!(
            binding_outcome("web", &command("puma -b tcp://127.0.0.1:3000"), &env).status,
            Status::Error
        );
        let production = BTreeMap::from([("RAILS_ENV".to_owned(), "production".to_owned())]);
        assert_eq!(
            binding_outcome("web", &command("bin/rails s"), &production).status,
            Status::Ok
        );
        let binding = BTreeMap::from([("BINDING".to_owned(), "0.0.0.0".to_owned())]);
        assert_eq!(
            binding_outcome("web", &command("bin/rails s"), &binding).status,
            Status::Ok
        );
        assert_eq!(
            binding_outcome("web", &command("./start.sh"), &env).status,
            Status::Skipped
        );
    }

    #[test]
    fn the_command_comes_from_the_profile_the_dockerfile_or_procfile_dev() {
        assert_eq!(
            dockerfile_cmd("FROM ruby\nCMD [\"bin/rails\", \"server\"]\n# CMD x\ncmd bin/dev\n"),
            Some(vec!["bin/dev".to_owned()])
        );
        let sandbox = Sandbox::new();
        sandbox.write(
            "devboot.toml",
            "schema = 1\n[app]\nservice = \"web\"\n[services.web]\nbuild = \".\"\n",
        );
        sandbox.write("Dockerfile", "FROM ruby:3.3\nCMD [\"bin/dev\"]\n");
        sandbox.write(
            "Procfile.dev",
            "web: bin/rails server -p 3000\ncss: bin/rails tailwindcss:watch\n",
        );
        let outcome = binding(&sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.details[0],
            "`bin/rails server -p 3000` (the `web:` line of Procfile.dev)"
        );

        sandbox.write("Procfile.dev", "web: bin/rails server -p 3000 -b 0.0.0.0\n");
        assert_eq!(binding(&sandbox.facts()).status, Status::Ok);
    }

    const LOCK: &str = "GEM\n  remote: https://rubygems.org/\n  specs:\n    rake (13.0.6)\n\nPLATFORMS\n  arm64-darwin-22\n  x86_64-linux-gnu\n\nDEPENDENCIES\n  rake\n";

    #[test]
    fn lockfile_platforms_must_cover_the_engine() {
        assert_eq!(
            lockfile_platforms_of(LOCK).unwrap(),
            ["arm64-darwin-22", "x86_64-linux-gnu"]
        );
        assert_eq!(
            lockfile_platforms_outcome(LOCK, "x86_64").status,
            Status::Ok
        );
        let outcome = lockfile_platforms_outcome(LOCK, "aarch64");
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "Gemfile.lock lists arm64-darwin-22, x86_64-linux-gnu, not aarch64-linux, the platform of the engine (aarch64)"
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("bundle lock --add-platform aarch64-linux")
        );
        let generic = LOCK.replace("  arm64-darwin-22\n", "  ruby\n");
        assert_eq!(
            lockfile_platforms_outcome(&generic, "aarch64").status,
            Status::Ok
        );
        assert_eq!(
            lockfile_platforms_outcome("GEM\n", "x86_64").status,
            Status::Skipped
        );
    }

    #[test]
    fn files_of_another_owner_are_grouped_with_the_chown_fix() {
        let name = |uid: u32| {
            if uid == 0 {
                "root".to_owned()
            } else {
                format!("uid {uid}")
            }
        };
        let found = vec![
            ("log".to_owned(), 0),
            ("log/development.log".to_owned(), 0),
            ("tmp/cache".to_owned(), 0),
            ("tmp/cache/bootsnap".to_owned(), 1001),
        ];
        let outcome = file_ownership_outcome(&found, false, &name);
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "4 files in the project belong to another user (3 of root, 1 of uid 1001): log, tmp"
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("sudo chown -R $(id -u):$(id -g) log tmp")
        );
        assert_eq!(file_ownership_outcome(&[], true, &name).status, Status::Ok);
    }

    #[test]
    fn the_walk_finds_what_another_user_owns() {
        use std::os::unix::fs::MetadataExt as _;
        let sandbox = Sandbox::new();
        sandbox.write("app/models/note.rb", "class Note; end\n");
        sandbox.write(".git/HEAD", "ref: refs/heads/main\n");
        let mine = std::fs::metadata(sandbox.project()).unwrap().uid();
        assert_eq!(foreign_files(&sandbox.project(), mine), (vec![], false));
        // As another uid every entry is foreign, except inside what is never walked.
        let (found, stopped) = foreign_files(&sandbox.project(), mine + 1);
        assert!(!stopped);
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, [".git", "app", "app/models", "app/models/note.rb"]);
    }
}
