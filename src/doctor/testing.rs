//! Test helpers for checks: a sandbox with its own HOME and project directory (real files in a
//! temporary directory), the [`Facts`] for it, and running a check directly to the outcome the
//! runner would report.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tempfile::TempDir;

use crate::doctor::check::{Check, Outcome, Run};
use crate::doctor::facts::Facts;
use crate::env::Environment;

/// A project that validates, with one service publishing no port.
pub(crate) const PROFILE: &str = r#"schema = 1

[project]
name = "doctortest"

[services.db]
image = "postgres:16"
"#;

pub(crate) struct Sandbox {
    pub(crate) dir: TempDir,
    vars: Vec<(String, String)>,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("project")).unwrap();
        Self {
            dir,
            vars: Vec::new(),
        }
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub(crate) fn project(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    /// Writes `content` to `relative` in the project, creating directories.
    pub(crate) fn write(&self, relative: &str, content: &str) -> PathBuf {
        write(&self.project().join(relative), content)
    }

    /// Sets a variable in the environment the checks see.
    pub(crate) fn var(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.vars.push((name.to_owned(), value.into()));
        self
    }

    /// Facts for a run started in the project directory.
    pub(crate) fn facts(&self) -> Facts {
        self.facts_at(&self.project())
    }

    pub(crate) fn facts_at(&self, start: &Path) -> Facts {
        let mut vars = vec![("HOME".to_owned(), self.home().display().to_string())];
        vars.extend(self.vars.iter().cloned());
        Facts::new(
            Environment::from_vars(vars, start.to_path_buf()),
            start.to_path_buf(),
        )
    }
}

pub(crate) fn write(path: &Path, content: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    path.to_path_buf()
}

/// An executable shell script.
pub(crate) fn script(path: &Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    write(path, &format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_path_buf()
}

/// Runs one check directly (a blocking one on this thread, an async one on a fresh runtime).
pub(crate) fn run(check: &Check, facts: Facts) -> Outcome {
    let result = match check.run {
        Run::Blocking(run) => run(&facts),
        Run::Async(run) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(Arc::new(facts))),
    };
    reported(result)
}

/// What a check's run function returned, as the runner reports it: `Ok` and `Err` alike.
pub(crate) fn reported(result: Result<Outcome, Outcome>) -> Outcome {
    match result {
        Ok(outcome) | Err(outcome) => outcome,
    }
}
