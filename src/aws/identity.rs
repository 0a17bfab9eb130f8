//! Who the developer is on AWS, resolved on the host: [`HostAws::load`] reads the setup
//! (profile, region, endpoint, credential chain) from an [`Environment`]; [`HostAws::identity`]
//! resolves credentials and asks STS `GetCallerIdentity`; [`HostAws::container_provider`] is
//! what the credential endpoint serves (always temporary credentials).
//!
//! Failures come back as [`AwsError`]s that name the fix: an unknown profile with close
//! matches, a dead SSO login with its `aws sso login` command (found in the token cache
//! *before* any call), expired or unknown keys, a missing region, an unreachable endpoint, a
//! skewed clock.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_sts::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{BehaviorVersion, ConfigBag, Intercept, Region, RuntimeComponents};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use super::chain::{
    ChainLink, ChainSettings, HostCredentials, Resolved, error_chain, is_connection_error,
};
use super::config::{
    AwsFiles, BaseSource, ChainProblem, ProfileChain, ProfileOrigin, Profiles, RegionOrigin,
    resolve_region, resolve_sts_endpoint, select_profile,
};
use super::error::AwsError;
use super::mask_key_id;
use super::sso::{SsoState, sso_state};
use crate::env::Environment;
use crate::model::Aws;

/// What devboot's settings ask for; everything unset falls back to the standard variables
/// and files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// STS endpoint override (an emulator such as moto), for `GetCallerIdentity` and
    /// `GetSessionToken`.
    pub endpoint_url: Option<String>,
}

impl HostOptions {
    /// The project's `[aws]` settings; `DEVBOOT_AWS_STS_ENDPOINT` sends STS calls to an
    /// emulator (as `aws status --endpoint-url` does).
    pub fn for_project(aws: &Aws, env: &Environment) -> Self {
        Self {
            profile: aws.profile.clone(),
            region: aws.region.clone(),
            endpoint_url: env.var("DEVBOOT_AWS_STS_ENDPOINT").map(str::to_owned),
        }
    }
}

/// Where the credentials come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID` and friends.
    Environment,
    /// Static keys in a profile.
    Profile,
    /// A role assumed from a profile's `role_arn`.
    AssumeRole,
    Sso,
    /// A profile's `credential_process`.
    Process,
    WebIdentity,
    /// An ECS-style container endpoint.
    Container,
    InstanceMetadata,
    Unknown,
}

impl CredentialSource {
    fn of(link: ChainLink, chain: Option<&ProfileChain>) -> Self {
        match link {
            ChainLink::Environment => Self::Environment,
            ChainLink::WebIdentity => Self::WebIdentity,
            ChainLink::Container => Self::Container,
            ChainLink::InstanceMetadata => Self::InstanceMetadata,
            ChainLink::Profile => match chain {
                Some(chain) if !chain.roles.is_empty() => Self::AssumeRole,
                Some(chain) => match &chain.base {
                    BaseSource::StaticKeys { .. } => Self::Profile,
                    BaseSource::Sso { .. } => Self::Sso,
                    BaseSource::Process { .. } => Self::Process,
                    BaseSource::WebIdentity => Self::WebIdentity,
                    BaseSource::NamedSource(_) | BaseSource::LoginSession | BaseSource::Nothing => {
                        Self::Unknown
                    }
                },
                None => Self::Unknown,
            },
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Environment => "environment variables",
            Self::Profile => "static keys in a profile",
            Self::AssumeRole => "an assumed role",
            Self::Sso => "AWS SSO",
            Self::Process => "credential_process",
            Self::WebIdentity => "web identity token",
            Self::Container => "container credentials endpoint",
            Self::InstanceMetadata => "EC2 instance metadata",
            Self::Unknown => "unknown",
        }
    }
}

/// The caller's identity. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
    pub source: CredentialSource,
    pub access_key_id_masked: String,
    /// When the credentials expire; `None` for long-term keys.
    pub expires: Option<SystemTime>,
    pub profile: String,
    pub region: String,
    /// AWS's clock minus the host's, from the response's `Date` header (whole seconds).
    pub clock_skew_secs: Option<i64>,
}

