//! Bringing the engine to what the plan says: images pulled and built concurrently, network and
//! volumes in place, then every service created or started as soon as the services it depends
//! on are ready — independent services at the same time — and finally the setup commands.
//! Volumes are never removed here.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::Docker;
use futures_util::future::{join, try_join_all};
use tokio::sync::watch;

use super::build_context::{self, BuildContext};
use super::containers::{self, Readiness};
use super::images;
use super::observe::engine_error;
use super::postgres;
use super::progress::{Event, Phase, Reporter};
use super::spec::{self, ContainerSpec};
use crate::dev_image;
use crate::digest::Digest;
use crate::env::Environment;
use crate::error::Error;
use crate::model::{DependencyCondition, Service, Stack};
use crate::plan::{
    self, ComposeFile, ContainerAction, ContainerStep, ImageAction, ImageStep, Observed,
    ObservedContainer, SetupPlan,
};
use crate::render;

/// The longest devboot waits for one service, whatever its healthcheck says.
const MAX_WAIT: Duration = Duration::from_secs(600);

/// The engine side of a plan, with what carrying it out needs.
pub struct EnginePlan {
    pub observed: Observed,
    pub images: Vec<ImageStep>,
    pub containers: Vec<ContainerStep>,
    /// For each built service, the digest of what its image depends on.
    digests: BTreeMap<String, String>,
    compose_file: ComposeFile,
}

/// Plans images and containers against what the engine holds (`observed`). Reads what each
/// built image depends on from disk to know whether a build is needed.
pub fn plan(
    stack: &Stack,
    observed: Observed,
    compose_file: ComposeFile,
) -> Result<EnginePlan, Error> {
    let mut digests = BTreeMap::new();
    for service in stack.services.values() {
        if service.build.is_some() {
            digests.insert(service.name.clone(), image_digest(stack, service)?);
        }
    }
    let images = plan::images(stack, &observed, &digests);
    let desired = known_specs(stack, &observed, &images)
        .into_iter()
        .map(|(service, spec)| (service, spec.desired))
        .collect();
    let containers = plan::containers(stack, &observed, &desired, &compose_file);
    Ok(EnginePlan {
        observed,
        images,
        containers,
        digests,
        compose_file,
    })
}

/// The digest of what `service`'s image depends on (see [`dev_image::watched`]): its
/// Dockerfile, the context files that count, the build arguments and the target. A changed
/// argument rebuilds like a changed file does; an edit of a bind-mounted file does not.
fn image_digest(stack: &Stack, service: &Service) -> Result<String, Error> {
    let build = service.build.as_ref().expect("called for built services");
    let content = if let Some(dockerfile) = render::dev_dockerfile(service)? {
        build_context::from_dockerfile(&dockerfile).digest
    } else {
        let watched = dev_image::watched(build, &service.mounts);
        let selection = build_context::Selection::new(&watched.include, &watched.exclude).map_err(
            |problem| Error::Usage {
                message: format!(
                    "service `{}`: a path its image depends on, {problem}",
                    service.name
                ),
                hint: Some(
                    "fix `rebuild_on` under the service's build, or the Dockerfile's COPY".into(),
                ),
            },
        )?;
        build_context::digest(
            &stack.host_path(&build.context),
            &build.dockerfile,
            &selection,
            dev_image::dockerfile_suffix(service).as_deref(),
        )?
    };
    let args = serde_json::to_string(&build.args).unwrap_or_default();
    let target = build.target.as_deref().unwrap_or_default();
    Ok(Digest::of(format!("{content}\0{args}\0{target}").as_bytes()).into_string())
}

