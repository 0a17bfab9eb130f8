//! Host TCP ports: whether a port is free to publish on an address, which process holds a
//! taken one (Linux only, from `/proc`), a free port to use instead, and the wording that
//! describes a taken port in messages.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

/// A process listening on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortOwner {
    pub pid: u32,
    /// The process name (`/proc/PID/comm`, or the first word of its command line).
    pub process: String,
}

/// How many OS-chosen ports [`free_port`] tries before giving up.
const EPHEMERAL_ATTEMPTS: usize = 16;

/// Whether the engine could publish `port` on `ip` now: a listener can bind `ip:port` and
/// `0.0.0.0:port` (a wildcard listener blocks a publish on any address, and vice versa).
/// Port 0 is never free: it is not a port but a request for any port.
///
/// A bind that fails for another reason than "in use" (a privileged port for a normal user, an
/// address this host does not have) says nothing about the port; then, on Linux, the port
/// counts as taken only if the kernel's socket table shows a listener on it.
pub fn is_free(ip: IpAddr, port: u16) -> bool {
    if port == 0 {
        return false;
    }
    let wildcard = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let candidates: &[IpAddr] = if ip == wildcard {
        &[ip]
    } else {
        &[ip, wildcard]
    };
    candidates.iter().all(|&address| match bind(address, port) {
        Ok(()) => true,
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => false,
        Err(_) => !listener_overlapping(address, port),
    })
}

/// Binds and immediately closes a listener.
fn bind(ip: IpAddr, port: u16) -> io::Result<()> {
    TcpListener::bind(SocketAddr::new(ip, port)).map(drop)
}

/// Whether the socket table shows a listener on `port` whose address overlaps `ip`.
#[cfg(target_os = "linux")]
fn listener_overlapping(ip: IpAddr, port: u16) -> bool {
    linux::listen_sockets()
        .iter()
        .any(|socket| socket.port == port && overlaps(socket.address, ip))
}

#[cfg(not(target_os = "linux"))]
fn listener_overlapping(_ip: IpAddr, _port: u16) -> bool {
    false
}

/// Whether listeners on `a` and `b` (same port) would conflict.
#[cfg(any(target_os = "linux", test))]
fn overlaps(a: IpAddr, b: IpAddr) -> bool {
    a.is_unspecified() || b.is_unspecified() || a == b
}

/// The process listening on `port`, on any address. `None` when nothing listens, when the
/// owner is not visible to this user (another user's process, without root), or off Linux.
pub fn owner(port: u16) -> Option<PortOwner> {
    #[cfg(target_os = "linux")]
    {
        linux::owner(port)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = port;
        None
    }
}

/// `preferred` if it is free on `ip` and not in `avoid`; otherwise a free port the OS picks
/// (and that is not in `avoid`). `None` if none was found in a few attempts.
pub fn free_port(ip: IpAddr, preferred: u16, avoid: &BTreeSet<u16>) -> Option<u16> {
    if !avoid.contains(&preferred) && is_free(ip, preferred) {
        return Some(preferred);
    }
    (0..EPHEMERAL_ATTEMPTS).find_map(|_| {
        let port = TcpListener::bind(SocketAddr::new(ip, 0))
            .and_then(|listener| listener.local_addr())
            .ok()?
            .port();
        (!avoid.contains(&port) && is_free(ip, port)).then_some(port)
    })
}

/// Describes a taken port for messages: "port 5432 is in use by `postgres` (pid 1234)".
#[derive(Debug, Clone, Copy)]
pub struct Taken<'a> {
    pub port: u16,
    pub owner: Option<&'a PortOwner>,
}

impl fmt::Display for Taken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let port = self.port;
        match self.owner {
            Some(owner) => write!(
                f,
                "port {port} is in use by `{}` (pid {})",
                owner.process, owner.pid
            ),
            None if cfg!(target_os = "linux") => {
                write!(f, "port {port} is in use (owner not visible to this user)")
            }
            None => write!(
                f,
                "port {port} is in use (`lsof -nP -iTCP:{port} -sTCP:LISTEN` shows by what)"
            ),
        }
    }
}

/// [`Taken`] as a string.
pub fn describe_taken(port: u16, owner: Option<&PortOwner>) -> String {
    Taken { port, owner }.to_string()
}

/// A socket in the LISTEN state, as a line of `/proc/net/tcp` or `/proc/net/tcp6` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenSocket {
    pub address: IpAddr,
    pub port: u16,
    /// The socket's inode, which `/proc/PID/fd/N` links name as `socket:[INODE]`.
    pub inode: u64,
}