/// What one `GetCallerIdentity` found ([`HostAws::probe_identity`]).
#[derive(Debug)]
pub struct CallerProbe {
    pub identity: Result<Identity, AwsError>,
    /// AWS's clock minus the host's, from the `Date` header of STS's reply, error replies
    /// included; `None` when no reply came (credentials did not resolve, nothing answered).
    pub clock_skew_secs: Option<i64>,
}

/// The developer's AWS setup on the host.
#[derive(Debug, Clone)]
pub struct HostAws {
    pub profile: String,
    pub profile_origin: ProfileOrigin,
    pub region: Option<String>,
    pub region_origin: Option<RegionOrigin>,
    /// The STS endpoint override, if any.
    pub endpoint_url: Option<String>,
    pub files: AwsFiles,
    /// The selected profile's chain, when the profile exists and can be followed.
    pub chain: Option<ProfileChain>,
    credentials: HostCredentials,
    /// `AWS_SESSION_TOKEN` set next to long-term (`AKIA`) keys in the environment.
    stale_env_token: bool,
}

impl HostAws {
    /// Reads the setup. Fails on unreadable files and on a profile (or `source_profile`)
    /// that does not exist, unless environment keys make the profile irrelevant.
    pub fn load(env: &Environment, options: &HostOptions) -> Result<Self, AwsError> {
        let files = AwsFiles::from_env(env);
        let shown = files.display(env);
        let profiles = Profiles::parse(&files.read()?, &shown)?;
        let (profile, profile_origin) = select_profile(options.profile.as_deref(), env);
        let chain = profiles.chain(&profile);
        let region = resolve_region(options.region.as_deref(), env, &profiles, &profile);
        let endpoint_url =
            resolve_sts_endpoint(options.endpoint_url.as_deref(), env, &profiles, &profile);

        let credentials = HostCredentials::new(
            env,
            ChainSettings {
                profile: profile.clone(),
                profile_requested: profile_origin == ProfileOrigin::Requested,
                profile_defined: profiles.contains(&profile),
                chain: chain.as_ref().ok().cloned(),
                files: files.clone(),
                region: region.as_ref().map(|(r, _)| r.clone()),
            },
        );

        // A profile that will be used must exist, and so must the profiles it sources from.
        let profile_matters = !credentials.uses_env_keys()
            && (profile_origin != ProfileOrigin::Default || profiles.contains(&profile));
        if profile_matters {
            match &chain {
                Ok(_) => {}
                Err(ChainProblem::Missing {
                    name,
                    referenced_from,
                }) => {
                    return Err(AwsError::ProfileNotFound {
                        suggestions: profiles.suggestions(name),
                        name: name.clone(),
                        origin: profile_origin,
                        referenced_from: referenced_from.clone(),
                        searched: shown,
                    });
                }
                Err(ChainProblem::Loop { profiles }) => {
                    return Err(AwsError::InvalidConfig {
                        message: format!("the source_profile links loop: {}", profiles.join(" → ")),
                    });
                }
            }
        }

        let stale_env_token = env.var("AWS_SESSION_TOKEN").is_some()
            && env
                .var("AWS_ACCESS_KEY_ID")
                .is_some_and(|k| k.starts_with("AKIA"));
        Ok(Self {
            profile,
            profile_origin,
            region_origin: region.as_ref().map(|(_, o)| *o),
            region: region.map(|(r, _)| r),
            endpoint_url,
            files,
            chain: chain.ok(),
            credentials,
            stale_env_token,
        })
    }

    /// The credential chain (resolves on every call; wrap it in a cache for heavy use).
    pub fn credentials(&self) -> &HostCredentials {
        &self.credentials
    }

    /// The SSO login state of the profile whose credentials will be used.
    pub fn sso_state(&self, now: SystemTime) -> SsoState {
        if self.credentials.uses_env_keys() {
            return SsoState::NotSso;
        }
        let (Some(cache_dir), Ok(texts)) = (self.files.sso_cache_dir(), self.files.read()) else {
            return SsoState::NotSso;
        };
        match Profiles::parse(&texts, &[]) {
            Ok(profiles) => sso_state(&profiles, &self.profile, &cache_dir, now),
            Err(_) => SsoState::NotSso,
        }
    }

