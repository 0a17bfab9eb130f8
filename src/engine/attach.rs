//! Running a command for the user in a container, with their terminal or pipes attached: in a
//! running container (`exec`, and the shortcuts built on it) or in a one-off container that is
//! removed afterwards (`run`). With a terminal the command gets a TTY of the terminal's size,
//! kept in step when the terminal is resized; without one, stdin is piped in (its end closes
//! the command's stdin) and stdout and stderr come back separately. Returns the command's exit
//! code. The command is an argv: nothing here goes through a shell.

use std::pin::Pin;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::EndpointSettings;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, RemoveContainerOptionsBuilder, ResizeContainerTTYOptionsBuilder,
};
use futures_util::{Stream, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use super::observe::engine_error;
use super::spec::ContainerSpec;
use crate::error::Error;

/// A terminal's size in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtySize {
    pub rows: u16,
    pub columns: u16,
}

/// Which of the user's streams a piece of output belongs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Stdout,
    Stderr,
}

/// The user's side of the command: where its input comes from and its output goes.
pub struct Stdio<'a> {
    /// `Some` gives the command a TTY of this size (the user's terminal, in raw mode);
    /// `None` pipes stdin, stdout and stderr.
    pub tty: Option<TtySize>,
    pub stdin: Pin<Box<dyn AsyncRead + Send>>,
    /// The terminal's new size each time it changes.
    pub resizes: Pin<Box<dyn Stream<Item = TtySize> + Send>>,
    pub write: &'a dyn Fn(Channel, &[u8]),
}

/// Runs `argv` in the running container `container` (with `env` added, `NAME=value`) and
/// returns its exit code.
pub async fn exec(
    docker: &Docker,
    container: &str,
    argv: &[String],
    env: Vec<String>,
    stdio: Stdio<'_>,
) -> Result<i64, Error> {
    let action = "running the command in the container";
    let tty = stdio.tty.is_some();
    let created = docker
        .create_exec(
            container,
            CreateExecOptions::<String> {
                cmd: Some(argv.to_vec()),
                env: Some(env),
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(tty),
                ..CreateExecOptions::default()
            },
        )
        .await
        .map_err(|e| engine_error(action, &e))?;
    let started = docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                tty,
                output_capacity: None,
            }),
        )
        .await
        .map_err(|e| engine_error(action, &e))?;
    let StartExecResults::Attached { output, input } = started else {
        return Err(Error::Internal(
            "the engine detached an attached exec".into(),
        ));
    };
    let exec_id = created.id.as_str();
    let resize = |size: TtySize| async move {
        let options = ResizeExecOptions {
            height: size.rows,
            width: size.columns,
        };
        // A resize can race the process's start or end; the next one catches up.
        let _ = docker.resize_exec(exec_id, options).await;
    };
    pump(output, input, stdio, resize).await?;
    let inspected = docker
        .inspect_exec(&created.id)
        .await
        .map_err(|e| engine_error("reading the command's exit code", &e))?;
    Ok(inspected.exit_code.unwrap_or(-1))
}

/// Gives a one-off container what the service's running container has beyond the profile:
/// its environment and its networks (the app's AWS wiring is decided at `up`).
pub async fn like_running(docker: &Docker, spec: &mut ContainerSpec, running: &str) {
    let Ok(inspected) = docker
        .inspect_container(
            running,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    else {
        return;
    };
    if let Some(env) = inspected.config.and_then(|c| c.env) {
        spec.body.env = Some(env);
    }
    let own = spec
        .body
        .host_config
        .as_ref()
        .and_then(|h| h.network_mode.clone());
    let networks = inspected
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default();
    spec.extra_networks = networks
        .into_keys()
        .filter(|name| Some(name) != own.as_ref())
        .map(|name| (name, EndpointSettings::default()))
        .collect();
}

/// Creates the one-off container `spec` describes, runs it attached to `stdio`, removes it,
/// and returns its exit code. `created` is told the container's ID as soon as it exists, so
/// a caller that is interrupted can still remove it ([`discard`]).
pub async fn run_once(
    docker: &Docker,
    mut spec: ContainerSpec,
    stdio: Stdio<'_>,
    created: impl FnOnce(&str),
) -> Result<i64, Error> {
    let body = &mut spec.body;
    body.tty = Some(stdio.tty.is_some());
    body.open_stdin = Some(true);
    body.stdin_once = Some(true);
    body.attach_stdin = Some(true);
    body.attach_stdout = Some(true);
    body.attach_stderr = Some(true);
    let id = super::containers::create(docker, &spec).await?;
    created(&id);
    let result = attach_and_wait(docker, &id, stdio).await;
    discard(docker, &id).await?;
    result
}

async fn attach_and_wait(docker: &Docker, id: &str, stdio: Stdio<'_>) -> Result<i64, Error> {
    let attach = AttachContainerOptionsBuilder::default()
        .stream(true)
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .build();
    // Attached before it starts, so no output is missed.
    let attached = docker
        .attach_container(id, Some(attach))
        .await
        .map_err(|e| engine_error("attaching to the container", &e))?;
    docker
        .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(|e| engine_error("starting the container", &e))?;
    let resize = |size: TtySize| async move {
        let options = ResizeContainerTTYOptionsBuilder::default()
            .h(i32::from(size.rows))
            .w(i32::from(size.columns))
            .build();
        let _ = docker.resize_container_tty(id, options).await;
    };
    pump(attached.output, attached.input, stdio, resize).await?;
    let mut wait =
        docker.wait_container(id, None::<bollard::query_parameters::WaitContainerOptions>);
    match wait.next().await {
        Some(Ok(response)) => Ok(response.status_code),
        // bollard reports a non-zero exit as an error carrying the code.
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(error)) => Err(engine_error("waiting for the container", &error)),
        None => Ok(-1),
    }
}

/// Removes a one-off container at once, running or not.
pub async fn discard(docker: &Docker, id: &str) -> Result<(), Error> {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match docker.remove_container(id, Some(options)).await {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404 | 409,
            ..
        }) => Ok(()),
        Err(error) => Err(engine_error("removing the one-off container", &error)),
    }
}

/// Copies the user's stdin in and the command's output out until the command's output ends;
/// follows the terminal's size. The end of stdin closes the command's stdin.
async fn pump<F: Future<Output = ()>>(
    mut output: Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>,
    mut input: Pin<Box<dyn AsyncWrite + Send>>,
    stdio: Stdio<'_>,
    resize: impl Fn(TtySize) -> F,
) -> Result<(), Error> {
    let Stdio {
        tty,
        mut stdin,
        mut resizes,
        write,
    } = stdio;
    if let Some(size) = tty {
        resize(size).await;
    }
    let copy_in = async {
        let _ = tokio::io::copy(&mut stdin, &mut input).await;
        let _ = input.shutdown().await;
    };
    tokio::pin!(copy_in);
    let mut copying = true;
    loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                None => return Ok(()),
                Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                    write(Channel::Stdout, &message);
                }
                Some(Ok(LogOutput::StdErr { message })) => write(Channel::Stderr, &message),
                Some(Ok(LogOutput::StdIn { .. })) => {}
                Some(Err(error)) => return Err(engine_error("reading the command's output", &error)),
            },
            () = &mut copy_in, if copying => copying = false,
            Some(size) = resizes.next() => resize(size).await,
        }
    }
}
