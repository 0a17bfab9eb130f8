//! What every check may read: the environment snapshot, the directory doctor runs in, where
//! the proc filesystem is, the project around that directory (found and loaded once, on
//! first use, and shared by all checks), and the engine's state (`crate::doctor::engine`:
//! connected and read once, on first use).
//!
//! The submodules hold what several checks derive from these facts, so that no check reads
//! another check's module: the project's services by role ([`project`]), the application
//! ([`app`]), proxy settings ([`proxy`]), the engine's platform ([`platform`]), who publishes
//! host ports ([`ports`]) and the engine's timestamps ([`time`]).

pub(super) mod app;
pub(super) mod platform;
pub(super) mod ports;
pub(super) mod project;
pub(super) mod proxy;
pub(super) mod time;

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::OnceCell;

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
    shared: SharedResults,
}

/// A value one check computes and others reuse ([`Facts::shared`]), by key.
type SharedValue = Arc<dyn Any + Send + Sync>;

/// Results several checks share: each computed once, by whichever check asks first, while the
/// others wait for it.
#[derive(Default)]
struct SharedResults(Mutex<HashMap<&'static str, Arc<OnceCell<SharedValue>>>>);

impl std::fmt::Debug for SharedResults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut keys: Vec<&&str> = map.keys().collect();
        keys.sort();
        f.debug_tuple("SharedResults").field(&keys).finish()
    }
}

impl Facts {
    pub fn new(env: Environment, start: PathBuf) -> Self {
        Self {
            env,
            start,
            proc_root: PathBuf::from("/proc"),
            project: OnceLock::new(),
            engine: EngineCache::default(),
            shared: SharedResults::default(),
        }
    }

    /// The value shared under `key`, computed by `init` for the first check that asks; the
    /// others wait for that and get the same value (one AWS call serves several checks). Every
    /// caller of a key must ask for the same type `T`.
    pub async fn shared<T, F, Fut>(&self, key: &'static str, init: F) -> Arc<T>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let cell = {
            let mut map = self.shared.0.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(key).or_default())
        };
        let value = cell
            .get_or_init(|| async { Arc::new(init().await) as SharedValue })
            .await;
        Arc::clone(value)
            .downcast::<T>()
            .unwrap_or_else(|_| panic!("shared result `{key}` was asked for with two types"))
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_shared_result_is_computed_once_for_every_check_that_asks() {
        let dir = std::env::temp_dir();
        let facts = Facts::new(
            Environment::from_vars([("HOME", "/nonexistent")], dir.clone()),
            dir,
        );
        let calls = AtomicUsize::new(0);
        let compute = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            String::from("answer")
        };
        let (a, b) = tokio::join!(
            facts.shared("test.value", compute),
            facts.shared("test.value", compute)
        );
        assert_eq!((a.as_str(), b.as_str()), ("answer", "answer"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let other = facts.shared("test.other", || async { 7_u8 }).await;
        assert_eq!(*other, 7);
    }
}
