//! devboot: bootstrap and diagnose local Rails development stacks on Docker.
//!
//! Data flows through the modules in this order (`docs/architecture.md` is the full map):
//!
//! ```text
//! profile (TOML layers) → model (validated Stack) → effective (+ engine state, ports, AWS)
//!     → plan + render (files, engine actions) → gate → workspace (disk) / engine (Docker)
//!     → output (report)
//! ```
//!
//! Pure: `model`, `plan`, `render`, `requirements`, `redact`, `shell`, `urls` and profile
//! parsing. I/O: `profile::source` and `fsio` read files, `workspace` writes `.devboot/`,
//! `engine` is the only code that talks to Docker, `aws` to AWS, `host` reads the OS, and
//! `env` is the only reader of the process environment. `output` is the only module that
//! prints. `doctor` judges facts gathered by the others; `commands` wires them per command.

pub mod adopt;
pub mod aws;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod consent;
pub mod containment;
pub mod crash;
pub mod detect;
pub mod dev_image;
pub mod digest;
pub mod dockerfile;
pub mod doctor;
pub mod effective;
pub mod engine;
pub mod env;
pub mod error;
pub mod fsio;
pub mod gate;
pub mod host;
pub mod lint;
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
