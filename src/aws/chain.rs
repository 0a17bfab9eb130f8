//! The host's credential chain, [`HostCredentials`]: the SDK default chain's links
//! (environment keys → shared profile → web identity → container endpoint → instance metadata),
//! each fed from our [`Environment`] snapshot rather than the process environment, and with
//! devboot's fixes for two `aws-config` sharp edges:
//!
//! * the profile provider caches its first build error forever ("initialization error already
//!   taken"), so after any error, or when `~/.aws/config` or `credentials` change, the profile
//!   link is rebuilt from freshly read files;
//! * failures become a typed [`AwsError`] naming the fix, not a provider-chain dump.
//!
//! When a profile is asked for explicitly (`[aws] profile`), environment keys are skipped, as
//! `aws --profile X` does (botocore: "an explicitly provided profile will negate an
//! `EnvProvider`"); with `AWS_PROFILE` or the default profile, keys in the environment win, as in
//! every SDK.
//!
//! Links whose settings `aws-config` can only read from the process environment (the container
//! endpoint's URL and token, IMDS's endpoint) are included only when our snapshot has those
//! variables; in the CLI the snapshot *is* the process environment, so both views agree.

use std::error::Error as _;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use aws_config::ecs::EcsCredentialsProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::{StaticConfiguration, WebIdentityTokenCredentialsProvider};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials};
use aws_sdk_sts::error::{ProvideErrorMetadata as _, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_types::region::Region;

use super::config::{AwsFiles, BaseSource, FilesStamp, ProfileChain, Profiles};
use super::error::{Attempt, AwsError};
use super::mask_key_id;
use super::sso::{SsoState, sso_state};
use crate::env::Environment;

/// Which link of the chain produced the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainLink {
    Environment,
    Profile,
    WebIdentity,
    Container,
    InstanceMetadata,
}

impl ChainLink {
    pub fn name(self) -> &'static str {
        match self {
            Self::Environment => "Environment",
            Self::Profile => "Profile",
            Self::WebIdentity => "WebIdentityToken",
            Self::Container => "EcsContainer",
            Self::InstanceMetadata => "Ec2InstanceMetadata",
        }
    }
}

/// Credentials and the link they came from. `Debug` masks the key id.
#[derive(Clone)]
pub struct Resolved {
    pub credentials: Credentials,
    pub link: ChainLink,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field(
                "access_key_id",
                &mask_key_id(self.credentials.access_key_id()),
            )
            .field("expiry", &self.credentials.expiry())
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

/// What the chain is built from; see [`HostCredentials::new`].
#[derive(Debug, Clone)]
pub struct ChainSettings {
    pub profile: String,
    /// The profile was named explicitly: skip environment keys.
    pub profile_requested: bool,
    /// Whether the shared files define `profile` (otherwise the profile link is left out).
    pub profile_defined: bool,
    pub chain: Option<ProfileChain>,
    pub files: AwsFiles,
    pub region: Option<String>,
}

/// The host's credential chain. Cheap to clone; implements [`ProvideCredentials`] (errors
/// carry an [`AwsError`] as their source).
#[derive(Clone)]
pub struct HostCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ChainSettings,
    env_keys: EnvKeys,
    profile: Option<ProfileLink>,
    web_identity: Option<WebIdentityTokenCredentialsProvider>,
    container: Option<EcsCredentialsProvider>,
    imds: Option<ImdsCredentialsProvider>,
    skipped: Vec<Attempt>,
}

impl fmt::Debug for HostCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("HostCredentials")
            .field("profile", &inner.settings.profile)
            .field("env_keys", &inner.env_keys)
            .field("profile_link", &inner.profile.is_some())
            .field("web_identity", &inner.web_identity.is_some())
            .field("container", &inner.container.is_some())
            .field("imds", &inner.imds.is_some())
            .finish_non_exhaustive()
    }
}

/// `AWS_ACCESS_KEY_ID` and friends from the snapshot.
#[derive(Clone)]
enum EnvKeys {
    Absent,
    Present(Credentials),
    /// A key id without its secret.
    Broken(String),
}