    /// Where the credentials will come from, judged from the settings alone.
    pub fn planned_source(&self) -> CredentialSource {
        if self.credentials.uses_env_keys() {
            CredentialSource::Environment
        } else if self.credentials.settings().profile_defined {
            CredentialSource::of(ChainLink::Profile, self.chain.as_ref())
        } else {
            CredentialSource::Unknown
        }
    }

    /// Resolves credentials, after checking the SSO cache so that a dead login becomes the
    /// exact `aws sso login` command instead of an SDK error.
    pub async fn resolve(&self) -> Result<Resolved, AwsError> {
        if let Some(error) = self.sso_state(SystemTime::now()).into_error(&self.profile) {
            return Err(error);
        }
        self.credentials.resolve().await
    }

    /// Resolves credentials and asks STS who they belong to.
    pub async fn identity(&self) -> Result<Identity, AwsError> {
        self.identity_capturing(&DateCapture::default()).await
    }

    /// [`Self::identity`], and the clock skew read from the `Date` header of STS's reply,
    /// error replies included: a clock far off is what makes signatures fail.
    pub async fn probe_identity(&self) -> CallerProbe {
        let date = DateCapture::default();
        let identity = self.identity_capturing(&date).await;
        CallerProbe {
            identity,
            clock_skew_secs: date.skew_secs(SystemTime::now()),
        }
    }

    /// AWS's clock minus the host's, in whole seconds, from the `Date` header of an STS reply
    /// to a request signed with a placeholder key (AWS refuses it, and dates the refusal).
    /// For when the developer's own credentials do not resolve. Needs a region.
    pub async fn clock_skew(&self) -> Result<i64, AwsError> {
        let date = DateCapture::default();
        let placeholder = Credentials::new(
            "AKIADEVBOOTCLOCKPROBE",
            "devboot-clock-probe",
            None,
            None,
            "devboot-clock-probe",
        );
        let client = self.sts_client(placeholder, Some(date.clone()))?;
        let reply = client.get_caller_identity().send().await;
        if let Some(skew) = date.skew_secs(SystemTime::now()) {
            return Ok(skew);
        }
        let endpoint = self.endpoint_url.clone().unwrap_or_else(|| {
            format!(
                "sts.{}.amazonaws.com",
                self.region.as_deref().unwrap_or("us-east-1")
            )
        });
        Err(AwsError::Unreachable {
            endpoint,
            message: reply.err().map_or_else(
                || "the reply had no `Date` header".to_owned(),
                |e| error_chain(&e),
            ),
        })
    }

    /// The same setup without the EC2 instance-metadata link: on a laptop it only costs
    /// seconds of timeouts before saying "no credentials".
    #[must_use]
    pub fn without_instance_metadata(mut self) -> Self {
        self.credentials = self.credentials.without_instance_metadata();
        self
    }

