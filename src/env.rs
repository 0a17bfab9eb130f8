//! A snapshot of the process environment — variables, working directory, home, which streams
//! are terminals — taken once at start-up. The rest of the code reads it from here, never from
//! `std::env`, so tests can run commands with an environment they chose.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
    pub stdin_is_terminal: bool,
    pub stdout_is_terminal: bool,
    pub stderr_is_terminal: bool,
}

impl Environment {
    /// Reads the real process environment. Variables that are not UTF-8 are left out.
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place that reads std::env"
    )]
    pub fn capture() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Self {
            stdin_is_terminal: std::io::stdin().is_terminal(),
            stdout_is_terminal: std::io::stdout().is_terminal(),
            stderr_is_terminal: std::io::stderr().is_terminal(),
            ..Self::from_vars(vars, cwd)
        }
    }

    /// An environment holding exactly `vars`, rooted at `cwd`, with no terminal (for tests
    /// and for running devboot's logic on another process's behalf).
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
        cwd: PathBuf,
    ) -> Self {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let home = vars
            .get("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        Self {
            vars,
            cwd,
            home,
            ..Self::default()
        }
    }

    /// Every variable, to hand on to a child process.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A variable's value; empty values count as unset, as most tools treat them.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Where devboot keeps per-user state that must stay out of projects (the AWS endpoint's
    /// secrets, its process id and log): `$XDG_STATE_HOME/devboot`, else
    /// `~/.local/state/devboot`. `None` without a home.
    pub fn state_dir(&self) -> Option<PathBuf> {
        self.var("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| self.home.as_ref().map(|h| h.join(".local/state")))
            .map(|base| base.join("devboot"))
    }

    /// Where devboot caches what it can fetch again (published catalogs):
    /// `$XDG_CACHE_HOME/devboot`, else `~/.cache/devboot`. `None` without a home.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        self.xdg_dir("XDG_CACHE_HOME", ".cache")
    }

    /// The developer's own devboot settings (`config.toml`: catalogs every project may use):
    /// `$XDG_CONFIG_HOME/devboot`, else `~/.config/devboot`. `None` without a home.
    pub fn config_dir(&self) -> Option<PathBuf> {
        self.xdg_dir("XDG_CONFIG_HOME", ".config")
    }

    fn xdg_dir(&self, var: &str, under_home: &str) -> Option<PathBuf> {
        self.var(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| self.home.as_ref().map(|h| h.join(under_home)))
            .map(|base| base.join("devboot"))
    }

    /// `path` with the home directory written as `~`, for messages and reports.
    pub fn display_path(&self, path: &Path) -> String {
        match self
            .home
            .as_deref()
            .and_then(|home| path.strip_prefix(home).ok())
        {
            Some(rest) if rest.as_os_str().is_empty() => "~".to_owned(),
            Some(rest) => format!("~/{}", rest.display()),
            None => path.display().to_string(),
        }
    }
}
