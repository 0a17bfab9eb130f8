//! Registry credentials for pulls, found the way the Docker CLI finds them in its
//! `config.json`: the registry's `credHelpers` entry, else the `credsStore`, else the `auths`
//! entry written by `docker login`. Secrets never reach a log line or an error message.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use serde::Deserialize;

use super::endpoint;
use crate::env::Environment;
use crate::error::Error;
use crate::model::ImageRef;

/// The key Docker Hub's credentials are stored under, and the server address helpers expect.
const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

/// Host names that all mean Docker Hub.
const DOCKER_HUB_HOSTS: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// A credential helper's answer when it holds nothing for the registry.
const HELPER_NOT_FOUND: &str = "credentials not found";

/// The credentials to pull `image` with, or `None` to pull anonymously.
pub fn credentials(
    env: &Environment,
    image: &ImageRef,
) -> Result<Option<DockerCredentials>, Error> {
    let Some(config_dir) = endpoint::config_dir(env) else {
        return Ok(None);
    };
    lookup(&config_dir, &Registry::of(image), env.var("PATH"), &env.cwd)
}

/// [`credentials`] for `registry` from the configuration in `config_dir`, finding credential
/// helpers on `search_path` (a `PATH` value).
fn lookup(
    config_dir: &Path,
    registry: &Registry,
    search_path: Option<&str>,
    cwd: &Path,
) -> Result<Option<DockerCredentials>, Error> {
    let config: CredentialConfig = endpoint::read_cli_config(config_dir)?;
    let helper = registry
        .entry_in(&config.cred_helpers)
        .or(config.creds_store.as_ref())
        .filter(|helper| !helper.is_empty());
    if let Some(helper) = helper {
        let binary = format!("docker-credential-{helper}");
        let path = which::which_in(&binary, search_path, cwd).map_err(|_| {
            registry.error(
                format!("the credential helper `{binary}` is not installed"),
                format!(
                    "install `{binary}` (or put it on PATH), or remove `{helper}` from `{}`",
                    config_dir.join("config.json").display()
                ),
            )
        })?;
        return run_helper(&path, registry);
    }
    match registry.entry_in(&config.auths) {
        Some(entry) => entry.credentials(registry),
        None => Ok(None),
    }
}

/// Where the Docker CLI takes a registry's credentials from, found without asking a helper
/// and without reading out a secret (for `devboot doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `credHelpers` names `docker-credential-<helper>` for the registry.
    Helper { helper: String, installed: bool },
    /// `credsStore`: logins are kept by `docker-credential-<helper>`.
    Store { helper: String, installed: bool },
    /// An `auths` entry holding a secret, as `docker login` writes it without a store.
    Auths,
    /// Nothing: pulls are anonymous.
    Anonymous,
}

/// [`CredentialSource`] of registry `host` in the configuration in `config_dir`, finding
/// helpers on `search_path` (a `PATH` value), in the order [`credentials`] uses.
pub fn credential_source(
    config_dir: &Path,
    host: &str,
    search_path: Option<&str>,
    cwd: &Path,
) -> Result<CredentialSource, Error> {
    let config: CredentialConfig = endpoint::read_cli_config(config_dir)?;
    let registry = Registry {
        host: host.to_owned(),
    };
    let installed = |helper: &str| {
        which::which_in(format!("docker-credential-{helper}"), search_path, cwd).is_ok()
    };
    if let Some(helper) = registry
        .entry_in(&config.cred_helpers)
        .filter(|h| !h.is_empty())
    {
        return Ok(CredentialSource::Helper {
            helper: helper.clone(),
            installed: installed(helper),
        });
    }
    if let Some(helper) = config.creds_store.as_ref().filter(|h| !h.is_empty()) {
        return Ok(CredentialSource::Store {
            helper: helper.clone(),
            installed: installed(helper),
        });
    }
    Ok(match registry.entry_in(&config.auths) {
        Some(entry) if entry.credentials(&registry)?.is_some() => CredentialSource::Auths,
        _ => CredentialSource::Anonymous,
    })
}

/// The registry an image comes from, as `config.json` and credential helpers name it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Registry {
    /// `ghcr.io`, `127.0.0.1:5000`; `docker.io` for Docker Hub.
    host: String,
}

