//! The project on disk: its root, the `.devboot/` directory devboot owns, and the state file
//! that records what devboot last wrote (content digests of tracked files). Applying a file
//! plan happens here: atomic writes, state recorded only after the files are in place.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

// `State` records digests; `commands::up` still names `Digest` through here.
use crate::digest::Digest;
use crate::error::Error;
use crate::fsio;
use crate::plan::{FileAction, FileStep};
use crate::render::RenderedFile;

/// devboot's own directory in the project (git-ignored).
pub const STATE_DIR: &str = ".devboot";
const STATE_FILE: &str = ".devboot/state.json";

/// What devboot remembers about a project between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Digest of every file devboot wrote, by path relative to the root.
    pub files: BTreeMap<String, Digest>,
    /// Host ports chosen for `auto` mappings, by `service:container-port`.
    pub ports: crate::plan::ports::RememberedPorts,
    /// What the setup commands last completed against (commands and container definitions);
    /// they run again when this changes.
    pub setup: Option<Digest>,
    /// Digests of the setup inputs as the setup commands last left them, by path relative to
    /// the root (a missing file is absent); a change runs them again and restarts the app.
    pub setup_inputs: BTreeMap<String, Digest>,
    /// The project name this checkout runs under when it is not the declared one (a second
    /// checkout of the same repository), so it keeps its containers and volumes.
    pub checkout_name: Option<CheckoutName>,
}

/// A second checkout's own project name, and the declared name it stands in for: when the
/// declared name changes, the remembered one no longer applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutName {
    pub declared: String,
    pub name: String,
}

/// A project directory.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
}

impl Workspace {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// The recorded state; a missing or unreadable state file is an empty state (the worst
    /// that can happen is a tracked file reported as a conflict).
    pub fn state(&self) -> State {
        fsio::read_optional(&self.path(STATE_FILE))
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save_state(&self, state: &State) -> Result<(), Error> {
        let mut json = serde_json::to_vec_pretty(state)
            .map_err(|e| Error::Internal(format!("serializing state: {e}")))?;
        json.push(b'\n');
        fsio::write_atomic(&self.path(STATE_FILE), &json)
    }

    /// The digest of each of `files` that exists on disk now.
    pub fn digests(&self, files: &[RenderedFile]) -> Result<BTreeMap<String, Digest>, Error> {
        self.digests_of(files.iter().map(|f| f.path.as_str()))
    }

    /// The digest of each of `stack`'s setup inputs that exists now.
    pub fn setup_input_digests(
        &self,
        stack: &crate::model::Stack,
    ) -> Result<BTreeMap<String, Digest>, Error> {
        self.digests_of(
            stack
                .app
                .iter()
                .flat_map(|app| &app.setup_inputs)
                .map(String::as_str),
        )
    }

    /// The digest of each of `paths` (relative to the root) that exists now.
    fn digests_of<'a>(
        &self,
        paths: impl IntoIterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, Digest>, Error> {
        let mut digests = BTreeMap::new();
        for path in paths {
            if let Some(bytes) = fsio::read_optional(&self.path(path))? {
                digests.insert(path.to_owned(), Digest::of(&bytes));
            }
        }
        Ok(digests)
    }

    /// Whether the file at `path` (relative to the root) holds what devboot last wrote there.
    pub fn as_written(&self, state: &State, path: &str) -> Result<bool, Error> {
        let on_disk = fsio::read_optional(&self.path(path))?.map(|bytes| Digest::of(&bytes));
        Ok(on_disk.is_some() && on_disk.as_ref() == state.files.get(path))
    }

    /// Writes the files the plan creates or updates, then records their digests. Refuses to
    /// write anything when the plan has a conflict. Digests are recorded in `state`, which the
    /// caller saves.
    pub fn apply(
        &self,
        steps: &[FileStep],
        files: &[RenderedFile],
        state: &mut State,
    ) -> Result<Vec<FileStep>, Error> {
        let conflicts: Vec<String> = steps
            .iter()
            .filter(|s| s.action == FileAction::Conflict)
            .map(|s| s.path.clone())
            .collect();
        if !conflicts.is_empty() {
            return Err(Error::Conflicts { paths: conflicts });
        }
        let mut written = Vec::new();
        for (step, file) in steps.iter().zip(files) {
            debug_assert_eq!(step.path, file.path);
            if matches!(step.action, FileAction::Create | FileAction::Update) {
                fsio::write_atomic(&self.path(&file.path), file.content.as_bytes())?;
                written.push(step.clone());
            }
            state
                .files
                .insert(file.path.clone(), Digest::of(file.content.as_bytes()));
        }
        Ok(written)
    }

    /// Takes the project's lock, so two devboot runs never change one project at once. The
    /// lock is released when the returned guard is dropped, or when the process dies.
    pub fn lock(&self) -> Result<ProjectLock, Error> {
        self.ensure_work_dir()?;
        let path = self.path(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(ProjectLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked { path }),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
        }
    }

    /// Creates `.devboot/` with a `.gitignore` of `*`: the generated files hold the profile's
    /// environment, so git never offers to commit them, whatever the repository's own
    /// `.gitignore` says.
    fn ensure_work_dir(&self) -> Result<(), Error> {
        let dir = self.path(crate::containment::WORK_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        let ignore = dir.join(".gitignore");
        if !ignore.exists() {
            fsio::write_atomic(
                &ignore,
                b"# Written by devboot: generated files stay out of git.\n*\n",
            )?;
        }
        Ok(())
    }
}

const LOCK_FILE: &str = ".devboot/lock";

/// Holds the project lock until dropped.
#[derive(Debug)]
pub struct ProjectLock {
    _file: std::fs::File,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan;
    use crate::render::Ownership;

    #[test]
    fn a_user_edit_becomes_a_conflict_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::new(dir.path());
        let files = vec![RenderedFile {
            path: "config/x.env".into(),
            content: "A=1\n".into(),
            ownership: Ownership::Tracked,
        }];
        let steps = plan::files(
            &files,
            &workspace.digests(&files).unwrap(),
            &workspace.state().files,
        );
        assert_eq!(steps[0].action, FileAction::Create);
        let mut state = workspace.state();
        workspace.apply(&steps, &files, &mut state).unwrap();
        workspace.save_state(&state).unwrap();

        // Unchanged on a second run; an update is allowed while the file is untouched.
        let steps = plan::files(
            &files,
            &workspace.digests(&files).unwrap(),
            &workspace.state().files,
        );
        assert_eq!(steps[0].action, FileAction::Unchanged);
        let newer = vec![RenderedFile {
            content: "A=2\n".into(),
            ..files[0].clone()
        }];
        let steps = plan::files(
            &newer,
            &workspace.digests(&newer).unwrap(),
            &workspace.state().files,
        );
        assert_eq!(steps[0].action, FileAction::Update);

        // The user edits it: the next render is a conflict and the edit survives.
        std::fs::write(dir.path().join("config/x.env"), "A=mine\n").unwrap();
        let steps = plan::files(
            &newer,
            &workspace.digests(&newer).unwrap(),
            &workspace.state().files,
        );
        assert_eq!(steps[0].action, FileAction::Conflict);
        assert!(matches!(
            workspace.apply(&steps, &newer, &mut state),
            Err(Error::Conflicts { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("config/x.env")).unwrap(),
            "A=mine\n"
        );
    }
}
