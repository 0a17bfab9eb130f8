//! The AWS environment variables of the app container, for each wiring mode. Pure: settings
//! in, variables (and warnings) out.
//!
//! * **server**: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN`
//!   (the SDK then asks `http://169.254.170.2<path>`, which every Ruby SDK version accepts);
//!   never `AWS_PROFILE` or keys, which would win over the endpoint in every SDK's chain.
//! * **env**: short-lived keys, session token and region; they do not refresh, so the expiry is
//!   returned with a warning. Long-term keys are refused: they would sit in `docker inspect`.
//! * **emulator**: `AWS_ENDPOINT_URL` and the dummy keys `test`/`test`.
//!
//! Every mode sets `AWS_REGION` and `AWS_DEFAULT_REGION` (the container endpoint carries no
//! region) and `AWS_EC2_METADATA_DISABLED=true` (no second-long IMDS probes in the container).

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_credential_types::Credentials;

use super::error::AwsError;
use super::rfc3339;
use crate::model::{Aws, AwsMode};

/// Variables whose values are secrets: show them masked or not at all.
pub const SECRET_VARS: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
];

/// The network the app joins in server mode, where the relay answers at 169.254.170.2.
pub fn credential_network(project: &str) -> String {
    format!("{project}_awscreds")
}

/// What `up` adds to the app container for `aws` with this run's `wiring`: its variables and,
/// in server mode, the credential network. The same for `up` and for `doctor`'s comparison of
/// the running container with its definition.
pub fn app_wiring(
    aws: &Aws,
    project: &str,
    region: &str,
    wiring: Wiring<'_>,
    now: SystemTime,
) -> Result<(crate::model::AppWiring, ContainerEnv), AwsError> {
    let env = container_env(aws, region, wiring, now)?;
    let networks = if matches!(wiring, Wiring::Server { .. }) {
        vec![(credential_network(project), None)]
    } else {
        Vec::new()
    };
    let app = crate::model::AppWiring {
        env: env.vars.clone(),
        networks,
    };
    Ok((app, env))
}

/// The env-mode variable holding the injected credentials' expiry (RFC 3339).
pub const EXPIRATION_VAR: &str = "AWS_CREDENTIAL_EXPIRATION";

/// Env mode: the AWS variables of a running app container (`NAME=value` lines as the engine
/// reports them), when its injected credentials stay valid for at least `margin` after `now`.
/// Reusing them keeps a second `up` from recreating the app.
pub fn reusable_env_credentials(
    container_env: &[String],
    now: SystemTime,
    margin: std::time::Duration,
) -> Option<BTreeMap<String, String>> {
    let vars: BTreeMap<String, String> = container_env
        .iter()
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| name.starts_with("AWS_"))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let expires = super::parse_rfc3339(vars.get(EXPIRATION_VAR)?)?;
    let complete = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ]
    .iter()
    .all(|name| vars.contains_key(*name));
    (complete && expires > now + margin).then_some(vars)
}

/// How this run delivers credentials; must match the settings' [`AwsMode`].
#[derive(Clone, Copy)]
pub enum Wiring<'a> {
    /// The host endpoint: its secret path (`/creds/...`) and token.
    Server {
        relative_uri: &'a str,
        token: &'a str,
    },
    /// Temporary credentials resolved on the host.
    Env { credentials: &'a Credentials },
    /// An emulator; `None` takes the settings' `emulator_endpoint`.
    Emulator { endpoint: Option<&'a str> },
}

impl std::fmt::Debug for Wiring<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Server { .. } => "Wiring::Server",
            Self::Env { .. } => "Wiring::Env",
            Self::Emulator { .. } => "Wiring::Emulator",
        })
    }
}