/// The whole context `service`'s image is built from, labelled with `digest`.
fn full_context(stack: &Stack, service: &Service, digest: String) -> Result<BuildContext, Error> {
    let build = service.build.as_ref().expect("called for built services");
    let mut context = match render::dev_dockerfile(service)? {
        Some(dockerfile) => build_context::from_dockerfile(&dockerfile),
        None => build_context::build_context(
            &stack.host_path(&build.context),
            &build.dockerfile,
            dev_image::dockerfile_suffix(service).as_deref(),
        )?,
    };
    context.digest = digest;
    Ok(context)
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

/// Carries out the engine plan. `setup` says whether the setup commands run afterwards, and
/// which running services restart once they succeed;
/// `before_app` runs alongside everything else, and the app container is created only once
/// it has succeeded (the AWS credential endpoint must answer before the app's SDK asks).
pub async fn converge(
    docker: &Docker,
    env: &Environment,
    stack: &Stack,
    engine_plan: EnginePlan,
    setup: &SetupPlan,
    before_app: impl Future<Output = Result<(), Error>>,
    reporter: &dyn Reporter,
) -> Result<Outcome, Error> {
    let EnginePlan {
        observed,
        images,
        containers: steps,
        digests,
        compose_file,
    } = engine_plan;
    // Both run to the end even when one fails: a network create dropped mid-request is still
    // carried out by the engine, and a later `up` that looked too early would create a second
    // network of the same name (engines before API 1.44 accept duplicates).
    let (image_ids, resources) = join(
        ensure_images(docker, env, stack, &observed, &images, &digests, reporter),
        ensure_network_and_volumes(docker, stack, &observed),
    )
    .await;
    let image_ids = image_ids?;
    resources?;
    let specs = container_specs(stack, &image_ids);
    let steps = recheck_recreates(steps, &observed, &specs, &compose_file);
    check_postgres_data(docker, stack, &observed, &steps).await?;
    let services = Services::new(docker, stack, reporter);
    let (app_may_start, app_gate) = watch::channel(false);
    let before_app = async {
        before_app.await?;
        app_may_start.send_replace(true);
        Ok::<_, Error>(())
    };
    let containers = steps.iter().map(|step| {
        let existing = observed.containers.get(&step.service);
        services.start(step, &specs[&step.service], existing, app_gate.clone())
    });
    let joined = futures_util::future::try_join3(
        try_join_all(containers),
        services.run_setup(setup),
        before_app,
    )
    .await;
    // On the first error the join drops the other services' work; a container the engine was
    // still creating must exist before `up` reports, or it would appear after devboot exits
    // (and after a `down` run straight away).
    services.in_flight.settle().await;
    joined?;
    let changed = steps
        .iter()
        .filter(|s| s.action != ContainerAction::Unchanged)
        .map(|s| s.service.clone())
        .collect();
    Ok(Outcome { changed })
}

/// The project's network, and the volumes the stack names that do not exist yet.
async fn ensure_network_and_volumes(
    docker: &Docker,
    stack: &Stack,
    observed: &Observed,
) -> Result<(), Error> {
    containers::ensure_network(docker, &stack.project, observed.network).await?;
    let missing = stack
        .volumes
        .iter()
        .filter(|v| !observed.volumes.contains(*v));
    try_join_all(missing.map(|v| containers::ensure_volume(docker, stack, v))).await?;
    Ok(())
}

/// Each service's container definition, now that every image ID is known.
fn container_specs(
    stack: &Stack,
    image_ids: &BTreeMap<String, String>,
) -> BTreeMap<String, ContainerSpec> {
    stack
        .services
        .values()
        .map(|s| {
            (
                s.name.clone(),
                spec::container_spec(stack, s, &image_ids[&s.image.to_string()]),
            )
        })
        .collect()
}

/// The steps with each planned recreate checked against the final definition: an image that
/// changed may still have produced the same one, and then the container stays (or starts).
fn recheck_recreates(
    steps: Vec<ContainerStep>,
    observed: &Observed,
    specs: &BTreeMap<String, ContainerSpec>,
    compose_file: &ComposeFile,
) -> Vec<ContainerStep> {
    steps
        .into_iter()
        .map(
            |step| match (&step.action, observed.containers.get(&step.service)) {
                (ContainerAction::Recreate, Some(c))
                    if specs[&step.service].desired.is_run_by(c, compose_file) =>
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
        .collect()
}

/// Refuses Postgres data written by another major version, before any container is touched.
async fn check_postgres_data(
    docker: &Docker,
    stack: &Stack,
    observed: &Observed,
    steps: &[ContainerStep],
) -> Result<(), Error> {
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
    Ok(())
}

/// A flag one task raises and others wait for.
type Signal = (watch::Sender<bool>, watch::Receiver<bool>);

/// Starting the stack's services, each as soon as the services it depends on are ready.
struct Services<'a> {
    docker: &'a Docker,
    stack: &'a Stack,
    reporter: &'a dyn Reporter,
    readiness: HashMap<&'a str, Readiness>,
    /// Per service: ready, so its dependents may start.
    ready: HashMap<&'a str, Signal>,
    /// Per service: its container runs.
    started: HashMap<&'a str, Signal>,
    in_flight: InFlight,
}

/// Engine requests that finish even when the work that asked for them is dropped, so that
/// `up` can wait for them before it exits.
#[derive(Default)]
struct InFlight(std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>);

impl InFlight {
    /// Runs `request` to completion whatever happens to the caller, and returns its result.
    async fn run<T: Send + 'static>(&self, request: impl Future<Output = T> + Send + 'static) -> T {
        let (result, received) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let _ = result.send(request.await);
        });
        self.0.lock().expect("no panic while holding it").push(task);
        received.await.expect("the request's task runs to its end")
    }

    /// Waits for every request begun so far.
    async fn settle(&self) {
        let tasks = std::mem::take(&mut *self.0.lock().expect("no panic while holding it"));
        for task in tasks {
            let _ = task.await;
        }
    }
}

