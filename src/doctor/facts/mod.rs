//! What every check may read: the environment snapshot, the directory doctor runs in, where
//! the proc filesystem is, the project around that directory (found and loaded once, on
//! first use, and shared by all checks), and the engine's state (`crate::doctor::engine`:
//! connected and read once, on first use).
//!
//! The submodules hold what several checks derive from these facts, so that no check reads
//! another check's module: the project's services by role ([`project`]), the application
//! ([`app`]), proxy settings ([`proxy`]), the engine's platform ([`platform`]), who publishes
//! host ports ([`ports`]), the engine's timestamps ([`time`]) and the AWS setup with the one
//! AWS call of a run ([`aws`]).

pub(super) mod app;
pub(super) mod aws;
pub(super) mod platform;
pub(super) mod ports;
pub(super) mod project;
pub(super) mod proxy;
pub(super) mod time;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tokio::sync::OnceCell;

use super::engine::EngineCache;
use crate::catalog::Refresh;
use crate::env::Environment;
use crate::error::Error;
use crate::model::Stack;
use crate::profile::source;
use crate::project::Project;

/// The project as doctor found it.
#[derive(Debug)]
pub enum ProjectLookup {
    /// No `devboot.toml` in the start directory or above.
    Missing,
    Loaded(Box<Project>),
    /// A `devboot.toml` exists under `root`, but its profile does not load or validate.
    Invalid {
        root: PathBuf,
        error: Error,
    },
}

#[derive(Debug)]
pub struct Facts {
    pub env: Environment,
    /// Where doctor runs: `-C DIR`, else the working directory.
    pub start: PathBuf,
    /// The proc filesystem (`/proc`); tests point it at fixture files.
    pub proc_root: PathBuf,
    project: OnceLock<ProjectLookup>,
    pub(super) engine: EngineCache,
    /// The one `GetCallerIdentity` of the run ([`Facts::aws_caller`]).
    aws_caller: OnceCell<aws::Caller>,
}

impl Facts {
    pub fn new(env: Environment, start: PathBuf) -> Self {
        Self {
            env,
            start,
            proc_root: PathBuf::from("/proc"),
            project: OnceLock::new(),
            engine: EngineCache::default(),
            aws_caller: OnceCell::new(),
        }
    }

    /// A variable of the environment doctor runs in (empty counts as unset).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.var(name)
    }

    pub fn home(&self) -> Option<&Path> {
        self.env.home.as_deref()
    }

    /// `path` for messages, with the home directory as `~`.
    pub fn display(&self, path: &Path) -> String {
        self.env.display_path(path)
    }

    /// The project around the start directory, loaded on first use (read only: a catalog's
    /// first use is locked by `up`, not by a diagnosis).
    pub fn project(&self) -> &ProjectLookup {
        self.project
            .get_or_init(|| match source::find_project_root(&self.start) {
                None => ProjectLookup::Missing,
                Some(root) => match Project::resolve(root.clone(), &self.env, Refresh::None) {
                    Ok((project, _)) => ProjectLookup::Loaded(Box::new(project)),
                    Err(error) => ProjectLookup::Invalid { root, error },
                },
            })
    }

    /// The directory holding `devboot.toml`, valid or not.
    pub fn project_root(&self) -> Option<&Path> {
        match self.project() {
            ProjectLookup::Missing => None,
            ProjectLookup::Loaded(project) => Some(&project.workspace.root),
            ProjectLookup::Invalid { root, .. } => Some(root),
        }
    }

    /// The validated stack, when the profile loads.
    pub fn stack(&self) -> Option<&Stack> {
        match self.project() {
            ProjectLookup::Loaded(project) => Some(&project.stack),
            _ => None,
        }
    }

    /// The application's directory: the project root, else the start directory (doctor also
    /// helps in a Rails repo that has no `devboot.toml` yet).
    pub fn app_dir(&self) -> &Path {
        self.project_root().unwrap_or(&self.start)
    }

    /// Whether doctor runs under WSL, from `version` under the proc root (tests point it at
    /// fixture files).
    pub fn running_in_wsl(&self) -> bool {
        std::fs::read_to_string(self.proc_root.join("version"))
            .is_ok_and(|version| is_wsl(&version))
    }
}

/// Whether the kernel's `version` text (`/proc/version`) is a WSL kernel's.
pub(crate) fn is_wsl(version: &str) -> bool {
    version.to_ascii_lowercase().contains("microsoft")
}
