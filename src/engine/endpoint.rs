//! Finding the Docker endpoint exactly as the Docker CLI does: `DOCKER_HOST`, else the context
//! named by `DOCKER_CONTEXT`, else the `currentContext` of the CLI's `config.json`, else the
//! default socket. Also the TLS material that goes with a `tcp://` endpoint (`DOCKER_TLS_VERIFY`
//! and `DOCKER_CERT_PATH`, or a context's `contexts/tls/…`), whether the endpoint is another
//! machine ([`Endpoint::is_remote`]), and locating and reading that `config.json` (the CLI's
//! configuration directory is `DOCKER_CONFIG`, else `~/.docker`), which [`super::auth`] reads too.

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
    /// TLS for a `tcp://` endpoint, as the Docker CLI would use it.
    pub tls: Option<Tls>,
}

/// Where a TLS endpoint's certificates are (`ca.pem`, `cert.pem`, `key.pem`), and whether the
/// engine's certificate is to be verified against `ca.pem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub dir: PathBuf,
    pub verify: bool,
}

impl Endpoint {
    /// Whether the engine runs on another machine, so that paths in bind mounts name that
    /// machine's files: `tcp://` or `ssh://` to a host that is not a loopback address or
    /// `localhost`. (An ssh config alias for this machine counts as remote: it cannot be told.)
    pub fn is_remote(&self) -> bool {
        match self.host.split_once("://") {
            Some(("ssh", _)) => {
                super::ssh::SshTarget::parse(&self.host).is_ok_and(|target| !target.is_loopback())
            }
            Some(("tcp" | "http" | "https", _)) => url::Url::parse(&self.host)
                .ok()
                .and_then(|url| url.host_str().map(is_loopback_host))
                .is_some_and(|loopback| !loopback),
            _ => false,
        }
    }
}

/// `localhost`, or a loopback address (`127.0.0.0/8`, `::1`, with or without brackets).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
    let config_dir = config_dir(env);
    let mut endpoint = resolve_with(
        env.var("DOCKER_HOST"),
        env.var("DOCKER_CONTEXT"),
        config_dir.as_deref(),
    )?;
    if endpoint.source == EndpointSource::DockerHostVar {
        endpoint.tls = tls_from_vars(env, config_dir);
    }
    Ok(endpoint)
}

/// TLS as the CLI's variables ask for it: `DOCKER_TLS_VERIFY` (any value) verifies the engine
/// against `ca.pem`, `DOCKER_TLS` alone uses TLS without verifying; the certificates are in
/// `DOCKER_CERT_PATH`, else the CLI's configuration directory.
fn tls_from_vars(env: &Environment, config_dir: Option<PathBuf>) -> Option<Tls> {
    let verify = env.var("DOCKER_TLS_VERIFY").is_some();
    if !verify && env.var("DOCKER_TLS").is_none() {
        return None;
    }
    let dir = env
        .var("DOCKER_CERT_PATH")
        .map(PathBuf::from)
        .or(config_dir)?;
    Some(Tls { dir, verify })
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
            tls: None,
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
                tls: None,
            });
        };
        (name.clone(), EndpointSource::ConfigContext(name))
    };
    if context == DEFAULT_CONTEXT {
        return Ok(Endpoint {
            host: DEFAULT_HOST.to_owned(),
            source,
            tls: None,
        });
    }
    let (host, skip_tls_verify) = context_host(config_dir, &context, &source)?;
    let tls = config_dir.and_then(|dir| context_tls(dir, &context, skip_tls_verify));
    Ok(Endpoint { host, source, tls })
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
    #[serde(rename = "SkipTLSVerify", default)]
    skip_tls_verify: bool,
}

/// The TLS of context `name`, as the CLI uses it: the files under
/// `<config dir>/contexts/tls/<sha256 of the name>/docker/` when there are any (verified unless
/// the context skips verification), or TLS without verification when the context says to skip
/// it and has no files.
fn context_tls(config_dir: &Path, name: &str, skip_tls_verify: bool) -> Option<Tls> {
    let dir = context_tls_dir(config_dir, name);
    let has_files = ["ca.pem", "cert.pem", "key.pem"]
        .iter()
        .any(|file| dir.join(file).is_file());
    (has_files || skip_tls_verify).then_some(Tls {
        dir,
        verify: !skip_tls_verify,
    })
}