/// The app container's AWS variables.
#[derive(Clone, PartialEq, Eq)]
pub struct ContainerEnv {
    pub vars: BTreeMap<String, String>,
    /// When the injected credentials stop working (env mode).
    pub expires: Option<SystemTime>,
    /// Things to tell the developer, one sentence each.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for ContainerEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerEnv")
            .field("vars", &self.redacted())
            .field("expires", &self.expires)
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl ContainerEnv {
    /// The variables with secret values replaced (key ids masked), for display.
    pub fn redacted(&self) -> BTreeMap<String, String> {
        self.vars
            .iter()
            .map(|(name, value)| {
                let shown = if SECRET_VARS.contains(&name.as_str()) {
                    "<redacted>".to_owned()
                } else if name == "AWS_ACCESS_KEY_ID" && value != "test" {
                    super::mask_key_id(value)
                } else {
                    value.clone()
                };
                (name.clone(), shown)
            })
            .collect()
    }
}

/// The container variables for `aws` settings, the region resolved on the host, and this
/// run's wiring. `now` dates the env-mode expiry warning.
pub fn container_env(
    aws: &Aws,
    region: &str,
    wiring: Wiring<'_>,
    now: SystemTime,
) -> Result<ContainerEnv, AwsError> {
    let region = region.trim();
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(wiring_error(
            format!("`{region}` is not an AWS region"),
            "set `region` under [aws] in devboot.toml, or export AWS_REGION",
        ));
    }
    let mut vars = BTreeMap::new();
    let mut set = |name: &str, value: &str| {
        vars.insert(name.to_owned(), value.to_owned());
    };
    set("AWS_REGION", region);
    set("AWS_DEFAULT_REGION", region);
    set("AWS_EC2_METADATA_DISABLED", "true");
    let mut expires = None;
    let mut warnings = Vec::new();

    match (aws.mode, wiring) {
        (
            AwsMode::Server,
            Wiring::Server {
                relative_uri,
                token,
            },
        ) => {
            if !relative_uri.starts_with('/') || relative_uri.len() < 2 {
                return Err(wiring_error(
                    format!("the endpoint path `{relative_uri}` must start with `/`"),
                    "generate it with `EndpointSecrets::generate`",
                ));
            }
            // Ruby rejects tokens with CR/LF; any control character would break the header.
            if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(wiring_error(
                    "the endpoint token must be printable ASCII without spaces".to_owned(),
                    "generate it with `EndpointSecrets::generate`",
                ));
            }
            set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", relative_uri);
            set("AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
        }
        (AwsMode::Env, Wiring::Env { credentials }) => {
            let (Some(token), Some(expiry)) = (credentials.session_token(), credentials.expiry())
            else {
                return Err(wiring_error(
                    "env mode injects only temporary credentials, and these are long-term keys"
                        .to_owned(),
                    "pass `HostAws::session_credentials()` (STS GetSessionToken), or use mode = \"server\"",
                ));
            };
            set("AWS_ACCESS_KEY_ID", credentials.access_key_id());
            set("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key());
            set("AWS_SESSION_TOKEN", token);
            // What `aws configure export-credentials` writes; SDKs ignore it, devboot reads it
            // back to reuse credentials that are still good.
            set(EXPIRATION_VAR, &rfc3339(expiry));
            expires = Some(expiry);
            let minutes = expiry
                .duration_since(now)
                .map_or(0, |left| left.as_secs() / 60);
            warnings.push(format!(
                "the app's AWS credentials expire at {} (in {minutes} min) and do not refresh; run `devboot up` again then, or use mode = \"server\"",
                rfc3339(expiry)
            ));
        }
        (AwsMode::Emulator, Wiring::Emulator { endpoint }) => {
            let Some(endpoint) = endpoint
                .or(aws.emulator_endpoint.as_deref())
                .filter(|e| !e.is_empty())
            else {
                return Err(wiring_error(
                    "emulator mode needs the emulator's URL".to_owned(),
                    "set `emulator_endpoint` under [aws] in devboot.toml (e.g. \"http://moto:5000\")",
                ));
            };
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(wiring_error(
                    format!("the emulator endpoint `{endpoint}` is not an http(s) URL"),
                    "write it as a URL the app container can reach, e.g. \"http://moto:5000\"",
                ));
            }
            set("AWS_ENDPOINT_URL", endpoint);
            set("AWS_ACCESS_KEY_ID", "test");
            set("AWS_SECRET_ACCESS_KEY", "test");
        }
        (mode, wiring) => {
            return Err(AwsError::Wiring {
                message: format!(
                    "internal: AWS mode `{}` was wired as {wiring:?}",
                    mode_name(mode)
                ),
                hint: Some("this is a bug in devboot; please report it".to_owned()),
            });
        }
    }
    Ok(ContainerEnv {
        vars,
        expires,
        warnings,
    })
}

