//! What the engine should hold for a stack, as Docker API values: resource names and labels in
//! Docker Compose's conventions (so `docker compose ps/logs/exec` see devboot's stack), and each
//! service's container definition with a config hash that changes exactly when the container
//! must be recreated. Pure: no engine calls.

use std::collections::HashMap;
use std::path::Path;

use crate::digest::Digest;
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig,
    Mount as DockerMount, MountType, NetworkingConfig, PortBinding,
};

use crate::model::{Mount, Service, Stack};
use crate::plan::DesiredContainer;
use crate::render::COMPOSE_FILE;

pub const LABEL_PROJECT: &str = "com.docker.compose.project";
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
pub const LABEL_ONEOFF: &str = "com.docker.compose.oneoff";
pub const LABEL_CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const LABEL_WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const LABEL_CONFIG_FILES: &str = "com.docker.compose.project.config_files";
pub const LABEL_VERSION: &str = "com.docker.compose.version";
pub const LABEL_NETWORK: &str = "com.docker.compose.network";
pub const LABEL_VOLUME: &str = "com.docker.compose.volume";
/// Marks resources devboot created, beside Compose's labels.
pub const LABEL_MANAGED: &str = "dev.devboot.managed";
/// On a built image: the digest of what it depends on (its Dockerfile, the context files that
/// count, build arguments and target) when it was built.
pub const LABEL_CONTEXT_DIGEST: &str = "dev.devboot.context-digest";
/// In the compose file devboot writes, on each service it describes completely: the digest of
/// the container definition the file says (image ID aside), so a container Compose creates from
/// the file says which definition it runs.
pub const LABEL_DEFINITION: &str = "dev.devboot.definition";
/// On volumes: the checkout (project directory) that created them. Containers say the same
/// with Compose's `project.working_dir`.
pub const LABEL_CHECKOUT: &str = "dev.devboot.checkout";

/// On a throwaway helper container (see `engine::helper`): the project it works for.
pub const LABEL_HELPER: &str = "dev.devboot.helper";
/// On a snapshot volume (`devboot db snapshot`): the snapshot's name. Snapshot volumes carry
/// devboot's labels, not Compose's project label, so they are no volume of the stack: `up`
/// never mounts them, `down --volumes` keeps them, doctor's orphan check does not count them.
pub const LABEL_SNAPSHOT: &str = "dev.devboot.snapshot";
/// On a snapshot volume: the project it belongs to.
pub const LABEL_SNAPSHOT_PROJECT: &str = "dev.devboot.snapshot.project";
/// On a snapshot volume: the project volume it is a copy of (`db-data`).
pub const LABEL_SNAPSHOT_OF: &str = "dev.devboot.snapshot.of";
/// On a snapshot volume: when it was taken, in seconds since the Unix epoch.
pub const LABEL_SNAPSHOT_CREATED: &str = "dev.devboot.snapshot.created";
/// On a snapshot `devboot db upgrade` took: the majors of the upgrade (`15-17`). It keeps the
/// old data until `devboot db upgrade --finish`.
pub const LABEL_SNAPSHOT_UPGRADE: &str = "dev.devboot.snapshot.upgrade";

/// The Compose version devboot's labels follow (Compose v1 reads them as its own).
const COMPOSE_LABEL_VERSION: &str = "1.29.2";

/// The container name, as Compose v2 names it.
pub fn container_name(project: &str, service: &str) -> String {
    format!("{project}-{service}-1")
}

/// The project network, as Compose names it.
pub fn network_name(project: &str) -> String {
    format!("{project}_default")
}

/// A named volume's engine name, as Compose names it.
pub fn volume_name(project: &str, volume: &str) -> String {
    format!("{project}_{volume}")
}

/// The engine name of snapshot `snapshot` of the project volume `volume`.
pub fn snapshot_volume_name(project: &str, volume: &str, snapshot: &str) -> String {
    format!("{project}_{volume}.snapshot.{snapshot}")
}

