//! `devboot db upgrade`: the guarded Postgres major upgrade, in order — snapshot, dump with the
//! old major, restore into a new cluster of the new major, compare every table's rows, swap —
//! and its rollback: until the swap begins, any failure or Ctrl-C removes what the upgrade made
//! and starts the database as it was. `--finish` removes the old data the upgrade kept.

use std::time::Instant;

use bollard::Docker;
use tokio::sync::watch;

use super::{Target, now, start_again, stop_if_running};
use crate::commands::Context;
use crate::engine::snapshots::{self, Snapshot};
use crate::engine::{containers, observe, postgres, upgrade as engine};
use crate::error::{Error, ExitStatus};
use crate::model::ImageRef;
use crate::output::progress::TerminalReporter;
use crate::plan::db_upgrade::{self, Decision, RowCounts, Upgrade};
use crate::redact::Redactor;

pub(super) async fn upgrade(
    docker: &Docker,
    ctx: &Context<'_>,
    target: &Target<'_>,
    from: Option<&str>,
    redactor: &Redactor,
    cancel: watch::Receiver<bool>,
) -> Result<ExitStatus, Error> {
    let service = target.service;
    let Some((volume, mount)) = postgres::data_volume(service) else {
        return Err(Error::Usage {
            message: format!("`{}` is not a Postgres service", service.name),
            hint: Some("`devboot db upgrade` upgrades Postgres data between major versions".into()),
        });
    };
    let from_image = from
        .map(|text| {
            ImageRef::parse(text).map_err(|reason| Error::Usage {
                message: format!("`--from {text}`: {reason}"),
                hint: Some("name an image, e.g. `--from postgres:15`".into()),
            })
        })
        .transpose()?;
    let stack = target.stack;
    let observed = observe::observe(docker, stack).await?;
    if !observed.volumes.contains(volume) {
        return Err(Error::Usage {
            message: format!("volume `{volume}` does not exist yet: there is no data to upgrade"),
            hint: Some("`devboot up` creates it with the profile's Postgres".into()),
        });
    }
    let reporter = TerminalReporter::new(ctx.printer, redactor.clone());
    let new_image = &service.image;
    engine::ensure_image(docker, ctx.env, service, new_image, &reporter).await?;
    let (data, image) = postgres::majors(docker, &stack.project, service)
        .await?
        .ok_or_else(|| Error::Usage {
            message: format!("`{new_image}` does not say which Postgres major it runs"),
            hint: Some(
                "it needs `PG_MAJOR` or `postgres --version`, as the official image has".into(),
            ),
        })?;
    let decision = db_upgrade::decide(&data, &image).map_err(|message| Error::Usage {
        message,
        hint: None,
    })?;
    let (from_major, to_major) = match decision {
        Decision::NoData => {
            ctx.printer.note(format!(
                "`{volume}` holds no Postgres data yet: `devboot up` initialises it with Postgres {image}."
            ));
            return Ok(ExitStatus::Success);
        }
        Decision::Current { major } => {
            ctx.printer.note(format!(
                "`{volume}` holds Postgres {major} data, the major `{new_image}` runs: nothing to upgrade."
            ));
            if !kept(docker, target).await?.is_empty() {
                ctx.printer.note(
                    "An earlier upgrade's old data is kept: `devboot db upgrade --finish` removes it.",
                );
            }
            return Ok(ExitStatus::Success);
        }
        Decision::Downgrade { data, image } => {
            return Err(Error::Usage {
                message: format!(
                    "`{volume}` holds Postgres {data} data, newer than the Postgres {image} `{new_image}` runs"
                ),
                hint: Some(format!(
                    "devboot upgrades, never downgrades: pin the newer image (`image = \"postgres:{data}\"` under [services.db] in devboot.local.toml)"
                )),
            });
        }
        Decision::Upgrade { from, to } => (from, to),
    };
    let old_image = db_upgrade::old_image(new_image, from_image.as_ref(), from_major);
    let plan = Upgrade::new(from_major, to_major, old_image, new_image.clone());
    if snapshots::list(docker, &stack.project)
        .await?
        .iter()
        .any(|s| s.name == plan.snapshot)
    {
        return Err(Error::Usage {
            message: format!("snapshot `{}` exists already", plan.snapshot),
            hint: Some(format!(
                "an earlier upgrade kept it: `devboot db upgrade --finish` removes it (or `devboot db snapshot --rm {}`)",
                plan.snapshot
            )),
        });
    }
    ctx.printer.status(
        "Upgrading",
        format!("`{volume}` from Postgres {from_major} to {to_major}:"),
    );
    for (i, step) in plan.steps(volume).iter().enumerate() {
        ctx.printer.note(format!("  {}. {step}", i + 1));
    }
    engine::ensure_image(docker, ctx.env, service, &plan.old_image, &reporter).await?;
    reporter.clear();

    let running = stop_if_running(docker, ctx, &observed, service, "upgrade").await?;
    let started = Instant::now();
    let mut swapping = false;
    let steps = Steps {
        docker,
        ctx,
        target,
        volume,
        mount,
        plan: &plan,
    };
    let outcome = steps.run(&mut swapping, cancel).await;
    let work = engine::work_volume_name(&stack.project, volume);
    let cleaned = snapshots::remove(docker, &work).await;
    match outcome {
        Ok((rows, tables, databases)) => {
            cleaned?;
            // It runs the old major: `up` creates the service's container of the new one.
            if let Some(container) = observed.containers.get(&service.name) {
                containers::remove(docker, &container.id).await?;
            }
            ctx.printer.status(
                "Upgraded",
                format!(
                    "`{volume}` from Postgres {from_major} to {to_major} in {:.1}s: {rows} rows in {tables} tables of {databases} databases, each table's count the same before and after",
                    started.elapsed().as_secs_f64()
                ),
            );
            ctx.printer.note(format!(
                "`devboot up` starts Postgres {to_major}. The Postgres {from_major} data is kept as snapshot `{}`; once the app works, `devboot db upgrade --finish` removes it.",
                plan.snapshot
            ));
            Ok(ExitStatus::Success)
        }
        Err(error) => {
            if swapping {
                // The swap may have begun: the old data's only safe copy is the snapshot.
                ctx.printer.warn(format!(
                    "the swap into `{volume}` did not finish; the Postgres {from_major} data is kept as snapshot `{}`",
                    plan.snapshot
                ));
            } else {
                let snapshot = crate::engine::spec::snapshot_volume_name(
                    &stack.project,
                    volume,
                    &plan.snapshot,
                );
                snapshots::remove(docker, &snapshot).await?;
                if let Some(container) = running {
                    start_again(docker, ctx, service, &container.id).await?;
                }
                ctx.printer.note(format!(
                    "Rolled back: `{volume}` holds the Postgres {from_major} data as before; nothing the upgrade made is left."
                ));
            }
            cleaned?;
            Err(error)
        }
    }
}