impl fmt::Debug for EnvKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absent => f.write_str("Absent"),
            Self::Present(c) => write!(f, "Present({})", mask_key_id(c.access_key_id())),
            Self::Broken(why) => write!(f, "Broken({why})"),
        }
    }
}

impl EnvKeys {
    fn from_env(env: &Environment) -> Self {
        let key = env.var("AWS_ACCESS_KEY_ID").map(str::trim);
        let secret = env
            .var("AWS_SECRET_ACCESS_KEY")
            .or_else(|| env.var("SECRET_ACCESS_KEY"))
            .map(str::trim);
        match (key, secret) {
            (Some(key), Some(secret)) if !key.is_empty() && !secret.is_empty() => {
                let mut builder = Credentials::builder()
                    .access_key_id(key)
                    .secret_access_key(secret)
                    .provider_name("Environment");
                builder.set_session_token(env.var("AWS_SESSION_TOKEN").map(str::to_owned));
                builder.set_account_id(env.var("AWS_ACCOUNT_ID").map(Into::into));
                Self::Present(builder.build())
            }
            (Some(_), _) => {
                Self::Broken("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".to_owned())
            }
            (None, _) => Self::Absent,
        }
    }

    fn provide(&self) -> Result<Credentials, CredentialsError> {
        match self {
            Self::Present(c) => Ok(c.clone()),
            Self::Absent => Err(CredentialsError::not_loaded("AWS_ACCESS_KEY_ID is not set")),
            Self::Broken(why) => Err(CredentialsError::invalid_configuration(why.clone())),
        }
    }
}

/// The snapshot's environment keys as a named source for `credential_source = Environment`.
#[derive(Debug, Clone)]
struct EnvSource(EnvKeys);

impl ProvideCredentials for EnvSource {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::ready(self.0.provide())
    }
}

/// The shared-profile link, rebuilt after errors and file edits.
struct ProfileLink {
    provider_config: ProviderConfig,
    env_source: EnvSource,
    state: Mutex<Option<ProfileState>>,
}

struct ProfileState {
    provider: Arc<ProfileFileCredentialsProvider>,
    stamp: FilesStamp,
    failed: bool,
}

impl ProfileLink {
    fn current(
        &self,
        settings: &ChainSettings,
    ) -> Result<Arc<ProfileFileCredentialsProvider>, AwsError> {
        let stamp = settings.files.stamp();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.as_ref() {
            Some(s) if !s.failed && s.stamp == stamp => Ok(s.provider.clone()),
            _ => {
                let texts = settings.files.read()?;
                let provider = Arc::new(
                    ProfileFileCredentialsProvider::builder()
                        .configure(&self.provider_config)
                        .profile_files(texts.env_config_files())
                        .profile_name(&settings.profile)
                        .with_custom_provider("Environment", self.env_source.clone())
                        .build(),
                );
                *state = Some(ProfileState {
                    provider: provider.clone(),
                    stamp,
                    failed: false,
                });
                Ok(provider)
            }
        }
    }

    fn mark_failed(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = state.as_mut() {
            state.failed = true;
        }
    }
}

impl HostCredentials {
    /// Builds the chain from the snapshot. Nothing is resolved yet.
    pub fn new(env: &Environment, settings: ChainSettings) -> Self {
        let provider_config =
            ProviderConfig::without_region().with_region(settings.region.clone().map(Region::new));
        let env_keys = EnvKeys::from_env(env);
        let mut skipped = Vec::new();

        let profile = if settings.profile_defined {
            Some(ProfileLink {
                provider_config: provider_config.clone(),
                env_source: EnvSource(env_keys.clone()),
                state: Mutex::new(None),
            })
        } else {
            skipped.push(Attempt {
                provider: ChainLink::Profile.name(),
                reason: format!("profile `{}` is not defined", settings.profile),
            });
            None
        };

        let web_identity = if let (Some(file), Some(role_arn)) = (
            env.var("AWS_WEB_IDENTITY_TOKEN_FILE"),
            env.var("AWS_ROLE_ARN"),
        ) {
            Some(
                WebIdentityTokenCredentialsProvider::builder()
                    .configure(&provider_config)
                    .static_configuration(StaticConfiguration {
                        web_identity_token_file: file.into(),
                        role_arn: role_arn.to_owned(),
                        session_name: env
                            .var("AWS_ROLE_SESSION_NAME")
                            .unwrap_or("devboot")
                            .to_owned(),
                    })
                    .build(),
            )
        } else {
            skipped.push(Attempt {
                provider: ChainLink::WebIdentity.name(),
                reason: "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set".to_owned(),
            });
            None
        };

        let container = if env.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
            || env.var("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
        {
            Some(
                EcsCredentialsProvider::builder()
                    .configure(&provider_config)
                    .build(),
            )
        } else {
            skipped.push(Attempt {
                provider: ChainLink::Container.name(),
                reason: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI are not set".to_owned(),
            });
            None
        };

        let imds = if env
            .var("AWS_EC2_METADATA_DISABLED")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            skipped.push(Attempt {
                provider: ChainLink::InstanceMetadata.name(),
                reason: "disabled by AWS_EC2_METADATA_DISABLED".to_owned(),
            });
            None
        } else {
            Some(
                ImdsCredentialsProvider::builder()
                    .configure(&provider_config)
                    .build(),
            )
        };

        Self {
            inner: Arc::new(Inner {
                settings,
                env_keys,
                profile,
                web_identity,
                container,
                imds,
                skipped,
            }),
        }
    }

