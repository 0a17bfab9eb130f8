//! What every check may read: the environment snapshot, the directory doctor runs in, where
//! the proc filesystem is, the project around that directory (found and loaded once, on
//! first use, and shared by all checks), and the engine's state (`super::engine`: connected
//! and read once, on first use).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::engine::EngineCache;
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
}

impl Facts {
    pub fn new(env: Environment, start: PathBuf) -> Self {
        Self {
            env,
            start,
            proc_root: PathBuf::from("/proc"),
            project: OnceLock::new(),
            engine: EngineCache::default(),
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

    /// The project around the start directory, loaded on first use.
    pub fn project(&self) -> &ProjectLookup {
        self.project
            .get_or_init(|| match source::find_project_root(&self.start) {
                None => ProjectLookup::Missing,
                Some(root) => match Project::load(root.clone()) {
                    Ok(project) => ProjectLookup::Loaded(Box::new(project)),
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
}