/// Where the CLI keeps context `name`'s TLS files for its Docker endpoint.
pub fn context_tls_dir(config_dir: &Path, name: &str) -> PathBuf {
    config_dir
        .join("contexts/tls")
        .join(Digest::of(name.as_bytes()).as_str())
        .join("docker")
}

/// The engine address of context `name`, and whether it skips verifying TLS, from
/// `<config dir>/contexts/meta/<sha256 of the name>/meta.json`.
fn context_host(
    config_dir: Option<&Path>,
    name: &str,
    source: &EndpointSource,
) -> Result<(String, bool), Error> {
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
        .and_then(|docker| Some((docker.host?, docker.skip_tls_verify)))
        .filter(|(host, _)| !host.is_empty())
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
    fn tls_comes_from_the_variables_or_the_contexts_files() {
        let home = tempfile::tempdir().unwrap();
        let docker_dir = home.path().join(".docker");
        std::fs::create_dir_all(&docker_dir).unwrap();
        let env = |vars: &[(&str, &str)]| {
            let mut vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            vars.push(("HOME".into(), home.path().display().to_string()));
            Environment::from_vars(vars, home.path().to_owned())
        };
        let host = ("DOCKER_HOST", "tcp://build-box:2376");
        assert_eq!(resolve(&env(&[host])).unwrap().tls, None);
        assert_eq!(
            resolve(&env(&[host, ("DOCKER_TLS_VERIFY", "1")]))
                .unwrap()
                .tls,
            Some(Tls {
                dir: docker_dir.clone(),
                verify: true
            })
        );
        assert_eq!(
            resolve(&env(&[
                host,
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs")
            ]))
            .unwrap()
            .tls,
            Some(Tls {
                dir: "/certs".into(),
                verify: true
            })
        );
        assert_eq!(
            resolve(&env(&[host, ("DOCKER_TLS", "1")]))
                .unwrap()
                .tls
                .map(|tls| tls.verify),
            Some(false)
        );

        // A context with TLS files, one without, one that skips verification.
        write_test_context(&docker_dir, "secure", "tcp://build-box:2376");
        let tls_dir = context_tls_dir(&docker_dir, "secure");
        std::fs::create_dir_all(&tls_dir).unwrap();
        std::fs::write(tls_dir.join("ca.pem"), "").unwrap();
        assert!(tls_dir.ends_with(format!(
            "contexts/tls/{}/docker",
            Digest::of(b"secure").as_str()
        )));
        let secure = resolve(&env(&[("DOCKER_CONTEXT", "secure")])).unwrap();
        assert_eq!(
            secure.tls,
            Some(Tls {
                dir: tls_dir,
                verify: true
            })
        );
        write_test_context(&docker_dir, "plain", "tcp://build-box:2375");
        assert_eq!(
            resolve(&env(&[("DOCKER_CONTEXT", "plain")])).unwrap().tls,
            None
        );
        let skip_dir = docker_dir
            .join("contexts/meta")
            .join(Digest::of(b"skip").as_str());
        std::fs::create_dir_all(&skip_dir).unwrap();
        let meta = serde_json::json!({
            "Name": "skip",
            "Endpoints": { "docker": { "Host": "tcp://build-box:2376", "SkipTLSVerify": true } },
        });
        std::fs::write(skip_dir.join("meta.json"), meta.to_string()).unwrap();
        assert_eq!(
            resolve(&env(&[("DOCKER_CONTEXT", "skip")]))
                .unwrap()
                .tls
                .map(|tls| tls.verify),
            Some(false)
        );
    }

    #[test]
    fn remote_engines_are_told_from_local_ones() {
        let remote = |host: &str| {
            Endpoint {
                host: host.to_owned(),
                source: EndpointSource::DockerHostVar,
                tls: None,
            }
            .is_remote()
        };
        for local in [
            DEFAULT_HOST,
            "tcp://127.0.0.1:2376",
            "tcp://localhost:2375",
            "tcp://[::1]:2376",
            "ssh://me@127.0.0.1:2222",
            "ssh://localhost",
            "npipe:////./pipe/docker_engine",
        ] {
            assert!(!remote(local), "{local}");
        }
        for far in [
            "tcp://10.0.0.5:2376",
            "tcp://build-box:2376",
            "ssh://me@build-box",
            "ssh://192.168.1.20:2222",
        ] {
            assert!(remote(far), "{far}");
        }
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
