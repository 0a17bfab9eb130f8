//! `devboot aws status`: who the project's AWS credentials belong to, where they come from and
//! when they expire — resolved on this machine, never printing a secret.

use std::time::SystemTime;

use serde::Serialize;

use super::Context;
use std::net::SocketAddr;
use std::time::Duration;

use crate::aws::endpoint_process::{self, EndpointFiles, Handshake, Running};
use crate::aws::server::{self, ServerHandle, ServerOptions};
use crate::aws::{self, HostAws, HostOptions, SsoState};
use crate::aws::{EndpointSecrets, Wiring, container_env};
use crate::cli::AwsCommand;
use crate::engine::credential_relay;
use crate::engine::images;
use crate::engine::progress::Reporter;
use crate::error::{Error, ExitStatus};
use crate::model::{AppWiring, AwsMode, Stack};
use crate::project::Project;

#[derive(Serialize)]
struct Status {
    profile: String,
    region: String,
    account: String,
    arn: String,
    source: String,
    access_key_id: String,
    /// RFC 3339, or `null` for long-term keys.
    expires: Option<String>,
    /// The account the project expects, when it names one.
    expected_account: Option<String>,
    /// How the app container gets credentials: `server`, `env` or `emulator`; `null` outside
    /// a project with `[aws]`.
    mode: Option<String>,
    /// Server mode: the running credential endpoint, or `null` when none runs.
    endpoint: Option<EndpointStatus>,
}

#[derive(Serialize)]
pub(super) struct EndpointStatus {
    pid: u32,
    address: String,
}

impl EndpointStatus {
    /// The running credential endpoint of a server-mode stack.
    pub(super) fn of(ctx: &Context<'_>, stack: &Stack) -> Option<Self> {
        stack.aws.as_ref().filter(|s| s.mode == AwsMode::Server)?;
        let running = EndpointFiles::for_stack(ctx.env, stack).ok()?.running()?;
        Some(Self {
            pid: running.pid,
            address: SocketAddr::from((aws::ENDPOINT_HOST_ADDRESS, running.port)).to_string(),
        })
    }

    /// ` (endpoint serving on ADDRESS, pid N)`, or how to start it in server mode.
    pub(super) fn describe(endpoint: Option<&Self>, mode: &str) -> String {
        match (endpoint, mode) {
            (Some(endpoint), _) => format!(
                " (endpoint serving on {}, pid {})",
                endpoint.address, endpoint.pid
            ),
            (None, "server") => " (endpoint not running; `devboot up` starts it)".to_owned(),
            _ => String::new(),
        }
    }
}

pub(super) fn run(command: &AwsCommand, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    match command {
        AwsCommand::Status { json, endpoint_url } => status(*json, endpoint_url.as_ref(), ctx),
        AwsCommand::Serve => serve(ctx),
    }
}

fn status(
    json: bool,
    endpoint_url: Option<&String>,
    ctx: &Context<'_>,
) -> Result<ExitStatus, Error> {
    // Outside a project the developer's default AWS setup is shown.
    let stack = Project::discover(&ctx.start_dir()).ok().map(|p| p.stack);
    let settings = stack.as_ref().and_then(|s| s.aws.clone());
    let endpoint = stack
        .as_ref()
        .and_then(|stack| EndpointStatus::of(ctx, stack));
    let mut options = settings
        .as_ref()
        .map(HostOptions::from_stack)
        .unwrap_or_default();
    options.endpoint_url = endpoint_url.cloned();
    let host = HostAws::load(ctx.env, &options)?;
    if let Some(login) = host.sso_state(SystemTime::now()).login_command() {
        return Err(Error::Usage {
            message: "the AWS SSO login of this profile has expired or is missing".into(),
            hint: Some(format!("run `{login}`, then try again")),
        });
    }
    let identity = super::block_on_interruptible(async { Ok(host.identity().await?) })?;
    let status = Status {
        profile: identity.profile.clone(),
        region: identity.region.clone(),
        account: identity.account.clone(),
        arn: identity.arn.clone(),
        source: format!("{:?}", identity.source).to_lowercase(),
        access_key_id: identity.access_key_id_masked.clone(),
        expires: identity.expires.map(aws::rfc3339),
        expected_account: settings.as_ref().and_then(|s| s.account.clone()),
        mode: settings
            .as_ref()
            .map(|s| container_env::mode_name(s.mode).to_owned()),
        endpoint,
    };
    let wrong_account = status
        .expected_account
        .as_ref()
        .is_some_and(|expected| *expected != status.account);
    if json {
        ctx.printer.json(&status)?;
    } else {
        let mut out = format!(
            "profile  {}\nregion   {}\naccount  {}\narn      {}\nsource   {}\nkey id   {}\nexpires  {}\n",
            status.profile,
            status.region,
            status.account,
            status.arn,
            status.source,
            status.access_key_id,
            status
                .expires
                .as_deref()
                .unwrap_or("never (long-term keys)"),
        );
        if let Some(expected) = &status.expected_account {
            out.push_str(&format!("expected {expected}\n"));
        }
        if let Some(mode) = &status.mode {
            let detail = EndpointStatus::describe(status.endpoint.as_ref(), mode);
            out.push_str(&format!("mode     {mode}{detail}\n"));
        }
        ctx.printer.data(&out);
    }
    if wrong_account {
        return Err(Error::Usage {
            message: format!(
                "these credentials belong to account {}, the project expects {}",
                status.account,
                status.expected_account.unwrap_or_default()
            ),
            hint: Some(
                "pick the right profile (`[aws] profile` in devboot.local.toml, or AWS_PROFILE)"
                    .into(),
            ),
        });
    }
    Ok(ExitStatus::Success)
}

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

