//! `devboot plan`: what `up` would do — files, images, containers, setup — and what would stop
//! it (the same gate `up` passes first), with no side effects. Without a reachable engine it
//! still shows the files, then reports the engine error.

use serde::Serialize;

use super::Context;
use crate::aws::Intent;
use crate::cli::PlanArgs;
use crate::dev_image;
use crate::effective;
use crate::engine::{connect, converge};
use crate::error::{Error, ExitStatus, Problem};
use crate::gate;
use crate::output::{Printer, Role};
use crate::plan::{
    self, ContainerAction, ContainerStep, FileAction, FileStep, ImageAction, ImageStep, SetupPlan,
    SetupRecord,
};
use crate::project::Project;
use crate::render;

#[derive(Serialize)]
struct PlanReport<'a> {
    project: &'a str,
    files: &'a [FileStep],
    /// `None` when the engine could not be asked.
    images: Option<&'a [ImageStep]>,
    containers: Option<&'a [ContainerStep]>,
    /// Which Dockerfile builds each built service's image, and why.
    builds: &'a [dev_image::Report],
    setup: &'a [String],
    /// Whether `up` would run the setup commands, the setup inputs that changed, and the
    /// services it would restart; `None` when the engine could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    setup_plan: Option<&'a SetupPlan>,
    /// Capabilities of published profiles `up` would ask the developer to approve first.
    #[serde(skip_serializing_if = "<[ToApprove]>::is_empty")]
    approvals: &'a [ToApprove],
    /// What would stop `up` before it changes anything (the gate's problems).
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    blocked_by: &'a [Problem],
    #[serde(skip_serializing_if = "Option::is_none")]
    engine_error: Option<String>,
}

/// A published profile's capabilities that `up` would ask for.
#[derive(Serialize)]
struct ToApprove {
    /// The layer as messages name it.
    profile: String,
    capabilities: std::collections::BTreeSet<crate::profile::capabilities::Capability>,
    /// What each lets the profile do, and what it asks for.
    lines: Vec<String>,
}

pub(super) fn run(args: &PlanArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    let state = project.workspace.state();
    // The stack `up` would run — its port choice (not remembered here) and the AWS wiring it
    // would give the app — what it would change, and what would stop it (the same gate).
    let engine = super::block_on_interruptible(async {
        let connection = connect::connect(ctx.env).await?;
        let effective =
            effective::resolve(&connection.docker, ctx.env, &project, &[], Intent::Preview).await?;
        let compose_file = plan::ComposeFile::of(
            &effective.stack,
            project.workspace.as_written(&state, render::COMPOSE_FILE)?,
        );
        let engine_plan = converge::plan(&effective.stack, effective.observed, compose_file)?;
        let blocked_by = match gate::check(
            &connection,
            ctx.env,
            &effective.stack,
            &engine_plan.observed,
            &engine_plan.containers,
        )
        .await
        {
            Ok(()) => Vec::new(),
            Err(Error::Prerequisites(problems)) => problems,
            Err(other) => vec![Problem {
                message: other.to_string(),
                fix: other.hint(),
            }],
        };
        Ok((effective.stack, engine_plan, blocked_by))
    });
    let (stack, engine_plan, blocked_by, engine_error) = match engine {
        Ok((stack, engine_plan, blocked_by)) => (stack, Some(engine_plan), blocked_by, None),
        // Without an engine, the files are still planned from the project's own stack.
        Err(error) => (project.stack.clone(), None, Vec::new(), Some(error)),
    };
    let files = render::render_all(&stack)?;
    let file_steps = plan::files(&files, &project.workspace.digests(&files)?, &state.files);
    let setup = stack
        .app
        .as_ref()
        .map(|a| a.setup.clone())
        .unwrap_or_default();
    let builds = dev_image::reports(&stack);
    let setup_plan = match &engine_plan {
        Some(engine_plan) => Some(plan::setup::setup(
            &stack,
            &plan::setup::stack_digest(&stack),
            &project.workspace.setup_input_digests(&stack)?,
            SetupRecord {
                stack: state.setup.as_ref(),
                inputs: &state.setup_inputs,
            },
            &engine_plan.images,
            &engine_plan.containers,
        )),
        None => None,
    };
    let approvals: Vec<ToApprove> = super::capabilities::pending(ctx, &project)
        .into_iter()
        .map(|(layer, pending)| ToApprove {
            profile: layer.layer.display.clone(),
            lines: layer.layer.describe(&pending),
            capabilities: pending,
        })
        .collect();
    let report = PlanReport {
        project: &stack.project,
        files: &file_steps,
        images: engine_plan.as_ref().map(|p| p.images.as_slice()),
        containers: engine_plan.as_ref().map(|p| p.containers.as_slice()),
        builds: &builds,
        setup: &setup,
        setup_plan: setup_plan.as_ref(),
        approvals: &approvals,
        blocked_by: &blocked_by,
        engine_error: engine_error.as_ref().map(ToString::to_string),
    };
    if args.json {
        ctx.printer.json(&report)?;
    } else {
        ctx.printer
            .data(&render_text(&report, &project, ctx.printer));
    }
    match (engine_error, blocked_by.is_empty()) {
        (Some(error), _) if !args.json => Err(error),
        (None, false) if !args.json => Err(Error::Prerequisites(blocked_by)),
        (Some(_), _) | (None, false) => Ok(ExitStatus::Failure),
        (None, true) => Ok(ExitStatus::Success),
    }
}