impl Registry {
    fn of(image: &ImageRef) -> Self {
        Self {
            host: image.registry.clone().unwrap_or_else(|| "docker.io".into()),
        }
    }

    fn is_docker_hub(&self) -> bool {
        DOCKER_HUB_HOSTS.contains(&self.host.as_str())
    }

    /// What helpers are asked for and the engine is given: the Hub's legacy URL, else the host.
    fn server_address(&self) -> &str {
        if self.is_docker_hub() {
            DOCKER_HUB_SERVER
        } else {
            &self.host
        }
    }

    /// The entry of a `config.json` map for this registry: the one keyed by its server
    /// address, else one whose key names the same host (`https://ghcr.io/v1/` for `ghcr.io`).
    fn entry_in<'m, V>(&self, map: &'m BTreeMap<String, V>) -> Option<&'m V> {
        map.get(self.server_address()).or_else(|| {
            map.iter()
                .find(|(key, _)| self.is_named_by(key))
                .map(|(_, value)| value)
        })
    }

    fn is_named_by(&self, key: &str) -> bool {
        let without_scheme = key.split_once("://").map_or(key, |(_, rest)| rest);
        let host = without_scheme
            .split_once('/')
            .map_or(without_scheme, |(host, _)| host);
        if self.is_docker_hub() {
            DOCKER_HUB_HOSTS
                .iter()
                .any(|hub| host.eq_ignore_ascii_case(hub))
        } else {
            host.eq_ignore_ascii_case(&self.host)
        }
    }

    /// Credentials for this registry; `None` when there is no secret.
    fn credentials(
        &self,
        username: Option<String>,
        password: Option<String>,
        identity_token: Option<String>,
    ) -> Option<DockerCredentials> {
        let nonempty = |value: Option<String>| value.filter(|v| !v.is_empty());
        let password = nonempty(password);
        let identity_token = nonempty(identity_token);
        if password.is_none() && identity_token.is_none() {
            return None;
        }
        Some(DockerCredentials {
            username: nonempty(username),
            password,
            identitytoken: identity_token,
            serveraddress: Some(self.server_address().to_owned()),
            ..DockerCredentials::default()
        })
    }

    fn error(&self, message: String, hint: String) -> Error {
        Error::Engine {
            action: format!("reading registry credentials for `{}`", self.host),
            message,
            hint: Some(hint),
        }
    }
}

/// The parts of `config.json` that hold or point at credentials. No `Debug`: it holds secrets.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialConfig {
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

/// One `auths` entry, as `docker login` writes it without a credential store.
#[derive(Default, Deserialize)]
struct AuthEntry {
    /// Base64 of `username:password`.
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

impl AuthEntry {
    fn credentials(&self, registry: &Registry) -> Result<Option<DockerCredentials>, Error> {
        let (username, password) = match self.auth.as_deref().filter(|a| !a.is_empty()) {
            Some(encoded) => {
                let (username, password) = decode_auth(encoded).ok_or_else(|| {
                    registry.error(
                        "its `auth` entry in the Docker CLI config is not base64 of `user:password`"
                            .into(),
                        format!("log in again: `docker login {}`", registry.host),
                    )
                })?;
                (Some(username), Some(password))
            }
            None => (self.username.clone(), self.password.clone()),
        };
        Ok(registry.credentials(username, password, self.identitytoken.clone()))
    }
}

fn decode_auth(encoded: &str) -> Option<(String, String)> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some((username.to_owned(), password.to_owned()))
}

/// A credential helper's answer to `get`.
#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: Option<String>,
    #[serde(rename = "Secret")]
    secret: Option<String>,
}

/// The username with which a helper marks its secret as an identity token.
const IDENTITY_TOKEN_USERNAME: &str = "<token>";