pub fn project_labels(project: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_PROJECT.to_owned(), project.to_owned()),
        (LABEL_VERSION.to_owned(), COMPOSE_LABEL_VERSION.to_owned()),
        (LABEL_MANAGED.to_owned(), "true".to_owned()),
    ])
}

pub fn network_labels(project: &str) -> HashMap<String, String> {
    let mut labels = project_labels(project);
    labels.insert(LABEL_NETWORK.to_owned(), "default".to_owned());
    labels
}

pub fn volume_labels(project: &str, volume: &str, checkout: &Path) -> HashMap<String, String> {
    let mut labels = project_labels(project);
    labels.insert(LABEL_VOLUME.to_owned(), volume.to_owned());
    labels.insert(LABEL_CHECKOUT.to_owned(), checkout.display().to_string());
    labels
}

/// A service's container definition and what identifies it.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub body: ContainerCreateBody,
    /// Networks to connect after creating (before API 1.44 a create takes only one).
    pub extra_networks: Vec<(String, EndpointSettings)>,
    pub desired: DesiredContainer,
}

/// The container for `service`. `image_id` is the ID of the image it runs, so a rebuilt or
/// re-pulled image changes the hash and recreates the container.
pub fn container_spec(stack: &Stack, service: &Service, image_id: &str) -> ContainerSpec {
    let (mut body, extra_networks) = definition(stack, service);
    let config_hash = config_hash(&body, &extra_networks, image_id);
    let mut labels = project_labels(&stack.project);
    labels.extend([
        (LABEL_SERVICE.to_owned(), service.name.clone()),
        (LABEL_NUMBER.to_owned(), "1".to_owned()),
        (LABEL_ONEOFF.to_owned(), "False".to_owned()),
        (LABEL_CONFIG_HASH.to_owned(), config_hash.clone()),
        (
            LABEL_WORKING_DIR.to_owned(),
            stack.root.display().to_string(),
        ),
        (
            LABEL_CONFIG_FILES.to_owned(),
            stack.root.join(COMPOSE_FILE).display().to_string(),
        ),
    ]);
    body.labels = Some(labels);
    ContainerSpec {
        name: container_name(&stack.project, &service.name),
        desired: DesiredContainer {
            config_hash,
            image_id: image_id.to_owned(),
            compose_definition: compose_definition(stack, service),
        },
        body,
        extra_networks,
    }
}

/// A one-off container of `service` running `argv` (Compose's `run`): the service's image,
/// environment, mounts, working directory and networks, without its published ports or its
/// network alias (it is not the service), labelled as a one-off of the project so `down`
/// removes one left behind.
pub fn one_off_spec(
    stack: &Stack,
    service: &Service,
    argv: &[String],
    suffix: &str,
) -> ContainerSpec {
    let (mut body, mut extra_networks) = definition(stack, service);
    body.cmd = Some(argv.to_vec());
    body.exposed_ports = None;
    body.healthcheck = None;
    if let Some(host) = body.host_config.as_mut() {
        host.port_bindings = None;
    }
    let endpoints = body
        .networking_config
        .iter_mut()
        .flat_map(|n| n.endpoints_config.iter_mut().flat_map(|e| e.values_mut()))
        .chain(extra_networks.iter_mut().map(|(_, settings)| settings));
    for endpoint in endpoints {
        endpoint.aliases = None;
    }
    let mut labels = project_labels(&stack.project);
    labels.extend([
        (LABEL_SERVICE.to_owned(), service.name.clone()),
        (LABEL_ONEOFF.to_owned(), "True".to_owned()),
        (
            LABEL_WORKING_DIR.to_owned(),
            stack.root.display().to_string(),
        ),
    ]);
    body.labels = Some(labels);
    ContainerSpec {
        name: format!("{}-{}-run-{suffix}", stack.project, service.name),
        body,
        extra_networks,
        desired: DesiredContainer {
            config_hash: String::new(),
            image_id: String::new(),
            compose_definition: None,
        },
    }
}

