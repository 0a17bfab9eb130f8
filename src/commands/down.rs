//! `devboot down`: stop and remove the project's containers and network. Volumes — the
//! databases — stay unless `--volumes` is given and confirmed; database snapshots
//! (`devboot db snapshot`) always stay.

use std::collections::HashMap;

use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder};
use futures_util::future::try_join_all;

use super::Context;
use crate::cli::DownArgs;
use crate::effective;
use crate::engine::observe::{self, engine_error};
use crate::engine::spec::{LABEL_PROJECT, network_name};
use crate::engine::{connect, containers, snapshots};
use crate::error::{Error, ExitStatus};

pub(super) fn run(args: &DownArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
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
        let observed = observe::observe(docker, stack).await?;
        effective::check_checkout(&observed, stack)?;
        let all = observed.containers.values().chain(&observed.orphans);
        try_join_all(all.clone().map(|c| containers::remove(docker, &c.id))).await?;
        for container in all {
            ctx.printer
                .status("Removed", format!("container {}", container.name));
        }
        for removed in super::app_aws::remove_endpoint(docker, ctx, stack).await? {
            ctx.printer.status("Removed", removed);
        }
        if observed.network {
            let name = network_name(&stack.project);
            docker
                .remove_network(&name)
                .await
                .map_err(|e| engine_error("removing the network", &e))?;
            ctx.printer.status("Removed", format!("network {name}"));
        }
        let filter = format!("{LABEL_PROJECT}={}", stack.project);
        let options = ListVolumesOptionsBuilder::default()
            .filters(&HashMap::from([("label", vec![filter.as_str()])]))
            .build();
        let volumes = docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| engine_error("listing volumes", &e))?
            .volumes
            .unwrap_or_default();
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
    dialoguer::Confirm::new()
        .with_prompt(format!(
            "Remove the volumes of `{project}`? Their data (databases) will be lost; snapshots are kept"
        ))
        .default(false)
        .interact()
        .map_err(|e| Error::Prompt(e.to_string()))
}
