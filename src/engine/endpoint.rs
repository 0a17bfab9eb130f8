//! Finding the Docker endpoint exactly as the Docker CLI does: `DOCKER_HOST`, else the context
//! named by `DOCKER_CONTEXT`, else the `currentContext` of the CLI's `config.json`, else the
//! default socket. Also owns locating and reading that `config.json` (the CLI's configuration
//! directory is `DOCKER_CONFIG`, else `~/.docker`), which [`super::auth`] reads too.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::digest::Digest;
use crate::env::Environment;
use crate::error::Error;

/// The engine's socket when nothing names another endpoint.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The context that stands for "no context": `DOCKER_HOST` or the default socket.
const DEFAULT_CONTEXT: &str = "default";

/// Where the Docker engine listens, and what said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///var/run/docker.sock`, `tcp://10.0.0.5:2375`, ...
    pub host: String,
    pub source: EndpointSource,
}

/// What chose the endpoint; shown next to it in errors and in `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointSource {
    /// The `DOCKER_HOST` variable.
    DockerHostVar,
    /// A context named by the `DOCKER_CONTEXT` variable.
    DockerContextVar(String),
    /// The `currentContext` of the CLI's `config.json` (what `docker context use` sets).
    ConfigContext(String),
    /// Nothing: the engine's default socket.
    Default,
}

impl fmt::Display for EndpointSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DockerHostVar => f.write_str("from DOCKER_HOST"),
            Self::DockerContextVar(name) => write!(f, "context `{name}` from DOCKER_CONTEXT"),
            Self::ConfigContext(name) => write!(f, "context `{name}` from config.json"),
            Self::Default => f.write_str("default socket"),
        }
    }
}

/// Resolves the endpoint from the environment and the Docker CLI's configuration.
pub fn resolve(env: &Environment) -> Result<Endpoint, Error> {
    resolve_with(
        env.var("DOCKER_HOST"),
        env.var("DOCKER_CONTEXT"),
        config_dir(env).as_deref(),
    )
}

/// [`resolve`] on explicit inputs: the `DOCKER_HOST` and `DOCKER_CONTEXT` values and the CLI's
/// configuration directory (`None` when there is neither `DOCKER_CONFIG` nor a home).
pub fn resolve_with(
    docker_host: Option<&str>,
    docker_context: Option<&str>,
    config_dir: Option<&Path>,
) -> Result<Endpoint, Error> {
    if let Some(host) = docker_host {
        return Ok(Endpoint {
            host: host.to_owned(),
            source: EndpointSource::DockerHostVar,
        });
    }
    let (context, source) = if let Some(name) = docker_context {
        let source = EndpointSource::DockerContextVar(name.to_owned());
        (name.to_owned(), source)
    } else {
        let config: ContextConfig =
            config_dir.map_or_else(|| Ok(ContextConfig::default()), read_cli_config)?;
        let Some(name) = config.current_context.filter(|name| !name.is_empty()) else {
            return Ok(Endpoint {
                host: DEFAULT_HOST.to_owned(),
                source: EndpointSource::Default,
            });
        };
        (name.clone(), EndpointSource::ConfigContext(name))
    };
    let host = if context == DEFAULT_CONTEXT {
        DEFAULT_HOST.to_owned()
    } else {
        context_host(config_dir, &context, &source)?
    };
    Ok(Endpoint { host, source })
}

/// The Docker CLI's configuration directory: `DOCKER_CONFIG`, else `~/.docker`.
pub fn config_dir(env: &Environment) -> Option<PathBuf> {
    env.var("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| env.home.as_ref().map(|home| home.join(".docker")))
}

/// Reads the fields `T` declares from `config.json` in the CLI's configuration directory; a
/// missing or empty file reads as `T::default()`, as the CLI treats it.
pub fn read_cli_config<T: DeserializeOwned + Default>(config_dir: &Path) -> Result<T, Error> {
    let path = config_dir.join("config.json");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(T::default()),
        Err(e) => {
            return Err(Error::Usage {
                message: format!(
                    "cannot read the Docker CLI config `{}`: {e}",
                    path.display()
                ),
                hint: Some(
                    "fix the file's permissions, or point DOCKER_CONFIG at another directory"
                        .into(),
                ),
            });
        }
    };
    if bytes.trim_ascii().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|e| Error::Usage {
        message: format!(
            "the Docker CLI config `{}` is not valid: {e}",
            path.display()
        ),
        hint: Some("fix or remove the file; the `docker` command fails on it too".into()),
    })
}

