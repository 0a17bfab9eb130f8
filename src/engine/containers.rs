//! Container lifecycle on the engine: the project network and volumes, creating, recreating
//! and starting containers, waiting until each is ready (engine events plus fast readiness
//! probes, never fixed sleeps), explaining a container that failed, running commands in a
//! container with streamed output, and reading logs.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{NetworkConnectRequest, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, EventsOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::{Stream, StreamExt as _};
use tokio::time::Instant;

use super::observe::engine_error;
use super::progress::{Event, Reporter};
use super::spec::{
    ContainerSpec, LABEL_PROJECT, network_labels, network_name, volume_labels, volume_name,
};
use crate::error::Error;
use crate::model::{Service, Stack};

/// Log lines shown under a failed service.
const FAILURE_LOG_LINES: usize = 30;
/// Pause between two readiness probes; each probe is itself a round trip to the engine.
const PROBE_PAUSE: Duration = Duration::from_millis(20);
/// How long a container whose setup command was killed may take to be reported stopped.
const DYING_GRACE: Duration = Duration::from_secs(5);
/// Pause between two state reads once the engine's event stream is gone.
const STATE_POLL: Duration = Duration::from_millis(250);

pub async fn ensure_network(docker: &Docker, project: &str, exists: bool) -> Result<(), Error> {
    if exists {
        return Ok(());
    }
    let request = NetworkCreateRequest {
        name: network_name(project),
        driver: Some("bridge".to_owned()),
        labels: Some(network_labels(project)),
        ..NetworkCreateRequest::default()
    };
    create_network(docker, request)
        .await
        .map_err(|e| engine_error("creating the project network", &e))
}

/// Creates a network; one created meanwhile by a concurrent run (409) is what was wanted.
/// Engines before API 1.44 do not refuse a second network of the same name: when a create
/// raced with another (or with one a cancelled run left in flight), every racer keeps the
/// one with the smallest ID (they all agree on it) and removes its own.
pub async fn create_network(
    docker: &Docker,
    request: NetworkCreateRequest,
) -> Result<(), bollard::errors::Error> {
    let name = request.name.clone();
    let created = match docker.create_network(request).await {
        Ok(created) => created.id,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => return Ok(()),
        Err(error) => return Err(error),
    };
    let same_name = networks_named(docker, &name).await?;
    let kept = same_name.iter().filter_map(|n| n.id.as_deref()).min();
    if kept.is_some_and(|kept| kept != created) {
        docker.remove_network(&created).await?;
    }
    Ok(())
}

/// The networks whose name is exactly `name` (the engine's filter matches substrings).
async fn networks_named(
    docker: &Docker,
    name: &str,
) -> Result<Vec<bollard::models::Network>, bollard::errors::Error> {
    let options = bollard::query_parameters::ListNetworksOptionsBuilder::default()
        .filters(&HashMap::from([("name", vec![name])]))
        .build();
    let networks = docker.list_networks(Some(options)).await?;
    Ok(networks
        .into_iter()
        .filter(|n| n.name.as_deref() == Some(name))
        .collect())
}

/// Removes every network named `name` and says whether there was one. Engines before API 1.44
/// accept two networks of one name (then neither can be removed by name), so each goes by ID.
pub async fn remove_networks(docker: &Docker, name: &str) -> Result<bool, bollard::errors::Error> {
    let ids: Vec<String> = networks_named(docker, name)
        .await?
        .into_iter()
        .filter_map(|n| n.id)
        .collect();
    for id in &ids {
        match docker.remove_network(id).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(!ids.is_empty())
}

/// The volumes carrying `label` (`key` or `key=value`).
pub async fn volumes_labelled(
    docker: &Docker,
    label: &str,
) -> Result<Vec<bollard::models::Volume>, Error> {
    let options = bollard::query_parameters::ListVolumesOptionsBuilder::default()
        .filters(&HashMap::from([("label", vec![label])]))
        .build();
    Ok(docker
        .list_volumes(Some(options))
        .await
        .map_err(|e| engine_error("listing volumes", &e))?
        .volumes
        .unwrap_or_default())
}

/// Creates the project's named volume `volume`, labelled with the checkout that owns it.
pub async fn ensure_volume(docker: &Docker, stack: &Stack, volume: &str) -> Result<(), Error> {
    let project = &stack.project;
    let request = VolumeCreateRequest {
        name: Some(volume_name(project, volume)),
        labels: Some(volume_labels(project, volume, &stack.root)),
        ..VolumeCreateRequest::default()
    };
    docker
        .create_volume(request)
        .await
        .map(drop)
        .map_err(|e| engine_error(&format!("creating volume `{volume}`"), &e))
}

/// Stops a container (one already stopped or gone is fine).
pub async fn stop(docker: &Docker, id_or_name: &str) -> Result<(), Error> {
    let stop = StopContainerOptionsBuilder::default().t(10).build();
    match docker.stop_container(id_or_name, Some(stop)).await {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304 | 404,
            ..
        }) => Ok(()),
        Err(error) => Err(engine_error("stopping a container", &error)),
    }
}