    async fn identity_capturing(&self, date: &DateCapture) -> Result<Identity, AwsError> {
        let resolved = self.resolve().await?;
        let region = self.region()?;
        let client = self.sts_client(resolved.credentials.clone(), Some(date.clone()))?;
        let source = CredentialSource::of(resolved.link, self.chain.as_ref());
        let output = client
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| self.classify_sts(&e, "GetCallerIdentity", &resolved, source))?;
        Ok(Identity {
            account: output.account().unwrap_or_default().to_owned(),
            arn: output.arn().unwrap_or_default().to_owned(),
            user_id: output.user_id().unwrap_or_default().to_owned(),
            source,
            access_key_id_masked: mask_key_id(resolved.credentials.access_key_id()),
            expires: resolved.credentials.expiry(),
            profile: self.profile.clone(),
            region: region.to_owned(),
            clock_skew_secs: date.skew_secs(SystemTime::now()),
        })
    }

    /// A provider for the app container: the chain's credentials when they are temporary;
    /// long-term keys are first exchanged for a session (STS `GetSessionToken`, one hour), so
    /// the container never holds them and always gets the `Token` and `Expiration` that
    /// every SDK's container provider requires.
    pub fn container_provider(&self) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(SessionProvider {
            host: Arc::new(self.clone()),
            duration: Duration::from_secs(3600),
        })
    }

    /// Temporary credentials for the env wiring (see [`Self::container_provider`]).
    pub async fn session_credentials(&self) -> Result<Credentials, AwsError> {
        SessionProvider {
            host: Arc::new(self.clone()),
            duration: Duration::from_secs(3600),
        }
        .session()
        .await
    }

    fn region(&self) -> Result<&str, AwsError> {
        self.region.as_deref().ok_or_else(|| AwsError::NoRegion {
            profile: self.profile.clone(),
        })
    }

    /// An STS client signing with `credentials`, honouring the region and endpoint override.
    /// Built from explicit settings only: it reads nothing from the process environment.
    fn sts_client(
        &self,
        credentials: Credentials,
        date: Option<DateCapture>,
    ) -> Result<aws_sdk_sts::Client, AwsError> {
        let mut config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region()?.to_owned()))
            .credentials_provider(credentials)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(10))
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(url) = &self.endpoint_url {
            config = config.endpoint_url(url);
        }
        if let Some(date) = date {
            config = config.interceptor(date);
        }
        Ok(aws_sdk_sts::Client::from_conf(config.build()))
    }

    fn classify_sts<E>(
        &self,
        error: &SdkError<E>,
        operation: &'static str,
        resolved: &Resolved,
        source: CredentialSource,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let stale_env_token = self.stale_env_token && resolved.link == ChainLink::Environment;
        if let SdkError::ServiceError(service) = error {
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            let message = service.err().message().unwrap_or_default().to_owned();
            let skew = service
                .raw()
                .headers()
                .get("date")
                .and_then(parse_http_date)
                .map(|aws_now| skew_secs(aws_now, SystemTime::now()));
            return match code.as_str() {
                "SignatureDoesNotMatch"
                | "InvalidSignatureException"
                | "RequestExpired"
                | "RequestTimeTooSkewed"
                | "AuthFailure"
                    if skew.is_some_and(|s| s.abs() > 300) =>
                {
                    AwsError::ClockSkew {
                        skew_secs: skew.unwrap_or_default(),
                    }
                }
                "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
                    AwsError::ExpiredToken {
                        source_label: source.label().to_owned(),
                        stale_env_token,
                    }
                }
                "InvalidClientTokenId"
                | "UnrecognizedClientException"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch" => AwsError::InvalidKey {
                    key_masked: mask_key_id(resolved.credentials.access_key_id()),
                    code,
                    stale_env_token,
                },
                "AccessDenied" | "AccessDeniedException" => AwsError::AccessDenied {
                    message,
                    mfa_serial: None,
                },
                _ => AwsError::Sts {
                    operation,
                    code,
                    message,
                },
            };
        }
        let text = error_chain(error);
        let endpoint = self.endpoint_url.clone().unwrap_or_else(|| {
            format!(
                "sts.{}.amazonaws.com",
                self.region.as_deref().unwrap_or("us-east-1")
            )
        });
        if matches!(error, SdkError::TimeoutError(_)) || is_connection_error(&text) {
            AwsError::Unreachable {
                endpoint,
                message: text,
            }
        } else {
            AwsError::Sts {
                operation,
                code: "ClientError".to_owned(),
                message: text,
            }
        }
    }
}

/// Resolves the developer's identity in one call.
pub async fn identity(env: &Environment, options: &HostOptions) -> Result<Identity, AwsError> {
    HostAws::load(env, options)?.identity().await
}

/// Chain credentials, with long-term keys exchanged for a session.
struct SessionProvider {
    host: Arc<HostAws>,
    duration: Duration,
}

impl fmt::Debug for SessionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionProvider")
            .field("profile", &self.host.profile)
            .finish_non_exhaustive()
    }
}

