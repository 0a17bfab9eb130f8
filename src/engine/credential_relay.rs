//! The engine side of the AWS credential endpoint (`[aws] mode = "server"`): the link-local
//! network `<project>_awscreds` (169.254.170.0/24, the host at `.1`) and the relay container
//! at 169.254.170.2 — the address every AWS SDK's container provider calls — forwarding TCP to
//! the endpoint devboot serves on the host, over the route [`crate::aws::route`] chose: the
//! gateway 169.254.170.1, or `host.docker.internal` (the engine's `host-gateway`). The app
//! container joins that network besides the project's own. An engine can hold the subnet once, so a second project in server mode is
//! refused with the name of the first.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig,
    NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    InspectContainerOptions, InspectNetworkOptions, ListNetworksOptions,
};

use super::containers;
use super::observe::engine_error;
use super::provider::Provider;
use super::spec::{ContainerSpec, LABEL_MANAGED};
use crate::aws::route::{HOST_GATEWAY_NAME, Route, RouteChoice};
use crate::aws::{CREDENTIAL_SUBNET, ENDPOINT_HOST_ADDRESS, RELAY_ADDRESS};
use crate::digest::Digest;
use crate::error::Error;
use crate::model::{ImageRef, RelayRoute};
use crate::plan::DesiredContainer;

/// Which project a devboot resource outside Compose's model belongs to.
pub const LABEL_OWNER: &str = "dev.devboot.project";
/// What such a resource is for.
const LABEL_ROLE: &str = "dev.devboot.role";
/// The relay's definition, to tell whether it must be recreated.
const LABEL_RELAY_HASH: &str = "dev.devboot.relay-hash";

pub use crate::aws::container_env::credential_network as network_name;

pub fn relay_name(project: &str) -> String {
    format!("{project}-aws-relay")
}

fn labels(project: &str, role: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_MANAGED.to_owned(), "true".to_owned()),
        (LABEL_OWNER.to_owned(), project.to_owned()),
        (LABEL_ROLE.to_owned(), role.to_owned()),
    ])
}

/// The relay container: socat listening on port 80 at 169.254.170.2 and forwarding each
/// connection over `route` to the endpoint's `port` on the host. Pure.
pub fn relay_spec(project: &str, image: &ImageRef, route: Route, port: u16) -> ContainerSpec {
    let network = network_name(project);
    let (target, extra_hosts) = match route {
        Route::LinkLocal => (
            SocketAddr::from((ENDPOINT_HOST_ADDRESS, port)).to_string(),
            None,
        ),
        Route::HostGateway => (
            format!("{HOST_GATEWAY_NAME}:{port}"),
            Some(vec![format!("{HOST_GATEWAY_NAME}:host-gateway")]),
        ),
    };
    let cmd = vec![
        "TCP-LISTEN:80,fork,reuseaddr".to_owned(),
        format!("TCP:{target}"),
    ];
    let mut body = ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(vec!["socat".to_owned()]),
        cmd: Some(cmd),
        host_config: Some(HostConfig {
            network_mode: Some(network.clone()),
            init: Some(true),
            extra_hosts,
            ..HostConfig::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network,
                EndpointSettings {
                    ipam_config: Some(EndpointIpamConfig {
                        ipv4_address: Some(RELAY_ADDRESS.to_string()),
                        ..EndpointIpamConfig::default()
                    }),
                    ..EndpointSettings::default()
                },
            )])),
        }),
        ..ContainerCreateBody::default()
    };
    let canonical = serde_json::to_value(&body).expect("container definitions serialize");
    let config_hash = Digest::of(canonical.to_string().as_bytes()).into_string();
    let mut labels = labels(project, "aws-relay");
    labels.insert(LABEL_RELAY_HASH.to_owned(), config_hash.clone());
    body.labels = Some(labels);
    ContainerSpec {
        name: relay_name(project),
        body,
        extra_networks: Vec::new(),
        // The relay is devboot's alone: only its own hash identifies it.
        desired: DesiredContainer {
            config_hash,
            image_id: String::new(),
            compose_definition: None,
        },
    }
}

/// How the relay reaches the endpoint for `setting` on this engine (its kind from `/info`).
pub async fn route(docker: &Docker, setting: RelayRoute) -> Result<RouteChoice, Error> {
    let info = docker
        .info()
        .await
        .map_err(|e| engine_error("reading the engine's info", &e))?;
    Ok(crate::aws::route::choose(setting, Provider::of(&info)))
}

