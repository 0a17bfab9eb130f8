//! `devboot status`: each service's container state, health, image and host ports.

use serde::Serialize;

use super::Context;
use crate::cli::StatusArgs;
use crate::effective;
use crate::engine::connect;
use crate::engine::observe::engine_error;
use crate::error::{Error, ExitStatus};
use crate::output::Role;

#[derive(Serialize)]
struct Report {
    project: String,
    services: Vec<ServiceStatus>,
    /// How the app gets AWS credentials; `null` without `[aws]`.
    aws: Option<AwsStatus>,
}

#[derive(Serialize)]
struct AwsStatus {
    mode: &'static str,
    /// Server mode: the running credential endpoint, `null` when none runs.
    endpoint: Option<super::aws::EndpointStatus>,
}

#[derive(Serialize)]
struct ServiceStatus {
    service: String,
    /// `running`, `exited`, `created`, ... or `absent` when there is no container.
    state: String,
    /// `healthy`, `unhealthy`, `starting`, or `none` without a healthcheck.
    health: String,
    image: String,
    ports: Vec<PublishedPort>,
}

#[derive(Serialize)]
struct PublishedPort {
    host_ip: String,
    host: u16,
    container: u16,
}

pub(super) fn run(args: &StatusArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    let report = super::block_on_interruptible(async {
        let connection = connect::connect(ctx.env).await?;
        let docker = &connection.docker;
        let effective::Claimed { project, observed } = effective::claim(docker, &project).await?;
        let stack = &project.stack;
        let mut services = Vec::new();
        for service in stack.start_order() {
            let Some(container) = observed.containers.get(&service.name) else {
                services.push(ServiceStatus {
                    service: service.name.clone(),
                    state: "absent".into(),
                    health: "none".into(),
                    image: service.image.to_string(),
                    ports: Vec::new(),
                });
                continue;
            };
            let inspected = docker
                .inspect_container(
                    &container.id,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                )
                .await
                .map_err(|e| engine_error(&format!("inspecting `{}`", container.name), &e))?;
            let state = inspected.state.unwrap_or_default();
            let ports = inspected
                .network_settings
                .and_then(|n| n.ports)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(container_port, bindings)| {
                    let container: u16 = container_port.split('/').next()?.parse().ok()?;
                    let binding = bindings?.into_iter().next()?;
                    Some(PublishedPort {
                        host_ip: binding.host_ip.unwrap_or_default(),
                        host: binding.host_port?.parse().ok()?,
                        container,
                    })
                })
                .collect();
            services.push(ServiceStatus {
                service: service.name.clone(),
                state: state
                    .status
                    .map_or_else(|| container.state.clone(), |s| s.to_string()),
                health: state
                    .health
                    .and_then(|h| h.status)
                    .map_or_else(|| "none".into(), |h| h.to_string()),
                image: service.image.to_string(),
                ports,
            });
        }
        Ok(Report {
            project: stack.project.clone(),
            services,
            aws: stack.aws.as_ref().map(|settings| AwsStatus {
                mode: crate::aws::container_env::mode_name(settings.mode),
                endpoint: super::aws::EndpointStatus::of(ctx, stack),
            }),
        })
    })?;
    if args.json {
        ctx.printer.json(&report)?;
        return Ok(ExitStatus::Success);
    }
    let printer = ctx.printer;
    let width = report
        .services
        .iter()
        .map(|s| s.service.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = format!(
        "{:<width$}  {:<10}  {:<10}  {:<22}  IMAGE\n",
        "SERVICE", "STATE", "HEALTH", "PORTS"
    );
    for s in &report.services {
        let role = match (s.state.as_str(), s.health.as_str()) {
            ("running", "healthy" | "none") => Role::Good,
            ("running", "starting") => Role::Warn,
            _ => Role::Bad,
        };
        let ports: Vec<String> = s
            .ports
            .iter()
            .map(|p| format!("{}:{}->{}", p.host_ip, p.host, p.container))
            .collect();
        let ports = if ports.is_empty() {
            "-".to_owned()
        } else {
            ports.join(",")
        };
        out.push_str(&format!(
            "{:<width$}  {}  {:<10}  {ports:<22}  {}\n",
            s.service,
            printer
                .style(role)
                .for_stdout()
                .apply_to(format!("{:<10}", s.state)),
            s.health,
            s.image
        ));
    }
    if let Some(aws) = &report.aws {
        out.push_str(&format!(
            "\nAWS: {} mode{}\n",
            aws.mode,
            super::aws::EndpointStatus::describe(aws.endpoint.as_ref(), aws.mode)
        ));
    }
    printer.data(&out);
    Ok(ExitStatus::Success)
}
