//! What `up` and `down` do for the app's AWS wiring beyond deciding it (that is
//! [`crate::aws::app`]): the SSO gate before anything changes (with the offer to log in on a
//! terminal), and in server mode the credential network, endpoint process and relay — started
//! before the app, reused while nothing changed, removed when no longer used.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use super::Context;
use crate::aws::app::ServedEndpoint;
use crate::aws::endpoint_process::{self, EndpointFiles};
use crate::aws::{self, AppAws, HostAws, HostOptions, SsoState};
use crate::consent::{Consents, Grant};
use crate::engine::credential_relay;
use crate::engine::images;
use crate::engine::progress::Reporter;
use crate::error::Error;
use crate::model::{AwsMode, Stack};
use crate::profile::source::LayerKind;
use crate::project::Project;

/// Stops before `up` changes anything when the project's AWS SSO login has expired or is
/// missing. On a terminal (without `--yes`) it offers to run the login and goes on once the
/// login is valid.
pub(super) fn check_sso(
    ctx: &Context<'_>,
    settings: Option<&crate::model::Aws>,
) -> Result<(), Error> {
    let Some(settings) = settings.filter(|s| s.mode != AwsMode::Emulator) else {
        return Ok(());
    };
    let host = HostAws::load(ctx.env, &HostOptions::for_project(settings, ctx.env))?;
    match host.sso_state(SystemTime::now()) {
        state @ (SsoState::Expired { .. } | SsoState::Missing { .. }) => {
            let login = state.login_command().unwrap_or("aws sso login").to_owned();
            if offer_login(ctx, &login)?
                && !matches!(
                    host.sso_state(SystemTime::now()),
                    SsoState::Expired { .. } | SsoState::Missing { .. }
                )
            {
                return Ok(());
            }
            Err(Error::Prerequisites(vec![crate::error::Problem {
                message: "the AWS SSO login for this project has expired or is missing".into(),
                fix: Some(format!("run `{login}`, then `devboot up` again")),
            }]))
        }
        _ => Ok(()),
    }
}

/// Before `up` serves the app an AWS identity that a committed file chose (`[aws] profile` in
/// `devboot.toml` or a base profile), the developer approves it once per project: asked on a
/// terminal, or approved by `--yes`; remembered outside the repository. A profile chosen in
/// the developer's own `devboot.local.toml`, or by `AWS_PROFILE`, needs no approval; one a
/// published profile chose was approved as its `aws-profile` capability.
pub(super) fn approve_aws_profile(ctx: &Context<'_>, project: &Project) -> Result<(), Error> {
    let Some(settings) = project
        .stack
        .aws
        .as_ref()
        .filter(|s| s.mode != AwsMode::Emulator)
    else {
        return Ok(());
    };
    let (Some(profile), Some(layer)) = (settings.profile.as_ref(), project.aws_profile_layer())
    else {
        return Ok(());
    };
    let published = project
        .profile
        .merged
        .aws
        .profile
        .as_ref()
        .is_some_and(|p| project.profile.sources.is_published(p.origin.layer));
    if layer.kind == LayerKind::Local || published {
        return Ok(());
    }
    let root = &project.stack.root;
    let grant = Grant::AwsProfile(profile.clone());
    let consents = Consents::of_user(ctx.env);
    if consents.as_ref().is_some_and(|c| c.granted(root, &grant)) {
        return Ok(());
    }
    let question = format!(
        "{} asks devboot to give this project's containers the credentials of your AWS profile `{profile}`. Allow?",
        layer.display
    );
    let approved = if ctx.global.yes {
        ctx.printer.status(
            "Approved",
            format!(
                "AWS profile `{profile}` for this project (--yes; chosen by {})",
                layer.display
            ),
        );
        true
    } else if ctx.printer.interactive() {
        ctx.printer.confirm(question, false)?
    } else {
        false
    };
    if !approved {
        return Err(Error::Refused {
            message: format!(
                "{} chooses your AWS profile `{profile}` for this project's code, and you have not approved it",
                layer.display
            ),
            hint: Some(
                "run `devboot up` on a terminal to approve it once, or `devboot up --yes`; or choose another profile in devboot.local.toml (`[aws]` `profile = \"…\"`)"
                    .into(),
            ),
        });
    }
    if let Some(consents) = consents {
        consents.grant(root, &grant)?;
    }
    Ok(())
}