/// The part of `config.json` that selects a context.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContextConfig {
    current_context: Option<String>,
}

/// The part of a context's `meta.json` that names its engine.
#[derive(Debug, Deserialize)]
struct ContextMeta {
    #[serde(rename = "Endpoints", default)]
    endpoints: ContextEndpoints,
}

#[derive(Debug, Default, Deserialize)]
struct ContextEndpoints {
    docker: Option<DockerEndpointMeta>,
}

#[derive(Debug, Deserialize)]
struct DockerEndpointMeta {
    #[serde(rename = "Host")]
    host: Option<String>,
}

/// The engine address of context `name`, from
/// `<config dir>/contexts/meta/<sha256 of the name>/meta.json`.
fn context_host(
    config_dir: Option<&Path>,
    name: &str,
    source: &EndpointSource,
) -> Result<String, Error> {
    let missing = || Error::Usage {
        message: format!("Docker context `{name}` ({source}) does not exist"),
        hint: Some(match source {
            EndpointSource::DockerContextVar(_) => {
                "unset DOCKER_CONTEXT, or set it to a context listed by `docker context ls`".into()
            }
            _ => "run `docker context use default`, or pick a context from `docker context ls`"
                .into(),
        }),
    };
    let Some(config_dir) = config_dir else {
        return Err(missing());
    };
    let meta_path = config_dir
        .join("contexts/meta")
        .join(Digest::of(name.as_bytes()).as_str())
        .join("meta.json");
    let bytes = match std::fs::read(&meta_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(Error::io("read", meta_path, e)),
    };
    let meta: ContextMeta = serde_json::from_slice(&bytes).map_err(|e| Error::Usage {
        message: format!(
            "the metadata of Docker context `{name}` (`{}`) is not valid: {e}",
            meta_path.display()
        ),
        hint: Some(format!(
            "recreate the context (`docker context rm {name}`, then `docker context create`)"
        )),
    })?;
    meta.endpoints
        .docker
        .and_then(|docker| docker.host)
        .filter(|host| !host.is_empty())
        .ok_or_else(|| Error::Usage {
            message: format!(
                "Docker context `{name}` ({source}) names no Docker endpoint (`{}`)",
                meta_path.display()
            ),
            hint: Some(format!(
                "set one with `docker context update {name} --docker host=...`, or switch context"
            )),
        })
}

/// Writes a context as `docker context create NAME --docker host=HOST` does (for tests).
#[cfg(test)]
pub(crate) fn write_test_context(config_dir: &Path, name: &str, host: &str) {
    let dir = config_dir
        .join("contexts/meta")
        .join(Digest::of(name.as_bytes()).as_str());
    std::fs::create_dir_all(&dir).unwrap();
    let meta = serde_json::json!({
        "Name": name,
        "Metadata": {},
        "Endpoints": { "docker": { "Host": host, "SkipTLSVerify": false } },
    });
    std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
}

#[cfg(test)]
mod tests {

    use super::*;

    fn use_context(config_dir: &Path, name: &str) {
        let config = serde_json::json!({ "auths": {}, "currentContext": name });
        std::fs::write(config_dir.join("config.json"), config.to_string()).unwrap();
    }