impl SessionProvider {
    async fn session(&self) -> Result<Credentials, AwsError> {
        let resolved = self.host.resolve().await?;
        if resolved.credentials.session_token().is_some() {
            return Ok(resolved.credentials);
        }
        let client = self.host.sts_client(resolved.credentials.clone(), None)?;
        let source = CredentialSource::of(resolved.link, self.host.chain.as_ref());
        let output = client
            .get_session_token()
            .duration_seconds(i32::try_from(self.duration.as_secs()).unwrap_or(3600))
            .send()
            .await
            .map_err(|e| {
                self.host
                    .classify_sts(&e, "GetSessionToken", &resolved, source)
            })?;
        let session = output.credentials().ok_or_else(|| AwsError::Sts {
            operation: "GetSessionToken",
            code: "EmptyResponse".to_owned(),
            message: "the response held no credentials".to_owned(),
        })?;
        let mut builder = Credentials::builder()
            .access_key_id(session.access_key_id())
            .secret_access_key(session.secret_access_key())
            .session_token(session.session_token())
            .provider_name("GetSessionToken");
        builder.set_expiry(SystemTime::try_from(*session.expiration()).ok());
        builder.set_account_id(resolved.credentials.account_id().cloned());
        Ok(builder.build())
    }
}

impl ProvideCredentials for SessionProvider {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.session().await.map_err(|e| match e {
                e @ AwsError::NoCredentials { .. } => CredentialsError::not_loaded(e),
                e => CredentialsError::provider_error(e),
            })
        })
    }
}

/// Keeps the `Date` header of the last STS response, to measure clock skew.
#[derive(Debug, Clone, Default)]
struct DateCapture(Arc<Mutex<Option<SystemTime>>>);

impl DateCapture {
    fn skew_secs(&self, now: SystemTime) -> Option<i64> {
        let date = *self.0.lock().unwrap_or_else(PoisonError::into_inner);
        date.map(|aws_now| skew_secs(aws_now, now))
    }
}

impl Intercept for DateCapture {
    fn name(&self) -> &'static str {
        "devboot::DateCapture"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(date) = context
            .response()
            .headers()
            .get("date")
            .and_then(parse_http_date)
        {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(date);
        }
        Ok(())
    }
}

fn parse_http_date(text: &str) -> Option<SystemTime> {
    let parsed =
        aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::HttpDate)
            .ok()?;
    SystemTime::try_from(parsed).ok()
}

