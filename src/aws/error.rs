//! [`AwsError`]: everything that can go wrong between the developer's AWS setup and the app
//! container, each with a fix ([`AwsError::hint`]) and a stable code ([`AwsError::code`]) that
//! the credential endpoint and the doctor report.
//!
//! Messages carry profile names, file paths, ARNs and masked key ids, never a secret.

use std::fmt;
use std::path::PathBuf;

use super::config::ProfileOrigin;

/// One credential provider that was tried and why it had nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// `Environment`, `Profile`, `WebIdentityToken`, `EcsContainer`, `Ec2InstanceMetadata`.
    pub provider: &'static str,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// No provider in the chain had credentials.
    #[error("no AWS credentials found for profile `{profile}`{}", attempts_text(.attempts))]
    NoCredentials {
        profile: String,
        attempts: Vec<Attempt>,
    },

    /// A profile that was asked for (or that another profile points at) does not exist.
    #[error("AWS profile `{name}` ({}) is not defined in {}", origin_text(*.origin, .referenced_from.as_deref()), .searched.join(" or "))]
    ProfileNotFound {
        name: String,
        origin: ProfileOrigin,
        /// The profile whose `source_profile` names it, if any.
        referenced_from: Option<String>,
        /// Defined profiles close to `name`.
        suggestions: Vec<String>,
        /// The files that were read, for the message (`~/.aws/config`).
        searched: Vec<String>,
    },

    /// The profile uses AWS SSO and there is no usable login on this machine.
    #[error("the AWS SSO session of profile `{profile}` {}", if *.expired { "has expired" } else { "was never started on this machine (no cached login)" })]
    SsoLogin {
        profile: String,
        expired: bool,
        login_command: String,
    },

    /// SSO settings that cannot work (missing `[sso-session]`, start URL or region).
    #[error("the AWS SSO settings of profile `{profile}` are incomplete: {problem}")]
    SsoConfig { profile: String, problem: String },

    /// AWS said the session token is expired.
    #[error("AWS rejected the credentials as expired (from {source_label})")]
    ExpiredToken {
        source_label: String,
        /// `AWS_SESSION_TOKEN` is set in the environment next to long-term keys.
        stale_env_token: bool,
    },

    /// AWS does not know the access key, or the secret does not match it.
    #[error("AWS does not accept access key {key_masked} ({code})")]
    InvalidKey {
        key_masked: String,
        code: String,
        stale_env_token: bool,
    },

    /// The host clock is far from AWS's.
    #[error("the host clock is {} AWS time by {} s", if *.skew_secs > 0 { "behind" } else { "ahead of" }, .skew_secs.unsigned_abs())]
    ClockSkew {
        /// AWS time minus host time, in seconds.
        skew_secs: i64,
    },

    #[error("no AWS region is set for profile `{profile}`")]
    NoRegion { profile: String },

    /// `credential_process` failed or is missing.
    #[error("the credential_process `{program}` of profile `{profile}` {}", if *.not_found { "is not installed (exit status 127)".to_owned() } else { format!("failed: {}", .message) })]
    CredentialProcess {
        profile: String,
        /// The program only (first word); arguments may hold secrets.
        program: String,
        not_found: bool,
        message: String,
    },

    #[error("AWS denied access: {message}")]
    AccessDenied {
        message: String,
        /// An `mfa_serial` in the profile chain, which the Rust SDK does not prompt for.
        mfa_serial: Option<String>,
    },

    /// Broken settings: unparsable files, bad `credential_source`, half-set variables.
    #[error("invalid AWS configuration: {message}")]
    InvalidConfig { message: String },

    #[error("cannot reach AWS at {endpoint}: {message}")]
    Unreachable { endpoint: String, message: String },

    /// A credential provider failed in a way not classified above.
    #[error("loading AWS credentials failed: {message}")]
    Provider { message: String },

    /// Any other AWS service error.
    #[error("STS {operation} failed: {code}: {message}")]
    Sts {
        operation: &'static str,
        code: String,
        message: String,
    },

    #[error("cannot read `{}`: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The credential endpoint could not listen.
    #[error("the credential endpoint cannot listen on {addr}: {message}")]
    Bind { addr: String, message: String },

    /// The container wiring does not fit the settings (e.g. env mode with long-term keys).
    #[error("{message}")]
    Wiring {
        message: String,
        hint: Option<String>,
    },

    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),

    /// The background credential endpoint did not come up.
    #[error("the AWS credential endpoint did not start: {message}")]
    EndpointStart {
        message: String,
        /// Its log, for the details.
        log: Option<PathBuf>,
    },
}