/// The LISTEN sockets in the text of `/proc/net/tcp` or `/proc/net/tcp6`. The header line and
/// lines that do not parse are skipped.
///
/// Addresses are hex words in host byte order: `0100007F:1538` is 127.0.0.1:5432 on a
/// little-endian host; IPv6 addresses are four such words.
pub fn parse_listen_sockets(table: &str) -> Vec<ListenSocket> {
    table.lines().filter_map(parse_listen_line).collect()
}

/// The TCP state code of a listening socket.
const TCP_LISTEN: &str = "0A";

fn parse_listen_line(line: &str) -> Option<ListenSocket> {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 10 || !fields[0].ends_with(':') || fields[3] != TCP_LISTEN {
        return None;
    }
    let (address, port) = fields[1].split_once(':')?;
    let inode = fields[9].parse().ok().filter(|&inode| inode != 0)?;
    Some(ListenSocket {
        address: parse_hex_address(address)?,
        port: u16::from_str_radix(port, 16).ok()?,
        inode,
    })
}

fn parse_hex_address(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let digits = hex.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(digits, 16).ok()?.to_ne_bytes())
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

#[cfg(target_os = "linux")]
mod linux {
    //! Reading the kernel's socket tables and the processes' open files under `/proc`.

    use std::collections::BTreeSet;
    use std::fs;
    use std::path::Path;

    use super::{ListenSocket, PortOwner, parse_listen_sockets};

    pub(super) fn listen_sockets() -> Vec<ListenSocket> {
        ["/proc/net/tcp", "/proc/net/tcp6"]
            .iter()
            .filter_map(|table| fs::read_to_string(table).ok())
            .flat_map(|text| parse_listen_sockets(&text))
            .collect()
    }

    pub(super) fn owner(port: u16) -> Option<PortOwner> {
        let inodes: BTreeSet<u64> = listen_sockets()
            .into_iter()
            .filter(|socket| socket.port == port)
            .map(|socket| socket.inode)
            .collect();
        if inodes.is_empty() {
            return None;
        }
        let pid = fs::read_dir("/proc")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .find(|&pid| holds_any(pid, &inodes))?;
        Some(PortOwner {
            pid,
            process: process_name(pid)?,
        })
    }

