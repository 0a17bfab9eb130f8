//! `docker.subnets`: the engine's networks do not take address ranges the host already routes
//! elsewhere (a VPN, the office LAN). When they do, containers cannot reach those hosts — and
//! on a machine whose VPN route is shadowed, the host itself loses them. Host routes come from
//! `/proc/net/route` (Linux); the engine's own bridges are left out (Podman's API does not name
//! them: on Podman, its `podman<N>` and `cni-podman<N>` interfaces are its own).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

use bollard::query_parameters::ListNetworksOptions;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::facts::Facts;
use crate::engine::provider::podman_version;
use crate::engine::spec::network_name;

pub(super) const SUBNETS: Check = Check {
    id: "docker.subnets",
    title: "The engine's networks do not overlap the host's routes (VPN, LAN)",
    depends_on: &["docker.daemon"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(subnets(facts))),
    safe_fix: None,
};

/// An IPv4 range: its first address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    addr: u32,
    prefix: u32,
}

impl Range {
    fn mask(self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix.min(32))
        }
    }

    /// Parses `10.1.0.0/16`.
    fn parse(cidr: &str) -> Option<Self> {
        let (addr, prefix) = cidr.trim().split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u32 = prefix.parse().ok().filter(|p| *p <= 32)?;
        Some(Self {
            addr: u32::from(addr),
            prefix,
        })
    }

    fn overlaps(self, other: Self) -> bool {
        let mask = self.mask() & other.mask();
        self.addr & mask == other.addr & mask
    }
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}",
            Ipv4Addr::from(self.addr & self.mask()),
            self.prefix
        )
    }
}

/// One line of the host's routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    iface: String,
    range: Range,
}

/// Reads `/proc/net/route`: hexadecimal destination and mask in the kernel's byte order.
fn parse_routes(text: &str) -> Vec<Route> {
    let hex = |field: &str| u32::from_str_radix(field, 16).ok().map(u32::to_ne_bytes);
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let iface = (*fields.first()?).to_owned();
            let dest = u32::from(Ipv4Addr::from(hex(fields.get(1)?)?));
            let mask = u32::from(Ipv4Addr::from(hex(fields.get(7)?)?));
            Some(Route {
                iface,
                range: Range {
                    addr: dest,
                    prefix: mask.count_ones(),
                },
            })
        })
        .collect()
}

/// One network of the engine with its IPv4 subnets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EngineNetwork {
    name: String,
    /// The host interface of a bridge network (`docker0`, `br-<id>`).
    bridge: Option<String>,
    subnets: Vec<Range>,
}

async fn subnets(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let route_file = facts.proc_root.join("net/route");
    let table = std::fs::read_to_string(&route_file).map_err(|_| {
        Outcome::skipped(format!(
            "no {} to read the host's routes from (not Linux)",
            route_file.display()
        ))
    })?;
    let connection = facts
        .connection()
        .await
        .map_err(|error| Outcome::skipped(error.to_string()))?;
    let podman = connection
        .docker
        .version()
        .await
        .is_ok_and(|v| podman_version(&v).is_some());
    let networks = connection
        .docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(|error| Outcome::error(format!("cannot list the engine's networks: {error}")))?;
    let networks: Vec<EngineNetwork> = networks
        .into_iter()
        .map(|n| {
            let id = n.id.unwrap_or_default();
            let bridge = n
                .options
                .as_ref()
                .and_then(|o| o.get("com.docker.network.bridge.name").cloned())
                .or_else(|| {
                    (!podman && n.driver.as_deref() == Some("bridge") && id.len() >= 12)
                        .then(|| format!("br-{}", &id[..12]))
                });
            EngineNetwork {
                name: n.name.unwrap_or(id),
                bridge,
                subnets: n
                    .ipam
                    .and_then(|ipam| ipam.config)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|c| Range::parse(c.subnet.as_deref()?))
                    .collect(),
            }
        })
        .collect();
    let project = facts.stack().map(|stack| network_name(&stack.project));
    Ok(subnets_outcome(
        &networks,
        &parse_routes(&table),
        project.as_deref(),
        podman,
    ))
}

