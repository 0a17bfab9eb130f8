//! A project as the commands use it: found by searching upward for `devboot.toml`, its profile
//! layers loaded and merged, and validated into a [`Stack`].

use std::path::{Path, PathBuf};

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
}

impl Project {
    /// Finds the project containing `start` and validates its profile.
    pub fn discover(start: &Path) -> Result<Self, Error> {
        let root = source::find_project_root(start).ok_or_else(|| Error::NoProject {
            start: start.to_path_buf(),
        })?;
        Self::load(root)
    }

    pub fn load(root: PathBuf) -> Result<Self, Error> {
        let profile = profile::load_project(&root)?;
        let mut stack = validate::stack(&profile, &root)?;
        crate::containment::check(&stack)?;
        // Which Dockerfile each build uses; then its paths are checked like the profile's.
        crate::dev_image::apply(&mut stack, crate::dev_image::HostUser::current());
        crate::containment::check(&stack)?;
        Ok(Self {
            workspace: Workspace::new(root),
            profile,
            stack,
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
