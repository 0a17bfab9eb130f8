//! `devboot up`: the day-one job. Plan against the engine, pass the gate (nothing is changed
//! when a prerequisite is missing), write `.devboot/`, converge the engine, run setup, and say
//! what is running where. Holds the project lock throughout; Ctrl-C stops promptly.

use std::time::Instant;

use super::Context;
use crate::aws::{AppAws, Intent};
use crate::cli::UpArgs;
use crate::effective::{self, EffectiveStack};
use crate::engine::connect::{self, Connection};
use crate::engine::converge;
use crate::error::{Error, ExitStatus};
use crate::gate;
use crate::model::Stack;
use crate::output::progress::TerminalReporter;
use crate::output::{Printer, Role};
use crate::plan::{
    self, ComposeFile, ContainerAction, FileAction, ImageAction, SetupPlan, SetupRecord,
};
use crate::project::Project;
use crate::redact::Redactor;
use crate::render;

pub(super) fn run(args: &UpArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    super::capabilities::approve(ctx, &project)?;
    super::app_aws::approve_aws_profile(ctx, &project)?;
    let _lock = project.workspace.lock()?;
    super::app_aws::check_sso(ctx, project.stack.aws.as_ref())?;
    let redactor = Redactor::for_project(ctx.env, Some(&project.profile));
    // Container output an error quotes (a crash's log tail) is shown like doctor's: redacted.
    super::block_on_interruptible(up(&project, args, ctx, &redactor))
        .map_err(|error| error.redacted(&redactor))
}

async fn up(
    project: &Project,
    args: &UpArgs,
    ctx: &Context<'_>,
    redactor: &Redactor,
) -> Result<ExitStatus, Error> {
    let started = Instant::now();
    let printer = ctx.printer;
    let connection = connect::connect(ctx.env).await?;
    let EffectiveStack {
        stack,
        observed,
        ports,
        aws: app_aws,
        project: claimed,
    } = effective::resolve(
        &connection.docker,
        ctx.env,
        project,
        &args.services,
        Intent::Apply,
    )
    .await?;
    for warning in app_aws.iter().flat_map(|a| &a.warnings) {
        printer.warn(warning);
    }
    for build in crate::dev_image::reports(&stack) {
        if build.replaces.is_some() {
            printer.status("Image", build.line());
        }
        if let Some(warning) = &build.warning {
            printer.warn(warning);
        }
    }
    let mut state = project.workspace.state();
    state.ports = ports;
    state.checkout_name = claimed.checkout_name();

    let files = render::render_all(&stack)?;
    let file_steps = plan::files(&files, &project.workspace.digests(&files)?, &state.files);
    if file_steps.iter().any(|s| s.action == FileAction::Conflict) {
        // Refuse before the engine is touched.
        project.workspace.apply(&file_steps, &files, &mut state)?;
    }
    let compose_file = ComposeFile::of(
        &stack,
        project.workspace.as_written(&state, render::COMPOSE_FILE)?,
    );
    let engine_plan = converge::plan(&stack, observed, compose_file)?;
    gate::check(
        &connection,
        ctx.env,
        &stack,
        &engine_plan.observed,
        &engine_plan.containers,
    )
    .await?;
    if let Some(app_aws) = &app_aws {
        super::app_aws::preflight(app_aws, &connection.docker, &stack).await?;
    }

    project.workspace.apply(&file_steps, &files, &mut state)?;
    project.workspace.save_state(&state)?;

    let setup_key = plan::setup::stack_digest(&stack);
    let setup = plan::setup::setup(
        &stack,
        &setup_key,
        &project.workspace.setup_input_digests(&stack)?,
        SetupRecord {
            stack: state.setup.as_ref(),
            inputs: &state.setup_inputs,
        },
        &engine_plan.images,
        &engine_plan.containers,
    );
    let unchanged = engine_plan
        .images
        .iter()
        .all(|i| i.action == ImageAction::Present)
        && engine_plan
            .containers
            .iter()
            .all(|c| c.action == ContainerAction::Unchanged);
    if !setup.changed_inputs.is_empty() {
        printer.status("Changed", changed_inputs_message(&setup));
    }
    let reporter = TerminalReporter::new(printer, redactor.clone());
    // The AWS credential endpoint runs outside the engine's containers: even when they are
    // up to date it may need (re)starting.
    let endpoint = async {
        match &app_aws {
            Some(app_aws) => {
                super::app_aws::ensure_endpoint(app_aws, &connection.docker, ctx, &stack, &reporter)
                    .await
            }
            None => Ok(()),
        }
    };
    if unchanged && !setup.run {
        let result = endpoint.await;
        reporter.clear();
        result?;
        remove_unused_endpoint(ctx, &stack, app_aws.as_ref(), &connection).await?;
        printer.status(
            "Up to date",
            format!("`{}`: nothing changed", stack.project),
        );
        summary(printer, &stack, app_aws.as_ref(), &connection, started);
        return Ok(ExitStatus::Success);
    }

    // Boxed: the converge future is large (every service's task is inlined).
    let result = Box::pin(converge::converge(
        &connection.docker,
        ctx.env,
        &stack,
        engine_plan,
        &setup,
        endpoint,
        &reporter,
    ))
    .await;
    reporter.clear();
    result?;
    remove_unused_endpoint(ctx, &stack, app_aws.as_ref(), &connection).await?;
    state.setup = Some(setup_key);
    if stack.app.is_some() {
        // Read again: the setup may have rewritten an input (`bundle check` locks the Gemfile).
        state.setup_inputs = project.workspace.setup_input_digests(&stack)?;
    }
    project.workspace.save_state(&state)?;
    summary(printer, &stack, app_aws.as_ref(), &connection, started);
    Ok(ExitStatus::Success)
}

