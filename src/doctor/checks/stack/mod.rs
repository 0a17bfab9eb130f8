//! `stack.*`: the project's containers on the engine — each service has a running, healthy
//! container (an exited one is reported with its exit code, the out-of-memory flag, the
//! exception in its log and the app's file it was raised in ([`crate::crash`]), and its last
//! log lines; an unhealthy one with its last healthcheck output); each container still matches
//! what the profile defines (Compose's config hash); no container is left from a service the
//! profile no longer has. Also: no volumes are left of Compose projects that have no
//! containers any more, and the profile makes dependents wait for its databases to be healthy.
//! `stack.container_dns` (service names resolve inside the app container) is in [`dns`].

mod dns;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use bollard::models::{ContainerInspectResponse, HealthStatusEnum};
use bollard::query_parameters::ListContainersOptionsBuilder;
use futures_util::future::join_all;

use crate::crash;
use crate::doctor::check::{Check, Outcome, QUICK, Run, SLOW};
use crate::doctor::facts::Facts;
use crate::doctor::facts::project::{is_postgres, is_redis, project_state};
use crate::engine::containers::{tail_logs, volumes_labelled};
use crate::engine::observe::engine_error;
use crate::engine::spec::{LABEL_PROJECT, LABEL_VOLUME, container_spec};
use crate::model::{DependencyCondition, Stack};

/// The family's checks, in report order.
pub(super) const CHECKS: &[Check] = &[
    CONTAINERS,
    CONFIG_DRIFT,
    ORPHANS,
    ORPHAN_VOLUMES,
    HEALTHCHECKS,
    dns::CONTAINER_DNS,
];

const CONTAINERS: Check = Check {
    id: "stack.containers",
    title: "Every service's container is running and healthy",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(containers(facts))),
    safe_fix: None,
};

const CONFIG_DRIFT: Check = Check {
    id: "stack.config_drift",
    title: "Containers match the profile",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(config_drift(facts))),
    safe_fix: None,
};

const ORPHANS: Check = Check {
    id: "stack.orphans",
    title: "No containers of services the profile no longer has",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(orphans(facts))),
    safe_fix: None,
};

const ORPHAN_VOLUMES: Check = Check {
    id: "stack.orphan_volumes",
    title: "No volumes left of Compose projects without containers",
    depends_on: &["docker.daemon"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(orphan_volumes(facts))),
    safe_fix: None,
};

const HEALTHCHECKS: Check = Check {
    id: "stack.healthchecks",
    title: "Dependents wait for the databases to be healthy",
    depends_on: &["profile.valid"],
    timeout: QUICK,
    run: Run::Blocking(healthchecks),
    safe_fix: None,
};

/// Log lines shown under a failed container.
const LOG_LINES: usize = 10;
/// Lines of healthcheck output shown under an unhealthy container.
const HEALTH_LINES: usize = 5;

/// What state a service's container is in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    Absent,
    /// Running; the health status when it has a healthcheck.
    Running(Option<String>),
    Starting,
    Unhealthy {
        /// The last healthcheck run: exit code and output.
        code: Option<i64>,
        output: Vec<String>,
    },
    Exited {
        code: i64,
        oom: bool,
    },
    Restarting {
        code: i64,
        oom: bool,
        restarts: i64,
    },
    Created,
    Paused,
    Other(String),
}

impl Condition {
    fn of(inspected: &ContainerInspectResponse) -> Self {
        let restarts = inspected.restart_count.unwrap_or(0);
        let Some(state) = &inspected.state else {
            return Self::Other("unknown".into());
        };
        let code = state.exit_code.unwrap_or(0);
        let oom = state.oom_killed.unwrap_or(false);
        let status = state.status.map(|s| s.to_string()).unwrap_or_default();
        match status.as_str() {
            "restarting" => Self::Restarting {
                code,
                oom,
                restarts,
            },
            "exited" | "dead" => Self::Exited { code, oom },
            "created" => Self::Created,
            "paused" => Self::Paused,
            "running" => {
                let health = state.health.as_ref();
                match health.and_then(|h| h.status) {
                    Some(HealthStatusEnum::UNHEALTHY) => {
                        let last = health
                            .and_then(|h| h.log.as_ref())
                            .and_then(|log| log.last());
                        let output: Vec<String> = last
                            .and_then(|run| run.output.as_deref())
                            .unwrap_or_default()
                            .lines()
                            .filter(|l| !l.trim().is_empty())
                            .map(str::to_owned)
                            .collect();
                        Self::Unhealthy {
                            code: last.and_then(|run| run.exit_code),
                            output: output[output.len().saturating_sub(HEALTH_LINES)..].to_vec(),
                        }
                    }
                    Some(HealthStatusEnum::STARTING) => Self::Starting,
                    Some(HealthStatusEnum::HEALTHY) => Self::Running(Some("healthy".into())),
                    _ => Self::Running(None),
                }
            }
            other => Self::Other(other.to_owned()),
        }
    }