/// Stops and removes a container; its volumes stay.
pub async fn remove(docker: &Docker, id_or_name: &str) -> Result<(), Error> {
    stop(docker, id_or_name).await?;
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(false)
        .build();
    match docker.remove_container(id_or_name, Some(options)).await {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(error) => Err(engine_error("removing a container", &error)),
    }
}

/// Creates the container described by `spec` and returns its ID. A container already holding
/// the name (left by an interrupted run whose request the engine finished anyway) is replaced
/// when it belongs to this project; anyone else's is reported.
pub async fn create(docker: &Docker, spec: &ContainerSpec) -> Result<String, Error> {
    let id = create_named(docker, spec).await?;
    for (network, settings) in &spec.extra_networks {
        let request = NetworkConnectRequest {
            container: id.clone(),
            endpoint_config: Some(settings.clone()),
        };
        docker
            .connect_network(network, request)
            .await
            .map_err(|e| {
                engine_error(
                    &format!("connecting `{}` to network `{network}`", spec.name),
                    &e,
                )
            })?;
    }
    Ok(id)
}

async fn create_named(docker: &Docker, spec: &ContainerSpec) -> Result<String, Error> {
    let options = CreateContainerOptionsBuilder::default()
        .name(&spec.name)
        .build();
    match docker
        .create_container(Some(options.clone()), spec.body.clone())
        .await
    {
        Ok(created) => return Ok(created.id),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => {}
        Err(error) => {
            return Err(engine_error(
                &format!("creating container `{}`", spec.name),
                &error,
            ));
        }
    }
    let existing = docker
        .inspect_container(
            &spec.name,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .map_err(|e| engine_error(&format!("inspecting container `{}`", spec.name), &e))?;
    let project = |labels: Option<&HashMap<String, String>>| {
        labels.and_then(|l| l.get(LABEL_PROJECT)).cloned()
    };
    let ours = project(existing.config.as_ref().and_then(|c| c.labels.as_ref()));
    if ours.is_none() || ours != project(spec.body.labels.as_ref()) {
        return Err(Error::Engine {
            action: format!("creating container `{}`", spec.name),
            message: "a container devboot did not create already has this name".into(),
            hint: Some(format!(
                "remove it (`docker rm -f {}`) or rename the project in devboot.local.toml",
                spec.name
            )),
        });
    }
    remove(docker, &spec.name).await?;
    docker
        .create_container(Some(options), spec.body.clone())
        .await
        .map(|created| created.id)
        .map_err(|e| engine_error(&format!("creating container `{}`", spec.name), &e))
}

/// What "ready" means for a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// The container is running.
    Running,
    /// Its healthcheck passes.
    Healthy,
    /// It ran to completion with exit code 0.
    Completed,
}

/// Starts a container and waits until it reaches `until`, or fails with its state and logs.
/// `on_started` is called once the engine has started it; `on_ready` as soon as it is ready
/// (devboot's own probe may tell before the engine's healthcheck does). Returns when the engine
/// agrees.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
pub async fn start_and_wait(
    docker: &Docker,
    service: &Service,
    id: &str,
    until: Readiness,
    timeout: Duration,
    reporter: &dyn Reporter,
    on_started: impl FnOnce(),
    on_ready: impl FnOnce(),
) -> Result<(), Error> {
    // Subscribe before starting, so no event is missed.
    let mut events = container_events(docker, id);
    match docker
        .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
        .await
    {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => {}
        Err(error) => {
            return Err(engine_error(
                &format!("starting `{}`", service.name),
                &error,
            ));
        }
    }
    on_started();
    if until == Readiness::Healthy {
        reporter.report(Event::Service {
            service: &service.name,
            phase: super::progress::Phase::WaitingHealthy,
        });
    }
    wait(docker, service, id, until, timeout, &mut events, on_ready).await
}