fn wiring_error(message: String, hint: &str) -> AwsError {
    AwsError::Wiring {
        message,
        hint: Some(hint.to_owned()),
    }
}

/// The mode as profiles write it.
pub fn mode_name(mode: AwsMode) -> &'static str {
    match mode {
        AwsMode::Server => "server",
        AwsMode::Env => "env",
        AwsMode::Emulator => "emulator",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn aws(mode: AwsMode) -> Aws {
        Aws {
            profile: Some("dev".into()),
            region: None,
            account: None,
            mode,
            emulator_endpoint: Some("http://moto:5000".into()),
            relay_image: crate::model::ImageRef::parse(crate::model::DEFAULT_RELAY_IMAGE).unwrap(),
            relay_route: crate::model::RelayRoute::Auto,
        }
    }

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000)
    }

    fn names(env: &ContainerEnv) -> Vec<&str> {
        env.vars.keys().map(String::as_str).collect()
    }

    #[test]
    fn server_mode_points_at_the_endpoint_and_nothing_else() {
        let env = container_env(
            &aws(AwsMode::Server),
            "eu-west-1",
            Wiring::Server {
                relative_uri: "/creds/abc",
                token: "tok",
            },
            now(),
        )
        .unwrap();
        assert_eq!(
            names(&env),
            [
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_DEFAULT_REGION",
                "AWS_EC2_METADATA_DISABLED",
                "AWS_REGION"
            ]
        );
        assert_eq!(
            env.vars["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"],
            "/creds/abc"
        );
        assert_eq!(env.vars["AWS_REGION"], "eu-west-1");
        assert_eq!(env.vars["AWS_EC2_METADATA_DISABLED"], "true");
        assert!(env.warnings.is_empty());
        let shown = format!("{env:?}");
        assert!(
            !shown.contains("tok\"") && !shown.contains("/creds/abc"),
            "{shown}"
        );
    }

    #[test]
    fn server_mode_rejects_tokens_that_break_headers() {
        let err = container_env(
            &aws(AwsMode::Server),
            "eu-west-1",
            Wiring::Server {
                relative_uri: "/c",
                token: "a\r\nb",
            },
            now(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "InvalidWiring");
    }

    #[test]
    fn env_mode_injects_temporary_keys_and_warns_when_they_expire() {
        let credentials = Credentials::new(
            "ASIATEMPORARYKEY0001",
            "secret",
            Some("session".into()),
            Some(now() + Duration::from_secs(3600)),
            "test",
        );
        let env = container_env(
            &aws(AwsMode::Env),
            "eu-west-1",
            Wiring::Env {
                credentials: &credentials,
            },
            now(),
        )
        .unwrap();
        assert_eq!(env.vars["AWS_SESSION_TOKEN"], "session");
        assert_eq!(env.vars["AWS_ACCESS_KEY_ID"], "ASIATEMPORARYKEY0001");
        assert!(!env.vars.contains_key("AWS_PROFILE"));
        assert_eq!(env.expires, Some(now() + Duration::from_secs(3600)));
        assert_eq!(
            env.warnings,
            [
                "the app's AWS credentials expire at 2026-11-18T12:06:40Z (in 60 min) and do not refresh; run `devboot up` again then, or use mode = \"server\""
            ]
        );
        let redacted = env.redacted();
        assert_eq!(redacted["AWS_ACCESS_KEY_ID"], "****************0001");
        assert_eq!(redacted["AWS_SECRET_ACCESS_KEY"], "<redacted>");
        assert_eq!(redacted["AWS_SESSION_TOKEN"], "<redacted>");
    }

    #[test]
    fn env_mode_refuses_long_term_keys() {
        let credentials = Credentials::new("AKIALONGTERM00000001", "secret", None, None, "test");
        let err = container_env(
            &aws(AwsMode::Env),
            "eu-west-1",
            Wiring::Env {
                credentials: &credentials,
            },
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("long-term"), "{err}");
        assert!(!err.to_string().contains("AKIALONGTERM"));
    }

    #[test]
    fn emulator_mode_uses_dummy_keys_and_the_endpoint() {
        let env = container_env(
            &aws(AwsMode::Emulator),
            "us-east-1",
            Wiring::Emulator { endpoint: None },
            now(),
        )
        .unwrap();
        assert_eq!(env.vars["AWS_ENDPOINT_URL"], "http://moto:5000");
        assert_eq!(env.vars["AWS_ACCESS_KEY_ID"], "test");
        assert_eq!(env.vars["AWS_SECRET_ACCESS_KEY"], "test");
        assert_eq!(env.redacted()["AWS_ACCESS_KEY_ID"], "test");

        let env = container_env(
            &aws(AwsMode::Emulator),
            "us-east-1",
            Wiring::Emulator {
                endpoint: Some("http://localhost:5055"),
            },
            now(),
        )
        .unwrap();
        assert_eq!(env.vars["AWS_ENDPOINT_URL"], "http://localhost:5055");

        let mut no_endpoint = aws(AwsMode::Emulator);
        no_endpoint.emulator_endpoint = None;
        assert!(
            container_env(
                &no_endpoint,
                "us-east-1",
                Wiring::Emulator { endpoint: None },
                now()
            )
            .is_err()
        );
    }

    #[test]
    fn a_wiring_that_does_not_match_the_mode_is_a_bug() {
        let err = container_env(
            &aws(AwsMode::Server),
            "eu-west-1",
            Wiring::Emulator { endpoint: None },
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("internal:"), "{err}");
    }

    #[test]
    fn the_region_must_look_like_one() {
        for region in ["", "eu west 1", "eu-west-1\n"] {
            let result = container_env(
                &aws(AwsMode::Emulator),
                region,
                Wiring::Emulator { endpoint: None },
                now(),
            );
            // Surrounding whitespace is trimmed; inner junk is refused.
            assert_eq!(result.is_ok(), region == "eu-west-1\n", "{region:?}");
        }
    }

    #[test]
    fn env_credentials_are_reused_while_they_stay_valid() {
        let container = |expires: &str| -> Vec<String> {
            vec![
                "PATH=/usr/bin".into(),
                "AWS_ACCESS_KEY_ID=ASIAEXAMPLE".into(),
                "AWS_SECRET_ACCESS_KEY=s".into(),
                "AWS_SESSION_TOKEN=t".into(),
                format!("{EXPIRATION_VAR}={expires}"),
            ]
        };
        let margin = Duration::from_secs(15 * 60);
        let later = rfc3339(now() + Duration::from_secs(3600));
        let reused = reusable_env_credentials(&container(&later), now(), margin).unwrap();
        assert_eq!(reused["AWS_ACCESS_KEY_ID"], "ASIAEXAMPLE");
        assert!(!reused.contains_key("PATH"));
        let soon = rfc3339(now() + Duration::from_secs(60));
        assert_eq!(
            reusable_env_credentials(&container(&soon), now(), margin),
            None
        );
        assert_eq!(
            reusable_env_credentials(&container(&later)[..3], now(), margin),
            None,
            "without the expiry nothing is reused"
        );
    }
}
