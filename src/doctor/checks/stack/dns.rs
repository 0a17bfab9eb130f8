//! `stack.container_dns`: inside the running app container, the names of the stack's other
//! services resolve (`getent hosts db`), as the app's `DATABASE_URL` / `REDIS_URL` need. When
//! they do not, the container is off the project network, or the engine's embedded DNS is not
//! answering: `could not translate host name "db" to address`, `getaddrinfo: Temporary failure
//! in name resolution`.

use std::sync::Arc;

use futures_util::future::join_all;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::engine::exec;
use crate::doctor::facts::Facts;
use crate::doctor::facts::project::project_state;
use crate::engine::spec::network_name;

pub(super) const CONTAINER_DNS: Check = Check {
    id: "stack.container_dns",
    title: "Service names resolve inside the app container",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(container_dns(facts))),
    safe_fix: None,
};

/// `getent`'s exit code when the name does not resolve.
const NOT_FOUND: i64 = 2;
/// How long one lookup may take: a resolver that gets no answer retries for much longer.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// A shell's exit code when the command does not exist.
const NO_COMMAND: i64 = 127;

/// How one name fared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lookup {
    /// The addresses it resolved to.
    Resolved(Vec<String>),
    NotFound,
    /// `getent` is not in the image.
    NoGetent,
    Failed(String),
}

async fn container_dns(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let state = project_state(&facts).await?;
    let app = state
        .stack
        .app
        .as_ref()
        .map(|app| app.service.clone())
        .ok_or_else(|| Outcome::skipped("the profile names no app service"))?;
    let container = state.running(&app).ok_or_else(|| {
        Outcome::skipped(format!("`{app}` is not running (see `stack.containers`)"))
    })?;
    let names: Vec<String> = state
        .stack
        .services
        .keys()
        .filter(|name| **name != app)
        .cloned()
        .collect();
    if names.is_empty() {
        return Err(Outcome::skipped(
            "the stack has no other service to resolve",
        ));
    }
    let docker = &facts
        .connection()
        .await
        .map_err(|error| Outcome::skipped(error.to_string()))?
        .docker;
    let lookups = join_all(names.iter().map(|name| async move {
        let lookup = match tokio::time::timeout(
            LOOKUP_TIMEOUT,
            exec(docker, &container.id, &["getent", "hosts", name]),
        )
        .await
        {
            Err(_) => Lookup::Failed(format!(
                "`getent hosts {name}` got no answer within {} s (the resolver timed out)",
                LOOKUP_TIMEOUT.as_secs()
            )),
            Ok(Ok(output)) if output.code == 0 => Lookup::Resolved(
                output
                    .lines
                    .iter()
                    .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
                    .collect(),
            ),
            Ok(Ok(output)) if output.code == NOT_FOUND => Lookup::NotFound,
            Ok(Ok(output)) if output.code == NO_COMMAND => Lookup::NoGetent,
            Ok(Ok(output)) => Lookup::Failed(format!(
                "`getent hosts {name}` exited with code {}: {}",
                output.code,
                output.tail(1).join("")
            )),
            Ok(Err(error)) if error.to_string().contains("executable file not found") => {
                Lookup::NoGetent
            }
            Ok(Err(error)) => Lookup::Failed(error.to_string()),
        };
        (name.clone(), lookup)
    }))
    .await;
    let networks: Vec<String> = state
        .inspected
        .get(&app)
        .and_then(|c| c.network_settings.as_ref())
        .and_then(|n| n.networks.as_ref())
        .map(|n| n.keys().cloned().collect())
        .unwrap_or_default();
    Ok(judge(
        &app,
        &container.name,
        &network_name(&state.stack.project),
        &networks,
        &lookups,
    ))
}

