//! How `up` and `down` wire AWS into the app container: the SSO gate before anything changes
//! (with the offer to log in on a terminal), the app's variables and networks for the
//! project's mode, and in server mode the credential network, endpoint process and relay —
//! started before the app, reused while nothing changed, removed when no longer used.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use super::Context;
use super::aws::host_options;
use crate::aws::endpoint_process::{self, EndpointFiles};
use crate::aws::{self, EndpointSecrets, HostAws, HostOptions, SsoState, Wiring, container_env};
use crate::engine::credential_relay;
use crate::engine::images;
use crate::engine::progress::Reporter;
use crate::error::Error;
use crate::model::{AppWiring, AwsMode, Stack};

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
    let host = HostAws::load(ctx.env, &HostOptions::from_stack(settings))?;
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

/// Asks on a terminal whether to run `login` (`aws sso login --profile …`) now, and runs it
/// with the terminal attached (it opens a browser). `false` when not asked or declined.
fn offer_login(ctx: &Context<'_>, login: &str) -> Result<bool, Error> {
    if ctx.global.yes || !ctx.printer.interactive() {
        return Ok(false);
    }
    let run = dialoguer::Confirm::new()
        .with_prompt(format!(
            "The AWS SSO login for this project has expired. Run `{login}` now?"
        ))
        .default(true)
        .interact()
        .map_err(|e| Error::Prompt(e.to_string()))?;
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

/// How this run of `up` wires AWS into the app container, decided before planning so the
/// container definition (and its config hash) includes it.
pub(super) struct AppAws {
    pub wiring: AppWiring,
    /// For server mode: the endpoint to make sure of before the app starts.
    endpoint: Option<(EndpointFiles, EndpointSecrets, crate::model::ImageRef)>,
    /// Where the credentials come from, for the summary.
    pub summary: String,
}

/// The app's AWS variables and networks for `settings`' mode; `None` without `[aws]`.
/// `running_app_env` is the running app container's environment: env mode reuses the
/// credentials it holds while they stay valid for 15 more minutes.
pub(super) async fn prepare(
    ctx: &Context<'_>,
    stack: &Stack,
    running_app_env: Option<Vec<String>>,
) -> Result<Option<AppAws>, Error> {
    let Some(settings) = stack.aws.as_ref() else {
        return Ok(None);
    };
    let host = HostAws::load(ctx.env, &host_options(ctx, settings))?;
    let region = aws::app_region(&host, settings.mode)?;
    let now = SystemTime::now();
    let wire = |wiring| container_env::app_wiring(settings, &stack.project, &region, wiring, now);
    let (wiring, env, endpoint, summary) = match settings.mode {
        AwsMode::Server => {
            let files = EndpointFiles::for_stack(ctx.env, stack)?;
            let secrets = files.secrets()?;
            let (wiring, env) = wire(Wiring::Server {
                relative_uri: &secrets.path,
                token: &secrets.token,
            })?;
            let summary = format!(
                "served by devboot from profile `{}` (refreshed on the host; `devboot aws status` shows who)",
                host.profile
            );
            let endpoint = Some((files, secrets, settings.relay_image.clone()));
            (wiring, env, endpoint, summary)
        }
        AwsMode::Env => {
            // Still-valid keys for the same region are reused (a changed region needs new ones).
            let reusable = running_app_env
                .as_deref()
                .and_then(|env| {
                    container_env::reusable_env_credentials(env, now, Duration::from_secs(15 * 60))
                })
                .filter(|vars| vars.get("AWS_REGION") == Some(&region));
            if let Some(vars) = reusable {
                let summary = format!(
                    "short-lived keys of profile `{}` in the app's environment, until {}",
                    host.profile,
                    vars.get(container_env::EXPIRATION_VAR)
                        .map_or("?", String::as_str)
                );
                let wiring = AppWiring {
                    env: vars,
                    networks: Vec::new(),
                };
                return Ok(Some(AppAws {
                    wiring,
                    endpoint: None,
                    summary,
                }));
            }
            let credentials = host.session_credentials().await?;
            let (wiring, env) = wire(Wiring::Env {
                credentials: &credentials,
            })?;
            let summary = format!(
                "short-lived keys of profile `{}` in the app's environment",
                host.profile
            );
            (wiring, env, None, summary)
        }
        AwsMode::Emulator => {
            let (wiring, env) = wire(Wiring::Emulator { endpoint: None })?;
            let summary = format!(
                "the emulator at {}",
                settings.emulator_endpoint.as_deref().unwrap_or_default()
            );
            (wiring, env, None, summary)
        }
    };
    for warning in &env.warnings {
        ctx.printer.warn(warning);
    }
    Ok(Some(AppAws {
        wiring,
        endpoint,
        summary,
    }))
}

impl AppAws {
    /// Server mode, before `up` changes anything: the credential network can be created.
    pub(super) async fn preflight(
        &self,
        docker: &bollard::Docker,
        stack: &Stack,
    ) -> Result<(), Error> {
        if self.serves() {
            credential_relay::check_subnet_free(docker, &stack.project).await?;
        }
        Ok(())
    }

    /// Whether the app gets its credentials from devboot's endpoint (server mode).
    pub(super) fn serves(&self) -> bool {
        self.endpoint.is_some()
    }

    /// Server mode: the credential network, the endpoint process (reused while it serves the
    /// same settings) and the relay, then one request through the relay as an SDK would make
    /// it. Other modes need nothing.
    pub(super) async fn ensure_endpoint(
        &self,
        docker: &bollard::Docker,
        ctx: &Context<'_>,
        stack: &Stack,
        reporter: &dyn Reporter,
    ) -> Result<(), Error> {
        let Some((files, secrets, relay_image)) = &self.endpoint else {
            return Ok(());
        };
        credential_relay::ensure_network(docker, &stack.project).await?;
        let fingerprint = endpoint_process::fingerprint(ctx.env, stack);
        let target = match files.running() {
            Some(running) if running.fingerprint == fingerprint => {
                SocketAddr::from((aws::ENDPOINT_HOST_ADDRESS, running.port))
            }
            _ => {
                files.stop().await;
                endpoint_process::start(ctx.env, files, &stack.root).await?
            }
        };
        if docker
            .inspect_image(&relay_image.to_string())
            .await
            .is_err()
        {
            images::pull(docker, ctx.env, relay_image, reporter).await?;
        }
        let spec = credential_relay::relay_spec(&stack.project, relay_image, target);
        credential_relay::ensure_relay(docker, &spec).await?;
        let relay = SocketAddr::from((aws::RELAY_ADDRESS, 80));
        endpoint_process::probe(relay, secrets, Duration::from_secs(10))
            .await
            .map_err(|reason| aws::AwsError::EndpointStart {
                message: format!("the relay at {relay} does not pass requests on: {reason}"),
                log: Some(files.log_path()),
            })?;
        Ok(())
    }
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
