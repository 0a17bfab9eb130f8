//! `docker.*`: the engine. This module holds the checks that talk to it — it answers at the
//! endpoint the environment names (`DOCKER_HOST`, the current context, or the default socket);
//! it speaks the API version the profile requires; it has the memory and disk the profile asks
//! for; its clock agrees with the host's — and `docker.credential_helpers` (the helpers the
//! Docker CLI config names are installed). The others are in the modules named after them:
//! the endpoint itself, checked without needing the engine to answer (`docker.context`,
//! `docker.socket_permission`, `docker.default_socket`: [`context`]), `docker.proxy`
//! ([`proxy`]), `docker.provider` and `docker.platform` ([`platform`]), `docker.subnets`
//! ([`subnets`]), `docker.remote_files` (bind mounts on an engine on another machine:
//! [`remote`]).

mod context;
mod platform;
mod proxy;
mod remote;
mod subnets;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::doctor::check::{Check, Outcome, QUICK, Run, SLOW};
use crate::doctor::facts::Facts;
use crate::doctor::facts::platform::engine_info;
use crate::doctor::facts::time::parse_rfc3339;
use crate::engine::endpoint;
use crate::error::Error;
use crate::host::tools;
use crate::model::units::{GIB, format_bytes};
use crate::requirements::{self, EngineResources};

/// The family's checks, in report order.
pub(super) const CHECKS: &[Check] = &[
    DAEMON,
    context::CONTEXT,
    context::SOCKET_PERMISSION,
    context::DEFAULT_SOCKET,
    API_VERSION,
    RESOURCES,
    CLOCK,
    CREDENTIAL_HELPERS,
    proxy::PROXY,
    platform::PROVIDER,
    platform::PLATFORM,
    subnets::SUBNETS,
    remote::REMOTE_FILES,
];

const DAEMON: Check = Check {
    id: "docker.daemon",
    title: "The Docker engine answers",
    depends_on: &[],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(daemon(facts))),
    safe_fix: None,
};

const API_VERSION: Check = Check {
    id: "docker.api_version",
    title: "The engine's API version is what the profile requires",
    depends_on: &["docker.daemon"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(api_version(facts))),
    safe_fix: None,
};

const RESOURCES: Check = Check {
    id: "docker.resources",
    title: "The engine has the memory and disk the profile requires",
    depends_on: &["docker.daemon"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(resources(facts))),
    safe_fix: None,
};

const CLOCK: Check = Check {
    id: "docker.clock",
    title: "The engine's clock agrees with the host's",
    depends_on: &["docker.daemon"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(clock(facts))),
    safe_fix: None,
};

const CREDENTIAL_HELPERS: Check = Check {
    id: "docker.credential_helpers",
    title: "Credential helpers in the Docker CLI config are installed",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(credential_helpers),
    safe_fix: None,
};

async fn daemon(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    Ok(match facts.connection().await {
        Ok(connection) => Outcome::ok(format!(
            "API {} at {} ({})",
            connection.api_version, connection.endpoint.host, connection.endpoint.source
        )),
        Err(error) => {
            let outcome = Outcome::error(error.to_string());
            let outcome = match (error, error.hint()) {
                (Error::EngineUnreachable { .. }, Some(hint)) => outcome
                    .fix(hint)
                    .detail("every check that needs the engine is skipped until it answers"),
                (_, Some(hint)) => outcome.fix(hint),
                (_, None) => outcome,
            };
            if matches!(error, Error::EngineUnreachable { .. }) && facts.running_in_wsl() {
                with_wsl_fix(outcome, facts.var("WSL_DISTRO_NAME"))
            } else {
                outcome
            }
        }
    })
}

