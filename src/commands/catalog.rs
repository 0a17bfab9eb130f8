//! `devboot profile outdated` and `devboot profile update [NAME] [--dry-run]`: newer releases of
//! the catalog profiles a project extends, and their reviewed upgrade in `devboot.lock`.

use std::collections::BTreeSet;

use serde::Serialize;

use super::Context;
use crate::catalog::lock::{LOCK_FILE, Locked};
use crate::catalog::spec::{self, Request};
use crate::catalog::{Refresh, diff};
use crate::error::{Error, ExitStatus};
use crate::profile::resolve::entries;
use crate::profile::source;
use crate::project::Project;
use crate::redact::Redactor;

#[derive(Serialize)]
struct Outdated {
    /// `acme:rails`.
    profile: String,
    /// The version in `extends` (empty: the newest).
    requested: String,
    /// The locked release (tag, else commit).
    locked: String,
    /// The newest release the request accepts.
    wanted: Option<String>,
    /// The newest release published.
    latest: Option<String>,
}

fn project_root(ctx: &Context<'_>) -> Result<std::path::PathBuf, Error> {
    let start = ctx.start_dir();
    source::find_project_root(&start).ok_or(Error::NoProject { start })
}

fn locked_at(locked: &Locked) -> String {
    locked.at().unwrap_or_else(|| "(directory)".to_owned())
}

pub(super) fn outdated(json: bool, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    // Locks first use, so what is listed is what `up` uses.
    let project = ctx.project()?;
    let (_, catalogs) = Project::resolve(project.workspace.root, ctx.env, Refresh::None)?;
    let mut rows = Vec::new();
    for locked in catalogs.used() {
        let releases = catalogs.releases(&locked)?;
        let tags = releases.iter().map(String::as_str);
        let request = Request::parse(&locked.requested).unwrap_or(Request::Latest);
        rows.push(Outdated {
            profile: format!("{}:{}", locked.catalog, locked.profile),
            requested: locked.requested.clone(),
            locked: locked_at(&locked),
            wanted: spec::select(&request, tags.clone()).map(str::to_owned),
            latest: spec::newest(tags).map(str::to_owned),
        });
    }
    if json {
        ctx.printer.json(&rows)?;
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        ctx.printer.note("this project extends no catalog profile");
        return Ok(ExitStatus::Success);
    }
    let none = "-".to_owned();
    let table: Vec<[String; 5]> =
        std::iter::once(["PROFILE", "REQUESTED", "LOCKED", "WANTED", "LATEST"].map(str::to_owned))
            .chain(rows.iter().map(|r| {
                [
                    r.profile.clone(),
                    if r.requested.is_empty() {
                        "*".to_owned()
                    } else {
                        r.requested.clone()
                    },
                    r.locked.clone(),
                    r.wanted.clone().unwrap_or_else(|| none.clone()),
                    r.latest.clone().unwrap_or_else(|| none.clone()),
                ]
            }))
            .collect();
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            table
                .iter()
                .map(|row| row[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    ctx.printer.data(&out);
    if rows
        .iter()
        .any(|r| r.wanted.as_deref().is_some_and(|w| w != r.locked))
    {
        ctx.printer
            .note("review an upgrade with `devboot profile update --dry-run`");
    }
    Ok(ExitStatus::Success)
}

pub(super) fn update(
    name: Option<&str>,
    dry_run: bool,
    ctx: &Context<'_>,
) -> Result<ExitStatus, Error> {
    let root = project_root(ctx)?;
    // The stack as locked now; a lock that no longer holds (an edited range) compares with
    // nothing.
    let before = Project::resolve(root.clone(), ctx.env, Refresh::AsLocked);
    let refresh = name.map_or(Refresh::All, |n| {
        Refresh::Only(BTreeSet::from([n.to_owned()]))
    });
    let (after, catalogs) =
        Project::resolve_watched(root, ctx.env, refresh, Some(ctx.printer.catalog_transfer()))?;
    let used = catalogs.used();
    if let Some(name) = name
        && !used
            .iter()
            .any(|l| l.profile == name || format!("{}:{}", l.catalog, l.profile) == name)
    {
        let known: Vec<String> = used
            .iter()
            .map(|l| format!("{}:{}", l.catalog, l.profile))
            .collect();
        return Err(Error::Usage {
            message: format!("this project extends no catalog profile `{name}`"),
            hint: Some(if known.is_empty() {
                "it extends no catalog profile at all".to_owned()
            } else {
                format!("it extends {}", known.join(", "))
            }),
        });
    }
    let mut out = String::new();
    for now in &used {
        let was = catalogs
            .lock()
            .and_then(|l| l.find(&now.catalog, &now.source, &now.profile));
        match was {
            Some(was) if was == now => {}
            Some(was) if locked_at(was) == locked_at(now) => {
                out.push_str(&format!("{}: its files changed\n", now.describe()));
            }
            Some(was) => out.push_str(&format!("{} → {}\n", was.describe(), locked_at(now))),
            None => out.push_str(&format!("{} (newly locked)\n", now.describe())),
        }
    }
    let Some(lock) = catalogs.new_lock() else {
        ctx.printer
            .status("Unchanged", format!("{LOCK_FILE} is up to date"));
        return Ok(ExitStatus::Success);
    };
    let redactor = Redactor::for_project(ctx.env, Some(&after.profile));
    match &before {
        Ok((before, _)) => {
            let mut changes = diff::changes(
                &entries(&before.profile.merged, &before.profile.sources),
                &entries(&after.profile.merged, &after.profile.sources),
            );
            changes.extend(diff::capability_changes(
                &crate::profile::capabilities::changes(&before.profile, &after.profile),
            ));
            if changes.is_empty() {
                out.push_str("the resolved stack does not change\n");
            } else {
                out.push_str("changes in the resolved stack:\n");
                out.push_str(&diff::render(&changes));
            }
        }
        Err(error) => out.push_str(&format!(
            "(the current lock does not resolve, so there is nothing to compare with: {error})\n"
        )),
    }
    ctx.printer.data(&redactor.redact(&out));
    if dry_run {
        ctx.printer.note(format!(
            "dry run: {LOCK_FILE} not changed; run without `--dry-run` to take this upgrade"
        ));
        return Ok(ExitStatus::Success);
    }
    catalogs.write_lock(&lock)?;
    ctx.printer.status("Updated", LOCK_FILE);
    Ok(ExitStatus::Success)
}
