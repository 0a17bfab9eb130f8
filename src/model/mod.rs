//! The validated stack: what a merged profile *means*, in types that cannot hold an invalid
//! value (parsed image references, durations, ports, mounts inside the project). Built by
//! [`validate::stack`] from a [`crate::profile::LoadedProfile`]; everything downstream (plan,
//! render, engine) works from a [`Stack`] and never sees TOML again.

pub mod image;
pub mod platform;
pub mod postgres;
pub mod units;
pub mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use crate::profile::document::{AwsMode, DependencyCondition, PortPolicy, RelayRoute};
pub use image::ImageRef;

/// A whole development stack for one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stack {
    /// The Compose project name: lowercase letters, digits, `-` and `_`.
    pub project: String,
    /// Absolute path of the directory holding `devboot.toml`.
    pub root: PathBuf,
    pub services: BTreeMap<String, Service>,
    pub app: Option<App>,
    pub requirements: Requirements,
    /// Named volumes the services mount.
    pub volumes: BTreeSet<String>,
    /// Extra files the profile declares.
    pub files: Vec<DeclaredFile>,
    /// AWS wiring for the app service, when the profile has an `[aws]` section.
    pub aws: Option<Aws>,
    /// What `up` adds to the app container at run time; never rendered into a file.
    #[serde(skip)]
    pub app_wiring: AppWiring,
    /// Named shortcuts (`[commands]`): a command line for the app container's shell, by name.
    /// Not part of what the stack runs, so not serialized (the setup's digest is over that).
    #[serde(skip)]
    pub commands: BTreeMap<String, String>,
    /// `[db.import] after`: SQL run in an imported database before it replaces the current one.
    /// Not part of what the stack runs.
    #[serde(skip)]
    pub import_after: Vec<String>,
}

/// Additions to the app container decided at run time rather than by the profile: the AWS
/// variables (which carry the credential endpoint's secret path and token) and the extra
/// network they need. `Debug` shows variable names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AppWiring {
    pub env: BTreeMap<String, String>,
    /// Networks to attach besides the project network, each with a fixed address or not.
    pub networks: Vec<(String, Option<std::net::Ipv4Addr>)>,
}

impl std::fmt::Debug for AppWiring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppWiring")
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("networks", &self.networks)
            .finish()
    }
}

/// How the app service gets AWS credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Aws {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// The expected 12-digit account.
    pub account: Option<String>,
    pub mode: AwsMode,
    /// For [`AwsMode::Emulator`]: the emulator's URL as the app container sees it.
    pub emulator_endpoint: Option<String>,
    /// For [`AwsMode::Server`]: the image of the relay at 169.254.170.2.
    pub relay_image: ImageRef,
    /// For [`AwsMode::Server`]: how the relay reaches the endpoint on the host.
    pub relay_route: RelayRoute,
}

/// The relay image when the profile names none: socat on Alpine, pinned.
pub const DEFAULT_RELAY_IMAGE: &str = "alpine/socat:1.8.0.0";

/// The service that runs the application, and what to run in it once the stack is healthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct App {
    pub service: String,
    pub setup: Vec<String>,
    /// Project files (relative to the root, normalised) whose content the setup commands
    /// depend on: a change runs them again and restarts the app.
    pub setup_inputs: Vec<String>,
}

/// What the host and engine must provide.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Requirements {
    /// Minimum engine API version as (major, minor).
    pub docker_api: Option<(u32, u32)>,
    pub memory_bytes: Option<u64>,
    pub disk_bytes: Option<u64>,
    pub tools: BTreeMap<String, semver::VersionReq>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    /// The image to run; for a built service, the tag the build produces.
    pub image: ImageRef,
    pub build: Option<Build>,
    pub command: Option<Command>,
    pub working_dir: Option<String>,
    pub environment: BTreeMap<String, String>,
    pub ports: Vec<PortMapping>,
    pub mounts: Vec<Mount>,
    pub depends_on: BTreeMap<String, DependencyCondition>,
    pub healthcheck: Option<Healthcheck>,
    /// The platform to pull or build the image for; the engine's own when `None`.
    pub platform: Option<platform::Platform>,
}

