//! A relay between devboot's side and a far end (the engine's socket, a registry) that a test
//! cuts, as if the far end died: every open connection closes and new ones are refused. It can
//! also cut itself once a number of bytes came back from the far end, so a cut lands in the
//! middle of a download.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A connection the relay can copy through and close.
pub(crate) trait Stream: Read + Write + Send + Sized + 'static {
    fn clone_stream(&self) -> io::Result<Self>;
    fn close(&self);
}

impl Stream for UnixStream {
    fn clone_stream(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn close(&self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }
}

impl Stream for TcpStream {
    fn clone_stream(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn close(&self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }
}

/// Where the relay accepts clients.
pub(crate) trait Listener: Send + 'static {
    type Stream: Stream;
    fn accept_stream(&self) -> io::Result<Self::Stream>;
    fn set_nonblocking(&self, on: bool) -> io::Result<()>;
}

impl Listener for UnixListener {
    type Stream = UnixStream;
    fn accept_stream(&self) -> io::Result<UnixStream> {
        let (stream, _) = self.accept()?;
        stream.set_nonblocking(false)?;
        Ok(stream)
    }
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        Self::set_nonblocking(self, on)
    }
}

impl Listener for TcpListener {
    type Stream = TcpStream;
    fn accept_stream(&self) -> io::Result<TcpStream> {
        let (stream, _) = self.accept()?;
        stream.set_nonblocking(false)?;
        Ok(stream)
    }
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        Self::set_nonblocking(self, on)
    }
}

pub(crate) struct Relay<S> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    open: Mutex<Vec<S>>,
    cut: AtomicBool,
    /// Bytes the far end sent back so far.
    returned: AtomicU64,
    /// Cut once this many bytes came back.
    budget: Option<u64>,
}

impl<S: Stream> Shared<S> {
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            stream.close();
        }
    }
}

impl<S: Stream> Relay<S> {
    /// Relays every client of `listener` to a connection `far` opens. The listener is dropped
    /// (new clients refused) when the relay is cut; with a `budget`, the relay cuts itself once
    /// that many bytes came back from the far end.
    pub(crate) fn start<L: Listener<Stream = S>>(
        listener: L,
        far: impl Fn() -> io::Result<S> + Send + 'static,
        budget: Option<u64>,
    ) -> Self {
        let shared = Arc::new(Shared {
            open: Mutex::default(),
            cut: AtomicBool::new(false),
            returned: AtomicU64::new(0),
            budget,
        });
        let accepting = shared.clone();
        // Non-blocking accepts, so a cut is seen within moments and the listener dropped.
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            while !accepting.cut.load(Ordering::SeqCst) {
                let client = match listener.accept_stream() {
                    Ok(client) => client,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    Err(_) => continue,
                };
                let Ok(far) = far() else { continue };
                let mut open = accepting.open.lock().unwrap();
                pump(
                    client.clone_stream().unwrap(),
                    far.clone_stream().unwrap(),
                    None,
                );
                pump(
                    far.clone_stream().unwrap(),
                    client.clone_stream().unwrap(),
                    Some(accepting.clone()),
                );
                open.extend([client, far]);
            }
        });
        Self { shared }
    }

    /// The far end "dies": no new connection is accepted, every open one is closed.
    pub(crate) fn cut(&self) {
        self.shared.cut();
    }

    pub(crate) fn is_cut(&self) -> bool {
        self.shared.cut.load(Ordering::SeqCst)
    }

    /// Bytes the far end sent back through the relay.
    pub(crate) fn returned(&self) -> u64 {
        self.shared.returned.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to` on a thread of its own; `counted` is the relay when these are bytes
/// coming back from the far end (counted against its budget).
fn pump<S: Stream>(mut from: S, mut to: S, counted: Option<Arc<Shared<S>>>) {
    std::thread::spawn(move || {
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buffer) {
            if to.write_all(&buffer[..n]).is_err() {
                break;
            }
            if let Some(relay) = &counted {
                let returned = relay.returned.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                if relay.budget.is_some_and(|budget| returned > budget) {
                    relay.cut();
                    break;
                }
            }
        }
        to.close();
    });
}
