//! The effective stack: what `up` runs, resolved in one place for `up`, `plan` and `doctor`.
//! From the project's validated stack (narrowed to some services, if asked), it adds what the
//! engine holds now, the host ports of `auto` mappings (remembered, or free now) and the app's
//! AWS wiring. It reads the engine, the host's ports and the host's AWS setup; it changes
//! nothing, except that under [`Intent::Apply`] the AWS decision may create the credential
//! endpoint's secrets (outside the repository).

use std::collections::BTreeSet;

use bollard::Docker;

use crate::aws::{self, AppAws, Intent};
use crate::engine::observe;
use crate::env::Environment;
use crate::error::Error;
use crate::host::ports;
use crate::model::{AwsMode, Stack};
use crate::plan::Observed;
use crate::plan::ports::RememberedPorts;
use crate::project::Project;
use crate::requirements;

/// The stack as `up` would run it now, and what was observed to get there.
#[derive(Debug)]
pub struct EffectiveStack {
    /// Host ports assigned, the app's AWS wiring added.
    pub stack: Stack,
    /// The project's containers, volumes and images on the engine.
    pub observed: Observed,
    /// The `auto` host ports to remember for the next run.
    pub ports: RememberedPorts,
    /// How the app is wired to AWS; `None` without `[aws]` (or, previewing, when unknown).
    pub aws: Option<AppAws>,
}

/// Resolves the effective stack of `project` (only `services` and their dependencies, when
/// not empty).
pub async fn resolve(
    docker: &Docker,
    env: &Environment,
    project: &Project,
    services: &[String],
    intent: Intent,
) -> Result<EffectiveStack, Error> {
    let mut stack = if services.is_empty() {
        project.stack.clone()
    } else {
        project.stack.select(services)?
    };
    let observed = observe::observe(docker, &stack).await?;
    check_checkout(&observed, &stack)?;
    let ports = assign_ports(&mut stack, &project.workspace.state().ports, &observed);
    let env_mode = stack.aws.as_ref().is_some_and(|a| a.mode == AwsMode::Env);
    let app_env = if env_mode {
        running_app_env(docker, &stack, &observed).await
    } else {
        None
    };
    let aws = aws::app::decide(env, &stack, app_env.as_deref(), intent).await?;
    if let Some(aws) = &aws {
        stack.app_wiring = aws.wiring.clone();
    }
    Ok(EffectiveStack {
        stack,
        observed,
        ports,
        aws,
    })
}

/// Refuses to act on a project whose containers or volumes another checkout created: a second
/// clone or `git worktree` with the same `[project] name` would otherwise recreate the first
/// one's containers, run its setup against the first one's database, and `down --volumes`
/// would delete that data. A checkout whose directory no longer exists is no one's: its stack
/// is taken over.
pub fn check_checkout(observed: &Observed, stack: &Stack) -> Result<(), Error> {
    let here = std::fs::canonicalize(&stack.root).unwrap_or_else(|_| stack.root.clone());
    let other = observed
        .checkouts
        .iter()
        .find(|checkout| std::fs::canonicalize(checkout).is_ok_and(|real| real != here));
    match other {
        None => Ok(()),
        Some(other) => Err(Error::Refused {
            message: format!(
                "project `{}` on this engine belongs to another checkout, {other}",
                stack.project
            ),
            hint: Some(format!(
                "give this checkout a name of its own in devboot.local.toml: `[project]` `name = \"{}-2\"` (or run devboot in {other})",
                stack.project
            )),
        }),
    }
}

/// Host ports for `auto` mappings: the remembered port while it is this project's own or free,
/// else the preferred port, else a free one. Ports the project's own containers publish count
/// as available (they are ours).
fn assign_ports(
    stack: &mut Stack,
    remembered: &RememberedPorts,
    observed: &Observed,
) -> RememberedPorts {
    let fixed: BTreeSet<u16> = stack
        .services
        .values()
        .flat_map(|s| &s.ports)
        .map(|p| p.host)
        .collect();
    crate::plan::ports::assign(
        stack,
        remembered,
        |ip, port| {
            requirements::port_available(
                observed.published.contains(&port),
                ports::is_free(ip, port),
            )
        },
        |ip, preferred| ports::free_port(ip, preferred, &fixed),
    )
}

/// The environment of the app container, when it runs.
async fn running_app_env(
    docker: &Docker,
    stack: &Stack,
    observed: &Observed,
) -> Option<Vec<String>> {
    let app = observed.containers.get(&stack.app.as_ref()?.service)?;
    if !app.running() {
        return None;
    }
    let inspected = docker
        .inspect_container(
            &app.id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .ok()?;
    inspected.config?.env
}
