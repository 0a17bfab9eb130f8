//! Bringing the engine to what the plan says: images pulled and built concurrently, network and
//! volumes in place, then every service created or started as soon as the services it depends
//! on are ready — independent services at the same time — and finally the setup commands.
//! Volumes are never removed here.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::Docker;
use futures_util::future::{try_join, try_join_all};
use tokio::sync::watch;

use super::build_context::{self, BuildContext};
use super::containers::{self, Readiness};
use super::images;
use super::observe::engine_error;
use super::postgres;
use super::progress::{Event, Phase, Reporter};
use super::spec::{self, ContainerSpec};
use crate::digest::Digest;
use crate::env::Environment;
use crate::error::Error;
use crate::model::{DependencyCondition, Stack};
use crate::plan::{self, ContainerAction, ContainerStep, ImageAction, ImageStep, Observed};

/// The longest devboot waits for one service, whatever its healthcheck says.
const MAX_WAIT: Duration = Duration::from_secs(600);

/// The engine side of a plan, with what carrying it out needs.
pub struct EnginePlan {
    pub observed: Observed,
    pub images: Vec<ImageStep>,
    pub containers: Vec<ContainerStep>,
    /// Build contexts of the services whose image must be built.
    contexts: BTreeMap<String, BuildContext>,
}

/// Plans images and containers against what the engine holds (`observed`). Reads the build
/// contexts from disk to know whether a build is needed.
pub fn plan(stack: &Stack, observed: Observed) -> Result<EnginePlan, Error> {
    // Each built service's context, its digest covering the build arguments too, so a changed
    // argument rebuilds like a changed file does.
    let mut contexts = BTreeMap::new();
    for service in stack.services.values() {
        if let Some(build) = &service.build {
            let dir = stack.root.join(&build.context);
            let mut context = build_context::build_context(&dir, &build.dockerfile)?;
            let args = serde_json::to_string(&build.args).unwrap_or_default();
            let with_args = Digest::of(format!("{}\0{args}", context.digest).as_bytes());
            context.digest = with_args.into_string();
            contexts.insert(service.name.clone(), context);
        }
    }
    let digests: BTreeMap<String, String> = contexts
        .iter()
        .map(|(service, context)| (service.clone(), context.digest.clone()))
        .collect();
    let images = plan::images(stack, &observed, &digests);
    let hashes = known_specs(stack, &observed, &images)
        .into_iter()
        .map(|(service, spec)| (service, spec.config_hash))
        .collect();
    let containers = plan::containers(stack, &observed, &hashes);
    Ok(EnginePlan {
        observed,
        images,
        containers,
        contexts,
    })
}

/// Container definitions of the services whose image is already in place.
fn known_specs(
    stack: &Stack,
    observed: &Observed,
    images: &[ImageStep],
) -> BTreeMap<String, ContainerSpec> {
    let changing: Vec<&str> = images
        .iter()
        .filter(|i| i.action != ImageAction::Present)
        .map(|i| i.image.as_str())
        .collect();
    stack
        .services
        .values()
        .filter_map(|service| {
            let image = service.image.to_string();
            if changing.contains(&image.as_str()) {
                return None;
            }
            let id = &observed.images.get(&image)?.id;
            Some((
                service.name.clone(),
                spec::container_spec(stack, service, id),
            ))
        })
        .collect()
}

/// What `converge` did, for the summary.
#[derive(Debug, Default)]
pub struct Outcome {
    pub changed: Vec<String>,
}