    pub fn settings(&self) -> &ChainSettings {
        &self.inner.settings
    }

    /// The same chain without its EC2 instance-metadata link (unchanged if this chain is
    /// already shared with a clone).
    #[must_use]
    pub fn without_instance_metadata(self) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                if inner.imds.take().is_some() {
                    inner.skipped.push(Attempt {
                        provider: ChainLink::InstanceMetadata.name(),
                        reason: "not asked here (no EC2 instance metadata on a workstation)"
                            .to_owned(),
                    });
                }
                Self {
                    inner: Arc::new(inner),
                }
            }
            Err(inner) => Self { inner },
        }
    }

    /// Whether environment keys are set and would be used (not skipped for an explicit profile).
    pub fn uses_env_keys(&self) -> bool {
        matches!(
            self.inner.env_keys,
            EnvKeys::Present(_) | EnvKeys::Broken(_)
        ) && !self.inner.settings.profile_requested
    }

    /// Runs the chain: the first link with credentials wins; a link that fails for any reason
    /// other than "nothing configured here" stops it.
    pub async fn resolve(&self) -> Result<Resolved, AwsError> {
        let inner = &self.inner;
        let settings = &inner.settings;
        let mut attempts = Vec::new();

        if settings.profile_requested {
            attempts.push(Attempt {
                provider: ChainLink::Environment.name(),
                reason: format!(
                    "skipped: profile `{}` was asked for explicitly",
                    settings.profile
                ),
            });
        } else {
            match inner.env_keys.provide() {
                Ok(credentials) => {
                    return Ok(Resolved {
                        credentials,
                        link: ChainLink::Environment,
                    });
                }
                Err(CredentialsError::CredentialsNotLoaded(_)) => attempts.push(Attempt {
                    provider: ChainLink::Environment.name(),
                    reason: "AWS_ACCESS_KEY_ID is not set".to_owned(),
                }),
                Err(e) => return Err(self.classify(ChainLink::Environment, &e)),
            }
        }

        if let Some(link) = &inner.profile {
            let provider = link.current(settings)?;
            match provider.provide_credentials().await {
                Ok(credentials) => {
                    return Ok(Resolved {
                        credentials,
                        link: ChainLink::Profile,
                    });
                }
                Err(e) => {
                    link.mark_failed();
                    if let CredentialsError::CredentialsNotLoaded(_) = e {
                        attempts.push(Attempt {
                            provider: ChainLink::Profile.name(),
                            reason: reason_of(&e),
                        });
                    } else {
                        return Err(self.classify(ChainLink::Profile, &e));
                    }
                }
            }
        }

        let others: [(ChainLink, Option<&dyn ProvideCredentials>); 3] = [
            (
                ChainLink::WebIdentity,
                inner
                    .web_identity
                    .as_ref()
                    .map(|p| p as &dyn ProvideCredentials),
            ),
            (
                ChainLink::Container,
                inner
                    .container
                    .as_ref()
                    .map(|p| p as &dyn ProvideCredentials),
            ),
            (
                ChainLink::InstanceMetadata,
                inner.imds.as_ref().map(|p| p as &dyn ProvideCredentials),
            ),
        ];
        for (link, provider) in others {
            let Some(provider) = provider else { continue };
            match provider.provide_credentials().await {
                Ok(credentials) => return Ok(Resolved { credentials, link }),
                Err(e @ CredentialsError::CredentialsNotLoaded(_)) => attempts.push(Attempt {
                    provider: link.name(),
                    reason: reason_of(&e),
                }),
                Err(e) => return Err(self.classify(link, &e)),
            }
        }

        attempts.extend(inner.skipped.iter().cloned());
        Err(AwsError::NoCredentials {
            profile: settings.profile.clone(),
            attempts,
        })
    }

    /// Turns a provider failure into the error that names its fix.
    fn classify(&self, link: ChainLink, error: &CredentialsError) -> AwsError {
        let settings = &self.inner.settings;
        let text = reason_of(error);

        if link == ChainLink::Profile
            && let Some(chain) = &settings.chain
            && let Some(e) = profile_specific(settings, chain, error, &text)
        {
            return e;
        }
        match error {
            CredentialsError::InvalidConfiguration(_) => AwsError::InvalidConfig { message: text },
            CredentialsError::ProviderTimedOut(_) => AwsError::Provider {
                message: format!("{} timed out", link.name()),
            },
            _ if is_connection_error(&text) => AwsError::Unreachable {
                endpoint: link.name().to_owned(),
                message: text,
            },
            _ => AwsError::Provider { message: text },
        }
    }
}