/// Under WSL, an engine that does not answer is most often Docker Desktop's WSL integration
/// being off for this distribution (`The command 'docker' could not be found in this WSL 2
/// distro`): the fix that says where to turn it on.
fn with_wsl_fix(outcome: Outcome, distro: Option<&str>) -> Outcome {
    let distro = distro.map_or_else(|| "this distribution".to_owned(), |d| format!("`{d}`"));
    outcome
        .detail("running under WSL: the engine is Docker Desktop's on Windows (or a dockerd started inside this distribution)")
        .fix(format!(
            "Docker Desktop → Settings → Resources → WSL integration → enable it for {distro}, then Apply & restart (and open a new WSL shell)"
        ))
}

async fn api_version(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let connection = facts
        .connection()
        .await
        .map_err(|error| Outcome::skipped(error.to_string()))?;
    // The highest version the engine speaks (devboot negotiates down to what it needs).
    let version = connection.docker.version().await.ok();
    let engine = version
        .as_ref()
        .and_then(|v| v.version.clone())
        .unwrap_or_else(|| "?".to_owned());
    let podman = version
        .as_ref()
        .is_some_and(|v| crate::engine::provider::podman_version(v).is_some());
    let engine = format!(
        "{} {engine}",
        if podman { "Podman" } else { "Docker Engine" }
    );
    let api = version
        .and_then(|v| v.api_version)
        .unwrap_or_else(|| connection.api_version.clone());
    let need = facts
        .stack()
        .and_then(|stack| stack.requirements.docker_api);
    Ok(match requirements::api_version(&api, need) {
        Ok(()) => Outcome::ok(match need {
            Some((major, minor)) => format!(
                "{engine}, API {api} (the profile needs {major}.{minor} or newer)"
            ),
            None => format!("{engine}, API {api} (the profile sets no minimum)"),
        }),
        Err(error @ Error::EngineTooOld { .. }) => Outcome::error(error.to_string())
            .detail(engine)
            .fix("upgrade Docker Engine (or Docker Desktop, Colima, ...) to a release that speaks it")
            .fix_with(
                "or, if the profile asks for more than it uses, lower `requires.docker_api`; see which layer sets it",
                "devboot profile show --resolved",
            ),
        Err(error) => {
            let outcome = Outcome::warn(error.to_string());
            match error.hint() {
                Some(hint) => outcome.fix(hint),
                None => outcome,
            }
        }
    })
}

/// Below this much engine memory, `bundle install` and asset builds get OOM-killed (exit 137).
const LOW_MEMORY: u64 = 4 * GIB;
/// Free space in the engine's data directory: warn below, error below.
const LOW_DISK: u64 = 5 * GIB;
const NO_DISK: u64 = GIB;

async fn resources(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let sample = engine_info(&facts).await?;
    let requirements = facts.stack().map(|stack| &stack.requirements);
    let need_memory = requirements.and_then(|r| r.memory_bytes);
    let need_disk = requirements.and_then(|r| r.disk_bytes);
    // The same measurement and judgement as the gate before `up` (crate::requirements): the
    // data directory counts only when it is on this host.
    let endpoint = match facts.connection().await {
        Ok(connection) => connection.endpoint.host.clone(),
        Err(_) => String::new(),
    };
    let have = EngineResources::measure(&sample.info, &endpoint);
    Ok(resources_outcome(&have, need_memory, need_disk))
}