/// Restarts a running container (the same container: its ID stays, its processes start
/// afresh) and waits until it reaches `until` again, or fails with its state and logs.
pub async fn restart_and_wait(
    docker: &Docker,
    service: &Service,
    id: &str,
    until: Readiness,
    timeout: Duration,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let mut events = container_events(docker, id);
    reporter.report(Event::Service {
        service: &service.name,
        phase: super::progress::Phase::Restarting,
    });
    let options = RestartContainerOptionsBuilder::default().t(10).build();
    docker
        .restart_container(id, Some(options))
        .await
        .map_err(|e| engine_error(&format!("restarting `{}`", service.name), &e))?;
    if until == Readiness::Healthy {
        // The engine resets the health status when the container starts again.
        reporter.report(Event::Service {
            service: &service.name,
            phase: super::progress::Phase::WaitingHealthy,
        });
    }
    wait(docker, service, id, until, timeout, &mut events, || {
        reporter.report(Event::Service {
            service: &service.name,
            phase: super::progress::Phase::Ready,
        });
    })
    .await
}

/// The engine's events about one container, from now on.
fn container_events(
    docker: &Docker,
    id: &str,
) -> impl Stream<Item = Result<bollard::models::EventMessage, bollard::errors::Error>> + Unpin {
    let filters = HashMap::from([("container", vec![id]), ("type", vec!["container"])]);
    docker.events(Some(
        EventsOptionsBuilder::default().filters(&filters).build(),
    ))
}

async fn wait(
    docker: &Docker,
    service: &Service,
    id: &str,
    until: Readiness,
    timeout: Duration,
    events: &mut (
             impl Stream<Item = Result<bollard::models::EventMessage, bollard::errors::Error>> + Unpin
         ),
    on_ready: impl FnOnce(),
) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    let mut on_ready = Some(on_ready);
    let mut ready = |outcome: Result<(), Error>| {
        if outcome.is_ok()
            && let Some(on_ready) = on_ready.take()
        {
            on_ready();
        }
        outcome
    };
    // The state may have moved before the subscription took effect: look once.
    if let Some(outcome) = check_state(docker, service, id, until).await? {
        return ready(outcome);
    }
    let mut probe = match until {
        Readiness::Healthy => service
            .healthcheck
            .as_ref()
            .map(crate::model::Healthcheck::command),
        _ => None,
    };
    let mut next_probe = Instant::now();
    let mut listening: Option<SocketAddr> = None;
    // Once the event stream ends or fails (the engine restarted, a proxy dropped it), the state
    // is polled instead: an ended stream must never be read in a loop.
    let mut streaming = true;
    let mut next_poll = Instant::now();
    loop {
        tokio::select! {
            event = events.next(), if streaming => {
                let Some(Ok(event)) = event else {
                    streaming = false;
                    // The engine may be gone: this request says so, as an error.
                    if let Some(outcome) = check_state(docker, service, id, until).await? {
                        return ready(outcome);
                    }
                    continue;
                };
                let action = event.action.unwrap_or_default();
                let relevant = action.starts_with("health_status")
                    || matches!(action.as_str(), "die" | "oom" | "start" | "kill");
                if relevant && let Some(outcome) = check_state(docker, service, id, until).await? {
                    return ready(outcome);
                }
            }
            () = tokio::time::sleep_until(next_poll), if !streaming => {
                if let Some(outcome) = check_state(docker, service, id, until).await? {
                    return ready(outcome);
                }
                next_poll = Instant::now() + STATE_POLL;
            }
            () = tokio::time::sleep_until(next_probe), if probe.is_some() => {
                // A port that refuses connections means not ready: knowing that costs a
                // connect, where the healthcheck costs a process in the container (for Rails,
                // a Ruby start-up). Where the container's address cannot be reached from here
                // (Docker Desktop), the healthcheck decides alone.
                if listening.is_none() {
                    listening = container_port(docker, service, id).await;
                }
                if port_accepts(listening).await != Some(false) {
                    let argv = probe.clone().unwrap_or_default();
                    if matches!(exec_quiet(docker, id, &argv).await, Ok(0)) {
                        // Ready: dependents may start now. The engine's own verdict follows at
                        // its next healthcheck, and `status` reports that one, so keep waiting.
                        let _ = ready(Ok(()));
                        probe = None;
                        if run_podman_healthcheck(docker, id).await
                            && let Some(outcome) = check_state(docker, service, id, until).await?
                        {
                            return ready(outcome);
                        }
                    }
                }
                next_probe = Instant::now() + PROBE_PAUSE;
            }
            () = tokio::time::sleep_until(deadline) => {
                return Err(failure(docker, service, id, &format!(
                    "was not {} after {}s", readiness_word(until), timeout.as_secs()
                )).await);
            }
        }
    }
}

