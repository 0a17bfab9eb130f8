//! `rails.binding`: the app server in its container binds to an address the published port
//! reaches (all of the container's addresses), not the container's own loopback, which is
//! what `rails server` does in development unless told otherwise. The command is the
//! profile's, else the Dockerfile's `CMD`, followed into `Procfile.dev` for `bin/dev`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::doctor::check::{Check, Outcome, QUICK, Run};
use crate::doctor::facts::Facts;
use crate::model::{Command, Stack};

pub(super) const BINDING: Check = Check {
    id: "rails.binding",
    title: "The app server listens on all of the container's addresses",
    depends_on: &["profile.valid"],
    timeout: QUICK,
    run: Run::Blocking(binding),
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

fn binding(facts: &Facts) -> Result<Outcome, Outcome> {
    let stack = facts
        .stack()
        .ok_or_else(|| Outcome::skipped("the profile did not load"))?;
    let app = stack
        .app_service()
        .ok_or_else(|| Outcome::skipped("the profile has no app service"))?;
    let (service, command) = app_command(stack).ok_or_else(|| {
        Outcome::skipped(format!(
            "`{}` runs its image's own command, which is not known here",
            app.name
        ))
    })?;
    Ok(binding_outcome(&service, &command, &app.environment))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{Sandbox, reported};

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
        let outcome = reported(binding(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.details[0],
            "`bin/rails server -p 3000` (the `web:` line of Procfile.dev)"
        );

        sandbox.write("Procfile.dev", "web: bin/rails server -p 3000 -b 0.0.0.0\n");
        assert_eq!(reported(binding(&sandbox.facts())).status, Status::Ok);
    }
}