/// Judges the lookups made in the app container `container` (of service `app`), which is
/// attached to `networks`; `network` is the project's own.
fn judge(
    app: &str,
    container: &str,
    network: &str,
    networks: &[String],
    lookups: &[(String, Lookup)],
) -> Outcome {
    if lookups.iter().any(|(_, l)| *l == Lookup::NoGetent) {
        return Outcome::skipped(format!(
            "`{app}`'s image has no `getent` to resolve names with"
        ));
    }
    let failed: Vec<&(String, Lookup)> = lookups
        .iter()
        .filter(|(_, l)| !matches!(l, Lookup::Resolved(_)))
        .collect();
    if failed.is_empty() {
        let resolved: Vec<String> = lookups
            .iter()
            .map(|(name, lookup)| match lookup {
                Lookup::Resolved(addresses) => format!("{name} → {}", addresses.join(" ")),
                _ => name.clone(),
            })
            .collect();
        return Outcome::ok(format!("in `{app}`: {}", resolved.join(", ")));
    }
    let names: Vec<String> = failed.iter().map(|(n, _)| format!("`{n}`")).collect();
    let mut outcome = Outcome::error(format!(
        "`{app}` cannot resolve {}: the app fails with `could not translate host name` / `Temporary failure in name resolution`",
        names.join(", ")
    ));
    for (name, lookup) in &failed {
        if let Lookup::Failed(reason) = lookup {
            outcome = outcome.detail(format!("`{name}`: {reason}"));
        }
    }
    let on_network = networks.iter().any(|n| n == network);
    if on_network {
        outcome = outcome.detail(format!(
            "`{container}` is on the project network `{network}`; the engine's DNS (127.0.0.11 in the container) does not answer for the services"
        ));
    } else {
        outcome = outcome.detail(format!(
            "`{container}` is not on the project network `{network}` (it is on: {}); service names resolve only there",
            if networks.is_empty() {
                "none".to_owned()
            } else {
                networks.join(", ")
            }
        ));
        outcome = outcome.fix_with(
            "attach it to the project network again",
            format!("docker network connect --alias {app} {network} {container}"),
        );
    }
    outcome = outcome.fix_with(
        "or recreate the stack's network and containers (volumes are kept)",
        "devboot down && devboot up",
    );
    if on_network {
        outcome = outcome.fix_with(
            "if that does not help, restart the engine (Docker Desktop → Restart; `colima restart`)",
            "sudo systemctl restart docker",
        );
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;

    fn lookups(entries: &[(&str, Lookup)]) -> Vec<(String, Lookup)> {
        entries
            .iter()
            .map(|(n, l)| ((*n).to_owned(), l.clone()))
            .collect()
    }

    #[test]
    fn resolved_names_are_ok() {
        let outcome = judge(
            "web",
            "shop-web-1",
            "shop_default",
            &["shop_default".into()],
            &lookups(&[
                ("db", Lookup::Resolved(vec!["172.18.0.2".into()])),
                ("redis", Lookup::Resolved(vec!["172.18.0.3".into()])),
            ]),
        );
        assert_eq!(outcome.status, Status::Ok);
        assert_eq!(
            outcome.summary,
            "in `web`: db → 172.18.0.2, redis → 172.18.0.3"
        );
    }

    #[test]
    fn a_container_off_the_project_network_gets_the_connect_fix() {
        let outcome = judge(
            "web",
            "shop-web-1",
            "shop_default",
            &[],
            &lookups(&[
                ("db", Lookup::NotFound),
                ("redis", Lookup::Resolved(vec!["172.18.0.3".into()])),
            ]),
        );
        assert_eq!(outcome.status, Status::Error);
        assert!(
            outcome.summary.starts_with("`web` cannot resolve `db`:"),
            "{}",
            outcome.summary
        );
        assert!(
            outcome.details[0].contains("it is on: none"),
            "{:?}",
            outcome.details
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("docker network connect --alias web shop_default shop-web-1")
        );
        assert_eq!(
            outcome.fixes[1].command.as_deref(),
            Some("devboot down && devboot up")
        );

        let on_network = judge(
            "web",
            "shop-web-1",
            "shop_default",
            &["shop_default".into()],
            &lookups(&[("db", Lookup::Failed("timed out".into()))]),
        );
        assert_eq!(on_network.status, Status::Error);
        assert_eq!(on_network.details[0], "`db`: timed out");
        assert_eq!(
            on_network.fixes.last().unwrap().command.as_deref(),
            Some("sudo systemctl restart docker")
        );
    }

    #[test]
    fn an_image_without_getent_is_skipped() {
        let outcome = judge("web", "c", "n", &[], &lookups(&[("db", Lookup::NoGetent)]));
        assert_eq!(outcome.status, Status::Skipped);
    }
}