impl<'a> Services<'a> {
    fn new(docker: &'a Docker, stack: &'a Stack, reporter: &'a dyn Reporter) -> Self {
        let signals = || {
            stack
                .services
                .keys()
                .map(|name| (name.as_str(), watch::channel(false)))
                .collect()
        };
        Self {
            docker,
            stack,
            reporter,
            readiness: readiness_targets(stack),
            ready: signals(),
            started: signals(),
            in_flight: InFlight::default(),
        }
    }

    /// Carries out one container step once the service's dependencies are ready (and, for the
    /// app, once `app_gate` opens), then starts the container and waits for its readiness.
    async fn start(
        &self,
        step: &ContainerStep,
        spec: &ContainerSpec,
        existing: Option<&ObservedContainer>,
        mut app_gate: watch::Receiver<bool>,
    ) -> Result<(), Error> {
        let service = &self.stack.services[&step.service];
        for dependency in service.depends_on.keys() {
            let mut ready = self.ready[dependency.as_str()].1.clone();
            // A failed dependency fails the whole join, which drops this task.
            let _ = ready.wait_for(|r| *r).await;
        }
        let app_name = self.stack.app.as_ref().map(|a| a.service.as_str());
        if app_name == Some(service.name.as_str()) {
            let _ = app_gate.wait_for(|may| *may).await;
        }
        let id = self.put_container(step, spec, existing).await?;
        if step.action == ContainerAction::Unchanged {
            self.report(&service.name, Phase::Ready);
        } else {
            self.report(&service.name, Phase::Starting);
            let on_started = || {
                self.started[service.name.as_str()].0.send_replace(true);
            };
            let on_ready = || {
                self.report(&service.name, Phase::Ready);
                self.ready[service.name.as_str()].0.send_replace(true);
            };
            containers::start_and_wait(
                self.docker,
                service,
                &id,
                self.readiness[service.name.as_str()],
                wait_limit(service),
                self.reporter,
                on_started,
                on_ready,
            )
            .await?;
        }
        self.started[service.name.as_str()].0.send_replace(true);
        self.ready[service.name.as_str()].0.send_replace(true);
        Ok(())
    }