/// Runs `<helper> get` with the registry's server address on stdin, as the Docker CLI does.
fn run_helper(helper: &Path, registry: &Registry) -> Result<Option<DockerCredentials>, Error> {
    let name = helper.file_name().map_or_else(
        || helper.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let failed = |message: String| {
        registry.error(
            message,
            format!(
                "check that `{name} get` works, or log in again: `docker login {}`",
                registry.host
            ),
        )
    };
    let mut child = Command::new(helper)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run `{}`: {e}", helper.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its exit status below.
        let _ = stdin.write_all(registry.server_address().as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| failed(format!("`{name}` did not finish: {e}")))?;
    if !output.status.success() {
        // Helpers report errors, "not found" among them, on stdout; never a secret.
        let stdout = String::from_utf8_lossy(&output.stdout);
        if stdout.contains(HELPER_NOT_FOUND) {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = [stderr.trim(), stdout.trim()]
            .into_iter()
            .find(|text| !text.is_empty())
            .map_or_else(String::new, |text| format!(": {text}"));
        return Err(failed(format!("`{name}` failed ({}){said}", output.status)));
    }
    // Never quote the output: it holds the secret.
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout).map_err(|_| {
        failed(format!(
            "`{name}` answered something other than credentials"
        ))
    })?;
    Ok(match answer.username {
        Some(username) if username == IDENTITY_TOKEN_USERNAME => {
            registry.credentials(None, None, answer.secret)
        }
        username => registry.credentials(username, answer.secret, None),
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::PathBuf;

    use base64::Engine as _;

    use super::*;

    const SECRET: &str = "s3cr3t-never-shown";

    fn registry(host: &str) -> Registry {
        Registry { host: host.into() }
    }

    fn write_config(dir: &Path, config: &serde_json::Value) {
        std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    }

    /// A fake `docker-credential-NAME` that runs `body` (a shell script) for `get`.
    fn fake_helper(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn find(config_dir: &Path, host: &str, bin: &Path) -> Result<Option<DockerCredentials>, Error> {
        let search_path = bin.to_str().unwrap();
        lookup(config_dir, &registry(host), Some(search_path), config_dir)
    }

    fn assert_secret_free(error: &Error) {
        let text = format!("{error} {:?}", error.hint());
        assert!(!text.contains(SECRET), "the secret leaked: {text}");
    }

    #[test]
    fn registries_are_named_as_docker_names_them() {
        let hub = Registry::of(&ImageRef::parse("postgres:16").unwrap());
        assert_eq!(hub.server_address(), DOCKER_HUB_SERVER);
        for key in [
            DOCKER_HUB_SERVER,
            "docker.io",
            "index.docker.io",
            "https://registry-1.docker.io",
        ] {
            assert!(hub.is_named_by(key), "{key}");
        }
        assert!(!hub.is_named_by("ghcr.io"));

        let ghcr = Registry::of(&ImageRef::parse("ghcr.io/org/app:1").unwrap());
        assert_eq!(ghcr.server_address(), "ghcr.io");
        assert!(ghcr.is_named_by("https://ghcr.io/v1/"));
        assert!(!ghcr.is_named_by("ghcr.io.evil.example"));
        assert!(Registry::of(&ImageRef::parse("docker.io/library/redis").unwrap()).is_docker_hub());
    }

    #[test]
    fn auths_entries_decode_user_and_password() {
        let dir = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("me:{SECRET}"));
        write_config(
            dir.path(),
            &serde_json::json!({
                "auths": {
                    DOCKER_HUB_SERVER: { "auth": auth },
                    "https://ghcr.io": { "username": "bot", "password": SECRET },
                    "registry.example": { "identitytoken": SECRET },
                    "empty.example": {},
                }
            }),
        );
        let hub = find(dir.path(), "docker.io", dir.path()).unwrap().unwrap();
        assert_eq!(hub.username.as_deref(), Some("me"));
        assert_eq!(hub.password.as_deref(), Some(SECRET));
        assert_eq!(hub.serveraddress.as_deref(), Some(DOCKER_HUB_SERVER));

        let ghcr = find(dir.path(), "ghcr.io", dir.path()).unwrap().unwrap();
        assert_eq!(
            (ghcr.username.as_deref(), ghcr.serveraddress.as_deref()),
            (Some("bot"), Some("ghcr.io"))
        );

        let token = find(dir.path(), "registry.example", dir.path())
            .unwrap()
            .unwrap();
        assert_eq!(token.identitytoken.as_deref(), Some(SECRET));
        assert_eq!(token.password, None);

        assert_eq!(find(dir.path(), "empty.example", dir.path()).unwrap(), None);
        assert_eq!(find(dir.path(), "quay.io", dir.path()).unwrap(), None);
    }

    #[test]
    fn no_config_means_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find(dir.path(), "docker.io", dir.path()).unwrap(), None);
        let env = Environment::default();
        let image = ImageRef::parse("redis:7").unwrap();
        assert_eq!(credentials(&env, &image).unwrap(), None);
    }

    #[test]
    fn a_broken_auth_entry_is_reported_without_it() {
        let dir = tempfile::tempdir().unwrap();
        write_config(
            dir.path(),
            &serde_json::json!({ "auths": { "ghcr.io": { "auth": format!("{SECRET}!!") } } }),
        );
        let error = find(dir.path(), "ghcr.io", dir.path()).unwrap_err();
        assert!(error.to_string().contains("not base64"), "{error}");
        assert!(error.hint().unwrap().contains("docker login ghcr.io"));
        assert_secret_free(&error);
    }

    #[test]
    fn cred_helpers_win_over_the_store_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        // The helper proves it was asked for the right server by echoing it as the username.
        fake_helper(
            bin.path(),
            "gcloud",
            &format!(
                r#"read server; printf '{{"ServerURL":"%s","Username":"%s","Secret":"{SECRET}"}}' "$server" "$server""#
            ),
        );
        fake_helper(
            bin.path(),
            "desktop",
            "echo 'credentials not found in native keychain'; exit 1",
        );
        write_config(
            dir.path(),
            &serde_json::json!({
                "credsStore": "desktop",
                "credHelpers": { "gcr.io": "gcloud", DOCKER_HUB_SERVER: "gcloud" },
                "auths": { "gcr.io": { "username": "file", "password": "file" } },
            }),
        );
        let gcr = find(dir.path(), "gcr.io", bin.path()).unwrap().unwrap();
        assert_eq!(gcr.username.as_deref(), Some("gcr.io"));
        assert_eq!(gcr.password.as_deref(), Some(SECRET));
        let hub = find(dir.path(), "docker.io", bin.path()).unwrap().unwrap();
        assert_eq!(hub.username.as_deref(), Some(DOCKER_HUB_SERVER));

        // Not in credHelpers: the store is asked, and it holds nothing.
        assert_eq!(find(dir.path(), "quay.io", bin.path()).unwrap(), None);
    }

    #[test]
    fn identity_tokens_come_back_as_such() {
        let bin = tempfile::tempdir().unwrap();
        let helper = fake_helper(
            bin.path(),
            "token",
            &format!(r#"echo '{{"Username":"<token>","Secret":"{SECRET}"}}'"#),
        );
        let credentials = run_helper(&helper, &registry("ghcr.io")).unwrap().unwrap();
        assert_eq!(credentials.username, None);
        assert_eq!(credentials.password, None);
        assert_eq!(credentials.identitytoken.as_deref(), Some(SECRET));
        assert_eq!(credentials.serveraddress.as_deref(), Some("ghcr.io"));
    }

    #[test]
    fn a_missing_helper_is_named_in_the_hint() {
        let dir = tempfile::tempdir().unwrap();
        let empty_bin = tempfile::tempdir().unwrap();
        write_config(dir.path(), &serde_json::json!({ "credsStore": "pass" }));
        let error = find(dir.path(), "ghcr.io", empty_bin.path()).unwrap_err();
        assert!(matches!(error, Error::Engine { .. }));
        assert!(
            error
                .to_string()
                .contains("`docker-credential-pass` is not installed"),
            "{error}"
        );
        assert!(error.hint().unwrap().contains("docker-credential-pass"));
    }

    #[test]
    fn a_failing_helper_is_reported_with_its_stderr_only() {
        let bin = tempfile::tempdir().unwrap();
        let helper = fake_helper(
            bin.path(),
            "broken",
            "echo 'gpg: decryption failed' >&2; exit 2",
        );
        let error = run_helper(&helper, &registry("ghcr.io")).unwrap_err();
        assert!(
            error.to_string().contains("gpg: decryption failed"),
            "{error}"
        );
        assert!(
            error.to_string().contains("docker-credential-broken"),
            "{error}"
        );

        // Output that is not the expected answer is never quoted: it may be the secret.
        let helper = fake_helper(bin.path(), "garbled", &format!("echo 'Secret={SECRET}'"));
        let error = run_helper(&helper, &registry("ghcr.io")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("something other than credentials"),
            "{error}"
        );
        assert_secret_free(&error);
    }
}
