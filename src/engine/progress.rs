//! What engine operations tell the user while they run. The engine emits [`Event`]s to a
//! [`Reporter`]; the output layer decides how they look (progress bars on a terminal, plain
//! lines in CI, nothing under `-q`). The engine itself never prints.

/// A step of a service's way to running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Creating,
    Recreating,
    /// A running container restarts, so its processes load what the setup installed.
    Restarting,
    Starting,
    WaitingHealthy,
    Ready,
    Unchanged,
}

#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// A pull begins.
    PullStarted {
        image: &'a str,
    },
    /// Pull progress of one image, summed over its layers.
    Pull {
        image: &'a str,
        layers_done: usize,
        layers_total: usize,
        bytes_done: u64,
        bytes_total: u64,
        /// A layer's download broke and the engine is about to try it again.
        retrying: bool,
    },
    /// A layer's download broke (the registry stopped answering); the engine tries again.
    PullRetrying {
        image: &'a str,
        in_seconds: u64,
    },
    PullDone {
        image: &'a str,
    },
    BuildStarted {
        service: &'a str,
    },
    /// One line of build output.
    BuildOutput {
        service: &'a str,
        line: &'a str,
    },
    BuildDone {
        service: &'a str,
    },
    Service {
        service: &'a str,
        phase: Phase,
    },
    SetupStarted {
        command: &'a str,
    },
    /// One line of a setup command's output.
    SetupOutput {
        line: &'a str,
    },
    SetupDone {
        command: &'a str,
    },
}

/// Receives events from concurrent operations.
pub trait Reporter: Send + Sync {
    fn report(&self, event: Event<'_>);
}

/// Discards events (for callers that show nothing).
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _: Event<'_>) {}
}