impl AwsError {
    /// What the developer can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NoCredentials { profile, .. } => Some(if profile == "default" {
                "log in with `aws sso login`, `aws configure`, or your usual tool (granted, aws-vault...), or set `[aws] profile` in devboot.toml".to_owned()
            } else {
                format!("log in with `aws sso login --profile {profile}` or `aws configure --profile {profile}`")
            }),
            Self::ProfileNotFound {
                name, suggestions, ..
            } => Some(match suggestions.as_slice() {
                [] => format!("create it with `aws configure --profile {name}` (or `aws configure sso`), or pick one from `aws configure list-profiles`"),
                [one] => format!("did you mean `{one}`?"),
                many => format!("did you mean one of: {}?", many.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")),
            }),
            Self::SsoLogin { login_command, .. } => Some(format!("run `{login_command}` on the host")),
            Self::SsoConfig { profile, .. } => Some(format!(
                "run `aws configure sso --profile {profile}` to write a complete SSO configuration"
            )),
            Self::ExpiredToken { stale_env_token, .. } => Some(if *stale_env_token {
                "unset AWS_SESSION_TOKEN: it belongs to an older session, not to the keys in AWS_ACCESS_KEY_ID".to_owned()
            } else {
                "get fresh credentials (log in again with your usual tool) and retry".to_owned()
            }),
            Self::InvalidKey { stale_env_token, .. } => Some(if *stale_env_token {
                "unset AWS_SESSION_TOKEN: it belongs to an older session, not to the keys in AWS_ACCESS_KEY_ID".to_owned()
            } else {
                "the key was deleted, deactivated or mistyped; create a new one (`aws configure`) or log in again".to_owned()
            }),
            Self::ClockSkew { .. } => Some(
                "sync the clock (`sudo timedatectl set-ntp true`; on Docker Desktop restart it after sleep)".to_owned(),
            ),
            Self::NoRegion { profile } => Some(format!(
                "set `region` under [aws] in devboot.toml, export AWS_REGION, or run `aws configure set region eu-west-1 --profile {profile}`"
            )),
            Self::CredentialProcess {
                program, not_found, ..
            } => Some(if *not_found {
                format!("install `{program}` on the host, or fix the `credential_process` line in ~/.aws/config")
            } else {
                format!("run `{program}` by hand to see why it fails (you may need to log in to it first)")
            }),
            Self::AccessDenied { mfa_serial, .. } => Some(match mfa_serial {
                Some(serial) => format!(
                    "the role needs MFA ({serial}), which devboot cannot prompt for yet; use `aws-vault` or `granted` as a `credential_process`"
                ),
                None => "check the role's trust policy and your permissions with your AWS administrator".to_owned(),
            }),
            Self::InvalidConfig { .. } => Some(
                "fix ~/.aws/config and ~/.aws/credentials (`aws configure list` shows what the CLI sees)".to_owned(),
            ),
            Self::Unreachable { .. } => Some(
                "check the network, proxy and any AWS_ENDPOINT_URL or `endpoint_url` setting".to_owned(),
            ),
            Self::Provider { .. } | Self::Sts { .. } => {
                Some("`aws sts get-caller-identity` on the host should show the same problem".to_owned())
            }
            Self::Io { .. } => Some("check the file's owner and permissions (`ls -l`)".to_owned()),
            Self::Bind { .. } => Some(
                "pick another port, or stop what listens there; never bind 0.0.0.0".to_owned(),
            ),
            Self::Wiring { hint, .. } => hint.clone(),
            Self::Random(_) => None,
            Self::EndpointStart { log, .. } => log
                .as_ref()
                .map(|log| format!("its log is {}", log.display())),
        }
    }

    /// A stable identifier: the `code` of the credential endpoint's error replies, and a
    /// handle for tests and doctor checks.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoCredentials { .. } => "NoCredentials",
            Self::ProfileNotFound { .. } => "ProfileNotFound",
            Self::SsoLogin { expired: true, .. } => "SsoTokenExpired",
            Self::SsoLogin { expired: false, .. } => "SsoLoginRequired",
            Self::SsoConfig { .. } => "SsoConfigIncomplete",
            Self::ExpiredToken { .. } => "ExpiredToken",
            Self::InvalidKey { .. } => "InvalidAccessKey",
            Self::ClockSkew { .. } => "ClockSkew",
            Self::NoRegion { .. } => "NoRegion",
            Self::CredentialProcess { .. } => "CredentialProcessFailed",
            Self::AccessDenied { .. } => "AccessDenied",
            Self::InvalidConfig { .. } => "InvalidConfiguration",
            Self::Unreachable { .. } => "AwsUnreachable",
            Self::Provider { .. } => "ProviderError",
            Self::Sts { .. } => "StsError",
            Self::Io { .. } => "IoError",
            Self::Bind { .. } => "BindFailed",
            Self::Wiring { .. } => "InvalidWiring",
            Self::Random(_) => "RandomUnavailable",
            Self::EndpointStart { .. } => "EndpointStartFailed",
        }
    }
}

