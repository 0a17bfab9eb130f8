//! The output layer, and the only code that writes to the terminal. Data goes to stdout;
//! status, warnings, errors, progress and prompts go to stderr. Honours `-q`, `-v`, `--color`,
//! `NO_COLOR` and `--no-progress`; progress bars and prompts appear only on a terminal.

pub mod progress;
pub mod terminal;

use std::fmt::Display;
use std::io::Write as _;

use console::Style;
use indicatif::ProgressDrawTarget;

use crate::cli::{ColorChoice, GlobalArgs};
use crate::env::Environment;
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// Writes everything the user sees.
#[derive(Debug, Clone)]
pub struct Printer {
    verbosity: Verbosity,
    color: bool,
    progress: bool,
    interactive: bool,
    unicode: bool,
}

impl Printer {
    pub fn new(global: &GlobalArgs, env: &Environment) -> Self {
        let verbosity = if global.quiet {
            Verbosity::Quiet
        } else if global.verbose > 0 {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                env.var("NO_COLOR").is_none()
                    && (env.var("CLICOLOR_FORCE").is_some()
                        || env.var("FORCE_COLOR").is_some()
                        || (env.stderr_is_terminal && env.var("TERM") != Some("dumb")))
            }
        };
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color);
        let lang = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|k| env.var(k))
            .unwrap_or("");
        let lang = lang.to_ascii_lowercase();
        Self {
            verbosity,
            color,
            // Verbose output would interleave with bars; uv hides them there too.
            progress: env.stderr_is_terminal
                && !global.no_progress
                && verbosity == Verbosity::Normal,
            interactive: env.stderr_is_terminal && env.stdin_is_terminal && !global.yes,
            unicode: env.var("NO_COLOR").is_none()
                && (lang.contains("utf-8") || lang.contains("utf8")),
        }
    }

    /// A printer for tests and for contexts with no terminal.
    pub fn plain() -> Self {
        Self {
            verbosity: Verbosity::Normal,
            color: false,
            progress: false,
            interactive: false,
            unicode: false,
        }
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Whether a prompt may be shown (a terminal on both ends, and no `--yes`).
    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// Asks a yes/no question on the terminal; `default` is the answer Enter gives.
    pub fn confirm(&self, question: impl Into<String>, default: bool) -> Result<bool, Error> {
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(default)
            .interact()
            .map_err(|e| Error::Prompt(e.to_string()))
    }

    /// Whether to use `✓ ✗ →` rather than ASCII.
    pub fn unicode(&self) -> bool {
        self.unicode
    }

    /// Data for stdout. A closed pipe (`devboot config | head`) is not an error.
    pub fn data(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush());
    }

    /// One JSON document on stdout.
    pub fn json<T: serde::Serialize>(&self, value: &T) -> Result<(), Error> {
        let mut text = serde_json::to_string_pretty(value)
            .map_err(|e| Error::Internal(format!("serializing JSON output: {e}")))?;
        text.push('\n');
        self.data(&text);
        Ok(())
    }

    /// A status line on stderr, cargo style: `    Wrote .devboot/compose.yaml`.
    pub fn status(&self, verb: &str, message: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            Self::stderr(&format!(
                "{} {message}",
                self.style(Role::Good).apply_to(format!("{verb:>12}"))
            ));
        }
    }

    /// A plain line on stderr (not shown under `-q`).
    pub fn note(&self, message: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            Self::stderr(&message.to_string());
        }
    }

    /// Detail shown only under `-v`.
    pub fn verbose(&self, message: impl Display) {
        if self.verbosity >= Verbosity::Verbose {
            Self::stderr(&format!(
                "{} {message}",
                self.style(Role::Dim).apply_to("debug:")
            ));
        }
    }

    pub fn warn(&self, message: impl Display) {
        Self::stderr(&format!(
            "{} {message}",
            self.style(Role::Warn).apply_to("warning:")
        ));
    }

    /// Shown even under `-q`: the run failed and the user must know why.
    pub fn error(&self, error: &Error) {
        let mut text = format!("{} {error}", self.style(Role::Bad).apply_to("error:"));
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text.push_str(&format!("\n  caused by: {cause_text}"));
            }
            source = cause.source();
        }
        if let Some(hint) = error.hint() {
            text = text.trim_end().to_owned();
            text.push_str(&format!(
                "\n{} {hint}",
                self.style(Role::Hint).apply_to("hint:")
            ));
        }
        Self::stderr(text.trim_end());
    }

    pub fn style(&self, role: Role) -> Style {
        let style = Style::new().for_stderr();
        if !self.color {
            return style;
        }
        match role {
            Role::Good => style.green().bold(),
            Role::Warn => style.yellow().bold(),
            Role::Bad => style.red().bold(),
            Role::Hint => style.cyan().bold(),
            Role::Dim => style.dim(),
            Role::Emphasis => style.bold(),
        }
    }

    /// Where progress bars draw: stderr on a terminal, nowhere otherwise.
    pub fn progress_target(&self) -> ProgressDrawTarget {
        if self.progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// A bar counting bytes (of `total` when known) on a terminal; hidden otherwise.
    pub fn bytes_bar(&self, total: Option<u64>, message: &str) -> indicatif::ProgressBar {
        let template = if total.is_some() {
            "  {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})"
        } else {
            "  {msg} {bytes} ({bytes_per_sec})"
        };
        let bar = indicatif::ProgressBar::with_draw_target(total, self.progress_target())
            .with_style(
                indicatif::ProgressStyle::with_template(template)
                    .expect("valid template")
                    .progress_chars("=> "),
            )
            .with_message(message.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    }

    /// What a catalog download shows: a bar on a terminal, and a status line when it is done.
    pub fn catalog_transfer(&self) -> crate::catalog::OnTransfer {
        use crate::catalog::tarball::Transfer;
        let printer = self.clone();
        let current = std::sync::Mutex::new(None::<(String, indicatif::ProgressBar)>);
        Box::new(move |transfer| {
            let mut current = current
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match transfer {
                Transfer::Started { catalog, total } => {
                    let bar = printer.bytes_bar(total, &format!("Fetching catalog {catalog}"));
                    *current = Some((catalog.to_owned(), bar));
                }
                Transfer::Received(bytes) => {
                    if let Some((_, bar)) = current.as_ref() {
                        bar.set_position(bytes);
                    }
                }
                Transfer::Ended { complete } => {
                    if let Some((catalog, bar)) = current.take() {
                        bar.finish_and_clear();
                        if !complete {
                            return;
                        }
                        printer.status(
                            "Fetched",
                            format!(
                                "catalog {catalog} ({})",
                                crate::model::units::format_bytes(bar.position())
                            ),
                        );
                    }
                }
            }
        })
    }

    /// A spinner saying what runs, on a terminal; hidden otherwise (the caller prints a status
    /// line when the step is done).
    pub fn spinner(&self, message: impl Into<String>) -> indicatif::ProgressBar {
        let bar = indicatif::ProgressBar::with_draw_target(None, self.progress_target())
            .with_style(
                indicatif::ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                    .expect("valid template"),
            )
            .with_message(message.into());
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        bar
    }

    fn stderr(line: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{line}");
    }
}

/// What a piece of text means; the printer picks its style.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    Good,
    Warn,
    Bad,
    Hint,
    Dim,
    Emphasis,
}