/// Carries out the engine plan. `run_setup` says whether the setup commands run afterwards;
/// `before_app` runs alongside everything else, and the app container is created only once
/// it has succeeded (the AWS credential endpoint must answer before the app's SDK asks).
pub async fn converge(
    docker: &Docker,
    env: &Environment,
    stack: &Stack,
    engine_plan: EnginePlan,
    run_setup: bool,
    before_app: impl Future<Output = Result<(), Error>>,
    reporter: &dyn Reporter,
) -> Result<Outcome, Error> {
    let EnginePlan {
        observed,
        images,
        containers: steps,
        mut contexts,
    } = engine_plan;
    let image_ids = ensure_images(
        docker,
        env,
        stack,
        &observed,
        &images,
        &mut contexts,
        reporter,
    );
    let infrastructure = async {
        containers::ensure_network(docker, &stack.project, observed.network).await?;
        let missing = stack
            .volumes
            .iter()
            .filter(|v| !observed.volumes.contains(*v));
        try_join_all(missing.map(|v| containers::ensure_volume(docker, &stack.project, v))).await?;
        Ok::<_, Error>(())
    };
    let (image_ids, ()) = try_join(image_ids, infrastructure).await?;

    // Recompute each service's definition now that every image ID is known.
    let specs: BTreeMap<String, ContainerSpec> = stack
        .services
        .values()
        .map(|s| {
            (
                s.name.clone(),
                spec::container_spec(stack, s, &image_ids[&s.image.to_string()]),
            )
        })
        .collect();
    let steps: Vec<ContainerStep> = steps
        .into_iter()
        .map(
            |step| match (&step.action, observed.containers.get(&step.service)) {
                // An image that changed may still have produced the same definition.
                (ContainerAction::Recreate, Some(c))
                    if c.config_hash.as_deref()
                        == Some(specs[&step.service].config_hash.as_str()) =>
                {
                    let action = if c.running() {
                        ContainerAction::Unchanged
                    } else {
                        ContainerAction::Start
                    };
                    ContainerStep { action, ..step }
                }
                _ => step,
            },
        )
        .collect();

    // Postgres data written by another major version: stop before touching the container.
    for step in steps.iter().filter(|s| {
        matches!(
            s.action,
            ContainerAction::Create | ContainerAction::Recreate
        )
    }) {
        let service = &stack.services[&step.service];
        if postgres::data_volume(service).is_some_and(|(v, _)| observed.volumes.contains(v)) {
            postgres::check_major(docker, &stack.project, service).await?;
        }
    }

    let (app_may_start, app_gate) = watch::channel(false);
    let before_app = async {
        before_app.await?;
        app_may_start.send_replace(true);
        Ok::<_, Error>(())
    };
    let app_name = stack.app.as_ref().map(|a| a.service.as_str());
    let readiness = readiness_targets(stack);
    // Per service: ready (its dependents may start), and started (its container runs).
    let channels: HashMap<&str, (watch::Sender<bool>, watch::Receiver<bool>)> = stack
        .services
        .keys()
        .map(|name| (name.as_str(), watch::channel(false)))
        .collect();
    let started: HashMap<&str, (watch::Sender<bool>, watch::Receiver<bool>)> = stack
        .services
        .keys()
        .map(|name| (name.as_str(), watch::channel(false)))
        .collect();
    let tasks = steps.iter().map(|step| {
        let service = &stack.services[&step.service];
        let spec = &specs[&step.service];
        let existing = observed.containers.get(&step.service);
        let channels = &channels;
        let started = &started;
        let readiness = &readiness;
        let mut app_gate = app_gate.clone();
        async move {
            for dependency in service.depends_on.keys() {
                let mut ready = channels[dependency.as_str()].1.clone();
                // A failed dependency fails the whole join, which drops this task.
                let _ = ready.wait_for(|r| *r).await;
            }
            if app_name == Some(service.name.as_str()) {
                let _ = app_gate.wait_for(|may| *may).await;
            }
            let until = readiness[service.name.as_str()];
            let id = match step.action {
                ContainerAction::Unchanged => {
                    reporter.report(Event::Service {
                        service: &service.name,
                        phase: Phase::Unchanged,
                    });
                    existing.map(|c| c.id.clone()).unwrap_or_default()
                }
                ContainerAction::Start => existing.map(|c| c.id.clone()).unwrap_or_default(),
                ContainerAction::Create => {
                    reporter.report(Event::Service {
                        service: &service.name,
                        phase: Phase::Creating,
                    });
                    containers::create(docker, spec).await?
                }
                ContainerAction::Recreate => {
                    reporter.report(Event::Service {
                        service: &service.name,
                        phase: Phase::Recreating,
                    });
                    if let Some(old) = existing {
                        containers::remove(docker, &old.id).await?;
                    }
                    containers::create(docker, spec).await?
                }
            };
            if step.action == ContainerAction::Unchanged {
                reporter.report(Event::Service {
                    service: &service.name,
                    phase: Phase::Ready,
                });
            } else {
                reporter.report(Event::Service {
                    service: &service.name,
                    phase: Phase::Starting,
                });
                let on_started = || {
                    started[service.name.as_str()].0.send_replace(true);
                };
                let on_ready = || {
                    reporter.report(Event::Service {
                        service: &service.name,
                        phase: Phase::Ready,
                    });
                    channels[service.name.as_str()].0.send_replace(true);
                };
                containers::start_and_wait(
                    docker,
                    service,
                    &id,
                    until,
                    wait_limit(service),
                    reporter,
                    on_started,
                    on_ready,
                )
                .await?;
            }
            started[service.name.as_str()].0.send_replace(true);
            channels[service.name.as_str()].0.send_replace(true);
            Ok::<_, Error>(())
        }
    });
    // Setup commands need the app's container and its dependencies, not the app's own server:
    // they run while the app boots.
    let setup = async {
        let Some(app) = stack.app.as_ref().filter(|_| run_setup) else {
            return Ok(());
        };
        let _ = started[app.service.as_str()]
            .1
            .clone()
            .wait_for(|s| *s)
            .await;
        let name = spec::container_name(&stack.project, &app.service);
        for command in &app.setup {
            if let Err(error) = containers::run_setup(docker, &name, command, reporter).await {
                // The app container stopping is the cause worth reporting, not the failed exec.
                let service = &stack.services[&app.service];
                return Err(containers::stopped(docker, service, &name)
                    .await
                    .unwrap_or(error));
            }
        }
        Ok::<_, Error>(())
    };
    futures_util::future::try_join3(try_join_all(tasks), setup, before_app).await?;
    let changed = steps
        .iter()
        .filter(|s| s.action != ContainerAction::Unchanged)
        .map(|s| s.service.clone())
        .collect();
    Ok(Outcome { changed })
}