    /// Creates the container; the engine request completes even if `up` gives up meanwhile.
    async fn create(&self, spec: &ContainerSpec) -> Result<String, Error> {
        let (docker, spec) = (self.docker.clone(), spec.clone());
        self.in_flight
            .run(async move { containers::create(&docker, &spec).await })
            .await
    }

    /// The step's container, created (or recreated) when the step says so: its ID.
    async fn put_container(
        &self,
        step: &ContainerStep,
        spec: &ContainerSpec,
        existing: Option<&ObservedContainer>,
    ) -> Result<String, Error> {
        let existing_id = || existing.map(|c| c.id.clone()).unwrap_or_default();
        Ok(match step.action {
            ContainerAction::Unchanged => {
                self.report(&step.service, Phase::Unchanged);
                existing_id()
            }
            ContainerAction::Start => existing_id(),
            ContainerAction::Create => {
                self.report(&step.service, Phase::Creating);
                self.create(spec).await?
            }
            ContainerAction::Recreate => {
                self.report(&step.service, Phase::Recreating);
                if let Some(old) = existing {
                    containers::remove(self.docker, &old.id).await?;
                }
                self.create(spec).await?
            }
        })
    }

    /// The setup commands, when `setup` says so, then the restarts it asks for. The commands
    /// need the app's container and its dependencies, not the app's own server: they run while
    /// the app boots.
    async fn run_setup(&self, setup: &SetupPlan) -> Result<(), Error> {
        let Some(app) = self.stack.app.as_ref().filter(|_| setup.run) else {
            return Ok(());
        };
        let _ = self.started[app.service.as_str()]
            .1
            .clone()
            .wait_for(|s| *s)
            .await;
        let name = spec::container_name(&self.stack.project, &app.service);
        for command in &app.setup {
            if let Err(error) =
                containers::run_setup(self.docker, &name, command, self.reporter).await
            {
                let service = &self.stack.services[&app.service];
                return Err(containers::setup_failure(self.docker, service, &name, error).await);
            }
        }
        let restarts = setup.restart.iter().map(|name| async move {
            let service = &self.stack.services[name];
            containers::restart_and_wait(
                self.docker,
                service,
                &spec::container_name(&self.stack.project, name),
                self.readiness[name.as_str()],
                wait_limit(service),
                self.reporter,
            )
            .await
        });
        try_join_all(restarts).await?;
        Ok(())
    }

    fn report(&self, service: &str, phase: Phase) {
        self.reporter.report(Event::Service { service, phase });
    }
}

/// Pulls and builds concurrently; returns the image ID of every image reference of the stack.
async fn ensure_images(
    docker: &Docker,
    env: &Environment,
    stack: &Stack,
    observed: &Observed,
    steps: &[ImageStep],
    digests: &BTreeMap<String, String>,
    reporter: &dyn Reporter,
) -> Result<BTreeMap<String, String>, Error> {
    let pulls = steps.iter().any(|s| s.action == ImageAction::Pull);
    let engine = if pulls {
        images::engine_platform(docker).await
    } else {
        None
    };
    let engine = engine.as_ref();
    let work = steps.iter().map(|step| {
        let service = &stack.services[&step.services[0]];
        async move {
            let id = match step.action {
                ImageAction::Present => observed.images[&step.image].id.clone(),
                ImageAction::Pull => {
                    let target = images::PullFor {
                        service: &service.name,
                        named: service.platform.as_ref(),
                        engine,
                    };
                    images::pull(docker, env, &service.image, target, reporter).await?;
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
                    let digest = digests[&service.name].clone();
                    let context = full_context(stack, service, digest)?;
                    images::build(
                        docker,
                        &service.name,
                        &service.image,
                        build,
                        service.platform.as_ref(),
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
pub fn wait_limit(service: &Service) -> Duration {
    service
        .healthcheck
        .as_ref()
        .map_or(Duration::from_secs(60), |h| {
            let retries = h.retries.max(1);
            (h.start_period + (h.interval + h.timeout) * retries)
                .clamp(Duration::from_secs(30), MAX_WAIT)
        })
}