/// `devboot aws serve`: the project's credential endpoint, until SIGTERM (from `devboot down`)
/// or Ctrl-C. Speaks the start-up handshake of [`endpoint_process`] on stdout, then reports
/// refreshes and errors on stderr (the endpoint log when `up` started it).
fn serve(ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    let stack = &project.stack;
    let settings = stack
        .aws
        .as_ref()
        .filter(|a| a.mode == AwsMode::Server)
        .ok_or_else(|| Error::Usage {
            message: "this project does not use the AWS credential endpoint".into(),
            hint: Some(
                "it serves projects with `[aws]` in `mode = \"server\"` (the default)".into(),
            ),
        })?;
    let files = EndpointFiles::for_stack(ctx.env, stack)?;
    let secrets = files.secrets()?;
    let host = HostAws::load(ctx.env, &host_options(ctx, settings))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))?;
    runtime.block_on(async {
        let server_options = ServerOptions {
            // Ruby's aws-sdk-core before 3.171 (Debian's is 3.168) sends no token; the path
            // carries as many random bits.
            allow_missing_token: true,
            ..ServerOptions::default()
        };
        let start = |port: u16| {
            server::start_with(
                SocketAddr::from((aws::ENDPOINT_HOST_ADDRESS, port)),
                secrets.path.clone(),
                secrets.token.clone(),
                host.container_provider(),
                server_options.clone(),
            )
        };
        let handle = match files.last_port() {
            // The last port keeps the relay's target; any free one does otherwise.
            Some(port) => match start(port).await {
                Ok(handle) => handle,
                Err(_) => start(0).await?,
            },
            None => start(0).await?,
        };
        let port = handle.local_addr.port();
        match handle.wait_ready(endpoint_process::START_TIMEOUT).await {
            Ok(_) => {
                files.record_running(&Running {
                    pid: std::process::id(),
                    port,
                    fingerprint: endpoint_process::fingerprint(ctx.env, stack),
                })?;
                ctx.printer.data(&Handshake::Ready(port).line());
                ctx.printer.status(
                    "Serving",
                    format!(
                        "AWS credentials for `{}` on {}",
                        stack.project, handle.local_addr
                    ),
                );
            }
            Err(error) => {
                ctx.printer.data(
                    &Handshake::Failed {
                        code: error.code.clone(),
                        message: error.message.clone(),
                    }
                    .line(),
                );
                return Ok(ExitStatus::Failure);
            }
        }
        let result = serve_until_stopped(&handle, ctx).await;
        files.clear_running(std::process::id());
        handle.shutdown().await;
        result
    })
}

/// How often the endpoint checks that its network still exists.
const NETWORK_WATCH: Duration = Duration::from_secs(30);

/// Reports each refresh until SIGTERM or SIGINT; SIGHUP (a closed terminal) is ignored.
async fn serve_until_stopped(
    handle: &ServerHandle,
    ctx: &Context<'_>,
) -> Result<ExitStatus, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind| signal(kind).map_err(|e| Error::Internal(format!("handling signals: {e}")));
    let (mut term, mut int, mut hup) = (
        listen(SignalKind::terminate())?,
        listen(SignalKind::interrupt())?,
        listen(SignalKind::hangup())?,
    );
    let mut updates = handle.subscribe();
    // The stack went away without `devboot down` (its network removed by hand or a prune):
    // the host address is gone, and so is the reason to serve.
    let mut watch = tokio::time::interval(NETWORK_WATCH);
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {}
            _ = watch.tick() => {
                if !endpoint_process::host_address_present() {
                    ctx.printer.note("the credential network is gone; stopping");
                    break;
                }
            }
            changed = updates.changed() => {
                if changed.is_err() {
                    break;
                }
                let status = updates.borrow_and_update().clone();
                match &status.error {
                    Some(error) => ctx.printer.warn(format!("{}: {}", error.code, error.message)),
                    None => ctx.printer.status(
                        "Refreshed",
                        format!(
                            "key {} until {}",
                            status.access_key_id_masked.as_deref().unwrap_or("?"),
                            status.expires.map(aws::rfc3339).unwrap_or_default()
                        ),
                    ),
                }
            }
        }
    }
    ctx.printer.status("Stopped", "the AWS credential endpoint");
    Ok(ExitStatus::Success)
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

/// The host-side options for the project's settings; `DEVBOOT_AWS_STS_ENDPOINT` sends STS
/// calls to an emulator (as `aws status --endpoint-url` does).
fn host_options(ctx: &Context<'_>, settings: &crate::model::Aws) -> HostOptions {
    let mut options = HostOptions::from_stack(settings);
    options.endpoint_url = ctx.env.var("DEVBOOT_AWS_STS_ENDPOINT").map(str::to_owned);
    options
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
            let reusable = running_app_env.as_deref().and_then(|env| {
                container_env::reusable_env_credentials(env, now, Duration::from_secs(15 * 60))
            });
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
