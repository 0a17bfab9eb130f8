//! `devboot exec`, `run`, `console`, `psql`, `redis-cli` and the profile's `[commands]`
//! shortcuts: a command in one of the stack's containers, with the user's terminal or pipes
//! attached ([`crate::engine::attach`]); devboot exits with the command's status. Commands are
//! argv, never a shell line, except a shortcut's, which is the profile's line for `sh -c` with
//! the extra arguments quoted onto it.

use std::cell::RefCell;

use super::Context;
use crate::cli::{ExecArgs, PassArgs, RunArgs};
use crate::effective::{self, Claimed};
use crate::engine::attach::{self, Stdio};
use crate::engine::{connect, spec};
use crate::error::{Error, ExitStatus};
use crate::model::{Service, Stack, is_postgres, is_redis};
use crate::output::terminal::{self, RawMode};
use crate::profile::diagnostic::closest;
use crate::project::Project;
use crate::shell::shell_word;

pub(super) fn exec(args: &ExecArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    project.stack.select(std::slice::from_ref(&args.service))?;
    in_running(ctx, &project, &args.service, &args.command)
}

pub(super) fn console(args: &PassArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    let app = app_service(&project.stack)?.name.clone();
    let command = with_args(&["bin/rails", "console"], &args.args);
    in_running(ctx, &project, &app, &command)
}

pub(super) fn psql(args: &PassArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    let service = service_of_kind(&project.stack, "Postgres", is_postgres)?;
    let user = service
        .environment
        .get("POSTGRES_USER")
        .map_or("postgres", String::as_str);
    let command = with_args(&["psql", "-U", user], &args.args);
    in_running(ctx, &project, &service.name.clone(), &command)
}

pub(super) fn redis_cli(args: &PassArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    let service = service_of_kind(&project.stack, "Redis", is_redis)?;
    let command = with_args(&["redis-cli"], &args.args);
    in_running(ctx, &project, &service.name.clone(), &command)
}

/// `devboot NAME ARGS…` for a name that is none of devboot's commands: the profile's shortcut
/// of that name, or an error that suggests the closest name.
pub(super) fn shortcut(words: &[String], ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let (name, args) = words.split_first().expect("clap gives the command's name");
    let project = ctx.project();
    let commands = project.as_ref().map(|p| &p.stack.commands).ok();
    let Some(line) = commands.and_then(|c| c.get(name)).cloned() else {
        return Err(unknown_command(name, commands, project.is_ok()));
    };
    let project = project?;
    let app = app_service(&project.stack)?.name.clone();
    let command = ["sh".to_owned(), "-c".to_owned(), shortcut_line(&line, args)];
    in_running(ctx, &project, &app, &command)
}

/// The shortcut's line with `args` appended, each quoted for the shell.
fn shortcut_line(line: &str, args: &[String]) -> String {
    let mut script = line.to_owned();
    for arg in args {
        script.push(' ');
        script.push_str(&shell_word(arg));
    }
    script
}

fn unknown_command(
    name: &str,
    shortcuts: Option<&std::collections::BTreeMap<String, String>>,
    in_project: bool,
) -> Error {
    let own: Vec<String> = crate::cli::command_names().collect();
    let names = own.iter().map(String::as_str).chain(
        shortcuts
            .into_iter()
            .flat_map(|c| c.keys().map(String::as_str)),
    );
    let hint = match closest(name, names) {
        Some(suggestion) => format!("did you mean `devboot {suggestion}`?"),
        None => match shortcuts.filter(|c| !c.is_empty()) {
            Some(c) => format!(
                "this project's shortcuts: {}; `devboot --help` lists the commands",
                c.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
            ),
            None if in_project => {
                "`devboot --help` lists the commands; a profile adds shortcuts under `[commands]`"
                    .to_owned()
            }
            None => "`devboot --help` lists the commands".to_owned(),
        },
    };
    Error::Usage {
        message: format!("unknown command `{name}`"),
        hint: Some(hint),
    }
}

pub(super) fn run(args: &RunArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    let app = app_service(&project.stack)?.name.clone();
    // Told the one-off's ID once it exists: an interrupted run still removes it.
    let created: RefCell<Option<String>> = RefCell::new(None);
    let result = super::block_on_interruptible(async {
        let connection = connect::connect(ctx.env).await?;
        let docker = &connection.docker;
        let Claimed { project, observed } = effective::claim(docker, &project).await?;
        let service = &project.stack.services[&app];
        if !observed.images.contains_key(&service.image.to_string()) {
            return Err(Error::NotUp {
                message: format!("the image of `{app}` is not built yet"),
            });
        }
        let mut one_off = spec::one_off_spec(&project.stack, service, &args.command, &suffix());
        if let Some(running) = observed.containers.get(&app).filter(|c| c.running()) {
            attach::like_running(docker, &mut one_off, &running.id).await;
        }
        let code = with_stdio(ctx, |stdio| {
            attach::run_once(docker, one_off, stdio, |id| {
                *created.borrow_mut() = Some(id.to_owned());
            })
        })
        .await?;
        created.borrow_mut().take();
        Ok(ExitStatus::of_command(code))
    });
    if let Some(id) = created.take() {
        let _ = super::block_on_interruptible(async {
            let connection = connect::connect(ctx.env).await?;
            attach::discard(&connection.docker, &id).await
        });
    }
    result
}