    fn usage_message(result: Result<Endpoint, Error>) -> String {
        match result {
            Err(Error::Usage { message, .. }) => message,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn docker_host_wins_over_everything() {
        let dir = tempfile::tempdir().unwrap();
        write_test_context(dir.path(), "remote", "tcp://10.0.0.5:2375");
        use_context(dir.path(), "remote");
        let endpoint =
            resolve_with(Some("tcp://1.2.3.4:2375"), Some("remote"), Some(dir.path())).unwrap();
        assert_eq!(endpoint.host, "tcp://1.2.3.4:2375");
        assert_eq!(endpoint.source, EndpointSource::DockerHostVar);
        assert_eq!(endpoint.source.to_string(), "from DOCKER_HOST");
    }

    #[test]
    fn docker_context_wins_over_the_config() {
        let dir = tempfile::tempdir().unwrap();
        write_test_context(dir.path(), "remote", "tcp://10.0.0.5:2375");
        write_test_context(dir.path(), "colima", "unix:///home/me/.colima/docker.sock");
        use_context(dir.path(), "colima");
        let endpoint = resolve_with(None, Some("remote"), Some(dir.path())).unwrap();
        assert_eq!(endpoint.host, "tcp://10.0.0.5:2375");
        assert_eq!(
            endpoint.source.to_string(),
            "context `remote` from DOCKER_CONTEXT"
        );
    }

    #[test]
    fn the_config_current_context_is_used_last() {
        let dir = tempfile::tempdir().unwrap();
        write_test_context(dir.path(), "colima", "unix:///home/me/.colima/docker.sock");
        use_context(dir.path(), "colima");
        let endpoint = resolve_with(None, None, Some(dir.path())).unwrap();
        assert_eq!(endpoint.host, "unix:///home/me/.colima/docker.sock");
        assert_eq!(
            endpoint.source,
            EndpointSource::ConfigContext("colima".into())
        );
        assert_eq!(
            endpoint.source.to_string(),
            "context `colima` from config.json"
        );
    }

    #[test]
    fn nothing_or_the_default_context_means_the_default_socket() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = resolve_with(None, None, Some(dir.path())).unwrap();
        assert_eq!(endpoint.host, DEFAULT_HOST);
        assert_eq!(endpoint.source, EndpointSource::Default);
        assert_eq!(endpoint.source.to_string(), "default socket");

        assert_eq!(resolve_with(None, None, None).unwrap().host, DEFAULT_HOST);

        use_context(dir.path(), "default");
        let endpoint = resolve_with(None, None, Some(dir.path())).unwrap();
        assert_eq!(endpoint.host, DEFAULT_HOST);
        assert_eq!(
            endpoint.source,
            EndpointSource::ConfigContext("default".into())
        );

        let endpoint = resolve_with(None, Some("default"), None).unwrap();
        assert_eq!(endpoint.host, DEFAULT_HOST);

        // An empty file and an empty `currentContext` are no choice at all, as for the CLI.
        std::fs::write(dir.path().join("config.json"), "").unwrap();
        assert_eq!(
            resolve_with(None, None, Some(dir.path())).unwrap().source,
            EndpointSource::Default
        );
        use_context(dir.path(), "");
        assert_eq!(
            resolve_with(None, None, Some(dir.path())).unwrap().source,
            EndpointSource::Default
        );
    }

    #[test]
    fn a_missing_context_names_it_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let error = resolve_with(None, Some("gone"), Some(dir.path())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Docker context `gone` (context `gone` from DOCKER_CONTEXT) does not exist"
        );
        assert!(error.hint().unwrap().contains("unset DOCKER_CONTEXT"));

        use_context(dir.path(), "gone");
        let error = resolve_with(None, None, Some(dir.path())).unwrap_err();
        assert!(matches!(error, Error::Usage { .. }));
        assert!(error.hint().unwrap().contains("docker context use default"));

        assert!(usage_message(resolve_with(None, Some("gone"), None)).contains("`gone`"));
    }

    #[test]
    fn a_broken_config_or_context_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), "{ not json").unwrap();
        let message = usage_message(resolve_with(None, None, Some(dir.path())));
        assert!(message.contains(&dir.path().join("config.json").display().to_string()));

        write_test_context(dir.path(), "empty", "");
        let message = usage_message(resolve_with(None, Some("empty"), Some(dir.path())));
        assert!(message.contains("names no Docker endpoint"), "{message}");
    }

    #[test]
    fn resolve_reads_docker_config_under_home() {
        let home = tempfile::tempdir().unwrap();
        let docker_dir = home.path().join(".docker");
        std::fs::create_dir_all(&docker_dir).unwrap();
        write_test_context(&docker_dir, "lima", "unix:///tmp/lima.sock");
        use_context(&docker_dir, "lima");
        let mut env = Environment::default();
        env.home = Some(home.path().to_owned());
        assert_eq!(config_dir(&env), Some(docker_dir));
        assert_eq!(resolve(&env).unwrap().host, "unix:///tmp/lima.sock");
    }
}
