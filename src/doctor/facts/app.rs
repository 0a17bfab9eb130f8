//! The application as checks see it: its directory (when it is a Rails app), the dotenv files
//! it reads, the hosts of its service URLs, and what its running container says (its Ruby
//! version, the name of a process) — the last remembered in `.devboot/doctor-cache/` for as
//! long as that container runs (started once, from one image, its Ruby cannot change).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::doctor::check::Outcome;
use crate::doctor::engine::exec;
use crate::doctor::facts::Facts;
use crate::doctor::facts::project::running_app;

/// Where doctor remembers what is costly to find out, in the project's `.devboot/`; one file
/// per check, so checks running at once never overwrite each other's.
const CACHE_DIR: &str = ".devboot/doctor-cache";

/// The Rails application's directory, or why the check does not apply.
pub(crate) fn rails_app(facts: &Facts) -> Result<&Path, Outcome> {
    let dir = facts.app_dir();
    if dir.join("config/application.rb").is_file() {
        Ok(dir)
    } else {
        Err(Outcome::skipped(format!(
            "not a Rails app (no config/application.rb in {})",
            facts.display(dir)
        )))
    }
}

/// The files dotenv loads in development, any of which may set a key.
pub(crate) const DOTENV_FILES: &[&str] = &[
    ".env",
    ".env.local",
    ".env.development",
    ".env.development.local",
];

/// `KEY=value` entries of a dotenv file (`export KEY=value` too); comments and blank lines are
/// skipped.
pub(crate) fn dotenv_entries(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let key = key.trim();
            let valid = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then(|| {
                let value = value.trim();
                let unquoted = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(value);
                (key.to_owned(), unquoted.to_owned())
            })
        })
        .collect()
}

/// The entries of the dotenv files in `dir`, with the file each came from.
pub(crate) fn dotenv_in(dir: &Path) -> Vec<(&'static str, String, String)> {
    DOTENV_FILES
        .iter()
        .filter_map(|name| Some((*name, std::fs::read_to_string(dir.join(name)).ok()?)))
        .flat_map(|(name, text)| {
            dotenv_entries(&text)
                .into_iter()
                .map(move |(key, value)| (name, key, value))
        })
        .collect()
}

/// Where a URL's host is: its byte range in the value, and the port if one is written. A value
/// without a scheme is read as `host[:port]`.
pub(crate) fn url_host(value: &str) -> Option<(std::ops::Range<usize>, Option<u16>)> {
    const SCHEME: &str = "tcp://";
    let (shift, written) = if value.contains("://") {
        (0, crate::urls::read(value)?)
    } else {
        (
            SCHEME.len(),
            crate::urls::read(&format!("{SCHEME}{value}"))?,
        )
    };
    Some((
        written.host.start - shift..written.host.end - shift,
        written.port,
    ))
}

/// Whether a URL's host is this machine (a loopback address, or all addresses): inside a
/// container, the container itself.
pub(crate) fn is_local_host(host: &str) -> bool {
    matches!(host, "localhost" | "::1" | "[::1]" | "0.0.0.0") || host.starts_with("127.")
}

/// The Ruby version the running app container has, as `(service, version)`; `None` when
/// there is no project, no engine or no running app container.
pub(crate) async fn container_ruby(facts: &Facts) -> Option<(String, String)> {
    facts.stack()?;
    let state = facts.engine_project().await.ok()?;
    let (service, id) = running_app(state).ok()?;
    let started = state
        .inspected
        .get(service)
        .and_then(|i| i.state.as_ref())
        .and_then(|s| s.started_at.clone())
        .unwrap_or_default();
    let container = format!("{id}@{started}");
    let root = &state.stack.root;
    if let Some(cached) = read_cache::<RubyCache>(root, "ruby.json")
        && cached.container == container
    {
        return Some((service.to_owned(), cached.version));
    }
    let docker = &facts.connection().await.ok()?.docker;
    let output = exec(docker, id, &["ruby", "-e", "print RUBY_VERSION"])
        .await
        .ok()?;
    let version = output.lines.first()?.trim().to_owned();
    if output.code != 0 || version.is_empty() {
        return None;
    }
    write_cache(
        root,
        "ruby.json",
        &RubyCache {
            container,
            version: version.clone(),
        },
    );
    Some((service.to_owned(), version))
}

/// The Ruby version of one run of the app container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RubyCache {
    /// `CONTAINER_ID@STARTED_AT`.
    container: String,
    version: String,
}

/// The name of process `pid` inside the running app container, which writes
/// `tmp/pids/server.pid` through the bind mount with its own pids: `(service, name)`.
pub(crate) async fn container_process(facts: &Facts, pid: u32) -> Option<(String, String)> {
    facts.stack()?;
    let state = facts.engine_project().await.ok()?;
    let (service, id) = running_app(state).ok()?;
    let docker = &facts.connection().await.ok()?.docker;
    let path = format!("/proc/{pid}/comm");
    let output = exec(docker, id, &["cat", &path]).await.ok()?;
    let name = output.lines.first()?.trim().to_owned();
    (output.code == 0 && !name.is_empty()).then(|| (service.to_owned(), name))
}

/// What the cache file `name` holds, when it exists and parses.
pub(crate) fn read_cache<T: serde::de::DeserializeOwned>(root: &Path, name: &str) -> Option<T> {
    let bytes = std::fs::read(root.join(CACHE_DIR).join(name)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Remembers `value` in the cache file `name`, when the project has a `.devboot/` directory.
pub(crate) fn write_cache<T: Serialize>(root: &Path, name: &str, value: &T) {
    // Only an optimisation: a cache that cannot be written costs the next run some time.
    if root.join(".devboot").is_dir()
        && let Ok(mut json) = serde_json::to_vec_pretty(value)
    {
        json.push(b'\n');
        let _ = crate::fsio::write_atomic(&root.join(CACHE_DIR).join(name), &json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines_parse_as_dotenv_reads_them() {
        let entries = dotenv_entries(
            "# comment\nA=1\nexport B = \"two words\"\n\nC='x'\nnot a line\n9X=bad\nD=\n",
        );
        let expected = [("A", "1"), ("B", "two words"), ("C", "x"), ("D", "")];
        assert_eq!(entries, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
    }

    #[test]
    fn url_hosts_are_found() {
        let host = |v: &str| url_host(v).map(|(r, p)| (v[r].to_owned(), p));
        assert_eq!(
            host("postgres://u:p@localhost:5432/db"),
            Some(("localhost".into(), Some(5432)))
        );
        assert_eq!(
            host("redis://[::1]:6379"),
            Some(("[::1]".into(), Some(6379)))
        );
        assert_eq!(host("127.0.0.1"), Some(("127.0.0.1".into(), None)));
        assert_eq!(host("db:5432"), Some(("db".into(), Some(5432))));
        assert_eq!(
            host("postgres://app:Zx9/k+Q@localhost:5432/app"),
            Some(("localhost".into(), Some(5432)))
        );
        assert_eq!(
            host("postgres://localhost:${DB_PORT}/app"),
            Some(("localhost".into(), None))
        );
        assert!(is_local_host("127.0.1.1") && !is_local_host("db"));
    }
}
