//! Whether `up` runs the setup commands, and which running services it restarts afterwards so
//! they load what the setup installed (a changed `Gemfile.lock`: `bundle install`, then the
//! app server restarts; nothing is rebuilt or recreated). Pure: the caller reads the setup
//! inputs and the recorded state.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ContainerAction, ContainerStep, ImageAction, ImageStep};
use crate::digest::Digest;
use crate::model::Stack;

/// What `up` does about the setup commands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SetupPlan {
    /// Whether the setup commands run.
    pub run: bool,
    /// The setup inputs whose content changed since the setup commands last completed.
    pub changed_inputs: Vec<String>,
    /// Services restarted (not recreated) once the setup commands succeed: those running the
    /// app's code whose containers are otherwise left alone, when a setup input changed.
    pub restart: Vec<String>,
}

/// What the setup commands last completed against, as recorded.
#[derive(Debug, Clone, Copy)]
pub struct SetupRecord<'a> {
    /// The digest of the stack's definition then; `None` when they never completed.
    pub stack: Option<&'a Digest>,
    /// The digests of the setup inputs as the commands left them (missing files absent).
    pub inputs: &'a BTreeMap<String, Digest>,
}

/// What the setup commands depend on besides their inputs: the commands and the whole stack's
/// definition.
pub fn stack_digest(stack: &Stack) -> Digest {
    let json = serde_json::to_string(stack).unwrap_or_default();
    Digest::of(json.as_bytes())
}

/// Decides from the stack's digest now (`stack_digest`), the setup inputs' digests now
/// (`inputs`, missing files absent), the record, and the engine plan.
pub fn setup(
    stack: &Stack,
    stack_digest: &Digest,
    inputs: &BTreeMap<String, Digest>,
    recorded: SetupRecord<'_>,
    images: &[ImageStep],
    containers: &[ContainerStep],
) -> SetupPlan {
    let engine_changes = images.iter().any(|i| i.action != ImageAction::Present)
        || containers
            .iter()
            .any(|c| c.action != ContainerAction::Unchanged);
    // Before the setup ever completed nothing "changed": it runs anyway.
    let changed_inputs: Vec<String> = stack
        .app
        .iter()
        .filter(|_| recorded.stack.is_some())
        .flat_map(|app| &app.setup_inputs)
        .filter(|input| inputs.get(*input) != recorded.inputs.get(*input))
        .cloned()
        .collect();
    let restart = if changed_inputs.is_empty() {
        Vec::new()
    } else {
        stack
            .app_services()
            .into_iter()
            .map(|service| service.name.clone())
            .filter(|name| {
                containers
                    .iter()
                    .any(|c| c.service == *name && c.action == ContainerAction::Unchanged)
            })
            .collect()
    };
    SetupPlan {
        run: engine_changes || recorded.stack != Some(stack_digest) || !changed_inputs.is_empty(),
        changed_inputs,
        restart,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> Stack {
        crate::model::test_stack(
            "extends = \"rails-sidekiq\"\n[app]\nsetup_inputs = [\"Gemfile\", \"Gemfile.lock\", \"package.json\"]\n",
        )
    }

    fn steps(stack: &Stack, action: ContainerAction) -> Vec<ContainerStep> {
        stack
            .services
            .keys()
            .map(|service| ContainerStep {
                service: service.clone(),
                action,
                reason: None,
            })
            .collect()
    }

    fn digests(files: &[(&str, &[u8])]) -> BTreeMap<String, Digest> {
        files
            .iter()
            .map(|(path, content)| ((*path).to_owned(), Digest::of(content)))
            .collect()
    }

    #[test]
    fn nothing_changed_runs_nothing() {
        let stack = stack();
        let key = Digest::of(b"stack");
        let inputs = digests(&[("Gemfile", b"gem 'rails'"), ("Gemfile.lock", b"rails")]);
        let recorded = SetupRecord {
            stack: Some(&key),
            inputs: &inputs,
        };
        let unchanged = steps(&stack, ContainerAction::Unchanged);
        assert_eq!(
            setup(&stack, &key, &inputs, recorded, &[], &unchanged),
            SetupPlan::default()
        );
    }

    #[test]
    fn the_first_setup_runs_with_nothing_changed_to_report() {
        let stack = stack();
        let key = Digest::of(b"stack");
        let inputs = digests(&[("Gemfile", b"gem 'rails'")]);
        let never = SetupRecord {
            stack: None,
            inputs: &BTreeMap::new(),
        };
        let plan = setup(
            &stack,
            &key,
            &inputs,
            never,
            &[],
            &steps(&stack, ContainerAction::Create),
        );
        assert!(plan.run);
        assert!(plan.changed_inputs.is_empty());
        assert!(plan.restart.is_empty());
    }

    #[test]
    fn a_changed_input_runs_setup_and_restarts_the_services_running_the_app() {
        let stack = stack();
        let key = Digest::of(b"stack");
        let before = digests(&[("Gemfile", b"gem 'rails'"), ("Gemfile.lock", b"rails")]);
        // Gemfile.lock changed and package.json appeared.
        let now = digests(&[
            ("Gemfile", b"gem 'rails'"),
            ("Gemfile.lock", b"rails\npg"),
            ("package.json", b"{}"),
        ]);
        let recorded = SetupRecord {
            stack: Some(&key),
            inputs: &before,
        };
        let plan = setup(
            &stack,
            &key,
            &now,
            recorded,
            &[],
            &steps(&stack, ContainerAction::Unchanged),
        );
        assert!(plan.run);
        assert_eq!(plan.changed_inputs, ["Gemfile.lock", "package.json"]);
        assert_eq!(plan.restart, ["web", "worker"], "db and redis keep running");

        // A service whose container is (re)created starts with the new gems anyway.
        let mut recreating = steps(&stack, ContainerAction::Unchanged);
        recreating
            .iter_mut()
            .find(|s| s.service == "worker")
            .unwrap()
            .action = ContainerAction::Recreate;
        let plan = setup(&stack, &key, &now, recorded, &[], &recreating);
        assert_eq!(plan.restart, ["web"]);

        // A removed input is a change too.
        let plan = setup(
            &stack,
            &key,
            &digests(&[("Gemfile", b"gem 'rails'")]),
            recorded,
            &[],
            &steps(&stack, ContainerAction::Unchanged),
        );
        assert_eq!(plan.changed_inputs, ["Gemfile.lock"]);
    }

    #[test]
    fn a_changed_stack_or_engine_change_runs_setup_without_a_restart() {
        let stack = stack();
        let key = Digest::of(b"stack");
        let inputs = digests(&[("Gemfile", b"gem 'rails'")]);
        let unchanged = steps(&stack, ContainerAction::Unchanged);
        let never = SetupRecord {
            stack: None,
            inputs: &inputs,
        };
        let plan = setup(&stack, &key, &inputs, never, &[], &unchanged);
        assert!(plan.run);
        assert!(plan.restart.is_empty());

        let recorded = SetupRecord {
            stack: Some(&key),
            inputs: &inputs,
        };
        let build = [ImageStep {
            image: "shop-web".into(),
            action: ImageAction::Build,
            services: vec!["web".into()],
        }];
        let plan = setup(&stack, &key, &inputs, recorded, &build, &unchanged);
        assert!(plan.run && plan.restart.is_empty());
    }
}
