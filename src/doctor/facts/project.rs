//! The project's services by the part they play — the app and the services built from the
//! repository, Postgres, Redis — and the project as the engine holds it, as checks need them:
//! found, or the outcome saying why a check cannot look.

use crate::doctor::check::Outcome;
use crate::doctor::engine::ProjectState;
use crate::doctor::facts::Facts;
use crate::engine::connect::Connection;
use crate::model::Service;

/// The project state, or the outcome saying why it cannot be read.
pub(crate) async fn project_state(facts: &Facts) -> Result<&ProjectState, Outcome> {
    facts
        .engine_project()
        .await
        .map_err(|error| Outcome::error(format!("cannot read the project's containers: {error}")))
}

/// The running app container: its service name and container id, or why there is none.
pub(crate) fn running_app(state: &ProjectState) -> Result<(&str, &str), Outcome> {
    let app = state
        .stack
        .app_service()
        .ok_or_else(|| Outcome::skipped("the profile has no app service"))?;
    let container = state.running(&app.name).ok_or_else(|| {
        Outcome::skipped(format!(
            "`{}` is not running; this is checked while the stack is up",
            app.name
        ))
    })?;
    Ok((app.name.as_str(), container.id.as_str()))
}

/// Services that run the application's code: the app service and every service built from the
/// repository (workers).
pub(crate) fn app_services(facts: &Facts) -> Vec<&Service> {
    let Some(stack) = facts.stack() else {
        return Vec::new();
    };
    let app = stack.app.as_ref().map(|app| app.service.as_str());
    stack
        .services
        .values()
        .filter(|service| Some(service.name.as_str()) == app || service.build.is_some())
        .collect()
}

// What kind of data service a service is: one rule for doctor and the shortcuts.
pub(crate) use crate::model::{is_postgres, is_redis};

/// The stack's services of a kind, or the outcome when it has none.
pub(crate) fn services_of<'s>(
    state: &'s ProjectState,
    kind: &str,
    is: fn(&Service) -> bool,
) -> Result<Vec<&'s Service>, Outcome> {
    let services: Vec<&Service> = state.stack.services.values().filter(|s| is(s)).collect();
    if services.is_empty() {
        Err(Outcome::skipped(format!("the stack has no {kind} service")))
    } else {
        Ok(services)
    }
}

/// The project's state, its services of a kind and the engine connection — or the outcome
/// saying why those services cannot be checked.
pub(crate) async fn kind_to_check<'f>(
    facts: &'f Facts,
    kind: &str,
    is: fn(&Service) -> bool,
) -> Result<(&'f ProjectState, Vec<&'f Service>, &'f Connection), Outcome> {
    let state = project_state(facts).await?;
    let services = services_of(state, kind, is)?;
    let connection = facts
        .connection()
        .await
        .map_err(|_| Outcome::skipped("no engine"))?;
    Ok((state, services, connection))
}

/// The outcome for a service whose container is not running.
pub(crate) fn not_running(service: &str) -> Outcome {
    Outcome::skipped(format!(
        "`{service}` is not running (see `stack.containers`)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_services_are_recognised_by_image_and_healthcheck() {
        let stack = crate::model::test_stack("extends = \"rails\"\n");
        assert!(is_postgres(&stack.services["db"]));
        assert!(!is_postgres(&stack.services["redis"]));
        assert!(is_redis(&stack.services["redis"]));
        assert!(!is_redis(&stack.services["web"]));
        assert!(!is_postgres(&stack.services["web"]));
    }
}