    /// What is wrong, for the summary; `None` when nothing is.
    fn problem(&self) -> Option<String> {
        let exit = |code: i64, oom: bool| {
            if oom {
                format!("exited with code {code}, killed for lack of memory (OOM)")
            } else {
                format!("exited with code {code}")
            }
        };
        Some(match self {
            Self::Running(_) => return None,
            Self::Absent => "has no container".into(),
            Self::Starting => "is still starting (health: starting)".into(),
            Self::Unhealthy { .. } => "is unhealthy".into(),
            Self::Exited { code, oom } => exit(*code, *oom),
            Self::Restarting {
                code,
                oom,
                restarts,
            } => format!(
                "keeps restarting ({restarts} restarts; last {})",
                exit(*code, *oom)
            ),
            Self::Created => "was created but never started".into(),
            Self::Paused => "is paused".into(),
            Self::Other(state) => format!("is `{state}`"),
        })
    }

    /// Errors stop the service from working; warnings may sort themselves out.
    fn is_error(&self) -> bool {
        matches!(
            self,
            Self::Unhealthy { .. } | Self::Exited { .. } | Self::Restarting { .. } | Self::Other(_)
        )
    }

    /// Whether its log explains it.
    fn wants_logs(&self) -> bool {
        matches!(
            self,
            Self::Unhealthy { .. } | Self::Exited { .. } | Self::Restarting { .. }
        )
    }
}