/// Asks Podman to run the container's healthcheck now (`podman healthcheck run`, libpod API),
/// recording its verdict as the engine's. Podman schedules healthchecks with systemd timers:
/// without systemd (containers, CI machines, WSL) they never run and the health stays
/// `starting`. `true` when the engine ran it; Docker refuses the libpod path (and runs its own
/// healthchecks), so nothing happens there.
async fn run_podman_healthcheck(docker: &Docker, id: &str) -> bool {
    let path = format!("/v4.0.0/libpod/containers/{id}/healthcheck");
    // bollard has no call for it: the request of a container inspect, sent to that path (its
    // answer, `{"Status": …}`, reads as an inspect result of empty fields).
    let podman = docker.clone().with_request_modifier(move |mut request| {
        let uri = request.uri();
        let target = format!(
            "{}://{}{path}",
            uri.scheme_str().unwrap_or("http"),
            uri.authority().map_or("", |a| a.as_str())
        );
        if let Ok(target) = target.parse() {
            *request.uri_mut() = target;
        }
        request
    });
    podman
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .is_ok()
}

/// The container's address on its network and the first port the service publishes.
async fn container_port(docker: &Docker, service: &Service, id: &str) -> Option<SocketAddr> {
    let port = service.ports.first()?.container;
    let inspected = docker
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .ok()?;
    let networks = inspected.network_settings?.networks?;
    let ip = networks
        .values()
        .find_map(|n| n.ip_address.as_deref()?.parse::<IpAddr>().ok())?;
    Some(SocketAddr::new(ip, port))
}

/// `Some(true)` when `address` accepts a connection, `Some(false)` when it is refused (nothing
/// listens yet), `None` when it cannot be told (no address, unreachable, no answer in time).
async fn port_accepts(address: Option<SocketAddr>) -> Option<bool> {
    let connect = tokio::net::TcpStream::connect(address?);
    match tokio::time::timeout(Duration::from_millis(50), connect).await {
        Ok(Ok(_)) => Some(true),
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => Some(false),
        _ => None,
    }
}

fn readiness_word(until: Readiness) -> &'static str {
    match until {
        Readiness::Running => "running",
        Readiness::Healthy => "healthy",
        Readiness::Completed => "finished",
    }
}