/// The digest the compose file labels `service` with ([`LABEL_DEFINITION`]): the container
/// definition without its image ID. `None` when devboot gives the container more than the
/// compose file can say (the app's AWS wiring: variables and networks made at `up`), so a
/// container Compose creates for it is never taken for devboot's.
pub fn compose_definition(stack: &Stack, service: &Service) -> Option<String> {
    let is_app = stack
        .app
        .as_ref()
        .is_some_and(|a| a.service == service.name);
    let wiring = &stack.app_wiring;
    if is_app && !(wiring.env.is_empty() && wiring.networks.is_empty()) {
        return None;
    }
    let (body, extra_networks) = definition(stack, service);
    Some(config_hash(&body, &extra_networks, ""))
}

/// The container definition of `service` (without labels) and the networks to connect besides
/// the project network.
fn definition(
    stack: &Stack,
    service: &Service,
) -> (ContainerCreateBody, Vec<(String, EndpointSettings)>) {
    let network = network_name(&stack.project);
    let is_app = stack
        .app
        .as_ref()
        .is_some_and(|a| a.service == service.name);
    let wiring = is_app.then_some(&stack.app_wiring);
    // The wiring's variables win over the profile's (an `AWS_PROFILE` in the profile would
    // otherwise beat the credential endpoint in every SDK).
    let mut environment = service.environment.clone();
    if let Some(wiring) = wiring {
        environment.extend(wiring.env.clone());
    }
    let extra_networks: Vec<(String, EndpointSettings)> = wiring
        .map(|w| w.networks.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|(name, address)| {
            let settings = EndpointSettings {
                aliases: Some(vec![service.name.clone()]),
                ipam_config: address.map(|ip| EndpointIpamConfig {
                    ipv4_address: Some(ip.to_string()),
                    ..EndpointIpamConfig::default()
                }),
                ..EndpointSettings::default()
            };
            (name.clone(), settings)
        })
        .collect();
    let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = service
        .ports
        .iter()
        .map(|p| {
            let binding = PortBinding {
                host_ip: Some(p.host_ip.to_string()),
                host_port: Some(p.host.to_string()),
            };
            (format!("{}/tcp", p.container), Some(vec![binding]))
        })
        .collect();
    let mounts = service
        .mounts
        .iter()
        .map(|m| match m {
            Mount::Volume {
                name,
                target,
                read_only,
            } => DockerMount {
                typ: Some(MountType::VOLUME),
                source: Some(volume_name(&stack.project, name)),
                target: Some(target.clone()),
                read_only: Some(*read_only),
                ..DockerMount::default()
            },
            Mount::Bind {
                source,
                target,
                read_only,
            } => DockerMount {
                typ: Some(MountType::BIND),
                source: Some(stack.host_path(source).display().to_string()),
                target: Some(target.clone()),
                read_only: Some(*read_only),
                ..DockerMount::default()
            },
        })
        .collect();
    let healthcheck = service.healthcheck.as_ref().map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(nanos(h.interval)),
        timeout: Some(nanos(h.timeout)),
        start_period: Some(nanos(h.start_period)),
        retries: Some(i64::from(h.retries)),
        start_interval: None,
    });
    let body = ContainerCreateBody {
        image: Some(service.image.to_string()),
        cmd: service.command.as_ref().map(crate::model::Command::argv),
        env: Some(
            environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        working_dir: service.working_dir.clone(),
        exposed_ports: Some(
            service
                .ports
                .iter()
                .map(|p| format!("{}/tcp", p.container))
                .collect(),
        ),
        healthcheck,
        host_config: Some(HostConfig {
            port_bindings: Some(port_bindings),
            mounts: Some(mounts),
            network_mode: Some(network.clone()),
            init: Some(true),
            ..HostConfig::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network,
                EndpointSettings {
                    aliases: Some(vec![service.name.clone()]),
                    ..EndpointSettings::default()
                },
            )])),
        }),
        ..ContainerCreateBody::default()
    };
    (body, extra_networks)
}

