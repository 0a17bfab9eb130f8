//! How the credential relay reaches the endpoint on the host, decided once from the profile's
//! `[aws] relay_route` and the kind of engine ([`Provider`]); and what follows from it — where
//! the endpoint listens and whose connections it serves. Pure.
//!
//! * `link-local`: the engine runs on this host's kernel, so the host holds the credential
//!   network's gateway 169.254.170.1; the endpoint listens there and the relay (169.254.170.2)
//!   forwards to it.
//! * `host-gateway`: the relay forwards to `host.docker.internal` (the engine's `host-gateway`).
//!   A VM engine (Docker Desktop, `OrbStack`, Colima, Rancher Desktop) passes that on to this
//!   host's loopback, so the endpoint listens on 127.0.0.1 and serves loopback peers; an engine
//!   on this kernel resolves it to its default bridge's gateway, where the endpoint listens and
//!   still serves the relay's address alone.

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use super::{ENDPOINT_HOST_ADDRESS, RELAY_ADDRESS};
use crate::engine::provider::Provider;
use crate::model::RelayRoute;

/// The host name the relay calls in `host-gateway` mode.
pub const HOST_GATEWAY_NAME: &str = "host.docker.internal";

/// A route the relay takes, once `auto` is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    LinkLocal,
    HostGateway,
}

impl Route {
    pub fn name(self) -> &'static str {
        match self {
            Self::LinkLocal => "link-local",
            Self::HostGateway => "host-gateway",
        }
    }
}

/// The route for this project on this engine, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteChoice {
    pub route: Route,
    /// Why: the engine's kind, or the profile forcing it.
    pub reason: String,
    /// The engine runs in a VM: this host cannot reach the relay's address.
    #[serde(skip)]
    pub engine_in_vm: bool,
}

/// Resolves the profile's `relay_route` for the engine `provider`.
pub fn choose(setting: RelayRoute, provider: Provider) -> RouteChoice {
    let engine_in_vm = provider.runs_in_vm();
    let engine = match (provider.name(), engine_in_vm) {
        (Some(name), _) => format!("the engine is {name}, in a VM"),
        (None, true) => "the engine runs in a VM".to_owned(),
        (None, false) => "the engine runs on this host's kernel".to_owned(),
    };
    let (route, reason) = match setting {
        RelayRoute::Auto if engine_in_vm => (Route::HostGateway, engine),
        RelayRoute::Auto => (Route::LinkLocal, engine),
        RelayRoute::LinkLocal => (
            Route::LinkLocal,
            format!("set by `[aws] relay_route`; {engine}"),
        ),
        RelayRoute::HostGateway => (
            Route::HostGateway,
            format!("set by `[aws] relay_route`; {engine}"),
        ),
    };
    RouteChoice {
        route,
        reason,
        engine_in_vm,
    }
}

impl RouteChoice {
    /// Where the endpoint listens; `None` for `host-gateway` on an engine on this kernel: the
    /// address the engine's `host-gateway` stands for, which only the engine knows.
    pub fn endpoint_address(&self) -> Option<IpAddr> {
        match (self.route, self.engine_in_vm) {
            (Route::LinkLocal, _) => Some(ENDPOINT_HOST_ADDRESS.into()),
            (Route::HostGateway, true) => Some(Ipv4Addr::LOCALHOST.into()),
            (Route::HostGateway, false) => None,
        }
    }
}

/// The peers the endpoint listening on `address` serves: on loopback (a VM engine passes the
/// relay's connections on from there) loopback; elsewhere the relay alone. Every request
/// still needs the endpoint's path and token.
pub fn allowed_peers(address: IpAddr) -> Vec<IpAddr> {
    if address.is_loopback() {
        vec![address]
    } else {
        vec![RELAY_ADDRESS.into()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_host_gateway_for_a_vm_engine_and_link_local_otherwise() {
        let desktop = choose(RelayRoute::Auto, Provider::DockerDesktop);
        assert_eq!(desktop.route, Route::HostGateway);
        assert_eq!(desktop.reason, "the engine is Docker Desktop, in a VM");
        assert!(desktop.engine_in_vm);
        for vm in [
            Provider::OrbStack,
            Provider::Colima,
            Provider::RancherDesktop,
        ] {
            assert_eq!(choose(RelayRoute::Auto, vm).route, Route::HostGateway);
        }
        let native = choose(RelayRoute::Auto, Provider::Other);
        assert_eq!(native.route, Route::LinkLocal);
        assert_eq!(native.reason, "the engine runs on this host's kernel");

        let forced = choose(RelayRoute::HostGateway, Provider::Other);
        assert_eq!(forced.route, Route::HostGateway);
        assert_eq!(
            forced.reason,
            "set by `[aws] relay_route`; the engine runs on this host's kernel"
        );
        assert!(!forced.engine_in_vm);
        let forced = choose(RelayRoute::LinkLocal, Provider::OrbStack);
        assert_eq!(forced.route, Route::LinkLocal);
    }

    #[test]
    fn the_endpoint_listens_where_the_route_arrives_and_serves_only_who_arrives_there() {
        let address = |setting, provider| choose(setting, provider).endpoint_address();

        let link_local = address(RelayRoute::Auto, Provider::Other).unwrap();
        assert_eq!(link_local, IpAddr::from(ENDPOINT_HOST_ADDRESS));
        assert_eq!(allowed_peers(link_local), [IpAddr::from(RELAY_ADDRESS)]);

        let vm = address(RelayRoute::Auto, Provider::Colima).unwrap();
        assert_eq!(vm, IpAddr::from(Ipv4Addr::LOCALHOST));
        assert_eq!(allowed_peers(vm), [vm]);

        assert_eq!(address(RelayRoute::HostGateway, Provider::Other), None);
        let gateway = IpAddr::from(Ipv4Addr::new(172, 17, 0, 1));
        assert_eq!(allowed_peers(gateway), [IpAddr::from(RELAY_ADDRESS)]);
    }
}
