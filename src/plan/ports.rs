//! Host ports for the stack: `fixed` ports are published as declared; an `auto` port keeps the
//! port remembered for this project, or gets one that is free now and is remembered from then
//! on, so two projects can run side by side. Pure: the caller says which ports are free.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::{PortPolicy, Stack};

/// Remembered `auto` ports, keyed by `service:container-port`.
pub type RememberedPorts = BTreeMap<String, u16>;

fn key(service: &str, container: u16) -> String {
    format!("{service}:{container}")
}

/// Sets the host port of every `auto` mapping and returns what to remember.
///
/// `available(ip, port)` says whether a port may be used: free now, or held by this project's
/// own containers. `allocate(ip, preferred)` picks a free port when the preferred one is not.
pub fn assign(
    stack: &mut Stack,
    remembered: &RememberedPorts,
    available: impl Fn(IpAddr, u16) -> bool,
    mut allocate: impl FnMut(IpAddr, u16) -> Option<u16>,
) -> RememberedPorts {
    let mut kept = RememberedPorts::new();
    for service in stack.services.values_mut() {
        for port in service
            .ports
            .iter_mut()
            .filter(|p| p.policy == PortPolicy::Auto)
        {
            let key = key(&service.name, port.container);
            let chosen = match remembered.get(&key) {
                Some(&host) if available(port.host_ip, host) => host,
                _ if available(port.host_ip, port.host) => port.host,
                _ => allocate(port.host_ip, port.host).unwrap_or(port.host),
            };
            port.host = chosen;
            kept.insert(key, chosen);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> Stack {
        let text = "extends = \"rails\"\n[services.db]\nports = [{ container = 5432, policy = \"auto\" }]\n";
        crate::model::test_stack(text)
    }

    #[test]
    fn keeps_the_preferred_port_when_free_and_remembers_it() {
        let mut s = stack();
        let kept = assign(&mut s, &RememberedPorts::new(), |_, _| true, |_, _| None);
        assert_eq!(kept["db:5432"], 5432);
        assert_eq!(s.services["db"].ports[0].host, 5432);
    }

    #[test]
    fn allocates_another_port_when_taken_and_reuses_it_next_time() {
        let mut s = stack();
        let kept = assign(
            &mut s,
            &RememberedPorts::new(),
            |_, p| p != 5432,
            |_, _| Some(40001),
        );
        assert_eq!(s.services["db"].ports[0].host, 40001);
        let mut again = stack();
        let kept_again = assign(
            &mut again,
            &kept,
            |_, p| p != 5432,
            |_, _| panic!("no allocation"),
        );
        assert_eq!(kept_again["db:5432"], 40001);
        // Fixed ports are left alone.
        assert_eq!(again.services["web"].ports[0].host, 3000);
    }
}
