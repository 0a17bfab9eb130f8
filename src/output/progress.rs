//! Progress of engine work on the terminal: a bar per image being pulled (bytes and layers), a
//! line per service showing where it is (creating, waiting for healthy, ready), and a spinner
//! for setup commands. Without a terminal the same events become plain status lines; under
//! `-v` build and setup output is shown in full.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{Printer, Role, Verbosity};
use crate::engine::progress::{Event, Phase, Reporter};
use crate::redact::Redactor;

pub struct TerminalReporter {
    printer: Printer,
    /// Build and setup output passes through it before it is shown.
    redactor: Redactor,
    bars: MultiProgress,
    live: bool,
    lines: Mutex<HashMap<String, ProgressBar>>,
}

impl TerminalReporter {
    pub fn new(printer: &Printer, redactor: Redactor) -> Self {
        let bars = MultiProgress::with_draw_target(printer.progress_target());
        let live = !bars.is_hidden();
        Self {
            printer: printer.clone(),
            redactor,
            bars,
            live,
            lines: Mutex::new(HashMap::new()),
        }
    }

    /// The line for `key`, created with `message` the first time.
    fn line(&self, key: &str, style: &ProgressStyle) -> ProgressBar {
        let mut lines = self
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        lines
            .entry(key.to_owned())
            .or_insert_with(|| {
                let bar = self.bars.add(ProgressBar::new(0).with_style(style.clone()));
                bar.enable_steady_tick(Duration::from_millis(100));
                bar
            })
            .clone()
    }

    fn finish(&self, key: &str, message: String) {
        let lines = self
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(bar) = lines.get(key) {
            bar.set_style(ProgressStyle::with_template("  {msg}").expect("valid template"));
            bar.finish_with_message(message);
        }
    }

    /// A plain status line when there are no live bars.
    fn status(&self, verb: &str, message: &str) {
        if !self.live {
            self.printer.status(verb, message);
        }
    }

    /// Output shown under `-v`, above the bars.
    fn detail(&self, line: &str) {
        if self.printer.verbosity() >= Verbosity::Verbose {
            let line = self.redactor.redact(line);
            let text = format!("  {}", self.printer.style(Role::Dim).apply_to(line));
            if self.live {
                let _ = self.bars.println(text);
            } else {
                self.printer.note(text);
            }
        }
    }

    /// Clears every live line (before the summary is printed).
    pub fn clear(&self) {
        let _ = self.bars.clear();
    }

    fn tick(&self) -> &'static str {
        if self.printer.unicode() { "✓" } else { "ok" }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}").expect("valid template")
}

fn pull_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} [{bar:24}] {bytes}/{total_bytes}")
        .expect("valid template")
        .progress_chars("=> ")
}

impl Reporter for TerminalReporter {
    fn report(&self, event: Event<'_>) {
        match event {
            Event::PullStarted { image } => self.status("Pulling", image),
            Event::Pull {
                image,
                layers_done,
                layers_total,
                bytes_done,
                bytes_total,
                retrying,
            } => {
                if self.live {
                    let bar = self.line(&format!("pull:{image}"), &pull_style());
                    bar.set_length(bytes_total);
                    bar.set_position(bytes_done);
                    let retrying = if retrying {
                        ", the registry stopped answering: retrying"
                    } else {
                        ""
                    };
                    bar.set_message(format!(
                        "Pulling {image} (layers {layers_done}/{layers_total}{retrying})"
                    ));
                }
            }
            Event::PullRetrying { image, in_seconds } => self.status(
                "Retrying",
                &format!(
                    "{image}: the registry stopped answering; the engine tries again in {in_seconds} s"
                ),
            ),
            Event::PullDone { image } => {
                self.finish(
                    &format!("pull:{image}"),
                    format!("{} Pulled {image}", self.tick()),
                );
                self.status("Pulled", image);
            }
            Event::BuildStarted { service } => {
                if self.live {
                    self.line(&format!("build:{service}"), &spinner_style())
                        .set_message(format!("Building {service}"));
                }
                self.status("Building", service);
            }
            Event::BuildOutput { line, .. } | Event::SetupOutput { line } => self.detail(line),
            Event::BuildDone { service } => {
                self.finish(
                    &format!("build:{service}"),
                    format!("{} Built {service}", self.tick()),
                );
                self.status("Built", service);
            }
            Event::Service { service, phase } => {
                let (verb, text) = match phase {
                    Phase::Creating => ("Creating", "creating"),
                    Phase::Recreating => ("Recreating", "recreating"),
                    Phase::Restarting => ("Restarting", "restarting"),
                    Phase::Starting => ("Starting", "starting"),
                    Phase::WaitingHealthy => ("Waiting", "waiting until healthy"),
                    Phase::Ready => ("Ready", "ready"),
                    Phase::Unchanged => ("Unchanged", "unchanged"),
                };
                let key = format!("service:{service}");
                if phase == Phase::Ready {
                    self.finish(&key, format!("{} {service} ready", self.tick()));
                } else if self.live {
                    self.line(&key, &spinner_style())
                        .set_message(format!("{service}: {text}"));
                }
                if matches!(
                    phase,
                    Phase::Ready | Phase::Creating | Phase::Recreating | Phase::Restarting
                ) {
                    self.status(verb, service);
                }
            }
            Event::SetupStarted { command } => {
                if self.live {
                    self.line(&format!("setup:{command}"), &spinner_style())
                        .set_message(format!("Running `{command}`"));
                }
                self.status("Running", command);
            }
            Event::SetupDone { command } => {
                self.finish(
                    &format!("setup:{command}"),
                    format!("{} Ran `{command}`", self.tick()),
                );
            }
        }
    }
}