    /// Whether process `pid` has one of the sockets open. Unreadable `fd` directories (other
    /// users' processes, processes that just exited) count as no.
    fn holds_any(pid: u32, inodes: &BTreeSet<u64>) -> bool {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            return false;
        };
        fds.filter_map(Result::ok).any(|fd| {
            fs::read_link(fd.path()).is_ok_and(|target| {
                socket_inode(&target).is_some_and(|inode| inodes.contains(&inode))
            })
        })
    }

    /// The inode in a `socket:[12345]` link target.
    fn socket_inode(target: &Path) -> Option<u64> {
        target
            .to_str()?
            .strip_prefix("socket:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    }

    /// `/proc/PID/comm`, or the file name of the command line's first word.
    fn process_name(pid: u32) -> Option<String> {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let comm = comm.trim_end_matches('\n');
        if !comm.is_empty() {
            return Some(comm.to_owned());
        }
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let first = cmdline.split(|&b| b == 0).next()?;
        let first = String::from_utf8_lossy(first);
        let name = first.rsplit('/').next().unwrap_or_default();
        (!name.is_empty()).then(|| name.to_owned())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn socket_links_give_their_inode() {
            assert_eq!(socket_inode(Path::new("socket:[4242]")), Some(4242));
            assert_eq!(socket_inode(Path::new("pipe:[4242]")), None);
            assert_eq!(socket_inode(Path::new("/dev/null")), None);
        }

        #[test]
        fn this_process_has_a_name() {
            let name = process_name(std::process::id()).unwrap();
            assert!(!name.is_empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 31337 1 0000000000000000 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1538 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000   105        0 55555 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:9C40 0100007F:1538 06 00000000:00000000 03:00000D1C 00000000     0        0 0 3 0000000000000000
";

    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:18EB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 888 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 999 1 0000000000000000 100 0 0 10 0
   3: 00000000000000000000000001000000:1538 00000000000000000000000001000000:E3A2 01 00000000:00000000 00:00000000 00000000   105        0 1000 1 0000000000000000 20 4 30 10 -1
";

    fn socket(address: &str, port: u16, inode: u64) -> ListenSocket {
        ListenSocket {
            address: address.parse().unwrap(),
            port,
            inode,
        }
    }

    #[test]
    fn ipv4_table_yields_only_listening_sockets() {
        let sockets = parse_listen_sockets(TCP);
        assert_eq!(sockets.len(), 2, "{sockets:?}");
        assert_eq!(
            sockets
                .iter()
                .map(|s| (s.port, s.inode))
                .collect::<Vec<_>>(),
            [(5432, 31337), (8080, 4242)]
        );
        if cfg!(target_endian = "little") {
            assert_eq!(
                sockets,
                [
                    socket("127.0.0.1", 5432, 31337),
                    socket("0.0.0.0", 8080, 4242)
                ]
            );
        }
    }

    #[test]
    fn ipv6_table_yields_only_listening_sockets() {
        let sockets = parse_listen_sockets(TCP6);
        assert_eq!(
            sockets
                .iter()
                .map(|s| (s.port, s.inode))
                .collect::<Vec<_>>(),
            [(6379, 777), (5432, 888), (3000, 999)]
        );
        if cfg!(target_endian = "little") {
            assert_eq!(
                sockets,
                [
                    socket("::", 6379, 777),
                    socket("::1", 5432, 888),
                    socket("::ffff:127.0.0.1", 3000, 999),
                ]
            );
        }
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text = "garbage\n\n   0: 0100007F 00000000:0000 0A\n   1: XYZ:1538 00000000:0000 0A 0:0 0:0 0 0 0 12\n   2: 0100007F:1538 00000000:0000 0A 0:0 0:0 0 0 0 notanumber\n   3: 0100007F:1538 00000000:0000 0A 0:0 0:0 0 0 0 12\n";
        assert_eq!(parse_listen_sockets(text).len(), 1);
        assert!(parse_listen_sockets("").is_empty());
    }

    #[test]
    fn wildcards_overlap_everything() {
        let any4 = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let other: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(overlaps(any4, LOCALHOST));
        assert!(overlaps(LOCALHOST, any4));
        assert!(overlaps(LOCALHOST, LOCALHOST));
        assert!(!overlaps(LOCALHOST, other));
    }

    #[test]
    fn a_held_port_is_taken_and_its_owner_is_this_process() {
        let listener = TcpListener::bind((LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(!is_free(LOCALHOST, port));
        assert!(!is_free(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
        if cfg!(target_os = "linux") {
            let owner = owner(port).expect("the test's own listener is visible");
            assert_eq!(owner.pid, std::process::id());
            assert!(!owner.process.is_empty());
        }
    }

    #[test]
    fn a_wildcard_listener_blocks_loopback() {
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(!is_free(LOCALHOST, port));
    }

    #[test]
    fn a_released_port_is_free() {
        let port = TcpListener::bind((LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(is_free(LOCALHOST, port));
    }

    #[test]
    fn port_zero_is_never_free() {
        assert!(!is_free(LOCALHOST, 0));
    }

    #[test]
    fn free_port_keeps_a_free_preferred_port() {
        let port = TcpListener::bind((LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert_eq!(free_port(LOCALHOST, port, &BTreeSet::new()), Some(port));
    }

    #[test]
    fn free_port_avoids_taken_and_avoided_ports() {
        let listener = TcpListener::bind((LOCALHOST, 0)).unwrap();
        let taken = listener.local_addr().unwrap().port();
        let chosen = free_port(LOCALHOST, taken, &BTreeSet::new()).unwrap();
        assert_ne!(chosen, taken);
        assert!(is_free(LOCALHOST, chosen));

        let avoided = TcpListener::bind((LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let avoid = BTreeSet::from([avoided]);
        let chosen = free_port(LOCALHOST, avoided, &avoid).unwrap();
        assert_ne!(chosen, avoided);
        assert_ne!(chosen, taken);
    }

    #[test]
    fn taken_ports_are_described_with_or_without_owner() {
        let owner = PortOwner {
            pid: 1234,
            process: "postgres".into(),
        };
        assert_eq!(
            describe_taken(5432, Some(&owner)),
            "port 5432 is in use by `postgres` (pid 1234)"
        );
        let unknown = describe_taken(5432, None);
        assert!(unknown.starts_with("port 5432 is in use ("), "{unknown}");
        if cfg!(target_os = "linux") {
            assert_eq!(
                unknown,
                "port 5432 is in use (owner not visible to this user)"
            );
        }
    }
}