/// The address the engine's `host-gateway` stands for when the engine runs on this host's
/// kernel: the default bridge's gateway. A freshly started dockerd 20.10 lists only the
/// bridge's subnet; its gateway is then the subnet's first address (dockerd's default),
/// taken only when this host holds it.
pub async fn host_gateway_address(docker: &Docker) -> Result<Ipv4Addr, Error> {
    let bridge = docker
        .inspect_network("bridge", None::<InspectNetworkOptions>)
        .await
        .map_err(|e| engine_error("inspecting the default bridge network", &e))?;
    let configs = bridge.ipam.and_then(|i| i.config).unwrap_or_default();
    let gateway = configs.iter().find_map(|c| {
        let text = c.gateway.as_deref().filter(|g| !g.is_empty());
        text.and_then(|g| g.parse::<Ipv4Addr>().ok())
    });
    let first_of_subnet = || {
        configs.iter().find_map(|c| {
            let (network, _) = c.subnet.as_deref()?.split_once('/')?;
            let network: Ipv4Addr = network.parse().ok()?;
            Some(Ipv4Addr::from(u32::from(network) + 1))
        })
    };
    gateway
        .or_else(|| first_of_subnet().filter(|a| UdpSocket::bind((*a, 0)).is_ok()))
        .ok_or_else(|| Error::Engine {
            action: "finding the host's address on the default bridge (`host-gateway`)".into(),
            message: format!("the `bridge` network names no gateway this host holds ({configs:?})"),
            hint: Some(
                "set `relay_route = \"link-local\"` under [aws] in devboot.local.toml".into(),
            ),
        })
}

async fn network_exists(docker: &Docker, name: &str) -> bool {
    docker
        .inspect_network(name, None::<InspectNetworkOptions>)
        .await
        .is_ok()
}

/// Creates the credential network unless it exists.
pub async fn ensure_network(docker: &Docker, project: &str) -> Result<(), Error> {
    let name = network_name(project);
    if network_exists(docker, &name).await {
        return Ok(());
    }
    let request = NetworkCreateRequest {
        name: name.clone(),
        driver: Some("bridge".to_owned()),
        labels: Some(labels(project, "aws-credentials")),
        ipam: Some(Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some(CREDENTIAL_SUBNET.to_owned()),
                gateway: Some(ENDPOINT_HOST_ADDRESS.to_string()),
                ..IpamConfig::default()
            }]),
            ..Ipam::default()
        }),
        ..NetworkCreateRequest::default()
    };
    match containers::create_network(docker, request).await {
        Ok(()) => Ok(()),
        Err(error) if error.to_string().contains("overlap") => {
            Err(subnet_taken(docker, project).await)
        }
        Err(error) => Err(engine_error(
            &format!("creating the AWS credential network `{name}`"),
            &error,
        )),
    }
}

/// Before anything is created: when the project's credential network does not exist yet,
/// no other network may hold its subnet (the engine would refuse to create it halfway
/// through `up`).
pub async fn check_subnet_free(docker: &Docker, project: &str) -> Result<(), Error> {
    let name = network_name(project);
    if network_exists(docker, &name).await {
        return Ok(());
    }
    let networks = docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(|e| engine_error("listing networks", &e))?;
    if networks.iter().any(holds_subnet) {
        return Err(subnet_taken(docker, project).await);
    }
    Ok(())
}

fn holds_subnet(network: &bollard::models::Network) -> bool {
    network
        .ipam
        .as_ref()
        .and_then(|i| i.config.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.subnet.as_deref() == Some(CREDENTIAL_SUBNET))
        })
}

/// The error for a credential subnet another network already holds, naming its project.
async fn subnet_taken(docker: &Docker, project: &str) -> Error {
    let networks = docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .unwrap_or_default();
    let holder = networks.into_iter().find(holds_subnet);
    let (what, fix) = match holder {
        Some(network) => {
            let name = network.name.unwrap_or_default();
            match network.labels.as_ref().and_then(|l| l.get(LABEL_OWNER)) {
                Some(owner) => (
                    format!("network `{name}` of the devboot project `{owner}`"),
                    format!("run `devboot down` in `{owner}` first"),
                ),
                None => (
                    format!("network `{name}`"),
                    format!("remove it (`docker network rm {name}`) if nothing needs it"),
                ),
            }
        }
        None => (
            "another network".to_owned(),
            "find it with `docker network inspect $(docker network ls -q)`".to_owned(),
        ),
    };
    Error::Engine {
        action: format!("creating the AWS credential network for `{project}`"),
        message: format!(
            "{CREDENTIAL_SUBNET} is already used by {what}; one stack at a time can serve AWS credentials"
        ),
        hint: Some(format!(
            "{fix}, or set `mode = \"env\"` under [aws] in devboot.local.toml"
        )),
    }
}

