//! A project as the commands use it: found by searching upward for `devboot.toml`, its profile
//! layers loaded and merged, and validated into a [`Stack`].

use std::path::{Path, PathBuf};

use crate::catalog::lock::{LOCK_FILE, Locked};
use crate::catalog::{Catalogs, Refresh};
use crate::env::Environment;
use crate::error::Error;
use crate::model::{Stack, validate};
use crate::profile::source::Layer;
use crate::profile::{self, LoadedProfile, source};
use crate::render::{self, RenderedFile};
use crate::workspace::Workspace;

#[derive(Debug, Clone)]
pub struct Project {
    pub workspace: Workspace,
    pub profile: LoadedProfile,
    pub stack: Stack,
    /// What loading did besides reading: `devboot.lock` written on a catalog's first use.
    pub notes: Vec<String>,
}

impl Project {
    /// Finds the project containing `start` and validates its profile.
    pub fn discover(start: &Path, env: &Environment) -> Result<Self, Error> {
        let root = source::find_project_root(start).ok_or_else(|| Error::NoProject {
            start: start.to_path_buf(),
        })?;
        Self::load(root, env)
    }

    /// Loads and validates the project at `root`. Catalog profiles come from `devboot.lock`;
    /// one the lock does not name yet (first use) is resolved, fetched, and locked.
    pub fn load(root: PathBuf, env: &Environment) -> Result<Self, Error> {
        let (mut project, catalogs) = Self::resolve(root, env, Refresh::None)?;
        if let Some(lock) = catalogs.new_lock() {
            catalogs.write_lock(&lock)?;
            let used: Vec<String> = lock.profiles.iter().map(Locked::describe).collect();
            project.notes.push(format!(
                "locked {} in {LOCK_FILE}; commit it so everyone uses the same content",
                used.join(", ")
            ));
        }
        Ok(project)
    }

    /// Loads and validates the project at `root` without writing anything; `refresh` names
    /// the catalog profiles to select afresh instead of taking them from the lock. The
    /// catalogs say what was used.
    pub fn resolve(
        root: PathBuf,
        env: &Environment,
        refresh: Refresh,
    ) -> Result<(Self, Catalogs), Error> {
        let catalogs = Catalogs::for_project(env, &root, refresh)?;
        let profile = profile::load_project(&root, &catalogs)?;
        let mut stack = validate::stack(&profile, &root)?;
        crate::containment::check(&stack)?;
        // Which Dockerfile each build uses; then its paths are checked like the profile's.
        crate::dev_image::apply(&mut stack, crate::dev_image::HostUser::current());
        crate::containment::check(&stack)?;
        let project = Self {
            workspace: Workspace::new(root),
            profile,
            stack,
            notes: Vec::new(),
        };
        Ok((project, catalogs))
    }

    /// The layer whose `[aws] profile` chose the AWS profile, when one did (otherwise the
    /// developer's `AWS_PROFILE` or `default` applies).
    pub fn aws_profile_layer(&self) -> Option<&Layer> {
        let chosen = self.profile.merged.aws.profile.as_ref()?;
        Some(self.profile.sources.get(chosen.origin.layer))
    }

    /// Every file the stack generates, rendered.
    pub fn rendered_files(&self) -> Result<Vec<RenderedFile>, Error> {
        render::render_all(&self.stack)
    }
}

/// The directory a command runs in: `-C DIR` (relative to the working directory) or the
/// working directory itself.
pub fn start_dir(cwd: &Path, directory: Option<&Path>) -> PathBuf {
    match directory {
        Some(dir) => cwd.join(dir),
        None => cwd.to_path_buf(),
    }
}