/// Pulls and builds concurrently; returns the image ID of every image reference of the stack.
async fn ensure_images(
    docker: &Docker,
    env: &Environment,
    stack: &Stack,
    observed: &Observed,
    steps: &[ImageStep],
    contexts: &mut BTreeMap<String, BuildContext>,
    reporter: &dyn Reporter,
) -> Result<BTreeMap<String, String>, Error> {
    let work = steps.iter().map(|step| {
        let service = &stack.services[&step.services[0]];
        let context = contexts.remove(&service.name);
        async move {
            let id = match step.action {
                ImageAction::Present => observed.images[&step.image].id.clone(),
                ImageAction::Pull => {
                    images::pull(docker, env, &service.image, reporter).await?;
                    let inspected = docker
                        .inspect_image(&step.image)
                        .await
                        .map_err(|e| engine_error(&format!("inspecting `{}`", step.image), &e))?;
                    inspected.id.unwrap_or_default()
                }
                ImageAction::Build => {
                    let build = service
                        .build
                        .as_ref()
                        .expect("build steps come from services with a build");
                    let context = context.expect("build contexts are made for every built service");
                    images::build(
                        docker,
                        &service.name,
                        &service.image,
                        build,
                        context,
                        reporter,
                    )
                    .await?
                }
            };
            Ok::<_, Error>((step.image.clone(), id))
        }
    });
    Ok(try_join_all(work).await?.into_iter().collect())
}

/// What each service must reach before its dependents start, and before `up` is done: healthy
/// when it has a healthcheck, finished when a dependent waits for its completion, else running.
fn readiness_targets(stack: &Stack) -> HashMap<&str, Readiness> {
    stack
        .services
        .values()
        .map(|service| {
            let completed = stack.services.values().any(|other| {
                other.depends_on.get(&service.name) == Some(&DependencyCondition::Completed)
            });
            let target = if completed {
                Readiness::Completed
            } else if service.healthcheck.is_some() {
                Readiness::Healthy
            } else {
                Readiness::Running
            };
            (service.name.as_str(), target)
        })
        .collect()
}

/// How long to wait for a service: what its healthcheck allows, within bounds.
fn wait_limit(service: &crate::model::Service) -> Duration {
    service
        .healthcheck
        .as_ref()
        .map_or(Duration::from_secs(60), |h| {
            let retries = h.retries.max(1);
            (h.start_period + (h.interval + h.timeout) * retries)
                .clamp(Duration::from_secs(30), MAX_WAIT)
        })
}