fn render_text(report: &PlanReport<'_>, project: &Project, printer: &Printer) -> String {
    let word = |text: &str, role: Role| {
        printer
            .style(role)
            .for_stdout()
            .apply_to(format!("{text:<10}"))
            .to_string()
    };
    let mut out = format!("Plan for `{}`\n", report.project);
    for approval in report.approvals {
        out.push_str(&format!(
            "\n`up` asks first: the published profile {} would\n",
            approval.profile
        ));
        for line in &approval.lines {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.push_str("\nFiles:\n");
    for step in report.files {
        let (text, role) = match step.action {
            FileAction::Create => ("create", Role::Good),
            FileAction::Update => ("update", Role::Warn),
            FileAction::Unchanged => ("unchanged", Role::Dim),
            FileAction::Conflict => ("conflict", Role::Bad),
        };
        out.push_str(&format!("  {} {}", word(text, role), step.path));
        if step.action == FileAction::Conflict {
            out.push_str("  (edited since devboot wrote it; `up` will stop)");
        }
        out.push('\n');
    }
    if let Some(images) = report.images {
        out.push_str("\nImages:\n");
        for step in images {
            let (text, role) = match step.action {
                ImageAction::Pull => ("pull", Role::Good),
                ImageAction::Build => ("build", Role::Good),
                ImageAction::Present => ("present", Role::Dim),
            };
            out.push_str(&format!(
                "  {} {}  ({})\n",
                word(text, role),
                step.image,
                step.services.join(", ")
            ));
        }
    }
    if !report.builds.is_empty() {
        out.push_str("\nBuilds:\n");
        for build in report.builds {
            out.push_str(&format!("  {}\n", build.line()));
            if let Some(warning) = &build.warning {
                out.push_str(&format!(
                    "  {} {warning}\n",
                    printer.style(Role::Warn).for_stdout().apply_to("warning:")
                ));
            }
        }
    }
    if let Some(containers) = report.containers {
        out.push_str("\nContainers:\n");
        for step in containers {
            let (text, role) = match step.action {
                ContainerAction::Create => ("create", Role::Good),
                ContainerAction::Recreate => ("recreate", Role::Warn),
                ContainerAction::Start => ("start", Role::Good),
                ContainerAction::Unchanged => ("unchanged", Role::Dim),
            };
            let reason = step
                .reason
                .as_ref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {} {}{reason}\n",
                word(text, role),
                step.service
            ));
        }
    }
    if !report.setup.is_empty() {
        let service = project
            .stack
            .app
            .as_ref()
            .map_or("app", |a| a.service.as_str());
        out.push_str(&format!(
            "\nSetup (in `{service}`, when anything changed):\n"
        ));
        for command in report.setup {
            out.push_str(&format!("  {command}\n"));
        }
        if let Some(setup) = report.setup_plan.filter(|s| !s.changed_inputs.is_empty()) {
            out.push_str(&format!(
                "  runs now: {} changed",
                setup.changed_inputs.join(", ")
            ));
            if !setup.restart.is_empty() {
                out.push_str(&format!("; then restarts {}", setup.restart.join(", ")));
            }
            out.push('\n');
        }
    }
    out
}