/// `aws_now - host_now` in whole seconds.
fn skew_secs(aws_now: SystemTime, host_now: SystemTime) -> i64 {
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    match aws_now.duration_since(host_now) {
        Ok(ahead) => secs(ahead),
        Err(behind) => -secs(behind.duration()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::testing::{StubSts, TempHome};

    const KEYS: &str =
        "[default]\naws_access_key_id = AKIASTUBKEY000000001\naws_secret_access_key = s\n";

    fn host(
        home: &TempHome,
        vars: &[(&str, &str)],
        options: &HostOptions,
    ) -> Result<HostAws, AwsError> {
        HostAws::load(&home.env(vars.iter().copied()), options)
    }

    #[test]
    fn an_unknown_profile_suggests_close_names() {
        let home = TempHome::new();
        home.write(
            ".aws/config",
            "[profile staging]\nregion = eu-west-1\n[profile prod]\nregion = eu-west-1\n",
        );
        let err = host(
            &home,
            &[("AWS_PROFILE", "stagign")],
            &HostOptions::default(),
        )
        .unwrap_err();
        let AwsError::ProfileNotFound {
            suggestions,
            origin,
            ..
        } = &err
        else {
            panic!("{err}");
        };
        assert_eq!(suggestions, &["staging"]);
        assert_eq!(*origin, ProfileOrigin::AwsProfileVar);
        assert!(err.to_string().contains("~/.aws/config"), "{err}");
    }

    #[test]
    fn a_missing_source_profile_names_who_points_at_it() {
        let home = TempHome::new();
        home.write(".aws/config", "[profile app]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = bse\n[profile base]\nregion = x\n");
        let options = HostOptions {
            profile: Some("app".into()),
            ..HostOptions::default()
        };
        let err = host(&home, &[], &options).unwrap_err();
        assert_eq!(
            err.to_string(),
            "AWS profile `bse` (the source_profile of `app`) is not defined in ~/.aws/config or ~/.aws/credentials"
        );
        assert_eq!(err.hint().unwrap(), "did you mean `base`?");
    }

    #[test]
    fn env_keys_make_a_missing_aws_profile_irrelevant() {
        let home = TempHome::new();
        let vars = [
            ("AWS_PROFILE", "gone"),
            ("AWS_ACCESS_KEY_ID", "AKIAENV0000000000001"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ];
        let host = host(&home, &vars, &HostOptions::default()).unwrap();
        assert_eq!(host.planned_source(), CredentialSource::Environment);
    }

    #[tokio::test]
    async fn a_dead_sso_login_is_caught_before_any_call() {
        let home = TempHome::new();
        home.write(
            ".aws/config",
            "[profile dev]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\nregion = eu-west-1\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
        );
        home.write(
            &format!(
                ".aws/sso/cache/{}",
                crate::aws::sso::cache_file_name("corp")
            ),
            r#"{"accessToken":"x","expiresAt":"2020-01-01T00:00:00Z"}"#,
        );
        let options = HostOptions {
            profile: Some("dev".into()),
            ..HostOptions::default()
        };
        let host = host(&home, &[], &options).unwrap();
        assert_eq!(host.planned_source(), CredentialSource::Sso);
        let err = host.identity().await.unwrap_err();
        assert_eq!(err.code(), "SsoTokenExpired");
        assert_eq!(
            err.hint().unwrap(),
            "run `aws sso login --profile dev` on the host"
        );
    }

    #[tokio::test]
    async fn no_region_is_reported_before_calling_sts() {
        let home = TempHome::new();
        home.write(".aws/credentials", KEYS);
        let host = host(&home, &[], &HostOptions::default()).unwrap();
        assert!(matches!(
            host.identity().await,
            Err(AwsError::NoRegion { .. })
        ));
    }

    async fn sts_error(
        status: u16,
        code: &str,
        date_offset: i64,
        vars: &[(&str, &str)],
    ) -> AwsError {
        let stub = StubSts::error(status, code, date_offset).await;
        let home = TempHome::new();
        home.write(".aws/credentials", KEYS);
        let options = HostOptions {
            region: Some("eu-west-1".into()),
            endpoint_url: Some(stub.url()),
            ..HostOptions::default()
        };
        host(&home, vars, &options)
            .unwrap()
            .identity()
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn sts_error_codes_become_typed_errors() {
        let err = sts_error(403, "ExpiredToken", 0, &[]).await;
        assert!(matches!(err, AwsError::ExpiredToken { .. }), "{err}");

        let err = sts_error(403, "InvalidClientTokenId", 0, &[]).await;
        let AwsError::InvalidKey { key_masked, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(key_masked, "****************0001");
        assert!(!err.to_string().contains("AKIASTUBKEY"));

        let err = sts_error(403, "AccessDenied", 0, &[]).await;
        assert!(matches!(err, AwsError::AccessDenied { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_stale_session_token_next_to_long_term_keys_is_named() {
        let vars = [
            ("AWS_ACCESS_KEY_ID", "AKIAENV0000000000001"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", "old"),
        ];
        let err = sts_error(403, "InvalidClientTokenId", 0, &vars).await;
        assert!(
            err.hint().unwrap().contains("unset AWS_SESSION_TOKEN"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_skewed_clock_is_told_apart_from_a_wrong_secret() {
        let err = sts_error(403, "SignatureDoesNotMatch", 1200, &[]).await;
        let AwsError::ClockSkew { skew_secs } = err else {
            panic!("{err}");
        };
        assert!((1190..=1210).contains(&skew_secs), "{skew_secs}");

        let err = sts_error(403, "SignatureDoesNotMatch", 0, &[]).await;
        assert!(matches!(err, AwsError::InvalidKey { .. }), "{err}");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_named() {
        let home = TempHome::new();
        home.write(".aws/credentials", KEYS);
        let options = HostOptions {
            region: Some("eu-west-1".into()),
            endpoint_url: Some("http://127.0.0.1:9".into()),
            ..HostOptions::default()
        };
        let err = host(&home, &[], &options)
            .unwrap()
            .identity()
            .await
            .unwrap_err();
        let AwsError::Unreachable { endpoint, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(endpoint, "http://127.0.0.1:9");
    }

    #[test]
    fn skew_is_aws_minus_host() {
        let host_now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(skew_secs(host_now + Duration::from_secs(90), host_now), 90);
        assert_eq!(skew_secs(host_now - Duration::from_secs(90), host_now), -90);
        assert!(parse_http_date("Sun, 22 Nov 2026 03:11:06 GMT").is_some());
    }
}