fn attempts_text(attempts: &[Attempt]) -> String {
    let mut out = String::new();
    for attempt in attempts {
        out.push_str(&format!("\n  - {}: {}", attempt.provider, attempt.reason));
    }
    out
}

fn origin_text(origin: ProfileOrigin, referenced_from: Option<&str>) -> String {
    match referenced_from {
        Some(from) => format!("the source_profile of `{from}`"),
        None => origin.to_string(),
    }
}

impl fmt::Display for ProfileOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Requested => "asked for by devboot's settings",
            Self::AwsProfileVar => "from AWS_PROFILE",
            Self::Default => "the default profile",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_hints_name_the_fix() {
        let e = AwsError::ProfileNotFound {
            name: "stagin".into(),
            origin: ProfileOrigin::AwsProfileVar,
            referenced_from: None,
            suggestions: vec!["staging".into()],
            searched: vec!["~/.aws/config".into(), "~/.aws/credentials".into()],
        };
        assert_eq!(
            e.to_string(),
            "AWS profile `stagin` (from AWS_PROFILE) is not defined in ~/.aws/config or ~/.aws/credentials"
        );
        assert_eq!(e.hint().unwrap(), "did you mean `staging`?");

        let e = AwsError::SsoLogin {
            profile: "dev".into(),
            expired: true,
            login_command: "aws sso login --profile dev".into(),
        };
        assert_eq!(e.code(), "SsoTokenExpired");
        assert_eq!(
            e.hint().unwrap(),
            "run `aws sso login --profile dev` on the host"
        );

        let e = AwsError::NoCredentials {
            profile: "default".into(),
            attempts: vec![Attempt {
                provider: "Environment",
                reason: "AWS_ACCESS_KEY_ID is not set".into(),
            }],
        };
        assert_eq!(
            e.to_string(),
            "no AWS credentials found for profile `default`\n  - Environment: AWS_ACCESS_KEY_ID is not set"
        );
    }

    #[test]
    fn clock_skew_says_which_way() {
        assert_eq!(
            AwsError::ClockSkew { skew_secs: 1200 }.to_string(),
            "the host clock is behind AWS time by 1200 s"
        );
        assert_eq!(
            AwsError::ClockSkew { skew_secs: -90 }.to_string(),
            "the host clock is ahead of AWS time by 90 s"
        );
    }

    #[test]
    fn credential_process_errors_show_only_the_program() {
        let e = AwsError::CredentialProcess {
            profile: "ci".into(),
            program: "/opt/bin/get-creds".into(),
            not_found: true,
            message: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "the credential_process `/opt/bin/get-creds` of profile `ci` is not installed (exit status 127)"
        );
    }
}
