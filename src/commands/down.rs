//! `devboot down`: stop and remove the project's containers and network. Volumes — the
//! databases — stay unless `--volumes` is given and confirmed; database snapshots
//! (`devboot db snapshot`) always stay. `--all` does the same (volumes kept) for every devboot
//! stack on the engine, of every checkout, once confirmed.

use bollard::query_parameters::RemoveVolumeOptionsBuilder;
use futures_util::future::try_join_all;

use super::Context;
use crate::catalog::Refresh;
use crate::cli::DownArgs;
use crate::effective;
use crate::engine::observe::engine_error;
use crate::engine::spec::{LABEL_PROJECT, network_name};
use crate::engine::stacks::{self, StackSummary};
use crate::engine::{connect, containers, snapshots};
use crate::error::{Error, ExitStatus, plural};
use crate::project::Project;

pub(super) fn run(args: &DownArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    if args.all {
        return down_all(ctx);
    }
    let project = ctx.project()?;
    let stack = &project.stack;
    if args.volumes && !confirmed(ctx, &stack.project)? {
        ctx.printer.note("Nothing removed.");
        return Ok(ExitStatus::Failure);
    }
    let _lock = project.workspace.lock()?;
    super::block_on_interruptible(async {
        let connection = connect::connect(ctx.env).await?;
        let docker = &connection.docker;
        let effective::Claimed { project, observed } = effective::claim(docker, &project).await?;
        let stack = &project.stack;
        let all = observed.containers.values().chain(&observed.orphans);
        try_join_all(all.clone().map(|c| containers::remove(docker, &c.id))).await?;
        for container in all {
            ctx.printer
                .status("Removed", format!("container {}", container.name));
        }
        for removed in super::app_aws::remove_endpoint(docker, ctx, stack).await? {
            ctx.printer.status("Removed", removed);
        }
        let name = network_name(&stack.project);
        if containers::remove_networks(docker, &name)
            .await
            .map_err(|e| engine_error("removing the network", &e))?
        {
            ctx.printer.status("Removed", format!("network {name}"));
        }
        let filter = format!("{LABEL_PROJECT}={}", stack.project);
        let volumes = containers::volumes_labelled(docker, &filter).await?;
        let names: Vec<String> = volumes.into_iter().map(|v| v.name).collect();
        if args.volumes {
            for name in &names {
                let options = RemoveVolumeOptionsBuilder::default().force(false).build();
                docker
                    .remove_volume(name, Some(options))
                    .await
                    .map_err(|e| engine_error(&format!("removing volume `{name}`"), &e))?;
                ctx.printer.status("Removed", format!("volume {name}"));
            }
        } else if !names.is_empty() {
            ctx.printer.status(
                "Kept",
                format!(
                    "volumes {} (`devboot down --volumes` removes them)",
                    names.join(", ")
                ),
            );
        }
        // Snapshots are copies kept on purpose: never removed with the stack.
        let kept = snapshots::list(docker, &stack.project).await?;
        if !kept.is_empty() {
            let names: Vec<&str> = kept.iter().map(|s| s.name.as_str()).collect();
            ctx.printer.status(
                "Kept",
                format!(
                    "database snapshots {} (`devboot db snapshot --rm NAME` removes one)",
                    names.join(", ")
                ),
            );
        }
        Ok(ExitStatus::Success)
    })
}

/// `down --all`: every devboot stack on the engine, of every checkout, loses its containers
/// and network (and its AWS endpoint, when its checkout is still there); volumes stay.
fn down_all(ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    super::block_on_interruptible(async {
        let connection = connect::connect(ctx.env).await?;
        let docker = &connection.docker;
        let stacks: Vec<StackSummary> = stacks::list(&connection)
            .await?
            .into_iter()
            .filter(|s| !s.containers.is_empty())
            .collect();
        if stacks.is_empty() {
            ctx.printer
                .note("No devboot stack has containers on this engine; nothing to stop.");
            return Ok(ExitStatus::Success);
        }
        let listed: Vec<String> = stacks
            .iter()
            .map(|s| {
                let checkout = s.checkout.as_deref().map_or_else(String::new, |c| {
                    format!(" ({})", ctx.env.display_path(std::path::Path::new(c)))
                });
                format!("{}{checkout}", s.project)
            })
            .collect();
        if !confirmed_all(ctx, &listed)? {
            ctx.printer.note("Nothing stopped.");
            return Ok(ExitStatus::Failure);
        }
        for (stack, shown) in stacks.iter().zip(&listed) {
            try_join_all(
                stack
                    .containers
                    .iter()
                    .map(|c| containers::remove(docker, &c.id)),
            )
            .await?;
            let network = network_name(&stack.project);
            let _ = containers::remove_networks(docker, &network).await;
            let mut removed =
                crate::engine::credential_relay::remove(docker, &stack.project).await?;
            // The AWS endpoint process is found through its checkout's project (read, never
            // written: it is another checkout's).
            let project = stack
                .checkout
                .as_ref()
                .and_then(|c| Project::resolve(c.into(), ctx.env, Refresh::None).ok())
                .map(|(project, _)| project)
                .and_then(|p| p.named(&stack.project).ok());
            if let Some(project) = project {
                removed.extend(super::app_aws::remove_endpoint(docker, ctx, &project.stack).await?);
            }
            let extra = if removed.is_empty() {
                String::new()
            } else {
                format!(", {}", removed.join(", "))
            };
            ctx.printer.status(
                "Stopped",
                format!(
                    "{shown}: {}{extra}",
                    plural(stack.containers.len(), "container")
                ),
            );
        }
        ctx.printer
            .note("Volumes are kept; `devboot up` in a checkout starts its stack again.");
        Ok(ExitStatus::Success)
    })
}

/// Stopping every stack interrupts other checkouts' work: ask on a terminal, require `--yes`
/// otherwise.
fn confirmed_all(ctx: &Context<'_>, stacks: &[String]) -> Result<bool, Error> {
    if ctx.global.yes {
        return Ok(true);
    }
    if !ctx.printer.interactive() {
        return Err(Error::Usage {
            message: format!(
                "`--all` stops {} of every checkout ({}) and needs confirmation",
                plural(stacks.len(), "stack"),
                stacks.join(", ")
            ),
            hint: Some("pass `--yes` to confirm without a prompt".into()),
        });
    }
    ctx.printer.confirm(
        format!(
            "Stop {}: {}? Volumes are kept",
            plural(stacks.len(), "devboot stack"),
            stacks.join(", ")
        ),
        false,
    )
}

/// Removing volumes deletes data: ask on a terminal, require `--yes` otherwise.
fn confirmed(ctx: &Context<'_>, project: &str) -> Result<bool, Error> {
    if ctx.global.yes {
        return Ok(true);
    }
    if !ctx.printer.interactive() {
        return Err(Error::Usage {
            message: "`--volumes` deletes the project's databases and needs confirmation".into(),
            hint: Some("pass `--yes` to confirm without a prompt".into()),
        });
    }
    ctx.printer.confirm(format!(
            "Remove the volumes of `{project}`? Their data (databases) will be lost; snapshots are kept"
        ), false)
}
