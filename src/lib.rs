//! devboot: bootstrap and diagnose local Rails development stacks on Docker.
//!
//! Data flows through the modules in this order:
//!
//! ```text
//! profile (TOML layers) → model (validated Stack) → plan → render (files) → workspace (disk)
//!                                                        ↘ engine actions → report
//! ```
//!
//! `profile`, `model`, `plan` and `render` are pure; `fsio` and `workspace` touch the disk;
//! `output` is the only module that prints; `commands` wires them together per command.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod consent;
pub mod containment;
pub mod detect;
pub mod digest;
pub mod doctor;
pub mod effective;
pub mod engine;
pub mod env;
pub mod error;
pub mod fsio;
pub mod gate;
pub mod host;
pub mod model;
pub mod output;
pub mod plan;
pub mod profile;
pub mod project;
pub mod redact;
pub mod render;
pub mod requirements;
pub mod shell;
pub mod urls;
pub mod workspace;

use std::ffi::OsString;
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;

use clap::Parser as _;

use crate::error::ExitStatus;

/// Runs devboot with the given arguments (the first is the program name).
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let env = env::Environment::capture();
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout and usage errors to stderr.
            let _ = error.print();
            return if error.use_stderr() {
                ExitStatus::Usage
            } else {
                ExitStatus::Success
            }
            .into();
        }
    };
    let printer = output::Printer::new(&cli.global, &env);
    let ctx = commands::Context {
        env: &env,
        printer: &printer,
        global: &cli.global,
    };
    match std::panic::catch_unwind(AssertUnwindSafe(|| commands::dispatch(&cli, &ctx))) {
        Ok(Ok(status)) => status.into(),
        Ok(Err(error)) => {
            printer.error(&error);
            error.exit_status().into()
        }
        // The panic hook has printed the message; say whose fault it is.
        Err(_) => {
            printer.error(&error::Error::Internal("devboot panicked".into()));
            ExitStatus::Internal.into()
        }
    }
}