/// The profile's requirements as the rulebook judges them, plus doctor's own advice when the
/// profile sets none (too little memory for builds, a nearly full disk).
fn resources_outcome(
    have: &EngineResources,
    need_memory: Option<u64>,
    need_disk: Option<u64>,
) -> Outcome {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut fixes: Vec<(String, Option<String>)> = Vec::new();
    let mut seen = Vec::new();
    match have.memory {
        Some(memory) => {
            seen.push(format!("{} of memory", format_bytes(memory)));
            if let Some(problem) = requirements::memory(have, need_memory) {
                errors.push(problem.message);
            } else if need_memory.is_none() && memory < LOW_MEMORY {
                warnings.push(format!(
                    "the engine has {} of memory; below {} builds and `bundle install` get killed (exit code 137)",
                    format_bytes(memory),
                    format_bytes(LOW_MEMORY)
                ));
            }
        }
        None => seen.push("memory unknown".to_owned()),
    }
    if errors.len() + warnings.len() > 0 {
        fixes.push((
            "give the engine more memory: Docker Desktop → Settings → Resources; Colima: `colima start --memory 6`; or lower `requires.memory` in devboot.local.toml".to_owned(),
            None,
        ));
    }
    if let Some(cpus) = have.cpus {
        seen.push(format!("{cpus} CPUs"));
    }
    let root = have.data_root();
    let disk_problems = errors.len() + warnings.len();
    match have.disk_free {
        Some(free) => {
            seen.push(format!("{} free in {root}", format_bytes(free)));
            match need_disk {
                Some(_) => errors.extend(requirements::disk(have, need_disk).map(|p| p.message)),
                None if free < NO_DISK => errors.push(format!(
                    "the engine's data directory `{root}` has only {} free: pulls, builds and database writes fail with `no space left on device`",
                    format_bytes(free)
                )),
                None if free < LOW_DISK => warnings.push(format!(
                    "the engine's data directory `{root}` has {} free",
                    format_bytes(free)
                )),
                None => {}
            }
        }
        None => seen.push(format!(
            "free disk not measurable from here ({root} is inside the engine's VM)"
        )),
    }
    if errors.len() + warnings.len() > disk_problems {
        fixes.push((
            "remove stopped containers, unused images and build cache (volumes are kept)"
                .to_owned(),
            Some("docker system prune && docker builder prune".to_owned()),
        ));
    }
    let summary = seen.join(", ");
    let mut outcome = if !errors.is_empty() {
        Outcome::error(errors.join("; "))
            .detail(summary)
            .details(warnings)
    } else if !warnings.is_empty() {
        Outcome::warn(warnings.join("; ")).detail(summary)
    } else {
        let mut outcome = Outcome::ok(summary);
        if let Some(need) = need_memory {
            outcome = outcome.detail(format!(
                "the profile needs {} of memory",
                format_bytes(need)
            ));
        }
        if let Some(need) = need_disk {
            outcome = outcome.detail(format!("the profile needs {} of disk", format_bytes(need)));
        }
        return outcome;
    };
    for (description, command) in fixes {
        outcome = match command {
            Some(command) => outcome.fix_with(description, command),
            None => outcome.fix(description),
        };
    }
    outcome
}

/// Clock skew between engine and host: warn above, error above (AWS refuses requests signed
/// more than 5 minutes off; TLS certificates look "not yet valid").
const SKEW_WARN: Duration = Duration::from_secs(30);
const SKEW_ERROR: Duration = Duration::from_secs(300);

async fn clock(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let sample = engine_info(&facts).await?;
    let text = sample
        .info
        .system_time
        .as_deref()
        .ok_or_else(|| Outcome::skipped("the engine does not report its clock"))?;
    let engine = parse_rfc3339(text).ok_or_else(|| {
        Outcome::warn(format!(
            "the engine reports its clock as `{text}`, which does not parse"
        ))
    })?;
    Ok(clock_outcome(
        engine,
        nanos(sample.before),
        nanos(sample.after),
    ))
}

/// Nanoseconds since the Unix epoch (negative before it).
fn nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => -i128::try_from(before.duration().as_nanos()).unwrap_or(i128::MAX),
    }
}