/// Six random hex digits for a one-off container's name.
fn suffix() -> String {
    let mut bytes = [0_u8; 3];
    let _ = getrandom::fill(&mut bytes);
    crate::digest::Digest::of(&bytes).as_str()[..6].to_owned()
}

/// Runs `argv` in `service`'s running container of this checkout's stack.
fn in_running(
    ctx: &Context<'_>,
    project: &Project,
    service: &str,
    argv: &[String],
) -> Result<ExitStatus, Error> {
    super::block_on_interruptible(async {
        let connection = connect::connect(ctx.env).await?;
        let docker = &connection.docker;
        let Claimed { observed, .. } = effective::claim(docker, project).await?;
        let container = observed
            .containers
            .get(service)
            .filter(|c| c.running())
            .ok_or_else(|| Error::NotUp {
                message: format!("service `{service}` is not running"),
            })?;
        let code = with_stdio(ctx, |stdio| {
            attach::exec(docker, &container.id, argv, Vec::new(), stdio)
        })
        .await?;
        Ok(ExitStatus::of_command(code))
    })
}

/// Runs `command` with the user's streams: a TTY when stdin and stdout are terminals (raw
/// mode for as long as it runs), pipes otherwise.
async fn with_stdio<'a, F: Future<Output = Result<i64, Error>>>(
    ctx: &'a Context<'_>,
    command: impl FnOnce(Stdio<'a>) -> F,
) -> Result<i64, Error> {
    let terminal = ctx.env.stdin_is_terminal && ctx.env.stdout_is_terminal;
    let raw = if terminal { RawMode::enter() } else { None };
    let tty = raw.as_ref().map(|_| {
        terminal::size().unwrap_or(attach::TtySize {
            rows: 24,
            columns: 80,
        })
    });
    let stdio = Stdio {
        tty,
        stdin: Box::pin(tokio::io::stdin()),
        resizes: if tty.is_some() {
            terminal::resizes()
        } else {
            Box::pin(futures_util::stream::pending())
        },
        write: &terminal::write,
    };
    let result = command(stdio).await;
    drop(raw);
    result
}

fn with_args(command: &[&str], args: &[String]) -> Vec<String> {
    command
        .iter()
        .map(|w| (*w).to_owned())
        .chain(args.iter().cloned())
        .collect()
}

fn app_service(stack: &Stack) -> Result<&Service, Error> {
    stack
        .app
        .as_ref()
        .and_then(|app| stack.services.get(&app.service))
        .ok_or_else(|| Error::Usage {
            message: "this stack names no app service".into(),
            hint: Some("name it in devboot.toml: `[app]` `service = \"web\"`".into()),
        })
}

/// The stack's one service of a kind (the first by name when there are several).
fn service_of_kind<'s>(
    stack: &'s Stack,
    kind: &str,
    is: fn(&Service) -> bool,
) -> Result<&'s Service, Error> {
    stack
        .services
        .values()
        .find(|s| is(s))
        .ok_or_else(|| Error::Usage {
            message: format!("this stack has no {kind} service"),
            hint: Some(
                "`devboot exec SERVICE …` runs a command in any service; `devboot status` lists them"
                    .into(),
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shortcut_appends_its_arguments_quoted_for_the_shell() {
        let args = vec![
            "test/models/user_test.rb".to_owned(),
            "it's; rm -rf /".to_owned(),
        ];
        assert_eq!(
            shortcut_line("bin/rails test", &args),
            "bin/rails test test/models/user_test.rb 'it'\\''s; rm -rf /'"
        );
        assert_eq!(shortcut_line("bin/rails test", &[]), "bin/rails test");
    }

    #[test]
    fn an_unknown_command_suggests_the_closest_name() {
        let shortcuts =
            std::collections::BTreeMap::from([("test".to_owned(), "bin/rails test".to_owned())]);
        let error = unknown_command("tets", Some(&shortcuts), true);
        assert_eq!(error.to_string(), "unknown command `tets`");
        assert_eq!(
            error.hint().as_deref(),
            Some("did you mean `devboot test`?")
        );
        let error = unknown_command("stauts", None, false);
        assert_eq!(
            error.hint().as_deref(),
            Some("did you mean `devboot status`?")
        );
        let error = unknown_command("deploy", Some(&shortcuts), true);
        assert_eq!(
            error.hint().as_deref(),
            Some("this project's shortcuts: test; `devboot --help` lists the commands")
        );
        assert_eq!(error.exit_status(), ExitStatus::Usage);
    }
}