/// Without server mode, removes what an earlier server-mode `up` left for the app.
async fn remove_unused_endpoint(
    ctx: &Context<'_>,
    stack: &Stack,
    app_aws: Option<&AppAws>,
    connection: &Connection,
) -> Result<(), Error> {
    if app_aws.is_some_and(AppAws::serves) {
        return Ok(());
    }
    for removed in super::app_aws::remove_unused_endpoint(&connection.docker, ctx, stack).await? {
        ctx.printer.status("Removed", removed);
    }
    Ok(())
}

/// `Gemfile.lock: running the setup again, then restarting web`.
fn changed_inputs_message(setup: &SetupPlan) -> String {
    let mut message = format!(
        "{}: running the setup again",
        setup.changed_inputs.join(", ")
    );
    if !setup.restart.is_empty() {
        message.push_str(&format!(", then restarting {}", setup.restart.join(", ")));
    }
    message
}

/// What is running and where, on stdout.
fn summary(
    printer: &Printer,
    stack: &Stack,
    app_aws: Option<&AppAws>,
    connection: &Connection,
    started: Instant,
) {
    if printer.verbosity() == crate::output::Verbosity::Quiet {
        return;
    }
    let mut out = format!(
        "\n{} is up ({} services, {:.1}s, engine API {})\n\n",
        printer
            .style(Role::Emphasis)
            .for_stdout()
            .apply_to(&stack.project),
        stack.services.len(),
        started.elapsed().as_secs_f64(),
        connection.api_version,
    );
    let width = stack.services.keys().map(String::len).max().unwrap_or(0);
    for service in stack.start_order() {
        let addresses: Vec<String> = service
            .ports
            .iter()
            .map(|p| {
                let host = if p.host_ip.is_unspecified() {
                    "127.0.0.1".to_owned()
                } else {
                    p.host_ip.to_string()
                };
                let is_app = stack
                    .app
                    .as_ref()
                    .is_some_and(|a| a.service == service.name);
                if is_app {
                    format!("http://{host}:{}", p.host)
                } else {
                    format!("{host}:{}", p.host)
                }
            })
            .collect();
        let addresses = if addresses.is_empty() {
            "(no host port)".to_owned()
        } else {
            addresses.join(", ")
        };
        out.push_str(&format!("  {:<width$}  {addresses}\n", service.name));
    }
    let host_env = render::host_environment(stack);
    if let Some((_, url)) = host_env.iter().find(|(k, _)| k == "DATABASE_URL") {
        out.push_str(&format!(
            "\nDatabase from this machine: {}\n",
            crate::redact::mask_url_passwords(url)
        ));
    }
    if let Some(app_aws) = app_aws {
        out.push_str(&format!("AWS for the app: {}\n", app_aws.summary));
    }
    out.push_str(&format!(
        "Host environment (full URLs): set -a; . {}; set +a\nLogs: devboot logs -f    Status: devboot status    Stop: devboot down\n",
        render::HOST_ENV_FILE
    ));
    printer.data(&out);
}
