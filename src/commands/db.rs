//! `devboot db`: the stack's database. Snapshots of its data volume — taken, listed, restored
//! and removed — with the database stopped for the copy and started again afterwards, whatever
//! happened (a failure, Ctrl-C); and import and export of Postgres dumps, with a progress bar
//! on the bytes read; the guarded Postgres major upgrade (`upgrade.rs`).

mod upgrade;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use serde::Serialize;
use tokio::sync::watch;

use super::Context;
use crate::cli::DbCommand;
use crate::effective;
use crate::engine::containers::{self, Readiness};
use crate::engine::progress::Silent;
use crate::engine::snapshots::{self, Snapshot};
use crate::engine::{connect, converge, dumps, observe, postgres, spec};
use crate::error::{Error, ExitStatus};
use crate::model::units::format_bytes;
use crate::model::{Service, Stack};
use crate::plan::{Observed, ObservedContainer};
use crate::redact::Redactor;

pub(super) fn run(command: &DbCommand, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let declared = ctx.project()?;
    // Said before anything is asked; the stack's services are the same under any name.
    database_service(&declared.stack)?;
    if let DbCommand::Restore { name, latest } = command
        && !confirmed_restore(ctx, name.as_deref(), *latest)?
    {
        ctx.printer.note("Nothing restored.");
        return Ok(ExitStatus::Failure);
    }
    let _lock = declared.workspace.lock()?;
    let redactor = &Redactor::for_project(ctx.env, Some(&declared.profile));
    super::block_on_cancellable(|cancel| async move {
        let connection = connect::connect(ctx.env).await?;
        let docker = &connection.docker;
        // The name this checkout runs under: a second checkout has a database of its own.
        let effective::Claimed { project, .. } = effective::claim(docker, &declared).await?;
        let stack = &project.stack;
        let (service, volume) = database_service(stack)?;
        let target = Target {
            stack,
            service,
            volume,
        };
        match command {
            DbCommand::Snapshots { json } => list(docker, ctx, &target, *json).await,
            DbCommand::Snapshot { rm: Some(name), .. } => remove(docker, ctx, &target, name).await,
            DbCommand::Snapshot { name, rm: None } => {
                take(docker, ctx, &target, name.as_deref(), cancel).await
            }
            DbCommand::Restore { name, .. } => {
                restore(docker, ctx, &target, name.as_deref(), cancel).await
            }
            DbCommand::Import { file, database } => {
                import(docker, ctx, &target, file, database.as_deref(), cancel).await
            }
            DbCommand::Upgrade {
                from,
                finish: false,
            } => upgrade::upgrade(docker, ctx, &target, from.as_deref(), redactor, cancel).await,
            DbCommand::Upgrade { finish: true, .. } => upgrade::finish(docker, ctx, &target).await,
            DbCommand::Export { file, database } => {
                export(
                    docker,
                    ctx,
                    &target,
                    file.as_deref(),
                    database.as_deref(),
                    cancel,
                )
                .await
            }
        }
    })
    .map_err(|error| error.redacted(redactor))
}

/// The stack's database service and its data volume, or why `devboot db` cannot work on it.
fn database_service(stack: &Stack) -> Result<(&Service, &str), Error> {
    snapshots::database(stack).ok_or_else(|| Error::Usage {
        message: "the stack has no database service with its data in a named volume".into(),
        hint: Some(
            "`devboot db` works on a Postgres or MySQL service whose data directory is a named volume (`volumes = [\"db-data:/var/lib/postgresql/data\"]`)".into(),
        ),
    })
}

/// The database the command works on.
struct Target<'a> {
    stack: &'a Stack,
    service: &'a Service,
    /// Its data volume, as the profile names it (`db-data`).
    volume: &'a str,
}

