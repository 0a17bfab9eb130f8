//! `docker.*`: the Docker engine answers at the endpoint the environment names (`DOCKER_HOST`,
//! the current context, or the default socket), and the credential helpers the Docker CLI
//! config names are installed. Further engine checks (version, memory, disk, clock, provider)
//! depend on `docker.daemon`.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use serde::Deserialize;

use super::super::check::{Check, Outcome, QUICK, Run, SLOW};
use super::super::facts::Facts;
use crate::engine::{connect, endpoint};
use crate::error::Error;

pub(super) const DAEMON: Check = Check {
    id: "docker.daemon",
    title: "The Docker engine answers",
    depends_on: &[],
    timeout: SLOW,
    run: Run::Async(daemon),
    safe_fix: None,
};

pub(super) const CREDENTIAL_HELPERS: Check = Check {
    id: "docker.credential_helpers",
    title: "Credential helpers in the Docker CLI config are installed",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(credential_helpers),
    safe_fix: None,
};

fn daemon(facts: Arc<Facts>) -> BoxFuture<'static, Outcome> {
    async move {
        match connect::connect(&facts.env).await {
            Ok(connection) => Outcome::ok(format!(
                "API {} at {} ({})",
                connection.api_version, connection.endpoint.host, connection.endpoint.source
            )),
            Err(error) => {
                let outcome = Outcome::error(error.to_string());
                match (&error, error.hint()) {
                    (Error::EngineUnreachable { .. }, Some(hint)) => outcome
                        .fix(hint)
                        .detail("every check that needs the engine is skipped until it answers"),
                    (_, Some(hint)) => outcome.fix(hint),
                    (_, None) => outcome,
                }
            }
        }
    }
    .boxed()
}

/// The parts of the CLI's `config.json` naming credential helpers.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HelperConfig {
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

fn credential_helpers(facts: &Facts) -> Outcome {
    let Some(config_dir) = endpoint::config_dir(&facts.env) else {
        return Outcome::skipped("no HOME or DOCKER_CONFIG, so no Docker CLI config");
    };
    let config_file = facts.display(&config_dir.join("config.json"));
    let config: HelperConfig = match endpoint::read_cli_config(&config_dir) {
        Ok(config) => config,
        Err(error) => {
            let outcome = Outcome::error(error.to_string());
            return match error.hint() {
                Some(hint) => outcome.fix(hint),
                None => outcome,
            };
        }
    };
    // Each helper with where it is named: `credsStore` or `credHelpers.REGISTRY`.
    let mut helpers: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    if let Some(store) = config.creds_store.as_deref().filter(|s| !s.is_empty()) {
        helpers.entry(store).or_default().push("credsStore".into());
    }
    for (registry, helper) in &config.cred_helpers {
        if !helper.is_empty() {
            helpers
                .entry(helper)
                .or_default()
                .push(format!("credHelpers.{registry}"));
        }
    }
    if helpers.is_empty() {
        return Outcome::ok("no credential helper configured");
    }
    let missing: Vec<(String, &Vec<String>)> = helpers
        .iter()
        .map(|(helper, named_by)| (format!("docker-credential-{helper}"), named_by))
        .filter(|(binary, _)| which::which_in(binary, facts.var("PATH"), &facts.env.cwd).is_err())
        .collect();
    if missing.is_empty() {
        let names: Vec<String> = helpers
            .keys()
            .map(|h| format!("docker-credential-{h}"))
            .collect();
        return Outcome::ok(format!("installed: {}", names.join(", ")));
    }
    let mut outcome = Outcome::error(format!(
        "{} not on PATH; pulls fail with `error getting credentials`",
        missing
            .iter()
            .map(|(b, _)| format!("`{b}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for (binary, named_by) in &missing {
        outcome = outcome.detail(format!(
            "{config_file} names `{binary}` in {}",
            named_by.join(", ")
        ));
    }
    outcome
        .fix("install the helper (it comes with Docker Desktop, or as the `docker-credential-*` packages)")
        .fix(format!(
            "or, if that runtime is gone (e.g. `\"credsStore\": \"desktop\"` left after uninstalling Docker Desktop), remove the entry from {config_file}"
        ))
}

#[cfg(test)]
mod tests {
    use super::super::super::check::Status;
    use super::super::testing::{Sandbox, run, script, write};
    use super::*;

    #[test]
    fn a_dead_docker_host_is_an_error_with_the_fix() {
        let mut sandbox = Sandbox::new();
        let socket = sandbox.dir.path().join("dead.sock");
        sandbox.var("DOCKER_HOST", format!("unix://{}", socket.display()));
        let outcome = run(&DAEMON, sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert!(
            outcome.summary.contains("DOCKER_HOST"),
            "{}",
            outcome.summary
        );
        assert!(
            outcome.fixes[0].description.contains("start Docker"),
            "{:?}",
            outcome.fixes
        );

        // A socket file nobody listens on any more: connection refused.
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        let outcome = run(&DAEMON, sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert!(outcome.summary.contains("refused"), "{}", outcome.summary);
    }

    #[test]
    fn an_unsupported_endpoint_is_an_error() {
        let mut sandbox = Sandbox::new();
        sandbox.var("DOCKER_HOST", "ssh://me@build-box");
        let outcome = run(&DAEMON, sandbox.facts());
        assert_eq!(outcome.status, Status::Error);
        assert!(outcome.summary.contains("ssh://"), "{}", outcome.summary);
    }

    #[test]
    fn missing_credential_helpers_are_named() {
        let mut sandbox = Sandbox::new();
        let bin = sandbox.dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        sandbox.var("PATH", bin.display().to_string());
        assert_eq!(
            credential_helpers(&sandbox.facts()).summary,
            "no credential helper configured"
        );

        let config = sandbox.home().join(".docker/config.json");
        write(
            &config,
            r#"{"credsStore": "desktop", "credHelpers": {"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"}}"#,
        );
        let outcome = credential_helpers(&sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert!(
            outcome.summary.starts_with(
                "`docker-credential-desktop`, `docker-credential-ecr-login` not on PATH"
            ),
            "{}",
            outcome.summary
        );
        assert!(
            outcome.details[0].starts_with("~/.docker/config.json names"),
            "{:?}",
            outcome.details
        );

        script(&bin.join("docker-credential-desktop"), "exit 0");
        script(&bin.join("docker-credential-ecr-login"), "exit 0");
        let outcome = credential_helpers(&sandbox.facts());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");

        write(&config, "{ broken");
        assert_eq!(credential_helpers(&sandbox.facts()).status, Status::Error);
    }
}
