//! The values templates see: a [`Stack`] flattened into the shape of a Compose file, and the
//! app's environment rewritten for the host. Pure functions of the stack.

use std::net::IpAddr;

use serde::Serialize;

use crate::engine::spec;
use crate::model::units::format_duration;
use crate::model::{DependencyCondition, Mount, Stack};

#[derive(Debug, Serialize)]
pub struct ComposeView {
    project: String,
    services: Vec<ServiceView>,
    volumes: Vec<String>,
    /// Labels of the named volumes and of the network, as devboot labels those it creates, so
    /// Compose finds nothing changed on them.
    volume_labels: Vec<(&'static str, String)>,
    network_labels: Vec<(&'static str, String)>,
}

#[derive(Debug, Serialize)]
struct ServiceView {
    name: String,
    image: String,
    platform: Option<String>,
    build: Option<BuildView>,
    command: Option<Vec<String>>,
    working_dir: Option<String>,
    environment: Vec<(String, String)>,
    ports: Vec<PortView>,
    volumes: Vec<MountView>,
    depends_on: Vec<(String, &'static str)>,
    healthcheck: Option<HealthcheckView>,
    /// Labels the container Compose creates carries.
    labels: Vec<(&'static str, String)>,
}

#[derive(Debug, Serialize)]
struct BuildView {
    context: String,
    dockerfile: String,
    target: Option<String>,
    args: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
struct PortView {
    /// `IP:HOST:CONTAINER`, the form Compose v1 and v2 both read.
    mapping: String,
}

#[derive(Debug, Serialize)]
struct MountView {
    r#type: &'static str,
    source: String,
    target: String,
    read_only: bool,
}

#[derive(Debug, Serialize)]
struct HealthcheckView {
    test: Vec<String>,
    interval: String,
    timeout: String,
    start_period: String,
    retries: u32,
}

impl ComposeView {
    pub fn new(stack: &Stack) -> Self {
        let project_path = |relative: &str| stack.host_path(relative).display().to_string();
        let services = stack
            .services
            .values()
            .map(|s| ServiceView {
                name: s.name.clone(),
                image: s.image.to_string(),
                platform: s.platform.as_ref().map(ToString::to_string),
                build: s.build.as_ref().map(|b| BuildView {
                    context: project_path(&b.context),
                    dockerfile: b.dockerfile.clone(),
                    target: b.target.clone(),
                    args: b.args.clone().into_iter().collect(),
                }),
                command: s.command.as_ref().map(crate::model::Command::argv),
                working_dir: s.working_dir.clone(),
                environment: s.environment.clone().into_iter().collect(),
                ports: s
                    .ports
                    .iter()
                    .map(|p| {
                        let ip = match p.host_ip {
                            IpAddr::V6(ip) => format!("[{ip}]"),
                            IpAddr::V4(ip) => ip.to_string(),
                        };
                        PortView {
                            mapping: format!("{ip}:{}:{}", p.host, p.container),
                        }
                    })
                    .collect(),
                volumes: s
                    .mounts
                    .iter()
                    .map(|m| match m {
                        Mount::Volume {
                            name,
                            target,
                            read_only,
                        } => MountView {
                            r#type: "volume",
                            source: name.clone(),
                            target: target.clone(),
                            read_only: *read_only,
                        },
                        Mount::Bind {
                            source,
                            target,
                            read_only,
                        } => MountView {
                            r#type: "bind",
                            source: project_path(source),
                            target: target.clone(),
                            read_only: *read_only,
                        },
                    })
                    .collect(),
                depends_on: s
                    .depends_on
                    .iter()
                    .map(|(name, condition)| (name.clone(), compose_condition(*condition)))
                    .collect(),
                healthcheck: s.healthcheck.as_ref().map(|h| HealthcheckView {
                    test: h.test.clone(),
                    interval: format_duration(h.interval),
                    timeout: format_duration(h.timeout),
                    start_period: format_duration(h.start_period),
                    retries: h.retries,
                }),
                labels: spec::compose_definition(stack, s)
                    .map(|digest| (spec::LABEL_DEFINITION, digest))
                    .into_iter()
                    .collect(),
            })
            .collect();
        Self {
            project: stack.project.clone(),
            services,
            volumes: stack.volumes.iter().cloned().collect(),
            volume_labels: vec![
                (spec::LABEL_MANAGED, "true".to_owned()),
                (spec::LABEL_CHECKOUT, stack.root.display().to_string()),
            ],
            network_labels: vec![(spec::LABEL_MANAGED, "true".to_owned())],
        }
    }
}

/// Compose's name for a `depends_on` condition.
fn compose_condition(condition: DependencyCondition) -> &'static str {
    match condition {
        DependencyCondition::Started => "service_started",
        DependencyCondition::Healthy => "service_healthy",
        DependencyCondition::Completed => "service_completed_successfully",
    }
}

/// The app service's environment as seen from the host: URLs that point at a service of the
/// stack (`postgres://…@db:5432`) point at its published host port instead, and
/// `COMPOSE_PROJECT_NAME` / `COMPOSE_FILE` let `docker compose` find the stack. Bundler's
/// settings (`BUNDLE_*`) are left out: they describe the container's bundle, not the host's.
pub fn host_environment(stack: &Stack) -> Vec<(String, String)> {
    let mut environment = vec![
        ("COMPOSE_PROJECT_NAME".to_owned(), stack.project.clone()),
        (
            "COMPOSE_FILE".to_owned(),
            stack.root.join(super::COMPOSE_FILE).display().to_string(),
        ),
    ];
    if let Some(app) = stack.app_service() {
        for (key, value) in &app.environment {
            if key.starts_with("BUNDLE_") {
                continue;
            }
            let value = url_for_host(value, stack).unwrap_or_else(|| value.clone());
            environment.push((key.clone(), value));
        }
    }
    environment
}

/// Rewrites `scheme://[user@]service[:port]/rest` to the service's published address, leaving
/// the rest as written.
fn url_for_host(value: &str, stack: &Stack) -> Option<String> {
    let written = crate::urls::read(value)?;
    let host = &value[written.host.clone()];
    let port = if written.has_port() {
        written.port?
    } else {
        default_port(written.url.scheme())?
    };
    let published = stack
        .services
        .get(host)?
        .ports
        .iter()
        .find(|p| p.container == port)?;
    let address = match published.host_ip {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        IpAddr::V4(ip) => ip.to_string(),
    };
    Some(format!(
        "{}{address}:{}{}",
        &value[..written.host_port.start],
        published.host,
        &value[written.host_port.end..]
    ))
}

fn default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "postgres" | "postgresql" | "postgis" => 5432,
        "mysql" | "mysql2" | "trilogy" => 3306,
        "redis" | "rediss" => 6379,
        "http" => 80,
        "https" => 443,
        "amqp" => 5672,
        "memcached" => 11211,
        _ => return None,
    })
}