/// Errors that the profile chain explains better than the raw provider message.
fn profile_specific(
    settings: &ChainSettings,
    chain: &ProfileChain,
    error: &CredentialsError,
    text: &str,
) -> Option<AwsError> {
    // An STS error while assuming a role in the chain.
    if let Some((code, message)) = assume_role_error(error) {
        return Some(match code.as_str() {
            "AccessDenied" => AwsError::AccessDenied {
                message,
                mfa_serial: chain.mfa_serial().map(str::to_owned),
            },
            "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => AwsError::ExpiredToken {
                source_label: format!("profile `{}`", chain.base_profile),
                stale_env_token: false,
            },
            "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" => {
                AwsError::InvalidKey {
                    key_masked: base_key_masked(settings, chain),
                    code,
                    stale_env_token: false,
                }
            }
            _ => AwsError::Sts {
                operation: "AssumeRole",
                code,
                message,
            },
        });
    }
    match &chain.base {
        BaseSource::Sso { .. } if text.to_lowercase().contains("token") => {
            // Ask the cache what is wrong; it knows the exact login command.
            let cache_dir = settings.files.sso_cache_dir()?;
            let texts = settings.files.read().ok()?;
            let profiles = Profiles::parse(&texts, &[]).ok()?;
            match sso_state(&profiles, &chain.profile, &cache_dir, SystemTime::now()) {
                state @ (SsoState::Expired { .. }
                | SsoState::Missing { .. }
                | SsoState::Misconfigured { .. }) => state.into_error(&chain.profile),
                _ => text.contains("expired").then(|| AwsError::SsoLogin {
                    profile: chain.base_profile.clone(),
                    expired: true,
                    login_command: format!("aws sso login --profile {}", chain.base_profile),
                }),
            }
        }
        BaseSource::Process { program } if text.contains("external process") => {
            let not_found = text.contains("exit status: 127");
            let message = text
                .split_once("Stderr:")
                .map_or(text, |(_, stderr)| stderr)
                .trim();
            Some(AwsError::CredentialProcess {
                profile: chain.base_profile.clone(),
                program: program.clone(),
                not_found,
                message: message.chars().take(300).collect(),
            })
        }
        BaseSource::LoginSession => Some(AwsError::InvalidConfig {
            message: format!(
                "profile `{}` uses `login_session` (`aws login`), which this devboot build does not support",
                chain.base_profile
            ),
        }),
        _ => None,
    }
}

