//! The app container's AWS wiring, decided once per command: the variables and networks the
//! app gets for the project's mode, and in server mode the endpoint it needs. `up` decides with
//! [`Intent::Apply`] (it may create the endpoint's secrets and fetch session keys); `plan` and
//! `doctor` with [`Intent::Preview`] (they read what exists and change nothing). One answer for
//! all three, so `plan` and `stack.config_drift` say what `up` would do.

use std::time::{Duration, SystemTime};

use super::container_env::{self, Wiring};
use super::endpoint_process::EndpointFiles;
use super::{AwsError, EndpointSecrets, HostAws, HostOptions, app_region};
use crate::env::Environment;
use crate::model::{AppWiring, AwsMode, ImageRef, Stack};

/// Keys injected in env mode are reused while they stay valid at least this long.
const REUSE_MARGIN: Duration = Duration::from_secs(15 * 60);

/// Whether the decision may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// `up`: create the endpoint's secrets, fetch fresh session keys.
    Apply,
    /// `plan`, `doctor`: only what is already known; anything unknown leaves the wiring unset.
    Preview,
}

/// How the app container is wired to AWS for this run.
#[derive(Debug)]
pub struct AppAws {
    pub wiring: AppWiring,
    /// Server mode: the endpoint to make sure of before the app starts.
    pub endpoint: Option<ServedEndpoint>,
    /// Where the credentials come from, for `up`'s summary.
    pub summary: String,
    /// What the app's environment gets wrong (e.g. a variable that overrides the wiring).
    pub warnings: Vec<String>,
}

/// What server mode serves: the endpoint's files and secrets, and the relay's image.
#[derive(Debug)]
pub struct ServedEndpoint {
    pub files: EndpointFiles,
    pub secrets: EndpointSecrets,
    pub relay_image: ImageRef,
}

impl AppAws {
    /// Whether the app gets its credentials from devboot's endpoint (server mode).
    pub fn serves(&self) -> bool {
        self.endpoint.is_some()
    }
}

/// The app's AWS wiring for `stack`; `Ok(None)` without `[aws]`, and under
/// [`Intent::Preview`] also when it cannot be known without acting (no secrets stored yet, env
/// keys that `up` would renew) or the host's AWS setup is broken (doctor's `aws.` checks say
/// why). `running_app_env` is the running app container's environment (`NAME=value`): env mode
/// reuses the keys it holds while they stay valid.
pub async fn decide(
    env: &Environment,
    stack: &Stack,
    running_app_env: Option<&[String]>,
    intent: Intent,
) -> Result<Option<AppAws>, AwsError> {
    let decided = decide_inner(env, stack, running_app_env, intent).await;
    match intent {
        Intent::Apply => decided,
        Intent::Preview => Ok(decided.ok().flatten()),
    }
}

async fn decide_inner(
    env: &Environment,
    stack: &Stack,
    running_app_env: Option<&[String]>,
    intent: Intent,
) -> Result<Option<AppAws>, AwsError> {
    let Some(settings) = stack.aws.as_ref() else {
        return Ok(None);
    };
    let host = HostAws::load(env, &HostOptions::for_project(settings, env))?;
    let region = app_region(&host, settings.mode)?;
    let now = SystemTime::now();
    let wire = |wiring| container_env::app_wiring(settings, &stack.project, &region, wiring, now);
    let (wiring, container_env, endpoint, summary) = match settings.mode {
        AwsMode::Server => {
            let files = EndpointFiles::for_stack(env, stack)?;
            let secrets = match intent {
                Intent::Apply => files.secrets()?,
                Intent::Preview => match files.stored_secrets() {
                    Some(secrets) => secrets,
                    None => return Ok(None),
                },
            };
            let (wiring, container_env) = wire(Wiring::Server {
                relative_uri: &secrets.path,
                token: &secrets.token,
            })?;
            let summary = format!(
                "served by devboot from profile `{}` (refreshed on the host; `devboot aws status` shows who)",
                host.profile
            );
            let endpoint = ServedEndpoint {
                files,
                secrets,
                relay_image: settings.relay_image.clone(),
            };
            (wiring, container_env, Some(endpoint), summary)
        }
        AwsMode::Env => {
            // Still-valid keys for the same region are reused (a changed region needs new ones).
            let reusable = running_app_env
                .and_then(|vars| container_env::reusable_env_credentials(vars, now, REUSE_MARGIN))
                .filter(|vars| vars.get("AWS_REGION") == Some(&region));
            if let Some(vars) = reusable {
                let summary = format!(
                    "short-lived keys of profile `{}` in the app's environment, until {}",
                    host.profile,
                    vars.get(container_env::EXPIRATION_VAR)
                        .map_or("?", String::as_str)
                );
                return Ok(Some(AppAws {
                    wiring: AppWiring {
                        env: vars,
                        networks: Vec::new(),
                    },
                    endpoint: None,
                    summary,
                    warnings: Vec::new(),
                }));
            }
            if intent == Intent::Preview {
                // `up` would fetch new keys: the app's definition changes.
                return Ok(None);
            }
            let credentials = host.session_credentials().await?;
            let (wiring, container_env) = wire(Wiring::Env {
                credentials: &credentials,
            })?;
            let summary = format!(
                "short-lived keys of profile `{}` in the app's environment",
                host.profile
            );
            (wiring, container_env, None, summary)
        }
        AwsMode::Emulator => {
            let (wiring, container_env) = wire(Wiring::Emulator { endpoint: None })?;
            let summary = format!(
                "the emulator at {}",
                settings.emulator_endpoint.as_deref().unwrap_or_default()
            );
            (wiring, container_env, None, summary)
        }
    };
    Ok(Some(AppAws {
        wiring,
        endpoint,
        summary,
        warnings: container_env.warnings,
    }))
}

#[cfg(test)]
mod tests {
    use crate::aws::route::Route;
    use crate::engine::credential_relay::relay_spec;

    /// A relay image pinned by digest (what docs/profiles.md recommends) is run exactly as
    /// written: the engine pulls and starts that image, whatever its tag points at later.
    #[test]
    fn a_digest_pinned_relay_image_reaches_the_relay_container_unchanged() {
        let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
        for written in [
            format!("alpine/socat@{digest}"),
            format!("alpine/socat:1.8.0.0@{digest}"),
            format!("127.0.0.1:5000/devboot/socat@{digest}"),
        ] {
            let stack = crate::model::test_stack(&format!(
                "extends = \"rails\"\n[aws]\nrelay_image = \"{written}\"\n"
            ));
            let image = &stack.aws.as_ref().unwrap().relay_image;
            assert_eq!(image.digest.as_deref(), Some(digest.as_str()));
            let spec = relay_spec(&stack.project, image, Route::LinkLocal, 41234);
            assert_eq!(spec.body.image.as_deref(), Some(written.as_str()));
        }
    }
}