/// A container's inspect. Podman reports a container on its way down as `stopped`, a state the
/// Docker API does not have (bollard cannot read it); moments later it is `exited`: ask again.
async fn inspect_settled(
    docker: &Docker,
    id: &str,
) -> Result<bollard::models::ContainerInspectResponse, bollard::errors::Error> {
    let deadline = Instant::now() + DYING_GRACE;
    loop {
        let inspected = Box::pin(docker.inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        ))
        .await;
        match inspected {
            Err(bollard::errors::Error::JsonDataError { message, .. })
                if message.contains("`stopped`") && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

/// `Some(Ok)` when ready, `Some(Err)` when it can no longer become ready, `None` to keep waiting.
async fn check_state(
    docker: &Docker,
    service: &Service,
    id: &str,
    until: Readiness,
) -> Result<Option<Result<(), Error>>, Error> {
    let inspected = Box::pin(inspect_settled(docker, id))
        .await
        .map_err(|e| engine_error(&format!("inspecting `{}`", service.name), &e))?;
    let state = inspected.state.unwrap_or_default();
    let running = state.running.unwrap_or(false);
    let exit_code = state.exit_code.unwrap_or(0);
    let health = state
        .health
        .and_then(|h| h.status)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let exited = !running
        && state
            .started_at
            .as_deref()
            .is_some_and(|s| !s.starts_with("0001"));
    let exit = if state.oom_killed.unwrap_or(false) {
        format!("exited with code {exit_code} (killed: out of memory)")
    } else {
        format!("exited with code {exit_code}")
    };
    // A stopped container is reported by its exit, whatever its last health status said.
    Ok(match until {
        Readiness::Running if running => Some(Ok(())),
        Readiness::Healthy if running && health == "healthy" => Some(Ok(())),
        Readiness::Completed if exited && exit_code == 0 => Some(Ok(())),
        _ if exited => Some(Err(failure(docker, service, id, &exit).await)),
        Readiness::Healthy if health == "unhealthy" => {
            Some(Err(failure(docker, service, id, "is unhealthy").await))
        }
        _ => None,
    })
}

/// What to report when a setup command failed in the app container: the container's own
/// failure when it has stopped (the cause worth reporting), else the command's. A command
/// killed (exit code 137) may have gone down with its container, and one that could not start
/// may have met a container on its way down (Podman refuses the exec while it still inspects as
/// running): the engine is given [`DYING_GRACE`] to say that it stopped.
pub async fn setup_failure(
    docker: &Docker,
    service: &Service,
    id: &str,
    mut error: Error,
) -> Error {
    if let Error::Setup { crash, output, .. } = &mut error {
        *crash = crate::crash::find(output, service.working_dir.as_deref());
    }
    if !matches!(error, Error::Setup { code, .. } if code != 137) {
        let mut wait =
            docker.wait_container(id, None::<bollard::query_parameters::WaitContainerOptions>);
        let _ = tokio::time::timeout(DYING_GRACE, wait.next()).await;
    }
    match check_state(docker, service, id, Readiness::Running).await {
        Ok(Some(Err(stopped))) => stopped,
        _ => error,
    }
}

/// An error for a failed service, with the exception its log shows and the last lines of it.
async fn failure(docker: &Docker, service: &Service, id: &str, what: &str) -> Error {
    let mut logs = tail_logs(docker, id, crate::crash::LOG_LINES)
        .await
        .unwrap_or_default();
    let crash = crate::crash::find(&logs, service.working_dir.as_deref());
    logs.drain(..logs.len().saturating_sub(FAILURE_LOG_LINES));
    Error::Service {
        service: service.name.clone(),
        what: what.to_owned(),
        crash,
        logs,
    }
}

/// The last `lines` lines of a container's output.
pub async fn tail_logs(docker: &Docker, id: &str, lines: usize) -> Result<Vec<String>, Error> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = docker.logs(id, Some(options));
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| engine_error("reading logs", &e))?;
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    Ok(text.lines().map(str::to_owned).collect())
}

/// Runs `argv` in a container, discarding output; returns the exit code.
pub async fn exec_quiet(docker: &Docker, id: &str, argv: &[String]) -> Result<i64, Error> {
    exec(docker, id, argv, |_| {}).await
}

/// Runs `argv` in a container, passing each output line to `on_line`; returns the exit code.
pub async fn exec(
    docker: &Docker,
    id: &str,
    argv: &[String],
    mut on_line: impl FnMut(&str),
) -> Result<i64, Error> {
    let created = docker
        .create_exec(
            id,
            CreateExecOptions::<String> {
                cmd: Some(argv.to_vec()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..CreateExecOptions::default()
            },
        )
        .await
        .map_err(|e| engine_error("running a command in a container", &e))?;
    let started = docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                ..StartExecOptions::default()
            }),
        )
        .await
        .map_err(|e| engine_error("running a command in a container", &e))?;
    if let StartExecResults::Attached { mut output, .. } = started {
        let mut pending = String::new();
        while let Some(chunk) = output.next().await {
            let Ok(chunk) = chunk else { break };
            pending.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            while let Some(newline) = pending.find('\n') {
                on_line(pending[..newline].trim_end_matches('\r'));
                pending.drain(..=newline);
            }
        }
        if !pending.is_empty() {
            on_line(&pending);
        }
    }
    let inspected = docker
        .inspect_exec(&created.id)
        .await
        .map_err(|e| engine_error("reading a command's exit code", &e))?;
    Ok(inspected.exit_code.unwrap_or(-1))
}