/// The steps up to and including the swap.
struct Steps<'a> {
    docker: &'a Docker,
    ctx: &'a Context<'a>,
    target: &'a Target<'a>,
    volume: &'a str,
    /// Where the profile mounts the data volume.
    mount: &'a str,
    plan: &'a Upgrade,
}

impl Steps<'_> {
    /// Runs them; `swapping` turns `true` when the old data begins to be replaced. Returns the
    /// rows, tables and databases counted.
    async fn run(
        &self,
        swapping: &mut bool,
        cancel: watch::Receiver<bool>,
    ) -> Result<(u64, usize, usize), Error> {
        let Self {
            docker,
            ctx,
            target,
            volume,
            plan,
            ..
        } = self;
        let stack = target.stack;
        let project = &stack.project;
        let service = target.service;
        let data = crate::engine::spec::volume_name(project, volume);
        let new_image = plan.new_image.to_string();

        let snapshot = self
            .step("Saved", format!("snapshot `{}`", plan.snapshot), async {
                let majors = format!("{}-{}", plan.from, plan.to);
                snapshots::take(
                    docker,
                    stack,
                    &new_image,
                    volume,
                    &plan.snapshot,
                    now(),
                    Some(&majors),
                    cancel.clone(),
                )
                .await
            })
            .await?;
        let work = engine::create_work_volume(docker, stack, volume).await?;
        let before = self
            .step(
                "Dumped",
                format!("every database with Postgres {}", plan.from),
                engine::dump(
                    docker,
                    stack,
                    service,
                    (&data, self.mount),
                    &work,
                    &plan.old_image,
                    cancel.clone(),
                ),
            )
            .await?;
        let after = self
            .step(
                "Restored",
                format!("into a new Postgres {} cluster", plan.to),
                engine::load(
                    docker,
                    stack,
                    service,
                    self.mount,
                    &work,
                    &plan.new_image,
                    cancel.clone(),
                ),
            )
            .await?;
        let (rows, tables) = verify(&before, &after)?;
        ctx.printer.status(
            "Verified",
            format!("{rows} rows in {tables} tables: the same in every table"),
        );
        let action = format!("swapping the Postgres {} data in", plan.to);
        self.step(
            "Staged",
            format!("the new cluster in `{volume}`"),
            snapshots::stage(docker, project, &new_image, volume, &work, &action, cancel),
        )
        .await?;
        *swapping = true;
        snapshots::swap(docker, project, &new_image, volume, &work, &action).await?;
        *swapping = false;
        ctx.printer.status(
            "Swapped",
            format!(
                "the Postgres {} data into `{volume}` (the old is in `{}`)",
                plan.to, snapshot.volume
            ),
        );
        Ok((rows, tables, before.len()))
    }

    /// Runs `work` with a spinner, then says `verb what (time)`.
    async fn step<T>(
        &self,
        verb: &str,
        what: String,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let spinner = self.ctx.printer.spinner(format!("{verb}: {what}"));
        let result = work.await;
        spinner.finish_and_clear();
        if result.is_ok() {
            self.ctx.printer.status(
                verb,
                format!("{what} ({:.1}s)", started.elapsed().as_secs_f64()),
            );
        }
        result
    }
}

