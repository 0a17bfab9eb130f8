//! One module per command. Each takes its parsed arguments and a [`Context`], does its work
//! through the library, prints through the [`Printer`], and returns an [`ExitStatus`].

mod app_aws;
mod aws;
mod capabilities;
mod catalog;
mod config;
mod db;
mod doctor;
mod down;
mod init;
mod logs;
mod ls;
mod man;
mod plan;
mod profile;
mod shortcuts;
mod status;
mod up;

use std::path::PathBuf;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::env::Environment;
use crate::error::{Error, ExitStatus};
use crate::output::Printer;
use crate::project::{Project, start_dir};

/// What every command may use.
pub struct Context<'a> {
    pub env: &'a Environment,
    pub printer: &'a Printer,
    pub global: &'a GlobalArgs,
}

impl Context<'_> {
    /// The directory the command works in (`-C DIR` or the working directory).
    pub fn start_dir(&self) -> PathBuf {
        start_dir(&self.env.cwd, self.global.directory.as_deref())
    }

    /// The project around the start directory, validated.
    /// Says what loading it did (a lock written on a catalog's first use).
    pub fn project(&self) -> Result<Project, Error> {
        let project = Project::discover(
            &self.start_dir(),
            self.env,
            Some(self.printer.catalog_transfer()),
        )?;
        for note in &project.notes {
            self.printer.note(note);
        }
        Ok(project)
    }
}

pub fn dispatch(cli: &Cli, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    match &cli.command {
        Command::Init(args) => init::run(args, ctx),
        Command::Plan(args) => plan::run(args, ctx),
        Command::Config => config::run(ctx),
        Command::Aws(args) => aws::run(&args.command, ctx),
        Command::Db(args) => db::run(&args.command, ctx),
        Command::Doctor(args) => doctor::run(args, ctx),
        Command::Profile(args) => profile::run(&args.command, ctx),
        Command::Up(args) => up::run(args, ctx),
        Command::Down(args) => down::run(args, ctx),
        Command::Status(args) => status::run(args, ctx),
        Command::Logs(args) => logs::run(args, ctx),
        Command::Ls(args) => ls::run(args, ctx),
        Command::Exec(args) => shortcuts::exec(args, ctx),
        Command::Run(args) => shortcuts::run(args, ctx),
        Command::Console(args) => shortcuts::console(args, ctx),
        Command::Psql(args) => shortcuts::psql(args, ctx),
        Command::RedisCli(args) => shortcuts::redis_cli(args, ctx),
        Command::Shortcut(words) => shortcuts::shortcut(words, ctx),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut cli_command(), "devboot", &mut out);
            ctx.printer.data(&String::from_utf8_lossy(&out));
            Ok(ExitStatus::Success)
        }
        Command::Man { out_dir } => man::run(out_dir.as_deref(), ctx),
    }
}

/// The command line as clap describes it, for completions and the man page.
fn cli_command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Runs an engine operation that cleans up after itself on a single-threaded runtime: the
/// first Ctrl-C raises the flag the operation is given (it stops, puts things back, and
/// returns [`Error::Interrupted`]); a second one exits at once.
fn block_on_cancellable<T, F: Future<Output = Result<T, Error>>>(
    operation: impl FnOnce(tokio::sync::watch::Receiver<bool>) -> F,
) -> Result<T, Error> {
    let runtime = runtime()?;
    let (cancel, cancelled) = tokio::sync::watch::channel(false);
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.send_replace(true);
            quit_on_ctrl_c().await;
        }
    });
    let result = runtime.block_on(operation(cancelled));
    runtime.shutdown_background();
    result
}

/// A single-threaded runtime: enough for devboot's I/O-bound work.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))
}

/// Exits at the next Ctrl-C: one Ctrl-C asks devboot to stop cleanly, a second means now.
async fn quit_on_ctrl_c() {
    if tokio::signal::ctrl_c().await.is_ok() {
        #[expect(
            clippy::exit,
            clippy::disallowed_methods,
            reason = "a second Ctrl-C means quit now"
        )]
        std::process::exit(130);
    }
}

/// Runs an engine operation on a single-threaded runtime (enough for I/O-bound work). The
/// first Ctrl-C cancels it — dropping in-flight requests, leaving nothing that blocks the next
/// run — and a second one exits at once.
fn block_on_interruptible<T>(
    operation: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        tokio::select! {
            result = operation => result,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    });
    if matches!(result, Err(Error::Interrupted)) {
        // Cleanup is only dropping the operation; a second Ctrl-C while that happens quits.
        runtime.spawn(quit_on_ctrl_c());
    }
    // Leftover connections must not hold up the exit.
    runtime.shutdown_background();
    result
}