/// Runs a setup command (a shell string) in the app container, streaming its output.
pub async fn run_setup(
    docker: &Docker,
    id: &str,
    command: &str,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    reporter.report(Event::SetupStarted { command });
    let mut tail: Vec<String> = Vec::new();
    let argv = vec!["sh".to_owned(), "-c".to_owned(), command.to_owned()];
    let code = exec(docker, id, &argv, |line| {
        reporter.report(Event::SetupOutput { line });
        tail.push(line.to_owned());
        if tail.len() > FAILURE_LOG_LINES {
            tail.remove(0);
        }
    })
    .await?;
    if code != 0 {
        return Err(Error::Setup {
            command: command.to_owned(),
            code,
            crash: None,
            output: tail,
        });
    }
    reporter.report(Event::SetupDone { command });
    Ok(())
}

/// Runs `argv` in a container with `input` streamed to its standard input (closed at the end;
/// `on_read` is told the bytes sent so far) and its standard output written to `output`.
/// Returns the exit code and the last lines of its standard error. A command that stops
/// reading early (it failed) ends the streaming; its exit code says why.
pub async fn exec_piped(
    docker: &Docker,
    id: &str,
    argv: &[String],
    input: Option<&mut (dyn tokio::io::AsyncRead + Unpin + Send)>,
    output: Option<&mut (dyn tokio::io::AsyncWrite + Unpin + Send)>,
    on_read: &(dyn Fn(u64) + Sync),
) -> Result<(i64, Vec<String>), Error> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let action = "running a command in a container";
    let created = docker
        .create_exec(
            id,
            CreateExecOptions::<String> {
                cmd: Some(argv.to_vec()),
                attach_stdin: Some(input.is_some()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..CreateExecOptions::default()
            },
        )
        .await
        .map_err(|e| engine_error(action, &e))?;
    let started = docker
        .start_exec(&created.id, None::<StartExecOptions>)
        .await
        .map_err(|e| engine_error(action, &e))?;
    let StartExecResults::Attached {
        output: mut from_command,
        input: mut to_command,
    } = started
    else {
        return Err(Error::Internal(
            "an attached exec came back detached".into(),
        ));
    };
    let send = async {
        let Some(input) = input else { return Ok(()) };
        let mut buffer = vec![0; 256 * 1024];
        let mut sent = 0_u64;
        loop {
            let read = input
                .read(&mut buffer)
                .await
                .map_err(|e| Error::Internal(format!("reading the input: {e}")))?;
            if read == 0 {
                break;
            }
            if to_command.write_all(&buffer[..read]).await.is_err() {
                // The command stopped reading: its exit code tells.
                return Ok(());
            }
            sent += read as u64;
            on_read(sent);
        }
        let _ = to_command.shutdown().await;
        Ok::<_, Error>(())
    };
    let receive = async {
        let mut output = output;
        let mut errors: Vec<u8> = Vec::new();
        while let Some(chunk) = from_command.next().await {
            match chunk.map_err(|e| engine_error(action, &e))? {
                bollard::container::LogOutput::StdOut { message } => {
                    if let Some(output) = output.as_mut() {
                        output.write_all(&message).await.map_err(|e| {
                            Error::Internal(format!("writing the command's output: {e}"))
                        })?;
                    }
                }
                other => {
                    errors.extend_from_slice(&other.into_bytes());
                    errors.drain(..errors.len().saturating_sub(64 * 1024));
                }
            }
        }
        if let Some(output) = output.as_mut() {
            output
                .flush()
                .await
                .map_err(|e| Error::Internal(format!("writing the command's output: {e}")))?;
        }
        Ok::<_, Error>(errors)
    };
    let ((), errors) = futures_util::future::try_join(send, receive).await?;
    let inspected = docker
        .inspect_exec(&created.id)
        .await
        .map_err(|e| engine_error("reading a command's exit code", &e))?;
    let mut lines: Vec<String> = String::from_utf8_lossy(&errors)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.drain(..lines.len().saturating_sub(FAILURE_LOG_LINES));
    Ok((inspected.exit_code.unwrap_or(-1), lines))
}