/// Whether `iface` is one of the engine's own: a bridge of its networks or a container's veth
/// (on Podman, every bridge netavark or CNI named).
fn engine_iface(iface: &str, bridges: &BTreeSet<&str>, podman: bool) -> bool {
    let podman_bridge = ["podman", "cni-podman"].iter().any(|prefix| {
        iface
            .strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    bridges.contains(iface)
        || iface == "docker0"
        || iface.starts_with("veth")
        || (podman && podman_bridge)
}

/// Address pools to suggest, the first that no host route touches wins.
const POOLS: &[&str] = &["10.203.0.0/16", "172.29.0.0/16", "192.168.208.0/20"];

fn subnets_outcome(
    networks: &[EngineNetwork],
    routes: &[Route],
    project: Option<&str>,
    podman: bool,
) -> Outcome {
    let bridges: BTreeSet<&str> = networks
        .iter()
        .filter_map(|n| n.bridge.as_deref())
        .collect();
    let host_routes: Vec<&Route> = routes
        .iter()
        .filter(|r| r.range.prefix > 0 && !engine_iface(&r.iface, &bridges, podman))
        .collect();
    let mut clashes = Vec::new();
    let mut names = Vec::new();
    for network in networks {
        for subnet in &network.subnets {
            for route in host_routes.iter().filter(|r| r.range.overlaps(*subnet)) {
                let ours = if Some(network.name.as_str()) == project {
                    " (this project's)"
                } else {
                    ""
                };
                clashes.push(format!(
                    "network `{}`{ours} {subnet} overlaps the host's route to {} via `{}`",
                    network.name, route.range, route.iface
                ));
                if !names.contains(&network.name) {
                    names.push(network.name.clone());
                }
            }
        }
    }
    let counted: usize = networks.iter().map(|n| n.subnets.len()).sum();
    if clashes.is_empty() {
        let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        return Outcome::ok(format!(
            "{} of {}; none overlaps a host route outside the engine ({} checked)",
            plural(counted, "subnet"),
            plural(networks.len(), "network"),
            host_routes.len()
        ));
    }
    let pool = POOLS
        .iter()
        .filter_map(|p| Range::parse(p))
        .find(|pool| {
            !host_routes.iter().any(|r| r.range.overlaps(*pool))
                && !networks
                    .iter()
                    .flat_map(|n| &n.subnets)
                    .any(|s| s.overlaps(*pool))
        })
        .map_or_else(|| POOLS[0].to_owned(), |p| p.to_string());
    let mut outcome = Outcome::warn(clashes.join("; "))
        .detail("containers (and, while the network exists, this host) cannot reach the hosts behind that route: typically a VPN or the office LAN, so internal gems, registries or databases time out");
    if names.iter().any(|n| n == "bridge") {
        outcome = outcome.detail(
            "the default `bridge` network (docker0) takes its subnet from `bip` in daemon.json",
        );
    }
    outcome = outcome
        .fix(format!(
            "make the engine take new networks from a free range: add `\"default-address-pools\": [{{\"base\": \"{pool}\", \"size\": 24}}]` to /etc/docker/daemon.json (Docker Desktop: Settings → Docker Engine), then restart it"
        ))
        .fix_with("restart the engine (Linux)", "sudo systemctl restart docker");
    let others: Vec<&String> = names
        .iter()
        .filter(|n| Some(n.as_str()) != project && n.as_str() != "bridge")
        .collect();
    if names.iter().any(|n| Some(n.as_str()) == project) {
        outcome = outcome.fix_with(
            "recreate this project's network from the new pool (volumes are kept)",
            "devboot down && devboot up",
        );
    }
    if !others.is_empty() {
        outcome = outcome.fix_with(
            "remove the other networks once their containers are stopped (their projects recreate them)",
            format!(
                "docker network rm {}",
                others.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(" ")
            ),
        );
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;

    /// `/proc/net/route` of a laptop with Docker and a VPN (`tun0`) routing 172.18.0.0/16.
    const ROUTES: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
br-f9e873c5f753\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
tun0\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
";

    fn network(name: &str, bridge: &str, subnet: &str) -> EngineNetwork {
        EngineNetwork {
            name: name.to_owned(),
            bridge: Some(bridge.to_owned()),
            subnets: vec![Range::parse(subnet).unwrap()],
        }
    }

    #[test]
    fn routes_are_read_from_proc_net_route() {
        let routes = parse_routes(ROUTES);
        assert_eq!(routes.len(), 5);
        assert_eq!(routes[0].range.prefix, 0);
        assert_eq!(routes[1].iface, "docker0");
        assert_eq!(routes[1].range.to_string(), "172.17.0.0/16");
        assert_eq!(routes[3].range.to_string(), "192.0.2.0/24");
    }

    #[test]
    fn ranges_overlap_when_one_contains_the_other() {
        let r = |s: &str| Range::parse(s).unwrap();
        assert!(r("10.0.0.0/8").overlaps(r("10.213.57.0/24")));
        assert!(r("10.213.57.0/24").overlaps(r("10.213.0.0/16")));
        assert!(!r("10.213.57.0/24").overlaps(r("10.213.58.0/24")));
        assert!(r("0.0.0.0/0").overlaps(r("192.168.1.0/24")));
        assert_eq!(Range::parse("10.1.2.3"), None);
        assert_eq!(Range::parse("fd00::/64"), None);
    }

    #[test]
    fn a_network_on_a_vpn_route_warns_with_an_address_pool_that_is_free() {
        let routes = parse_routes(ROUTES);
        let networks = [
            network("bridge", "docker0", "172.17.0.0/16"),
            network("shop_default", "br-f9e873c5f753", "172.18.0.0/16"),
        ];
        let outcome = subnets_outcome(&networks, &routes, Some("shop_default"), false);
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "network `shop_default` (this project's) 172.18.0.0/16 overlaps the host's route to 172.18.0.0/16 via `tun0`"
        );
        assert!(
            outcome.fixes[0]
                .description
                .contains("\"base\": \"10.203.0.0/16\""),
            "{:?}",
            outcome.fixes
        );
        assert_eq!(
            outcome.fixes[1].command.as_deref(),
            Some("sudo systemctl restart docker")
        );
        assert_eq!(
            outcome.fixes[2].command.as_deref(),
            Some("devboot down && devboot up")
        );

        // Another project's network: removing it is the fix; the suggested pool avoids routes.
        let mut routes = routes;
        routes.push(Route {
            iface: "wg0".to_owned(),
            range: Range::parse("10.0.0.0/8").unwrap(),
        });
        let outcome = subnets_outcome(&networks, &routes, Some("other_default"), false);
        assert!(
            outcome.fixes[0].description.contains("172.29.0.0/16"),
            "{:?}",
            outcome.fixes
        );
        assert_eq!(
            outcome.fixes.last().unwrap().command.as_deref(),
            Some("docker network rm shop_default")
        );

        // Without the VPN: the engine's own bridges never count.
        let routes: Vec<Route> = parse_routes(ROUTES)
            .into_iter()
            .filter(|r| r.iface != "tun0")
            .collect();
        let outcome = subnets_outcome(&networks, &routes, None, false);
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "2 subnets of 2 networks; none overlaps a host route outside the engine (1 checked)"
        );
    }

    #[test]
    fn podmans_bridges_are_its_own_on_podman_only() {
        // Podman's API names no bridge; netavark's are podman<N> (as seen with Podman 4.3).
        let routes = parse_routes(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
podman1\t0000590A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
",
        );
        let networks = [EngineNetwork {
            name: "shop_default".to_owned(),
            bridge: None,
            subnets: vec![Range::parse("10.89.0.0/24").unwrap()],
        }];
        let on_podman = subnets_outcome(&networks, &routes, Some("shop_default"), true);
        assert_eq!(on_podman.status, Status::Ok, "{on_podman:?}");
        // The same route seen from another engine on the host is someone else's network.
        let on_docker = subnets_outcome(&networks, &routes, Some("shop_default"), false);
        assert_eq!(on_docker.status, Status::Warn, "{on_docker:?}");
        assert!(!engine_iface("podman-vpn", &BTreeSet::new(), true));
    }
}