/// A build of the project's own image. Validation fills it from the profile;
/// [`crate::dev_image::apply`] then settles which Dockerfile builds it (`context`,
/// `dockerfile`, `target` and `args` become the ones the engine gets) and records why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Build {
    /// Relative to the project root, normalised (`.` for the root itself).
    pub context: String,
    /// Relative to the context.
    pub dockerfile: String,
    /// The stage to build; the last one when `None`.
    pub target: Option<String>,
    pub args: BTreeMap<String, String>,
    /// Which Dockerfile the profile asks for.
    pub source: BuildSource,
    /// The profile names the Dockerfile or the target itself.
    pub named: bool,
    /// Context paths (`.dockerignore` patterns) whose change rebuilds the image; empty: what
    /// the Dockerfile copies that the service does not bind-mount.
    pub rebuild_on: Vec<String>,
    /// What was chosen, and why.
    pub choice: Option<crate::dev_image::Choice>,
}

/// `[services.X.build] source`: where the image's Dockerfile comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildSource {
    /// The Dockerfile or target the profile names; else `.devcontainer/Dockerfile`; else the
    /// repository's Dockerfile unless it is a production one; else devboot's own.
    #[default]
    Auto,
    /// The Dockerfile as it is.
    Dockerfile,
    /// `.devcontainer/Dockerfile`.
    Devcontainer,
    /// devboot's development image.
    Devboot,
}

impl BuildSource {
    /// The word a profile writes for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Dockerfile => "dockerfile",
            Self::Devcontainer => "devcontainer",
            Self::Devboot => "devboot",
        }
    }
}

/// What a container runs: a shell string (`sh -c`) or an argument vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Shell(String),
    Argv(Vec<String>),
}

impl Command {
    /// The argument vector the engine runs.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Self::Shell(script) => vec!["sh".into(), "-c".into(), script.clone()],
            Self::Argv(argv) => argv.clone(),
        }
    }
}

/// A published port. For [`PortPolicy::Auto`], `host` is the allocated port once the engine
/// stage has assigned one, and the preferred port before that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    pub container: u16,
    pub host: u16,
    pub host_ip: std::net::IpAddr,
    pub policy: PortPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Mount {
    /// A named volume, owned by the project (`PROJECT_NAME`).
    Volume {
        name: String,
        target: String,
        read_only: bool,
    },
    /// A directory of the project, relative to its root.
    Bind {
        source: String,
        target: String,
        read_only: bool,
    },
}