/// The totals when every table kept its rows, else the refusal naming the differences.
fn verify(before: &RowCounts, after: &RowCounts) -> Result<(u64, usize), Error> {
    let differences = db_upgrade::compare(before, after);
    if differences.is_empty() {
        return Ok(db_upgrade::totals(before));
    }
    let shown: Vec<String> = differences
        .iter()
        .take(10)
        .map(ToString::to_string)
        .collect();
    let more = differences.len().saturating_sub(shown.len());
    Err(Error::Refused {
        message: format!(
            "the restored data differs from the old:\n  {}{}",
            shown.join("\n  "),
            if more > 0 {
                format!("\n  ... and {more} more")
            } else {
                String::new()
            }
        ),
        hint: Some("nothing was swapped: the old data and the database are as they were".into()),
    })
}

/// The snapshots an upgrade kept.
async fn kept(docker: &Docker, target: &Target<'_>) -> Result<Vec<Snapshot>, Error> {
    Ok(snapshots::list(docker, &target.stack.project)
        .await?
        .into_iter()
        .filter(|s| s.upgrade.is_some())
        .collect())
}

/// `--finish`: removes the old data an upgrade kept, after confirmation.
pub(super) async fn finish(
    docker: &Docker,
    ctx: &Context<'_>,
    target: &Target<'_>,
) -> Result<ExitStatus, Error> {
    let kept = kept(docker, target).await?;
    if kept.is_empty() {
        ctx.printer
            .note("No upgrade kept old data: there is nothing to finish.");
        return Ok(ExitStatus::Success);
    }
    let names: Vec<&str> = kept.iter().map(|s| s.name.as_str()).collect();
    if !ctx.global.yes {
        if !ctx.printer.interactive() {
            return Err(Error::Usage {
                message: format!(
                    "finishing removes the old data the upgrade kept ({}) and needs confirmation",
                    names.join(", ")
                ),
                hint: Some("pass `--yes` to confirm without a prompt".into()),
            });
        }
        let question = format!(
            "Remove the old data the upgrade kept ({})? Going back is not possible after",
            names.join(", ")
        );
        if !ctx.printer.confirm(question, false)? {
            ctx.printer.note("Nothing removed.");
            return Ok(ExitStatus::Failure);
        }
    }
    for snapshot in &kept {
        snapshots::remove(docker, &snapshot.volume).await?;
        ctx.printer.status(
            "Removed",
            format!("snapshot {} ({})", snapshot.name, snapshot.volume),
        );
    }
    Ok(ExitStatus::Success)
}
