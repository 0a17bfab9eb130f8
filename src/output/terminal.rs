//! The user's terminal handed to a command in a container (`devboot exec`, `run`, …): raw mode
//! while the command runs (restored however it ends), the terminal's size and its changes, and
//! the command's output written through as bytes, stdout and stderr kept apart.

use std::io::Write as _;
use std::os::fd::AsFd as _;
use std::pin::Pin;

use futures_util::Stream;
use rustix::termios::{self, OptionalActions, Termios};

use crate::engine::attach::{Channel, TtySize};

/// The terminal in raw mode (keys go to the command as typed, Ctrl-C included); the previous
/// mode comes back when this is dropped.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Puts stdin's terminal in raw mode; `None` when stdin is no terminal.
    pub fn enter() -> Option<Self> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(stdin.as_fd(), OptionalActions::Now, &raw).ok()?;
        Some(Self { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), OptionalActions::Now, &self.saved);
    }
}

/// The size of the terminal on stdout, when it is one.
pub fn size() -> Option<TtySize> {
    let size = termios::tcgetwinsize(std::io::stdout().as_fd()).ok()?;
    (size.ws_row > 0 && size.ws_col > 0).then_some(TtySize {
        rows: size.ws_row,
        columns: size.ws_col,
    })
}

/// The terminal's size each time it changes (`SIGWINCH`); never ends.
pub fn resizes() -> Pin<Box<dyn Stream<Item = TtySize> + Send>> {
    let Ok(mut signals) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
    else {
        return Box::pin(futures_util::stream::pending());
    };
    Box::pin(futures_util::stream::poll_fn(move |cx| {
        loop {
            match signals.poll_recv(cx) {
                std::task::Poll::Ready(Some(())) => {
                    if let Some(size) = size() {
                        return std::task::Poll::Ready(Some(size));
                    }
                }
                std::task::Poll::Ready(None) => return std::task::Poll::Ready(None),
                std::task::Poll::Pending => return std::task::Poll::Pending,
            }
        }
    }))
}

/// Writes a command's output as it came, to stdout or stderr. A closed pipe is not an error.
pub fn write(channel: Channel, bytes: &[u8]) {
    let _ = match channel {
        Channel::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        Channel::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        }
    };
}