async fn containers(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let state = project_state(&facts).await?;
    let order = state.stack.start_order();
    let conditions: Vec<(&str, Condition)> = order
        .iter()
        .map(|service| {
            let condition = match (
                state.observed.containers.get(&service.name),
                state.inspected.get(&service.name),
            ) {
                (None, _) => Condition::Absent,
                (Some(_), Some(inspected)) => Condition::of(inspected),
                (Some(container), None) => Condition::Other(container.state.clone()),
            };
            (service.name.as_str(), condition)
        })
        .collect();
    if conditions.iter().all(|(_, c)| *c == Condition::Absent) {
        return Ok(Outcome::warn(format!(
            "the stack is not running: no container for {}",
            names(conditions.iter().map(|(s, _)| *s))
        ))
        .fix_with("start it", "devboot up"));
    }
    let problems: Vec<(&str, &Condition, String)> = conditions
        .iter()
        .filter_map(|(service, c)| Some((*service, c, c.problem()?)))
        .collect();
    if problems.is_empty() {
        let running: Vec<String> = conditions
            .iter()
            .map(|(service, c)| match c {
                Condition::Running(Some(health)) => format!("{service} ({health})"),
                _ => (*service).to_owned(),
            })
            .collect();
        return Ok(Outcome::ok(format!("running: {}", running.join(", "))));
    }
    let logs = match facts.connection().await {
        Ok(connection) => {
            join_all(problems.iter().map(|(service, condition, _)| {
                let docker = &connection.docker;
                let id = state
                    .observed
                    .containers
                    .get(*service)
                    .map(|c| c.id.clone());
                let working_dir = state
                    .inspected
                    .get(*service)
                    .and_then(|i| i.config.as_ref())
                    .and_then(|c| c.working_dir.clone());
                async move {
                    let Some(id) = id.filter(|_| condition.wants_logs()) else {
                        return (None, Vec::new());
                    };
                    let mut log = tail_logs(docker, &id, crash::LOG_LINES)
                        .await
                        .unwrap_or_default();
                    let crash = crash::find(&log, working_dir.as_deref());
                    log.drain(..log.len().saturating_sub(LOG_LINES));
                    (crash, log)
                }
            }))
            .await
        }
        Err(_) => vec![(None, Vec::new()); problems.len()],
    };
    let summary = problems
        .iter()
        .map(|(service, _, problem)| format!("`{service}` {problem}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut outcome = if problems.iter().any(|(_, c, _)| c.is_error()) {
        Outcome::error(summary)
    } else {
        Outcome::warn(summary)
    };
    for ((service, condition, _), (crash, log)) in problems.iter().zip(&logs) {
        if let Condition::Unhealthy { code, output } = condition {
            let code = code.map_or_else(String::new, |c| format!(" (exit code {c})"));
            outcome = outcome.detail(format!("`{service}`: the last healthcheck failed{code}:"));
            outcome = outcome.details(output.iter().map(|l| format!("  {service} health | {l}")));
        }
        if let Some(crash) = crash {
            outcome = outcome.detail(format!("`{service}` crashed: {}", crash.summary()));
        }
        if !log.is_empty() {
            outcome = outcome.detail(format!("`{service}`: the last lines of its log:"));
            outcome = outcome.details(log.iter().map(|l| format!("  {service} | {l}")));
        }
    }
    let first_failed = problems.iter().find(|(_, c, _)| c.wants_logs());
    if let Some((service, _, _)) = first_failed {
        outcome = outcome.fix_with(
            format!("read why `{service}` stopped in its log"),
            format!("devboot logs {service} -n 100"),
        );
    }
    if problems.iter().any(|(_, c, _)| {
        matches!(
            c,
            Condition::Exited { oom: true, .. } | Condition::Restarting { oom: true, .. }
        )
    }) {
        outcome = outcome.fix("give the engine more memory (see `docker.resources`)");
    }
    for (service, condition, _) in &problems {
        if matches!(condition, Condition::Paused)
            && let Some(container) = state.observed.containers.get(*service)
        {
            outcome = outcome.fix_with(
                format!("unpause `{service}`"),
                format!("docker unpause {}", container.name),
            );
        }
    }
    let description = if first_failed.is_some() {
        "once the cause is fixed, start the stack again"
    } else {
        "create and start what is missing"
    };
    Ok(outcome.fix_with(description, "devboot up"))
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

async fn config_drift(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let state = project_state(&facts).await?;
    if state.observed.containers.is_empty() {
        return Err(Outcome::skipped("no containers (the stack is not running)"));
    }
    let mut same = Vec::new();
    let mut drifted = Vec::new();
    let mut unknown = Vec::new();
    for (name, container) in &state.observed.containers {
        let Some(service) = state.stack.services.get(name) else {
            continue;
        };
        let image = service.image.to_string();
        let Some(current) = state.observed.images.get(&image) else {
            unknown.push(format!(
                "`{name}`: its image `{image}` is not on the engine any more, so the definition cannot be compared"
            ));
            continue;
        };
        let wanted = container_spec(&state.stack, service, &current.id).desired;
        if wanted.is_run_by(container, &state.compose_file) {
            same.push(name.as_str());
            continue;
        }
        if container.compose_file.is_some() {
            drifted.push((name.as_str(), "Docker Compose created it, but not from the compose file devboot writes now (an older definition, an edited or another file) or not with the current image".to_owned()));
            continue;
        }
        match container.config_hash.as_deref() {
            None => unknown.push(format!(
                "`{name}`: the container has no config-hash label (devboot did not create it)"
            )),
            Some(hash) => {
                let with_its_image = container_spec(&state.stack, service, &container.image_id)
                    .desired
                    .config_hash;
                let why = if hash == with_its_image {
                    format!(
                        "its image `{image}` was rebuilt or pulled since the container was created"
                    )
                } else {
                    "the profile's definition (environment, command, ports, volumes, ...) changed since the container was created".to_owned()
                };
                drifted.push((name.as_str(), why));
            }
        }
    }
    if drifted.is_empty() {
        let outcome = if same.is_empty() {
            Outcome::skipped("no container could be compared")
        } else {
            Outcome::ok(format!("as the profile defines them: {}", same.join(", ")))
        };
        return Ok(outcome.details(unknown));
    }
    let mut outcome = Outcome::warn(format!(
        "{} from what the profile defines; `devboot up` recreates {}",
        if drifted.len() == 1 {
            format!("`{}` differs", drifted[0].0)
        } else {
            format!(
                "{} differ",
                drifted
                    .iter()
                    .map(|(name, _)| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        if drifted.len() == 1 { "it" } else { "them" }
    ));
    for (name, why) in &drifted {
        outcome = outcome.detail(format!("`{name}`: {why}"));
    }
    Ok(outcome
        .details(unknown)
        .fix_with("see what would change", "devboot plan")
        .fix_with(
            "recreate the containers that differ (volumes, and so data, are kept)",
            "devboot up",
        ))
}

async fn orphans(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let state = project_state(&facts).await?;
    let orphans = &state.observed.orphans;
    if orphans.is_empty() {
        return Ok(Outcome::ok(format!(
            "no containers of `{}` beyond its services",
            state.stack.project
        )));
    }
    let listed: Vec<String> = orphans
        .iter()
        .map(|c| format!("`{}` (service `{}`, {})", c.name, c.service, c.state))
        .collect();
    let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
    Ok(Outcome::warn(format!(
        "{} of services the profile no longer has: {}",
        if orphans.len() == 1 { "a container" } else { "containers" },
        listed.join(", ")
    ))
    .detail("they still hold their host ports and memory, and `docker compose` shows them as part of the project")
    .fix_with(
        "remove them (their volumes are kept)",
        format!("docker rm -f {}", names.join(" ")),
    )
    .fix("or, if the service should still exist, add it back to the profile"))
}

/// A volume a Compose project (or devboot) created: its engine name, the project and the
/// name the project gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ComposeVolume {
    name: String,
    project: String,
}

async fn orphan_volumes(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let connection = facts
        .connection()
        .await
        .map_err(|error| Outcome::skipped(error.to_string()))?;
    let docker = &connection.docker;
    let label = vec![LABEL_PROJECT];
    let filters = HashMap::from([("label", label)]);
    let (volumes, containers) = tokio::join!(
        volumes_labelled(docker, LABEL_PROJECT),
        docker.list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build()
        )),
    );
    let volumes = volumes.map_err(|e| Outcome::error(e.to_string()))?;
    let containers = containers
        .map_err(|e| Outcome::error(engine_error("listing containers", &e).to_string()))?;
    let with_containers: BTreeSet<String> = containers
        .into_iter()
        .filter_map(|c| c.labels?.get(LABEL_PROJECT).cloned())
        .collect();
    let volumes: Vec<ComposeVolume> = volumes
        .into_iter()
        .filter_map(|v| {
            let project = v.labels.get(LABEL_PROJECT)?.clone();
            // Compose labels its named volumes with their name too; anonymous ones have none.
            v.labels.get(LABEL_VOLUME)?;
            Some(ComposeVolume {
                name: v.name,
                project,
            })
        })
        .collect();
    let this = facts.stack().map(|stack| stack.project.as_str());
    Ok(orphan_volumes_outcome(this, &volumes, &with_containers))
}

/// Judges the engine's Compose volumes: those of a project that is not this one and has no
/// container (running or stopped) are left over.
fn orphan_volumes_outcome(
    this: Option<&str>,
    volumes: &[ComposeVolume],
    with_containers: &BTreeSet<String>,
) -> Outcome {
    let mut left: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for volume in volumes {
        if Some(volume.project.as_str()) != this && !with_containers.contains(&volume.project) {
            left.entry(&volume.project).or_default().push(&volume.name);
        }
    }
    if left.is_empty() {
        return Outcome::ok(format!(
            "every Compose volume ({}) belongs to this project or one with containers",
            volumes.len()
        ));
    }
    let count: usize = left.values().map(Vec::len).sum();
    let projects: Vec<String> = left
        .iter()
        .map(|(project, names)| format!("`{project}` ({})", names.len()))
        .collect();
    let mut outcome = Outcome::warn(format!(
        "{count} {} of Compose projects without containers: {}",
        if count == 1 { "volume" } else { "volumes" },
        projects.join(", ")
    ));
    for (project, names) in &left {
        let mut names = names.clone();
        names.sort_unstable();
        outcome = outcome.detail(format!("`{project}`: {}", names.join(", ")));
    }
    let all: Vec<&str> = left.values().flatten().copied().collect();
    outcome
        .detail("they take disk space in the engine; a project stopped with `devboot down` (or `docker compose down`) keeps its volumes on purpose, so its data is there at the next `up`")
        .fix_with(
            "remove the ones of projects you no longer work on; this deletes their data (doctor never does it for you)",
            format!("docker volume rm {}", all.join(" ")),
        )
}

fn healthchecks(facts: &Facts) -> Result<Outcome, Outcome> {
    let stack = facts
        .stack()
        .ok_or_else(|| Outcome::skipped("the profile did not load"))?;
    Ok(healthchecks_outcome(stack))
}

/// Data services (Postgres, Redis) need a healthcheck, and the services depending on them
/// should wait for it (`healthy`), or the app starts before the database accepts connections.
fn healthchecks_outcome(stack: &Stack) -> Outcome {
    let data: Vec<&str> = stack
        .services
        .values()
        .filter(|s| is_postgres(s) || is_redis(s))
        .map(|s| s.name.as_str())
        .collect();
    if data.is_empty() {
        return Outcome::skipped("the stack has no Postgres or Redis service");
    }
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    for name in &data {
        let service = &stack.services[*name];
        if service.healthcheck.is_none() {
            let probe = if is_postgres(service) {
                let user = service
                    .environment
                    .get("POSTGRES_USER")
                    .map_or("postgres", String::as_str);
                format!("pg_isready -U {user} -h 127.0.0.1")
            } else {
                "redis-cli ping".to_owned()
            };
            problems.push(format!(
                "`{name}` has no healthcheck, so nothing waits until it accepts connections"
            ));
            fixes.push(format!(
                "give `{name}` a healthcheck: `[services.{name}] healthcheck = {{ test = \"{probe}\", interval = \"1s\", retries = 60 }}`"
            ));
        }
    }
    for service in stack.services.values() {
        let waits_less: Vec<&str> = service
            .depends_on
            .iter()
            .filter(|(dependency, condition)| {
                data.contains(&dependency.as_str())
                    && **condition == DependencyCondition::Started
                    && stack.services[*dependency].healthcheck.is_some()
            })
            .map(|(dependency, _)| dependency.as_str())
            .collect();
        if waits_less.is_empty() {
            continue;
        }
        let listed: Vec<String> = waits_less.iter().map(|d| format!("`{d}`")).collect();
        problems.push(format!(
            "`{}` waits only for {} to start, not to be healthy",
            service.name,
            listed.join(", ")
        ));
        let conditions: Vec<String> = service
            .depends_on
            .iter()
            .map(|(dependency, condition)| {
                let condition = if waits_less.contains(&dependency.as_str()) {
                    "healthy"
                } else {
                    match condition {
                        DependencyCondition::Started => "started",
                        DependencyCondition::Healthy => "healthy",
                        DependencyCondition::Completed => "completed",
                    }
                };
                format!("{dependency} = \"{condition}\"")
            })
            .collect();
        fixes.push(format!(
            "wait for health: `[services.{}] depends_on = {{ {} }}`",
            service.name,
            conditions.join(", ")
        ));
    }
    if problems.is_empty() {
        return Outcome::ok(format!(
            "{} {} a healthcheck, and dependents wait for it",
            listed(&data),
            if data.len() == 1 { "has" } else { "have" }
        ));
    }
    let mut outcome = Outcome::warn(problems.join("; "))
        .detail("the app then starts while Postgres still initialises: `could not connect to server: Connection refused` or `the database system is starting up` on the first requests or in `db:prepare`")
        .detail("`devboot up` waits for a service's healthcheck whatever the condition; `docker compose up` with .devboot/compose.yaml waits only as `depends_on` says");
    for fix in fixes {
        outcome = outcome.fix(format!("{fix} in devboot.toml"));
    }
    outcome.fix_with("then apply it", "devboot up")
}

fn listed(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use bollard::models::{ContainerState, ContainerStateStatusEnum, Health, HealthcheckResult};

    use super::*;

    fn inspected(
        status: ContainerStateStatusEnum,
        health: Option<Health>,
    ) -> ContainerInspectResponse {
        ContainerInspectResponse {
            state: Some(ContainerState {
                status: Some(status),
                exit_code: Some(137),
                oom_killed: Some(true),
                health,
                ..ContainerState::default()
            }),
            restart_count: Some(4),
            ..ContainerInspectResponse::default()
        }
    }

    #[test]
    fn container_states_are_classified() {
        use ContainerStateStatusEnum as S;
        let exited = Condition::of(&inspected(S::EXITED, None));
        assert_eq!(
            exited,
            Condition::Exited {
                code: 137,
                oom: true
            }
        );
        assert_eq!(
            exited.problem().unwrap(),
            "exited with code 137, killed for lack of memory (OOM)"
        );
        assert!(exited.is_error());
        let restarting = Condition::of(&inspected(S::RESTARTING, None));
        assert!(
            restarting
                .problem()
                .unwrap()
                .starts_with("keeps restarting (4 restarts")
        );
        assert_eq!(
            Condition::of(&inspected(S::CREATED, None)),
            Condition::Created
        );
        assert!(!Condition::Created.is_error());
        assert_eq!(
            Condition::of(&inspected(S::RUNNING, None)),
            Condition::Running(None)
        );

        let unhealthy = Health {
            status: Some(HealthStatusEnum::UNHEALTHY),
            log: Some(vec![
                HealthcheckResult {
                    exit_code: Some(1),
                    output: Some("old".into()),
                    ..HealthcheckResult::default()
                },
                HealthcheckResult {
                    exit_code: Some(2),
                    output: Some("127.0.0.1:5432 - no response\n".into()),
                    ..HealthcheckResult::default()
                },
            ]),
            ..Health::default()
        };
        assert_eq!(
            Condition::of(&inspected(S::RUNNING, Some(unhealthy))),
            Condition::Unhealthy {
                code: Some(2),
                output: vec!["127.0.0.1:5432 - no response".into()]
            }
        );
        let healthy = Health {
            status: Some(HealthStatusEnum::HEALTHY),
            ..Health::default()
        };
        let running = Condition::of(&inspected(S::RUNNING, Some(healthy)));
        assert_eq!(running, Condition::Running(Some("healthy".into())));
        assert_eq!(running.problem(), None);
    }
    #[test]
    fn volumes_of_projects_without_containers_are_listed_with_the_command_to_remove_them() {
        let volume = |name: &str, project: &str| ComposeVolume {
            name: name.to_owned(),
            project: project.to_owned(),
        };
        let volumes = [
            volume("shop_db-data", "shop"),
            volume("old_db-data", "old"),
            volume("old_redis-data", "old"),
            volume("blog_db-data", "blog"),
        ];
        let running = BTreeSet::from(["blog".to_owned()]);
        let outcome = orphan_volumes_outcome(Some("shop"), &volumes, &running);
        assert_eq!(outcome.status, crate::doctor::check::Status::Warn);
        assert_eq!(
            outcome.summary,
            "2 volumes of Compose projects without containers: `old` (2)"
        );
        assert_eq!(outcome.details[0], "`old`: old_db-data, old_redis-data");
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("docker volume rm old_db-data old_redis-data")
        );
        assert!(outcome.fixes[0].description.contains("deletes their data"));

        // Outside a project every project without containers counts; none left is fine.
        let outcome = orphan_volumes_outcome(None, &volumes[..1], &running);
        assert_eq!(
            outcome.summary,
            "1 volume of Compose projects without containers: `shop` (1)"
        );
        let fine = orphan_volumes_outcome(Some("shop"), &volumes[..1], &running);
        assert_eq!(fine.status, crate::doctor::check::Status::Ok);
    }

    #[test]
    fn databases_without_healthchecks_or_waited_on_only_to_start_warn() {
        use crate::doctor::check::Status;
        let stack = crate::model::test_stack("extends = \"rails\"\n");
        let outcome = healthchecks_outcome(&stack);
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "`db`, `redis` have a healthcheck, and dependents wait for it"
        );

        let stack = crate::model::test_stack(
            "extends = \"rails\"\n[services.web]\ndepends_on = { db = \"started\", redis = \"healthy\" }\n",
        );
        let outcome = healthchecks_outcome(&stack);
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "`web` waits only for `db` to start, not to be healthy"
        );
        assert_eq!(
            outcome.fixes[0].description,
            "wait for health: `[services.web] depends_on = { db = \"healthy\", redis = \"healthy\" }` in devboot.toml"
        );

        let stack = crate::model::test_stack(
            "schema = 1\n[services.db]\nimage = \"postgres:16\"\n[services.db.environment]\nPOSTGRES_USER = \"app\"\n[services.web]\nimage = \"ruby:3.3\"\ndepends_on = [\"db\"]\n",
        );
        let outcome = healthchecks_outcome(&stack);
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "`db` has no healthcheck, so nothing waits until it accepts connections"
        );
        assert!(
            outcome.fixes[0]
                .description
                .contains("pg_isready -U app -h 127.0.0.1"),
            "{:?}",
            outcome.fixes
        );
    }
}