/// Asks on a terminal whether to run `login` (`aws sso login --profile …`) now, and runs it
/// with the terminal attached (it opens a browser). `false` when not asked or declined.
fn offer_login(ctx: &Context<'_>, login: &str) -> Result<bool, Error> {
    if ctx.global.yes || !ctx.printer.interactive() {
        return Ok(false);
    }
    let run = ctx.printer.confirm(
        format!("The AWS SSO login for this project has expired. Run `{login}` now?"),
        true,
    )?;
    if !run {
        return Ok(false);
    }
    let mut words = login.split_whitespace();
    let program = words.next().unwrap_or("aws");
    let status = std::process::Command::new(program)
        .args(words)
        .env_clear()
        .envs(ctx.env.vars())
        .status();
    match status {
        Ok(status) if status.success() => Ok(true),
        Ok(status) => {
            ctx.printer.warn(format!("`{login}` failed ({status})"));
            Ok(false)
        }
        Err(e) => {
            ctx.printer.warn(format!("cannot run `{login}`: {e}"));
            Ok(false)
        }
    }
}

/// Server mode, before `up` changes anything: the credential network can be created.
pub(super) async fn preflight(
    app_aws: &AppAws,
    docker: &bollard::Docker,
    stack: &Stack,
) -> Result<(), Error> {
    if app_aws.serves() {
        credential_relay::check_subnet_free(docker, &stack.project).await?;
    }
    Ok(())
}

/// Server mode: the credential network, the endpoint process (reused while it serves the same
/// settings) and the relay, then one request through the relay as an SDK would make it. Other
/// modes need nothing.
pub(super) async fn ensure_endpoint(
    app_aws: &AppAws,
    docker: &bollard::Docker,
    ctx: &Context<'_>,
    stack: &Stack,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let Some(ServedEndpoint {
        files,
        secrets,
        relay_image,
    }) = &app_aws.endpoint
    else {
        return Ok(());
    };
    credential_relay::ensure_network(docker, &stack.project).await?;
    let setting = stack
        .aws
        .as_ref()
        .map(|a| a.relay_route)
        .unwrap_or_default();
    let choice = credential_relay::route(docker, setting).await?;
    let address = match choice.endpoint_address() {
        Some(address) => address,
        None => credential_relay::host_gateway_address(docker).await?.into(),
    };
    let fingerprint = endpoint_process::fingerprint(ctx.env, stack, address);
    let endpoint = match files.running() {
        Some(running) if running.fingerprint == fingerprint => running.socket(),
        _ => {
            files.stop().await;
            endpoint_process::start(ctx.env, files, &stack.root, address).await?
        }
    };
    if docker
        .inspect_image(&relay_image.to_string())
        .await
        .is_err()
    {
        let target = images::PullFor {
            service: "AWS credential relay",
            named: None,
            engine: None,
        };
        images::pull(docker, ctx.env, relay_image, target, reporter).await?;
    }
    let spec =
        credential_relay::relay_spec(&stack.project, relay_image, choice.route, endpoint.port());
    credential_relay::ensure_relay(docker, &spec).await?;
    // This host reaches the relay unless the engine runs in a VM: then the endpoint itself is
    // asked.
    let (probed, failed) = if choice.engine_in_vm {
        (
            endpoint,
            format!("the endpoint at {endpoint} does not answer"),
        )
    } else {
        let relay = SocketAddr::from((aws::RELAY_ADDRESS, 80));
        (
            relay,
            format!("the relay at {relay} does not pass requests on"),
        )
    };
    endpoint_process::probe(probed, secrets, Duration::from_secs(10))
        .await
        .map_err(|reason| aws::AwsError::EndpointStart {
            message: format!(
                "{failed} ({} route: {}): {reason}",
                choice.route.name(),
                choice.reason
            ),
            log: Some(files.log_path()),
        })?;
    Ok(())
}

/// `down`: stops the project's endpoint process and removes its relay and network.
pub(super) async fn remove_endpoint(
    docker: &bollard::Docker,
    ctx: &Context<'_>,
    stack: &Stack,
) -> Result<Vec<String>, Error> {
    let mut removed = credential_relay::remove(docker, &stack.project).await?;
    if let Ok(files) = EndpointFiles::for_stack(ctx.env, stack)
        && let Some(running) = files.stop().await
    {
        removed.push(format!("AWS credential endpoint (pid {})", running.pid));
    }
    Ok(removed)
}

/// After an `up` without server mode: what an earlier server-mode `up` left (endpoint process,
/// relay, network, stored secrets) goes, now that the app no longer uses it. Costs nothing
/// when there is nothing to remove.
pub(super) async fn remove_unused_endpoint(
    docker: &bollard::Docker,
    ctx: &Context<'_>,
    stack: &Stack,
) -> Result<Vec<String>, Error> {
    let Ok(files) = EndpointFiles::for_stack(ctx.env, stack) else {
        return Ok(Vec::new());
    };
    if files.stored_secrets().is_none() {
        return Ok(Vec::new());
    }
    let removed = remove_endpoint(docker, ctx, stack).await?;
    files.forget();
    Ok(removed)
}
