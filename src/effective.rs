//! The effective stack: what `up` runs, resolved in one place for `up`, `plan` and `doctor`.
//! From the project's validated stack (narrowed to some services, if asked), it adds what the
//! engine holds now, the host ports of `auto` mappings (remembered, or free now) and the app's
//! AWS wiring. It reads the engine, the host's ports and the host's AWS setup; it changes
//! nothing, except that under [`Intent::Apply`] the AWS decision may create the credential
//! endpoint's secrets (outside the repository).

use std::collections::BTreeSet;

use bollard::Docker;

use crate::aws::{self, AppAws, Intent};
use crate::digest::Digest;
use crate::engine::observe;
use crate::env::Environment;
use crate::error::Error;
use crate::host::ports;
use crate::model::{AwsMode, Stack};
use crate::plan::Observed;
use crate::plan::ports::RememberedPorts;
use crate::project::Project;
use crate::requirements;

/// The project as this checkout runs it on this engine, and what the engine holds for it.
#[derive(Debug)]
pub struct Claimed {
    pub project: Project,
    pub observed: Observed,
}

/// The project name this checkout runs under, and what the engine holds under it.
///
/// A project name belongs to the first checkout that runs under it: the engine's labels say
/// which checkout created a project's containers and volumes. The name this checkout ran under
/// before stays while no other checkout holds it; else the declared name, when free or this
/// checkout's; else — a second clone or `git worktree` of the repository — the declared name
/// with a suffix from this checkout's path (`shop-1f3a9c`), which gives it its own
/// containers, volumes and images, and `auto` host ports. `up` remembers that name in the
/// checkout's state file, so it stays. A checkout whose directory is gone holds nothing.
pub async fn claim(docker: &Docker, project: &Project) -> Result<Claimed, Error> {
    let mut candidates = vec![project.stack.project.clone()];
    for name in [
        project.declared_name.clone(),
        second_checkout_name(&project.declared_name, &project.stack.root),
    ] {
        if !candidates.contains(&name) {
            candidates.push(name);
        }
    }
    let mut refusal = None;
    for name in candidates {
        let candidate = if name == project.stack.project {
            project.clone()
        } else {
            project.named(&name)?
        };
        let observed = observe::observe(docker, &candidate.stack).await?;
        match check_checkout(&observed, &candidate.stack) {
            Ok(()) => {
                return Ok(Claimed {
                    project: candidate,
                    observed,
                });
            }
            Err(refused) => {
                refusal.get_or_insert(refused);
            }
        }
    }
    Err(refusal.expect("there is always a candidate"))
}

/// The project name of a second checkout at `root`: the declared name and six hex digits of
/// the checkout's path, the same every time for the same directory.
pub fn second_checkout_name(declared: &str, root: &std::path::Path) -> String {
    let real = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let digest = Digest::of(real.as_os_str().as_encoded_bytes());
    format!("{declared}-{}", &digest.as_str()[..6])
}

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
    /// The project as this checkout runs it ([`claim`]).
    pub project: Project,
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
    let Claimed { project, observed } = claim(docker, project).await?;
    let (mut stack, observed) = if services.is_empty() {
        (project.stack.clone(), observed)
    } else {
        let stack = project.stack.select(services)?;
        let observed = observe::observe(docker, &stack).await?;
        (stack, observed)
    };
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
        project,
    })
}

/// Refuses a project name whose containers or volumes another checkout created: a second
/// clone or `git worktree` under the same name would otherwise recreate the first one's
/// containers, run its setup against the first one's database, and `down --volumes` would
/// delete that data. A checkout whose directory no longer exists is no one's: its stack is
/// taken over. [`claim`] tries names with it; the error is left only when every name it may
/// take is held by another checkout.
fn check_checkout(observed: &Observed, stack: &Stack) -> Result<(), Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_checkout_name_is_the_declared_one_with_its_path_in_six_digits() {
        let a = second_checkout_name("shop", std::path::Path::new("/nonexistent/a/shop"));
        let b = second_checkout_name("shop", std::path::Path::new("/nonexistent/b/shop"));
        assert!(
            a.starts_with("shop-") && a.len() == "shop-".len() + 6,
            "{a}"
        );
        assert_ne!(a, b);
        assert_eq!(
            a,
            second_checkout_name("shop", std::path::Path::new("/nonexistent/a/shop"))
        );
    }
}