impl Mount {
    pub fn target(&self) -> &str {
        match self {
            Self::Volume { target, .. } | Self::Bind { target, .. } => target,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    /// `["CMD", ...]` or `["CMD-SHELL", script]`, as the engine takes it.
    pub test: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub retries: u32,
}

impl Healthcheck {
    /// The test as a command to exec: `CMD-SHELL s` → `sh -c s`, `CMD a b` → `a b`.
    pub fn command(&self) -> Vec<String> {
        match self.test.split_first() {
            Some((kind, rest)) if kind == "CMD-SHELL" => {
                vec!["sh".into(), "-c".into(), rest.join(" ")]
            }
            Some((kind, rest)) if kind == "CMD" => rest.to_vec(),
            _ => self.test.clone(),
        }
    }
}

/// A file the profile asks devboot to generate in the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclaredFile {
    /// Relative to the project root, normalised.
    pub path: String,
    pub source: FileSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileSource {
    /// A built-in template from `templates/`.
    Template(String),
    /// Literal content.
    Content(String),
}

impl Stack {
    /// Services in an order where every service comes after those it depends on; ties in
    /// name order. Validation guarantees there is no cycle.
    pub fn start_order(&self) -> Vec<&Service> {
        let mut ordered: Vec<&Service> = Vec::with_capacity(self.services.len());
        let mut placed = BTreeSet::new();
        while ordered.len() < self.services.len() {
            let before = ordered.len();
            for service in self.services.values() {
                if !placed.contains(service.name.as_str())
                    && service
                        .depends_on
                        .keys()
                        .all(|d| placed.contains(d.as_str()))
                {
                    placed.insert(service.name.as_str());
                    ordered.push(service);
                }
            }
            assert!(
                ordered.len() > before,
                "validated stacks have no dependency cycle"
            );
        }
        ordered
    }

    /// The stack reduced to `names` and everything they depend on.
    pub fn select(&self, names: &[String]) -> Result<Self, crate::error::Error> {
        let mut keep = BTreeSet::new();
        let mut pending: Vec<&str> = Vec::new();
        for name in names {
            if !self.services.contains_key(name) {
                let known: Vec<&str> = self.services.keys().map(String::as_str).collect();
                return Err(crate::error::Error::Usage {
                    message: format!("no service `{name}` in this stack"),
                    hint: Some(format!("services: {}", known.join(", "))),
                });
            }
            pending.push(name);
        }
        while let Some(name) = pending.pop() {
            if keep.insert(name.to_owned()) {
                pending.extend(self.services[name].depends_on.keys().map(String::as_str));
            }
        }
        let mut selected = self.clone();
        selected.services.retain(|name, _| keep.contains(name));
        selected.app = self.app.clone().filter(|app| keep.contains(&app.service));
        Ok(selected)
    }

    /// A project-relative path (as validation normalises them; `.` is the root) on the host.
    pub fn host_path(&self, relative: &str) -> PathBuf {
        if relative == "." {
            self.root.clone()
        } else {
            self.root.join(relative)
        }
    }

    pub fn app_service(&self) -> Option<&Service> {
        self.app
            .as_ref()
            .and_then(|app| self.services.get(&app.service))
    }

    /// The app service and every service built like it (same context, Dockerfile and build
    /// arguments, e.g. a Sidekiq worker): the services that run the app's code and gems.
    pub fn app_services(&self) -> Vec<&Service> {
        let Some(app) = self.app_service() else {
            return Vec::new();
        };
        self.services
            .values()
            .filter(|s| s.name == app.name || (s.build.is_some() && s.build == app.build))
            .collect()
    }
}

/// The last segment of a service's image repository: `postgres` for `127.0.0.1:5000/x/postgres`.
fn image_name(service: &Service) -> &str {
    service
        .image
        .repository
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// Whether a service runs Postgres: by its image's name or its `POSTGRES_PASSWORD`.
pub fn is_postgres(service: &Service) -> bool {
    ["postgres", "postgis", "pgvector"]
        .iter()
        .any(|name| image_name(service).contains(name))
        || service.environment.contains_key("POSTGRES_PASSWORD")
}

/// Whether a service runs Redis (or Valkey): by its image's name or a `redis-cli` healthcheck.
pub fn is_redis(service: &Service) -> bool {
    ["redis", "valkey"]
        .iter()
        .any(|name| image_name(service).contains(name))
        || service
            .healthcheck
            .as_ref()
            .is_some_and(|h| h.test.iter().any(|t| t.contains("redis-cli")))
}

/// A stack validated from one profile text, as `devboot.toml` of a project at `/src/shop`.
#[cfg(test)]
pub(crate) fn test_stack(text: &str) -> Stack {
    let layer = crate::profile::source::Layer {
        display: "devboot.toml".into(),
        path: None,
        kind: crate::profile::source::LayerKind::Project,
        text: text.into(),
    };
    let loaded = crate::profile::load_standalone(layer).expect("test profile loads");
    validate::stack(&loaded, std::path::Path::new("/src/shop")).expect("test profile validates")
}

#[cfg(test)]
mod tests {
    #[test]
    fn services_built_like_the_app_run_its_code() {
        let stack = super::test_stack(
            "extends = \"rails-sidekiq\"\n\
             [app]\nsetup_inputs = [\"Gemfile\", \"./Gemfile.lock\", \"frontend/package.json\"]\n\
             [services.assets]\nbuild = \"frontend\"\n",
        );
        let names: Vec<&str> = stack
            .app_services()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["web", "worker"]);
    }

    #[test]
    fn healthchecks_become_commands() {
        let stack = super::test_stack("extends = \"rails\"\n");
        let db = stack.services["db"].healthcheck.as_ref().unwrap();
        assert_eq!(
            db.command(),
            ["sh", "-c", "pg_isready -U postgres -h 127.0.0.1"]
        );
        let redis = stack.services["redis"].healthcheck.as_ref().unwrap();
        assert_eq!(redis.command(), ["redis-cli", "ping"]);
    }
}