/// The masked key id of the chain's static base keys, if it has any.
fn base_key_masked(settings: &ChainSettings, chain: &ProfileChain) -> String {
    let texts = settings.files.read().ok();
    texts
        .and_then(|t| Profiles::parse(&t, &[]).ok())
        .and_then(|p| {
            p.get(&chain.base_profile, "aws_access_key_id")
                .map(mask_key_id)
        })
        .unwrap_or_else(|| "(unknown)".to_owned())
}

/// The code and message of an STS `AssumeRole` error somewhere in `error`'s sources.
fn assume_role_error(error: &CredentialsError) -> Option<(String, String)> {
    let mut source = error.source();
    while let Some(e) = source {
        if let Some(sdk) = e.downcast_ref::<SdkError<AssumeRoleError>>() {
            let code = sdk.code()?.to_owned();
            let message = sdk.message().unwrap_or_default().to_owned();
            return Some((code, message));
        }
        source = e.source();
    }
    None
}

/// The provider's whole error chain on one line.
fn reason_of(error: &CredentialsError) -> String {
    let full = error_chain(error);
    let text = full.as_str();
    let text = text
        .strip_prefix("the credential provider was not enabled: ")
        .or_else(|| text.strip_prefix("an error occurred while loading credentials: "))
        .or_else(|| text.strip_prefix("unexpected credentials error: "))
        .unwrap_or(text);
    text.to_owned()
}

/// An error and its sources, `outer: inner: innermost`, without repeats. (Unlike
/// `DisplayErrorContext`, no `Debug` dump is appended.)
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// Network failures (refused, unresolved, timed out) in an error text.
pub(crate) fn is_connection_error(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "connection refused",
        "dns error",
        "failed to lookup",
        "timed out",
        "timeout",
        "connection reset",
        "io error",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

impl ProvideCredentials for HostCredentials {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.resolve()
                .await
                .map(|r| r.credentials)
                .map_err(|e| match e {
                    e @ AwsError::NoCredentials { .. } => CredentialsError::not_loaded(e),
                    e => CredentialsError::provider_error(e),
                })
        })
    }
}

