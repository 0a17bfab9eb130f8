//! `rails.dev_image`: the running app container is a development one — not `RAILS_ENV=production`,
//! and its bundle keeps the development group (`BUNDLE_WITHOUT` does not name it, no
//! `BUNDLE_DEPLOYMENT`), as in an image built from Rails' production Dockerfile.

use std::sync::Arc;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::facts::Facts;
use crate::doctor::facts::project::{project_state, running_app};

pub(super) const DEV_IMAGE: Check = Check {
    id: "rails.dev_image",
    title: "The app container is a development one",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(dev_image(facts))),
    safe_fix: None,
};

async fn dev_image(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let state = project_state(&facts).await?;
    let (service, _) = running_app(state)?;
    let env = state
        .inspected
        .get(service)
        .and_then(|i| i.config.as_ref())
        .and_then(|c| c.env.clone())
        .unwrap_or_default();
    Ok(judge(service, &env))
}

/// Judges the container's environment (`KEY=value` entries, as the engine reports them).
fn judge(service: &str, env: &[String]) -> Outcome {
    let get = |key: &str| {
        env.iter()
            .filter_map(|e| e.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    };
    let mut signs = Vec::new();
    let mut overrides = Vec::new();
    for key in ["RAILS_ENV", "RACK_ENV"] {
        if get(key) == Some("production") {
            signs.push(format!("{key}=production"));
            overrides.push(format!("{key} = \"development\""));
        }
    }
    if let Some(without) = get("BUNDLE_WITHOUT")
        && without.split([':', ',', ' ']).any(|g| g == "development")
    {
        signs.push(format!("BUNDLE_WITHOUT={without}"));
        overrides.push("BUNDLE_WITHOUT = \"\"".into());
    }
    if let Some(deployment) = get("BUNDLE_DEPLOYMENT")
        && !matches!(deployment, "" | "0" | "false")
    {
        signs.push(format!("BUNDLE_DEPLOYMENT={deployment}"));
        overrides.push("BUNDLE_DEPLOYMENT = \"false\"".into());
    }
    if signs.is_empty() {
        return Outcome::ok(format!(
            "`{service}` runs in development with the development gems"
        ));
    }
    Outcome::warn(format!(
        "`{service}` runs a production image: {}",
        signs.join(", ")
    ))
    .detail("a production image leaves out the development and test gems (debug, web-console) and runs Rails as in production: no code reloading, no development error pages")
    .fix("build a development image for the app: Rails' `.devcontainer/Dockerfile`, or a Dockerfile (`dockerfile` under [services.web.build]) without these settings")
    .fix(format!(
        "or override them under [services.{service}.environment] in devboot.toml: {}; the development gems must then be installed (see `rails.bundle`)",
        overrides.join(", ")
    ))
    .fix_with("then recreate the container", "devboot up")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;

    fn env(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| (*e).to_owned()).collect()
    }

    #[test]
    fn a_production_bundle_is_warned_about_with_the_overrides() {
        // What Rails' production Dockerfile sets.
        let outcome = judge(
            "web",
            &env(&[
                "PATH=/usr/local/bin",
                "RAILS_ENV=development",
                "BUNDLE_DEPLOYMENT=1",
                "BUNDLE_PATH=/usr/local/bundle",
                "BUNDLE_WITHOUT=development",
            ]),
        );
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(
            outcome.summary,
            "`web` runs a production image: BUNDLE_WITHOUT=development, BUNDLE_DEPLOYMENT=1"
        );
        assert!(
            outcome.fixes[1]
                .description
                .contains("BUNDLE_WITHOUT = \"\", BUNDLE_DEPLOYMENT = \"false\""),
            "{:?}",
            outcome.fixes
        );
        let outcome = judge(
            "web",
            &env(&["RAILS_ENV=production", "BUNDLE_WITHOUT=test:development"]),
        );
        assert_eq!(
            outcome.summary,
            "`web` runs a production image: RAILS_ENV=production, BUNDLE_WITHOUT=test:development"
        );
    }

    #[test]
    fn a_development_container_is_ok() {
        let outcome = judge(
            "web",
            &env(&[
                "RAILS_ENV=development",
                "BUNDLE_WITHOUT=production",
                "BUNDLE_DEPLOYMENT=false",
            ]),
        );
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    }
}
