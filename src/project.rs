//! A project as the commands use it: found by searching upward for `devboot.toml`, its profile
//! layers loaded and merged, and validated into a [`Stack`].

use std::path::{Path, PathBuf};

use crate::catalog::lock::{LOCK_FILE, Locked};
use crate::catalog::{Catalogs, OnTransfer, Refresh};
use crate::env::Environment;
use crate::error::Error;
use crate::model::{Stack, validate};
use crate::profile::source::Layer;
use crate::profile::{self, LoadedProfile, source};
use crate::render::{self, RenderedFile};
use crate::workspace::{CheckoutName, Workspace};

#[derive(Debug, Clone)]
pub struct Project {
    pub workspace: Workspace,
    pub profile: LoadedProfile,
    /// Validated, under the name this checkout runs under (see [`Project::load`]).
    pub stack: Stack,
    /// The name the profile gives the project: `[project] name`, else the directory's.
    pub declared_name: String,
    /// What loading did besides reading: `devboot.lock` written on a catalog's first use.
    pub notes: Vec<String>,
}

impl Project {
    /// Finds the project containing `start` and validates its profile; a catalog download
    /// tells `on_transfer` how it goes.
    pub fn discover(
        start: &Path,
        env: &Environment,
        on_transfer: Option<OnTransfer>,
    ) -> Result<Self, Error> {
        let root = source::find_project_root(start).ok_or_else(|| Error::NoProject {
            start: start.to_path_buf(),
        })?;
        Self::load(root, env, on_transfer)
    }

    /// Loads and validates the project at `root`. Catalog profiles come from `devboot.lock`;
    /// one the lock does not name yet (first use) is resolved, fetched, and locked.
    pub fn load(
        root: PathBuf,
        env: &Environment,
        on_transfer: Option<OnTransfer>,
    ) -> Result<Self, Error> {
        let (mut project, catalogs) = Self::resolve_watched(root, env, Refresh::None, on_transfer)?;
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

    /// Loads and validates the project at `root` without writing anything, under the declared
    /// name, or under the name this checkout remembers running under (a second checkout of the
    /// repository; see [`crate::effective::claim`]). `refresh` names the catalog profiles to
    /// select afresh instead of taking them from the lock; the catalogs say what was used.
    pub fn resolve(
        root: PathBuf,
        env: &Environment,
        refresh: Refresh,
    ) -> Result<(Self, Catalogs), Error> {
        Self::resolve_watched(root, env, refresh, None)
    }

    /// [`Project::resolve`], telling `on_transfer` how a catalog download goes.
    pub fn resolve_watched(
        root: PathBuf,
        env: &Environment,
        refresh: Refresh,
        on_transfer: Option<OnTransfer>,
    ) -> Result<(Self, Catalogs), Error> {
        let catalogs = Catalogs::for_project(env, &root, refresh)?.watched(on_transfer);
        let workspace = Workspace::new(root);
        let profile = profile::load_project(&workspace.root, &catalogs)?;
        let stack = validate::stack(&profile, &workspace.root)?;
        let declared_name = stack.project.clone();
        let remembered = workspace
            .state()
            .checkout_name
            .filter(|remembered| remembered.declared == declared_name);
        let stack = match remembered {
            Some(remembered) => {
                validate::stack_as(&profile, &workspace.root, Some(&remembered.name))?
            }
            None => stack,
        };
        let project = Self::contained(workspace, profile, stack, declared_name)?;
        Ok((project, catalogs))
    }

    /// The same checkout under another project name (the declared one for `name ==
    /// declared_name`).
    pub fn named(&self, name: &str) -> Result<Self, Error> {
        let checkout_name = (name != self.declared_name).then_some(name);
        let stack = validate::stack_as(&self.profile, &self.workspace.root, checkout_name)?;
        Self::contained(
            self.workspace.clone(),
            self.profile.clone(),
            stack,
            self.declared_name.clone(),
        )
    }

    /// What to remember in the state file about the name this project runs under.
    pub fn checkout_name(&self) -> Option<CheckoutName> {
        (self.stack.project != self.declared_name).then(|| CheckoutName {
            declared: self.declared_name.clone(),
            name: self.stack.project.clone(),
        })
    }

    fn contained(
        workspace: Workspace,
        profile: LoadedProfile,
        mut stack: Stack,
        declared_name: String,
    ) -> Result<Self, Error> {
        crate::containment::check(&stack)?;
        // Which Dockerfile each build uses; then its paths are checked like the profile's.
        crate::dev_image::apply(&mut stack, crate::dev_image::HostUser::current());
        crate::containment::check(&stack)?;
        Ok(Self {
            workspace,
            profile,
            stack,
            declared_name,
            notes: Vec::new(),
        })
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
