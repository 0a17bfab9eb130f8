//! `devboot plan`: what `up` would do, with no side effects.

use serde::Serialize;

use super::Context;
use crate::cli::PlanArgs;
use crate::error::{Error, ExitStatus};
use crate::output::Role;
use crate::plan::{self, FileAction, FileStep};

#[derive(Serialize)]
struct PlanReport<'a> {
    project: &'a str,
    files: &'a [FileStep],
}

pub(super) fn run(args: &PlanArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    let files = project.rendered_files()?;
    let on_disk = project.workspace.digests(&files)?;
    let steps = plan::files(&files, &on_disk, &project.workspace.state().files);
    if args.json {
        ctx.printer.json(&PlanReport {
            project: &project.stack.project,
            files: &steps,
        })?;
        return Ok(ExitStatus::Success);
    }
    let printer = ctx.printer;
    let mut out = format!("Plan for `{}`\n\nFiles:\n", project.stack.project);
    for step in &steps {
        let (word, role) = match step.action {
            FileAction::Create => ("create", Role::Good),
            FileAction::Update => ("update", Role::Warn),
            FileAction::Unchanged => ("unchanged", Role::Dim),
            FileAction::Conflict => ("conflict", Role::Bad),
        };
        let word = printer
            .style(role)
            .for_stdout()
            .apply_to(format!("{word:<10}"));
        out.push_str(&format!("  {word} {}", step.path));
        if step.action == FileAction::Conflict {
            out.push_str("  (edited since devboot wrote it; it will be left alone)");
        }
        out.push('\n');
    }
    printer.data(&out);
    Ok(ExitStatus::Success)
}