/// The [`AwsError`] inside a credentials error from [`HostCredentials`], if it came from there.
pub fn aws_error_of(error: &CredentialsError) -> Option<&AwsError> {
    error.source()?.downcast_ref::<AwsError>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::testing::TempHome;

    fn settings(
        home: &TempHome,
        env: &Environment,
        profile: &str,
        requested: bool,
    ) -> ChainSettings {
        let _ = home;
        let files = AwsFiles::from_env(env);
        let profiles = Profiles::parse(&files.read().unwrap(), &[]).unwrap();
        ChainSettings {
            profile: profile.to_owned(),
            profile_requested: requested,
            profile_defined: profiles.contains(profile),
            chain: profiles.chain(profile).ok(),
            files,
            region: Some("eu-west-1".into()),
        }
    }

    fn chain(
        home: &TempHome,
        vars: &[(&str, &str)],
        profile: &str,
        requested: bool,
    ) -> HostCredentials {
        let env = home.env(vars.iter().copied());
        HostCredentials::new(&env, settings(home, &env, profile, requested))
    }

    #[tokio::test]
    async fn static_profile_keys_resolve_without_touching_the_process_env() {
        let home = TempHome::new();
        home.write(
            ".aws/credentials",
            "[default]\naws_access_key_id = AKIAPROFILEKEY000001\naws_secret_access_key = profile-secret\n",
        );
        let resolved = chain(&home, &[], "default", false).resolve().await.unwrap();
        assert_eq!(resolved.link, ChainLink::Profile);
        assert_eq!(resolved.credentials.access_key_id(), "AKIAPROFILEKEY000001");
        assert!(!format!("{resolved:?}").contains("AKIAPROFILEKEY000001"));
    }

    #[tokio::test]
    async fn env_keys_win_unless_a_profile_is_asked_for() {
        let home = TempHome::new();
        home.write(
            ".aws/credentials",
            "[dev]\naws_access_key_id = AKIAPROFILEKEY000001\naws_secret_access_key = s\n",
        );
        let vars = [
            ("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT1"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_PROFILE", "dev"),
        ];
        let from_env = chain(&home, &vars, "dev", false).resolve().await.unwrap();
        assert_eq!(from_env.link, ChainLink::Environment);
        assert_eq!(from_env.credentials.access_key_id(), "AKIAFROMENVIRONMENT1");

        let requested = chain(&home, &vars, "dev", true).resolve().await.unwrap();
        assert_eq!(requested.link, ChainLink::Profile);
    }

    #[tokio::test]
    async fn credential_source_environment_uses_the_snapshot() {
        let home = TempHome::new();
        home.write(
            ".aws/config",
            "[profile env-role]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Environment\nendpoint_url = http://127.0.0.1:9\n",
        );
        // The role hop needs STS (nothing listens on port 9); it is enough here that the base
        // came from our snapshot and the failure is about reaching STS, not missing keys.
        let vars = [
            ("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT1"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ];
        let err = chain(&home, &vars, "env-role", true)
            .resolve()
            .await
            .unwrap_err();
        assert!(matches!(err, AwsError::Unreachable { .. }), "{err}");
    }

    #[tokio::test]
    async fn nothing_configured_lists_every_link() {
        let home = TempHome::new();
        let err = chain(&home, &[], "default", false)
            .resolve()
            .await
            .unwrap_err();
        let AwsError::NoCredentials { attempts, .. } = &err else {
            panic!("{err}");
        };
        let names: Vec<&str> = attempts.iter().map(|a| a.provider).collect();
        assert_eq!(
            names,
            [
                "Environment",
                "Profile",
                "WebIdentityToken",
                "EcsContainer",
                "Ec2InstanceMetadata"
            ]
        );
    }

    #[tokio::test]
    async fn a_key_without_its_secret_is_a_configuration_error() {
        let home = TempHome::new();
        let err = chain(&home, &[("AWS_ACCESS_KEY_ID", "AKIA1")], "default", false)
            .resolve()
            .await
            .unwrap_err();
        assert!(matches!(err, AwsError::InvalidConfig { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_missing_credential_process_names_the_program_not_its_arguments() {
        let home = TempHome::new();
        home.write(
            ".aws/config",
            "[profile ci]\ncredential_process = /nonexistent/bin/get-creds --token hunter2\n",
        );
        let err = chain(&home, &[], "ci", true).resolve().await.unwrap_err();
        let AwsError::CredentialProcess {
            program, not_found, ..
        } = &err
        else {
            panic!("{err}");
        };
        assert_eq!(program, "/nonexistent/bin/get-creds");
        assert!(not_found);
        assert!(!err.to_string().contains("hunter2"));
    }

    #[tokio::test]
    async fn a_failing_credential_process_shows_its_stderr() {
        let home = TempHome::new();
        home.write(
            ".aws/config",
            "[profile ci]\ncredential_process = sh -c 'echo boom: not logged in >&2; exit 1'\n",
        );
        let err = chain(&home, &[], "ci", true).resolve().await.unwrap_err();
        let AwsError::CredentialProcess {
            not_found, message, ..
        } = &err
        else {
            panic!("{err}");
        };
        assert!(!not_found);
        assert!(message.contains("boom: not logged in"), "{message}");
    }

    #[tokio::test]
    async fn edits_to_the_files_are_picked_up_and_errors_do_not_stick() {
        let home = TempHome::new();
        home.write(
            ".aws/config",
            "[profile dev]\ncredential_process = /nonexistent/x\n",
        );
        let creds = chain(&home, &[], "dev", true);
        assert!(creds.resolve().await.is_err());
        // Same error again, not "initialization error already taken".
        assert!(matches!(
            creds.resolve().await,
            Err(AwsError::CredentialProcess { .. })
        ));
        home.write(
            ".aws/config",
            "[profile dev]\naws_access_key_id = AKIAFIXEDKEY00000001\naws_secret_access_key = s\n",
        );
        let resolved = creds.resolve().await.unwrap();
        assert_eq!(resolved.credentials.access_key_id(), "AKIAFIXEDKEY00000001");
    }

    #[tokio::test]
    async fn errors_travel_through_provide_credentials() {
        let home = TempHome::new();
        let creds = chain(&home, &[], "default", false);
        let err = creds.provide_credentials().await.unwrap_err();
        assert!(matches!(err, CredentialsError::CredentialsNotLoaded(_)));
        assert_eq!(
            aws_error_of(&err).map(AwsError::code),
            Some("NoCredentials")
        );
    }
}