/// Judges the engine's clock (`engine`, ns since the epoch) against the host's, read before
/// and after the request that returned it.
fn clock_outcome(engine: i128, before: i128, after: i128) -> Outcome {
    let host = before + (after - before) / 2;
    let skew = engine - host;
    let uncertainty = (after - before) / 2;
    let magnitude = Duration::from_nanos(u64::try_from(skew.unsigned_abs()).unwrap_or(u64::MAX));
    let direction = if skew > 0 { "ahead of" } else { "behind" };
    #[expect(clippy::cast_precision_loss, reason = "shown to a tenth of a second")]
    let seconds = |ns: i128| ns.unsigned_abs() as f64 / 1e9;
    let said = format!(
        "the engine's clock is {:.1} s {direction} the host's",
        seconds(skew)
    );
    let precision = format!(
        "measured to ±{:.3} s (half the request's round trip)",
        seconds(uncertainty)
    );
    if magnitude <= SKEW_WARN {
        return Outcome::ok(format!("within {:.1} s of the host's clock", seconds(skew)))
            .detail(precision);
    }
    let outcome = if magnitude > SKEW_ERROR {
        Outcome::error(said)
    } else {
        Outcome::warn(said)
    };
    outcome
        .detail(precision)
        .detail("containers take the engine's clock: AWS requests fail with `SignatureDoesNotMatch` / `RequestTimeTooSkewed`, TLS certificates look not yet valid, caches expire early")
        .fix("Docker Desktop or Colima after the laptop slept: restart it (Docker Desktop → Restart; `colima restart`)")
        .fix_with(
            "or set the VM's clock from its hardware clock",
            "docker run --rm --privileged alpine hwclock -s",
        )
        .fix_with("and keep the host's clock synchronised", "sudo timedatectl set-ntp true")
}

/// The parts of the CLI's `config.json` naming credential helpers.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HelperConfig {
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