impl Target<'_> {
    fn image(&self) -> String {
        self.service.image.to_string()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[derive(Serialize)]
struct Listed {
    name: String,
    volume: String,
    of: String,
    /// Seconds since the Unix epoch.
    created: u64,
    bytes: u64,
    /// `false` for a copy that was cut short (it cannot be restored).
    complete: bool,
}

async fn list(
    docker: &Docker,
    ctx: &Context<'_>,
    target: &Target<'_>,
    json: bool,
) -> Result<ExitStatus, Error> {
    let project = &target.stack.project;
    let found = snapshots::list(docker, project).await?;
    let measured = if found.is_empty() {
        Vec::new()
    } else {
        snapshots::measure(docker, project, &target.image(), &found).await?
    };
    let listed: Vec<Listed> = found
        .into_iter()
        .zip(measured)
        .map(|(s, m)| Listed {
            name: s.name,
            volume: s.volume,
            of: s.of,
            created: s.created,
            bytes: m.bytes,
            complete: m.complete,
        })
        .collect();
    if json {
        ctx.printer.json(&listed)?;
        return Ok(ExitStatus::Success);
    }
    if listed.is_empty() {
        ctx.printer.note(format!(
            "No snapshots of `{project}` yet; `devboot db snapshot NAME` takes one."
        ));
        return Ok(ExitStatus::Success);
    }
    let width = listed
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let now = now();
    let mut text = format!("{:<width$}  {:>10}  {:>8}  OF\n", "NAME", "SIZE", "AGE");
    for s in &listed {
        let size = if s.complete {
            format_bytes(s.bytes)
        } else {
            "incomplete".to_owned()
        };
        text.push_str(&format!(
            "{:<width$}  {size:>10}  {:>8}  {}\n",
            s.name,
            snapshots::age(now, s.created),
            s.of
        ));
    }
    ctx.printer.data(&text);
    Ok(ExitStatus::Success)
}

async fn remove(
    docker: &Docker,
    ctx: &Context<'_>,
    target: &Target<'_>,
    name: &str,
) -> Result<ExitStatus, Error> {
    let snapshot = find(docker, target, Some(name)).await?;
    snapshots::remove(docker, &snapshot.volume).await?;
    ctx.printer
        .status("Removed", format!("snapshot {name} ({})", snapshot.volume));
    Ok(ExitStatus::Success)
}

async fn take(
    docker: &Docker,
    ctx: &Context<'_>,
    target: &Target<'_>,
    name: Option<&str>,
    cancel: watch::Receiver<bool>,
) -> Result<ExitStatus, Error> {
    let created = now();
    let name = name.map_or_else(|| snapshots::default_name(created), str::to_owned);
    if !snapshots::valid_name(&name) {
        return Err(Error::Usage {
            message: format!("`{name}` cannot name a snapshot"),
            hint: Some("use letters, digits, `-`, `_` and `.`, starting with a letter or digit (at most 64)".into()),
        });
    }
    let existing = snapshots::list(docker, &target.stack.project).await?;
    if existing.iter().any(|s| s.name == name) {
        return Err(Error::Usage {
            message: format!("a snapshot named `{name}` exists already"),
            hint: Some(format!(
                "choose another name, or remove it first: `devboot db snapshot --rm {name}`"
            )),
        });
    }
    let started = Instant::now();
    let snapshot = with_database_stopped(docker, ctx, target, "snapshot", async {
        snapshots::take(
            docker,
            target.stack,
            &target.image(),
            target.volume,
            &name,
            created,
            None,
            cancel,
        )
        .await
    })
    .await?;
    ctx.printer.status(
        "Saved",
        format!(
            "snapshot {name} of {} in {:.1}s (`devboot db restore {name}` puts it back)",
            target.volume,
            started.elapsed().as_secs_f64()
        ),
    );
    ctx.printer.verbose(format!("volume {}", snapshot.volume));
    Ok(ExitStatus::Success)
}

async fn restore(
    docker: &Docker,
    ctx: &Context<'_>,
    target: &Target<'_>,
    name: Option<&str>,
    cancel: watch::Receiver<bool>,
) -> Result<ExitStatus, Error> {
    let snapshot = find(docker, target, name).await?;
    if snapshot.of != target.volume {
        return Err(Error::Usage {
            message: format!(
                "snapshot `{}` is a copy of volume `{}`, not of the database's `{}`",
                snapshot.name, snapshot.of, target.volume
            ),
            hint: Some("restore it with the profile it was taken with".into()),
        });
    }
    let started = Instant::now();
    with_database_stopped(docker, ctx, target, "restore", async {
        snapshots::restore(
            docker,
            &target.stack.project,
            &target.image(),
            target.volume,
            &snapshot,
            cancel,
        )
        .await
    })
    .await?;
    ctx.printer.status(
        "Restored",
        format!(
            "snapshot {} into {} in {:.1}s",
            snapshot.name,
            target.volume,
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(ExitStatus::Success)
}

async fn import(
    docker: &Docker,
    ctx: &Context<'_>,
    target: &Target<'_>,
    file: &str,
    database: Option<&str>,
    cancel: watch::Receiver<bool>,
) -> Result<ExitStatus, Error> {
    use tokio::io::AsyncReadExt as _;
    let (mut input, total): (Box<dyn tokio::io::AsyncRead + Unpin + Send>, Option<u64>) =
        if file == "-" {
            (Box::new(tokio::io::stdin()), None)
        } else {
            let path = ctx.start_dir().join(file);
            let opened = tokio::fs::File::open(&path)
                .await
                .map_err(|source| Error::Io {
                    action: "read",
                    path: path.clone(),
                    source,
                })?;
            let total = opened.metadata().await.ok().map(|m| m.len());
            (Box::new(opened), total)
        };
    let mut head = vec![0; 8];
    let mut filled = 0;
    while filled < head.len() {
        let read = input
            .read(&mut head[filled..])
            .await
            .map_err(|e| Error::Internal(format!("reading the dump: {e}")))?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    head.truncate(filled);
    let format = dumps::Format::sniff(&head);
    let mut input = std::io::Cursor::new(head).chain(input);
    let container = running_postgres(docker, target).await?;
    let server = server(docker, target, &container);
    let database = database_of(&server, database).await?;
    let bar = ctx
        .printer
        .bytes_bar(total, &format!("Importing into {database}"));
    let started = Instant::now();
    let on_read = |read| bar.set_position(read);
    let imported = server
        .import(
            &database,
            format,
            &mut input,
            &target.stack.import_after,
            &on_read,
            cancel,
        )
        .await;
    bar.finish_and_clear();
    imported?;
    ctx.printer.status(
        "Imported",
        format!(
            "{file} ({}) into {database} in {:.1}s",
            format_bytes(bar.position()),
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(ExitStatus::Success)
}

async fn export(
    docker: &Docker,
    ctx: &Context<'_>,
    target: &Target<'_>,
    file: Option<&str>,
    database: Option<&str>,
    mut cancel: watch::Receiver<bool>,
) -> Result<ExitStatus, Error> {
    let container = running_postgres(docker, target).await?;
    let server = server(docker, target, &container);
    let database = database_of(&server, database).await?;
    let file = file.map_or_else(
        || format!("{database}-{}.dump", snapshots::default_name(now())),
        str::to_owned,
    );
    let path = ctx.start_dir().join(&file);
    let partial = path.with_file_name(format!(
        ".{}.partial",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let io_error = |source| Error::Io {
        action: "write",
        path: path.clone(),
        source,
    };
    let mut output = tokio::fs::File::create(&partial).await.map_err(io_error)?;
    let started = Instant::now();
    let exported = tokio::select! {
        exported = server.export(&database, dumps::Format::for_path(&file), &mut output) => exported,
        _ = cancel.wait_for(|c| *c) => Err(Error::Interrupted),
    };
    drop(output);
    if let Err(error) = exported {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(error);
    }
    tokio::fs::rename(&partial, &path).await.map_err(io_error)?;
    let bytes = tokio::fs::metadata(&path).await.map_or(0, |m| m.len());
    ctx.printer.status(
        "Exported",
        format!(
            "{database} to {file} ({}) in {:.1}s",
            format_bytes(bytes),
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(ExitStatus::Success)
}

/// The running Postgres container of the target, or why there is none.
async fn running_postgres(docker: &Docker, target: &Target<'_>) -> Result<String, Error> {
    if postgres::data_volume(target.service).is_none() {
        return Err(Error::Usage {
            message: format!(
                "`devboot db import` and `export` work with Postgres; `{}` is not a Postgres service",
                target.service.name
            ),
            hint: Some(format!(
                "for MySQL, use its own tools in the container: `docker exec -i {} mysql ...` (snapshots do work)",
                spec::container_name(&target.stack.project, &target.service.name)
            )),
        });
    }
    let observed = observe::observe(docker, target.stack).await?;
    observed
        .containers
        .get(&target.service.name)
        .filter(|c| c.running())
        .map(|c| c.id.clone())
        .ok_or_else(|| Error::Usage {
            message: format!("`{}` is not running", target.service.name),
            hint: Some("start the stack first: `devboot up`".into()),
        })
}

fn server<'a>(docker: &'a Docker, target: &'a Target<'_>, container: &'a str) -> dumps::Server<'a> {
    dumps::Server {
        docker,
        container,
        user: target
            .service
            .environment
            .get("POSTGRES_USER")
            .map_or("postgres", String::as_str),
    }
}

/// The database named `given`, or the app's development database.
async fn database_of(server: &dumps::Server<'_>, given: Option<&str>) -> Result<String, Error> {
    if let Some(name) = given {
        if !dumps::valid_database(name) {
            return Err(Error::Usage {
                message: format!("`{name}` is not a database name devboot handles"),
                hint: Some("use letters, digits, `_` and `-`".into()),
            });
        }
        return Ok(name.to_owned());
    }
    let all = server.databases().await?;
    let development: Vec<&String> = all.iter().filter(|d| d.ends_with("_development")).collect();
    match development.as_slice() {
        [one] if dumps::valid_database(one) => Ok((*one).clone()),
        _ => Err(Error::Usage {
            message: "which database? Name it with `--database NAME`".into(),
            hint: Some(if all.is_empty() {
                "the server has no database yet: `devboot up` creates the app's (`bin/rails db:prepare`)".into()
            } else {
                format!("the server has: {}", all.join(", "))
            }),
        }),
    }
}

/// The snapshot named `name`, or the newest one.
async fn find(docker: &Docker, target: &Target<'_>, name: Option<&str>) -> Result<Snapshot, Error> {
    let all = snapshots::list(docker, &target.stack.project).await?;
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    let hint = if names.is_empty() {
        "there are none yet: `devboot db snapshot NAME` takes one".to_owned()
    } else {
        format!("the snapshots are: {}", names.join(", "))
    };
    let found = match name {
        Some(name) => all.iter().find(|s| s.name == name),
        None => all.last(),
    };
    found.cloned().ok_or_else(|| Error::Usage {
        message: name.map_or_else(
            || format!("`{}` has no snapshots", target.stack.project),
            |name| format!("no snapshot named `{name}`"),
        ),
        hint: Some(hint),
    })
}

/// Runs `work` with the database's container stopped (when it runs), and starts it again
/// afterwards — after a failure or an interruption too — waiting until it is ready.
async fn with_database_stopped<T>(
    docker: &Docker,
    ctx: &Context<'_>,
    target: &Target<'_>,
    what: &str,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let stack = target.stack;
    let observed = observe::observe(docker, stack).await?;
    if !observed.volumes.contains(target.volume) {
        return Err(Error::Usage {
            message: format!(
                "volume `{}` does not exist yet: there is no data to {what}",
                target.volume
            ),
            hint: Some("run `devboot up` first".into()),
        });
    }
    let service = target.service;
    let running = stop_if_running(docker, ctx, &observed, service, what).await?;
    let result = work.await;
    if let Some(container) = running {
        start_again(docker, ctx, service, &container.id).await?;
    }
    result
}

/// Stops the database's container when it runs (saying why), and returns it so that it can be
/// started again.
async fn stop_if_running<'a>(
    docker: &Docker,
    ctx: &Context<'_>,
    observed: &'a Observed,
    service: &Service,
    what: &str,
) -> Result<Option<&'a ObservedContainer>, Error> {
    let running = observed
        .containers
        .get(&service.name)
        .filter(|c| c.running());
    if let Some(container) = running {
        containers::stop(docker, &container.id).await?;
        ctx.printer
            .status("Stopped", format!("{} for the {what}", service.name));
    }
    Ok(running)
}

/// Starts the database's stopped container `id` again and waits until it is ready.
async fn start_again(
    docker: &Docker,
    ctx: &Context<'_>,
    service: &Service,
    id: &str,
) -> Result<(), Error> {
    let until = if service.healthcheck.is_some() {
        Readiness::Healthy
    } else {
        Readiness::Running
    };
    containers::start_and_wait(
        docker,
        service,
        id,
        until,
        converge::wait_limit(service),
        &Silent,
        || {},
        || {},
    )
    .await?;
    ctx.printer.status("Started", &service.name);
    Ok(())
}

/// A restore replaces the current data: ask on a terminal, require `--yes` otherwise.
fn confirmed_restore(ctx: &Context<'_>, name: Option<&str>, latest: bool) -> Result<bool, Error> {
    if ctx.global.yes {
        return Ok(true);
    }
    if !ctx.printer.interactive() {
        return Err(Error::Usage {
            message: "a restore replaces the database's current data and needs confirmation"
                .into(),
            hint: Some(
                "pass `--yes` to confirm without a prompt (`devboot db snapshot` first keeps the current data)".into(),
            ),
        });
    }
    let which = match (name, latest) {
        (Some(name), _) => format!("snapshot `{name}`"),
        _ => "the newest snapshot".to_owned(),
    };
    ctx.printer.confirm(
        format!("Replace the database's current data with {which}? The current data will be lost"),
        false,
    )
}
