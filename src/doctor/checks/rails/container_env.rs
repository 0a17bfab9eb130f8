//! `rails.container_env`: the service URLs in the running app containers' own environment
//! (`*_URL`, `*_HOST` as the engine reports them) do not point at `localhost`, which inside a
//! container is the container itself. `rails.database_url_localhost` reads the same in the
//! profile and the dotenv files; this one also catches containers created from an older
//! profile.

use std::sync::Arc;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::facts::Facts;
use crate::doctor::facts::app::{is_local_host, url_host};
use crate::doctor::facts::project::{app_services, project_state};

pub(super) const CONTAINER_ENV: Check = Check {
    id: "rails.container_env",
    title: "The app container's service URLs do not point at localhost",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(container_env(facts))),
    safe_fix: None,
};

async fn container_env(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let state = project_state(&facts).await?;
    let services: Vec<&str> = app_services(&facts)
        .iter()
        .map(|s| s.name.as_str())
        .filter(|name| state.inspected.contains_key(*name))
        .collect();
    if services.is_empty() {
        return Err(Outcome::skipped(
            "no app container (the stack is not running)",
        ));
    }
    // (service, variable, value as the container has it, whether the profile still says so)
    let mut findings: Vec<(&str, String, String, bool)> = Vec::new();
    for service in &services {
        let env = state
            .inspected
            .get(*service)
            .and_then(|i| i.config.as_ref())
            .and_then(|c| c.env.as_ref());
        for entry in env.into_iter().flatten() {
            let Some((name, value)) = entry.split_once('=') else {
                continue;
            };
            if !(name.ends_with("_URL") || name.ends_with("_HOST")) {
                continue;
            }
            let Some((range, _)) = url_host(value) else {
                continue;
            };
            if is_local_host(&value[range]) {
                let in_profile = state
                    .stack
                    .services
                    .get(*service)
                    .and_then(|s| s.environment.get(name))
                    .is_some_and(|v| v == value);
                findings.push((service, name.to_owned(), value.to_owned(), in_profile));
            }
        }
    }
    if findings.is_empty() {
        return Ok(Outcome::ok(format!(
            "no service URL in the environment of {} points at localhost",
            services
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut outcome = Outcome::error(format!(
        "the `{}` container has {} pointing at localhost",
        findings[0].0,
        findings
            .iter()
            .map(|(_, name, _, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .detail("inside a container, localhost is the container itself: connections to the database or Redis are refused");
    for (service, name, value, _) in &findings {
        outcome = outcome.detail(format!("{name} = {value} (in `{service}`)"));
    }
    let outcome = if findings.iter().any(|(_, _, _, in_profile)| *in_profile) {
        outcome
            .fix("set them to the service name in the profile (devboot.local.toml overrides it; see `rails.database_url_localhost` for the corrected URLs)")
            .fix_with("then recreate the container with them", "devboot up")
    } else {
        outcome.fix_with(
            "the profile no longer sets them: recreate the container so it gets the profile's values",
            "devboot up",
        )
    };
    Ok(outcome)
}