/// Runs the relay as `spec` says: left alone when running with the same definition,
/// started when stopped, replaced otherwise. Returns whether anything changed.
pub async fn ensure_relay(docker: &Docker, spec: &ContainerSpec) -> Result<bool, Error> {
    let existing = docker
        .inspect_container(&spec.name, None::<InspectContainerOptions>)
        .await
        .ok();
    let same = existing.as_ref().is_some_and(|c| {
        c.config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(LABEL_RELAY_HASH))
            == Some(&spec.desired.config_hash)
    });
    let running = existing
        .as_ref()
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.running)
        .unwrap_or(false);
    if same && running {
        return Ok(false);
    }
    if existing.is_some() && !same {
        containers::remove(docker, &spec.name).await?;
    }
    if !same {
        create_relay(docker, spec).await?;
    }
    docker
        .start_container(
            &spec.name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(|e| engine_error("starting the AWS credential relay", &e))?;
    Ok(true)
}

async fn create_relay(docker: &Docker, spec: &ContainerSpec) -> Result<(), Error> {
    let options = bollard::query_parameters::CreateContainerOptionsBuilder::default()
        .name(&spec.name)
        .build();
    docker
        .create_container(Some(options), spec.body.clone())
        .await
        .map(drop)
        .map_err(|e| engine_error("creating the AWS credential relay", &e))
}

/// Removes the relay and the credential network; returns the names of what was there.
pub async fn remove(docker: &Docker, project: &str) -> Result<Vec<String>, Error> {
    let mut removed = Vec::new();
    let relay = relay_name(project);
    if docker
        .inspect_container(&relay, None::<InspectContainerOptions>)
        .await
        .is_ok()
    {
        containers::remove(docker, &relay).await?;
        removed.push(format!("container {relay}"));
    }
    let network = network_name(project);
    if containers::remove_networks(docker, &network)
        .await
        .map_err(|e| engine_error("removing the AWS credential network", &e))?
    {
        removed.push(format!("network {network}"));
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relay_forwards_port_80_at_the_ecs_address_to_the_host_endpoint() {
        let image = ImageRef::parse("alpine/socat:1.8.0.0").unwrap();
        let spec = relay_spec("shop", &image, Route::LinkLocal, 41234);
        assert_eq!(spec.name, "shop-aws-relay");
        assert_eq!(
            spec.body.cmd.as_deref().unwrap(),
            ["TCP-LISTEN:80,fork,reuseaddr", "TCP:169.254.170.1:41234"]
        );
        let endpoints = spec
            .body
            .networking_config
            .unwrap()
            .endpoints_config
            .unwrap();
        let address = endpoints["shop_awscreds"].ipam_config.as_ref().unwrap();
        assert_eq!(address.ipv4_address.as_deref(), Some("169.254.170.2"));
        assert_eq!(spec.body.labels.as_ref().unwrap()[LABEL_OWNER], "shop");
        let host_config = spec.body.host_config.as_ref().unwrap();
        assert_eq!(host_config.extra_hosts, None);
        // Another port is another relay.
        let moved = relay_spec("shop", &image, Route::LinkLocal, 41235);
        assert_ne!(moved.desired.config_hash, spec.desired.config_hash);
    }

    #[test]
    fn over_host_gateway_the_relay_calls_host_docker_internal_mapped_to_the_engines_gateway() {
        let image = ImageRef::parse("alpine/socat:1.8.0.0").unwrap();
        let spec = relay_spec("shop", &image, Route::HostGateway, 41234);
        assert_eq!(
            spec.body.cmd.as_deref().unwrap(),
            [
                "TCP-LISTEN:80,fork,reuseaddr",
                "TCP:host.docker.internal:41234"
            ]
        );
        let host_config = spec.body.host_config.as_ref().unwrap();
        assert_eq!(
            host_config.extra_hosts.as_deref().unwrap(),
            ["host.docker.internal:host-gateway"]
        );
        // Still at the address the SDKs call; a changed route is another relay.
        let endpoints = spec.body.networking_config.as_ref().unwrap();
        let address = endpoints.endpoints_config.as_ref().unwrap()["shop_awscreds"]
            .ipam_config
            .as_ref()
            .unwrap();
        assert_eq!(address.ipv4_address.as_deref(), Some("169.254.170.2"));
        let link_local = relay_spec("shop", &image, Route::LinkLocal, 41234);
        assert_ne!(link_local.desired.config_hash, spec.desired.config_hash);
    }
}