fn credential_helpers(facts: &Facts) -> Result<Outcome, Outcome> {
    let config_dir = endpoint::config_dir(&facts.env)
        .ok_or_else(|| Outcome::skipped("no HOME or DOCKER_CONFIG, so no Docker CLI config"))?;
    let config_file = facts.display(&config_dir.join("config.json"));
    let config: HelperConfig = endpoint::read_cli_config(&config_dir).map_err(|error| {
        let outcome = Outcome::error(error.to_string());
        match error.hint() {
            Some(hint) => outcome.fix(hint),
            None => outcome,
        }
    })?;
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
        return Ok(Outcome::ok("no credential helper configured"));
    }
    let missing: Vec<(String, &Vec<String>)> = helpers
        .iter()
        .map(|(helper, named_by)| (format!("docker-credential-{helper}"), named_by))
        .filter(|(binary, _)| tools::find_on_path(binary, facts.var("PATH")).is_none())
        .collect();
    if missing.is_empty() {
        let names: Vec<String> = helpers
            .keys()
            .map(|h| format!("docker-credential-{h}"))
            .collect();
        return Ok(Outcome::ok(format!("installed: {}", names.join(", "))));
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
    Ok(outcome
        .fix("install the helper (it comes with Docker Desktop, or as the `docker-credential-*` packages)")
        .fix(format!(
            "or, if that runtime is gone (e.g. `\"credsStore\": \"desktop\"` left after uninstalling Docker Desktop), remove the entry from {config_file}"
        )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{Sandbox, reported, run, script, write};

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
    fn under_wsl_an_unreachable_engine_gets_the_desktop_integration_fix() {
        let mut sandbox = Sandbox::new();
        let socket = sandbox.dir.path().join("docker.sock");
        sandbox.var("DOCKER_HOST", format!("unix://{}", socket.display()));
        let proc_root = sandbox.dir.path().join("proc");
        write(
            &proc_root.join("version"),
            "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@1) (gcc) #1 SMP",
        );
        let in_wsl = |sandbox: &Sandbox| {
            let mut facts = sandbox.facts();
            facts.proc_root.clone_from(&proc_root);
            run(&DAEMON, facts)
        };
        let outcome = in_wsl(&sandbox);
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        let last = outcome.fixes.last().unwrap();
        assert_eq!(
            last.description,
            "Docker Desktop → Settings → Resources → WSL integration → enable it for this distribution, then Apply & restart (and open a new WSL shell)"
        );
        assert!(outcome.fixes[0].description.contains("start Docker"));

        sandbox.var("WSL_DISTRO_NAME", "Ubuntu-22.04");
        let outcome = in_wsl(&sandbox);
        assert!(
            outcome
                .fixes
                .last()
                .unwrap()
                .description
                .contains("enable it for `Ubuntu-22.04`"),
            "{:?}",
            outcome.fixes
        );

        // Off WSL: no such line.
        write(
            &proc_root.join("version"),
            "Linux version 6.1.0-18-amd64 (debian)",
        );
        let outcome = in_wsl(&sandbox);
        assert!(
            !outcome.fixes.iter().any(|f| f.description.contains("WSL")),
            "{:?}",
            outcome.fixes
        );
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
            reported(credential_helpers(&sandbox.facts())).summary,
            "no credential helper configured"
        );

        let config = sandbox.home().join(".docker/config.json");
        write(
            &config,
            r#"{"credsStore": "desktop", "credHelpers": {"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"}}"#,
        );
        let outcome = reported(credential_helpers(&sandbox.facts()));
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
        let outcome = reported(credential_helpers(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");

        write(&config, "{ broken");
        assert_eq!(
            reported(credential_helpers(&sandbox.facts())).status,
            Status::Error
        );
    }

    #[test]
    fn clock_skew_warns_past_30_seconds_and_fails_past_5_minutes() {
        let second = 1_000_000_000_i128;
        let host = 1_000_000 * second;
        let at = |skew: i128| clock_outcome(host + skew, host - second / 100, host + second / 100);
        assert_eq!(at(2 * second).status, Status::Ok);
        assert_eq!(at(-29 * second).status, Status::Ok);
        let warned = at(-45 * second);
        assert_eq!(warned.status, Status::Warn);
        assert_eq!(
            warned.summary,
            "the engine's clock is 45.0 s behind the host's"
        );
        let failed = at(600 * second);
        assert_eq!(failed.status, Status::Error);
        assert_eq!(
            failed.summary,
            "the engine's clock is 600.0 s ahead of the host's"
        );
        assert!(failed.fixes.iter().any(
            |f| f.command.as_deref() == Some("docker run --rm --privileged alpine hwclock -s")
        ));
    }

    #[test]
    fn engine_resources_are_judged_against_the_profile() {
        let have = |memory: u64, disk_free: Option<u64>| EngineResources {
            memory: Some(memory),
            cpus: Some(2),
            disk_free,
            data_root: Some("/var/lib/docker".into()),
        };
        let fine = resources_outcome(&have(8 * GIB, Some(50 * GIB)), None, None);
        assert_eq!(fine.status, Status::Ok, "{fine:?}");
        assert_eq!(
            fine.summary,
            "8.0 GiB of memory, 2 CPUs, 50.0 GiB free in /var/lib/docker"
        );

        let short = resources_outcome(
            &have(8 * GIB, Some(50 * GIB)),
            Some(16 * GIB),
            Some(100 * GIB),
        );
        assert_eq!(short.status, Status::Error);
        assert_eq!(
            short.summary,
            "the engine has 8.0 GiB of memory; the profile needs 16.0 GiB; the engine's data directory `/var/lib/docker` has 50.0 GiB free; the profile needs 100.0 GiB"
        );
        assert_eq!(short.fixes.len(), 2);
        assert_eq!(
            short.fixes[1].command.as_deref(),
            Some("docker system prune && docker builder prune")
        );

        let small = resources_outcome(&have(2 * GIB, None), None, None);
        assert_eq!(small.status, Status::Warn);
        assert!(small.summary.contains("exit code 137"), "{}", small.summary);
        assert!(
            small.details[0].contains("not measurable"),
            "{:?}",
            small.details
        );
        assert_eq!(small.fixes.len(), 1);

        let full = resources_outcome(&have(8 * GIB, Some(GIB / 2)), None, None);
        assert_eq!(full.status, Status::Error);
        assert!(full.summary.contains("no space left on device"));
    }
}
