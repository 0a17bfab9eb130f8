//! `devboot aws status`: who the project's AWS credentials belong to, where they come from and
//! when they expire — resolved on this machine, never printing a secret. And `devboot aws
//! serve`, the credential endpoint `up` starts in the background (see [`super::app_aws`] for
//! how `up` and `down` wire AWS into the app).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::Context;
use crate::aws::endpoint_process::{self, EndpointFiles, Handshake, Running};
use crate::aws::route::{self, RouteChoice};
use crate::aws::server::{self, ServerHandle, ServerOptions};
use crate::aws::{self, HostAws, HostOptions, container_env};
use crate::cli::AwsCommand;
use crate::engine::credential_relay;
use crate::error::{Error, ExitStatus};
use crate::model::{AwsMode, Stack};
use crate::project::Project;

#[derive(Serialize)]
struct Status {
    profile: String,
    /// Who chose the profile: the profile layer that names it (`devboot.toml`,
    /// `devboot.local.toml`, a base profile), else `AWS_PROFILE` or `default`.
    profile_from: String,
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
    /// Server mode: how the relay reaches the endpoint (`route`: `link-local` or
    /// `host-gateway`) and why; `null` outside server mode or when the engine does not answer.
    relay_route: Option<RouteChoice>,
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
            address: running.socket().to_string(),
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
        AwsCommand::Serve { address } => serve(
            ctx,
            address.unwrap_or_else(|| aws::ENDPOINT_HOST_ADDRESS.into()),
        ),
    }
}

/// With `--json`, a failure is still one JSON document on stdout (`{"error": …, "hint": …}`),
/// besides the message on stderr.
fn status(
    json: bool,
    endpoint_url: Option<&String>,
    ctx: &Context<'_>,
) -> Result<ExitStatus, Error> {
    let result = status_report(json, endpoint_url, ctx);
    if json && let Err(error) = &result {
        ctx.printer.json(&serde_json::json!({
            "error": error.to_string(),
            "hint": error.hint(),
        }))?;
    }
    result
}

fn status_report(
    json: bool,
    endpoint_url: Option<&String>,
    ctx: &Context<'_>,
) -> Result<ExitStatus, Error> {
    // Outside a project the developer's default AWS setup is shown.
    let project = Project::discover(&ctx.start_dir(), ctx.env, None).ok();
    let profile_from = match project.as_ref().and_then(Project::aws_profile_layer) {
        Some(layer) => layer.display.clone(),
        None if ctx.env.var("AWS_PROFILE").is_some() => "AWS_PROFILE".to_owned(),
        None => "default".to_owned(),
    };
    let stack = project.map(|p| p.stack);
    let settings = stack.as_ref().and_then(|s| s.aws.clone());
    let endpoint = stack
        .as_ref()
        .and_then(|stack| EndpointStatus::of(ctx, stack));
    let mut options = settings
        .as_ref()
        .map(|settings| HostOptions::for_project(settings, ctx.env))
        .unwrap_or_default();
    options.endpoint_url = endpoint_url.cloned();
    let host = HostAws::load(ctx.env, &options)?;
    if let Some(login) = host.sso_state(SystemTime::now()).login_command() {
        return Err(Error::Usage {
            message: "the AWS SSO login of this profile has expired or is missing".into(),
            hint: Some(format!("run `{login}`, then try again")),
        });
    }
    let serves = settings.as_ref().filter(|s| s.mode == AwsMode::Server);
    let (identity, relay_route) = super::block_on_interruptible(async {
        let route = async {
            let setting = serves?.relay_route;
            let connection = crate::engine::connect::connect(ctx.env).await.ok()?;
            credential_relay::route(&connection.docker, setting)
                .await
                .ok()
        };
        let (identity, route) = tokio::join!(host.identity(), route);
        Ok((identity?, route))
    })?;
    let status = Status {
        profile: identity.profile.clone(),
        profile_from,
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
        relay_route,
    };
    let wrong_account = status
        .expected_account
        .as_ref()
        .is_some_and(|expected| *expected != status.account);
    if json {
        ctx.printer.json(&status)?;
    } else {
        let mut out = format!(
            "profile  {} (chosen by {})\nregion   {}\naccount  {}\narn      {}\nsource   {}\nkey id   {}\nexpires  {}\n",
            status.profile,
            status.profile_from,
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
        if let Some(choice) = &status.relay_route {
            out.push_str(&format!(
                "route    {} ({})\n",
                choice.route.name(),
                choice.reason
            ));
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

/// `devboot aws serve`: the project's credential endpoint, until SIGTERM (from `devboot down`)
/// or Ctrl-C. Speaks the start-up handshake of [`endpoint_process`] on stdout, then reports
/// refreshes and errors on stderr (the endpoint log when `up` started it). Listens on
/// `address`, serving only the peers the relay's connections arrive from there.
fn serve(ctx: &Context<'_>, address: IpAddr) -> Result<ExitStatus, Error> {
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
    let host = HostAws::load(ctx.env, &HostOptions::for_project(settings, ctx.env))?;
    super::runtime()?.block_on(async {
        let server_options = ServerOptions {
            // Ruby's aws-sdk-core before 3.171 (Debian's is 3.168) sends no token; the path
            // carries as many random bits.
            allow_missing_token: true,
            // Only the relay connects: `up` probes through it, and the app container's SDK
            // reaches the endpoint through it. Off loopback, any other container on the
            // credential network, and anything on the host, is turned away; on loopback (a VM
            // engine's route) local processes may connect but still need the path and token.
            allowed_peers: Some(route::allowed_peers(address)),
            ..ServerOptions::default()
        };
        let start = |port: u16| {
            server::start_with(
                SocketAddr::from((address, port)),
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
                    address,
                    port,
                    fingerprint: endpoint_process::fingerprint(ctx.env, stack, address),
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
        // On loopback (a VM engine) the credential network's gateway is in the VM, not here:
        // nothing on this host tells that the network is gone.
        let watch_network = !address.is_loopback();
        let result = serve_until_stopped(&handle, ctx, watch_network).await;
        files.clear_running(std::process::id());
        handle.shutdown().await;
        result
    })
}

/// How often the endpoint checks that its network still exists.
const NETWORK_WATCH: Duration = Duration::from_secs(30);

/// Reports each refresh until SIGTERM or SIGINT; SIGHUP (a closed terminal) is ignored. With
/// `watch_network`, also stops once the credential network has gone from this host.
async fn serve_until_stopped(
    handle: &ServerHandle,
    ctx: &Context<'_>,
    watch_network: bool,
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
                if watch_network && !endpoint_process::host_address_present() {
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