/// SHA-256 over the definition (labels excluded, keys sorted), the extra networks and the
/// image ID.
fn config_hash(
    body: &ContainerCreateBody,
    extra_networks: &[(String, EndpointSettings)],
    image_id: &str,
) -> String {
    // `serde_json::Value` objects are sorted maps, so HashMap fields hash stably.
    let canonical = serde_json::to_value(body).expect("container definitions serialize");
    let mut text = format!("{canonical}\0{image_id}");
    // Appended only when present, so stacks without wiring keep the hashes they had.
    if !extra_networks.is_empty() {
        let networks = serde_json::to_value(extra_networks).expect("endpoint settings serialize");
        text.push_str(&format!("\0{networks}"));
    }
    Digest::of(text.as_bytes()).into_string()
}

fn nanos(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(text: &str) -> Stack {
        crate::model::test_stack(text)
    }

    #[test]
    fn names_and_labels_follow_compose() {
        let stack = stack("extends = \"rails\"\n");
        let spec = container_spec(&stack, &stack.services["db"], "sha256:1");
        assert_eq!(spec.name, "shop-db-1");
        let labels = spec.body.labels.unwrap();
        assert_eq!(labels[LABEL_PROJECT], "shop");
        assert_eq!(labels[LABEL_SERVICE], "db");
        assert_eq!(labels[LABEL_CONFIG_HASH], spec.desired.config_hash);
        assert_eq!(
            labels[LABEL_CONFIG_FILES],
            "/src/shop/.devboot/compose.yaml"
        );
        let mounts = spec.body.host_config.unwrap().mounts.unwrap();
        assert_eq!(mounts[0].source.as_deref(), Some("shop_db-data"));
    }

    #[test]
    fn a_one_off_runs_the_command_without_ports_or_alias() {
        let stack = stack("extends = \"rails\"\n");
        let argv = vec!["bin/rails".to_owned(), "db:seed".to_owned()];
        let spec = one_off_spec(&stack, &stack.services["web"], &argv, "1a2b3c");
        assert_eq!(spec.name, "shop-web-run-1a2b3c");
        assert_eq!(spec.body.cmd.as_deref(), Some(argv.as_slice()));
        let env = spec.body.env.unwrap();
        assert!(
            env.iter().any(|e| e.starts_with("DATABASE_URL=")),
            "{env:?}"
        );
        let host = spec.body.host_config.unwrap();
        assert_eq!(host.port_bindings, None);
        assert_eq!(host.network_mode.as_deref(), Some("shop_default"));
        assert_eq!(host.mounts.unwrap().len(), 2);
        let endpoint = &spec
            .body
            .networking_config
            .unwrap()
            .endpoints_config
            .unwrap()["shop_default"];
        assert_eq!(endpoint.aliases, None);
        let labels = spec.body.labels.unwrap();
        assert_eq!(labels[LABEL_ONEOFF], "True");
        assert_eq!(labels[LABEL_PROJECT], "shop");
    }

    #[test]
    fn the_hash_changes_with_the_definition_and_the_image_only() {
        let stack_a = stack("extends = \"rails\"\n");
        let web = &stack_a.services["web"];
        let hash = |s: &Stack, image: &str| {
            container_spec(s, &s.services["web"], image)
                .desired
                .config_hash
        };
        assert_eq!(hash(&stack_a, "sha256:1"), hash(&stack_a, "sha256:1"));
        assert_ne!(hash(&stack_a, "sha256:1"), hash(&stack_a, "sha256:2"));
        let stack_b =
            stack("extends = \"rails\"\n[services.web.environment]\nRAILS_ENV = \"test\"\n");
        assert_ne!(hash(&stack_a, "sha256:1"), hash(&stack_b, "sha256:1"));
        // Other services' changes do not touch web.
        let stack_c = stack("extends = \"rails\"\n[services.db.environment]\nX = \"1\"\n");
        assert_eq!(hash(&stack_a, "sha256:1"), hash(&stack_c, "sha256:1"));
        assert_eq!(web.name, "web");
    }
}
