//! The developer's AWS setup as the `aws.*` checks see it — the project's `[aws]` settings,
//! the shared files (parsed with the SDK's parser), the profile devboot selects — and the one
//! STS `GetCallerIdentity` of a run, which `aws.credentials`, `aws.clock` and `aws.account`
//! share. Also how those checks write profile names, spans of time and the clock fix.

use std::time::Duration;

use crate::aws::config::{
    AwsFiles, ChainProblem, ProfileChain, ProfileOrigin, Profiles, select_profile,
};
use crate::aws::identity::CallerProbe;
use crate::aws::{AwsError, HostAws, HostOptions};
use crate::doctor::check::Outcome;
use crate::doctor::facts::Facts;
use crate::model::{Aws, AwsMode};

/// Variables that, set on the host, make up (part of) an AWS setup.
const AWS_VARS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// The summary of every `aws.` check where nothing about AWS is set up.
pub(crate) const NOT_SET_UP: &str = "no AWS setup here: no [aws] in devboot.toml, no ~/.aws/config or ~/.aws/credentials, no AWS_* variables";

/// Which checks apply in emulator mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// About the developer's own identity: not used in emulator mode.
    Identity,
    /// Applies in every mode.
    Always,
}

/// The developer's AWS setup as the checks see it: the project's `[aws]` settings, the shared
/// files (parsed with the SDK's parser), and the profile devboot selects.
pub(crate) struct Setup<'f> {
    pub(crate) facts: &'f Facts,
    /// The project's `[aws]` section, when there is a valid project with one.
    pub(crate) settings: Option<&'f Aws>,
    pub(crate) files: AwsFiles,
    /// The parsed files, or why they do not read or parse.
    pub(crate) profiles: Result<Profiles, AwsError>,
    /// The profile devboot uses, and what named it.
    pub(crate) profile: String,
    pub(crate) origin: ProfileOrigin,
}

impl<'f> Setup<'f> {
    /// The setup, or the `skipped` outcome saying why the check does not apply.
    pub(crate) fn load(facts: &'f Facts, scope: Scope) -> Result<Self, Outcome> {
        let settings = facts.stack().and_then(|stack| stack.aws.as_ref());
        let files = AwsFiles::from_env(&facts.env);
        if settings.is_none() && !has_aws_setup(facts, &files) {
            return Err(Outcome::skipped(NOT_SET_UP));
        }
        if scope == Scope::Identity
            && let Some(settings) = settings.filter(|s| s.mode == AwsMode::Emulator)
        {
            return Err(Outcome::skipped(format!(
                "emulator mode: the app uses the emulator{}, not your AWS credentials",
                settings
                    .emulator_endpoint
                    .as_deref()
                    .map(|url| format!(" at {url}"))
                    .unwrap_or_default()
            )));
        }
        let shown = files.display(&facts.env);
        let profiles = files
            .read()
            .and_then(|texts| Profiles::parse(&texts, &shown));
        let (profile, origin) =
            select_profile(settings.and_then(|s| s.profile.as_deref()), &facts.env);
        Ok(Self {
            facts,
            settings,
            files,
            profiles,
            profile,
            origin,
        })
    }

    /// Whether `AWS_ACCESS_KEY_ID` in the environment wins over the profile: it does unless
    /// the project names its profile (as `aws --profile X` does).
    pub(crate) fn env_keys_win(&self) -> bool {
        self.facts.var("AWS_ACCESS_KEY_ID").is_some() && self.origin != ProfileOrigin::Requested
    }

    /// The parsed files, or `skipped` (`aws.profile` reports why they do not parse).
    pub(crate) fn profiles(&self) -> Result<&Profiles, Outcome> {
        self.profiles.as_ref().map_err(|error| {
            Outcome::skipped(format!(
                "the AWS files do not load (see `aws.profile`): {error}"
            ))
        })
    }

    /// The selected profile's chain, or `skipped` when it cannot be followed (`aws.profile`
    /// reports why) or does not matter (environment keys win).
    pub(crate) fn chain(&self) -> Result<ProfileChain, Outcome> {
        if self.env_keys_win() {
            return Err(Outcome::skipped(
                "the credentials come from AWS_ACCESS_KEY_ID in the environment, not from a profile",
            ));
        }
        self.profiles()?.chain(&self.profile).map_err(|problem| {
            Outcome::skipped(match problem {
                ChainProblem::Missing { name, .. } => {
                    format!("profile `{name}` is not defined (see `aws.profile`)")
                }
                ChainProblem::Loop { .. } => {
                    "the profile's source_profile links loop (see `aws.profile`)".to_owned()
                }
            })
        })
    }

    /// How the selected profile was chosen, for messages.
    pub(crate) fn origin_text(&self) -> &'static str {
        origin_text(self.origin)
    }

    /// `~/.aws/config` as messages show it.
    pub(crate) fn config_shown(&self) -> String {
        self.files
            .config
            .as_deref()
            .map_or_else(|| "~/.aws/config".to_owned(), |p| self.facts.display(p))
    }
}

pub(crate) fn origin_text(origin: ProfileOrigin) -> &'static str {
    match origin {
        ProfileOrigin::Requested => "the project's `[aws] profile`",
        ProfileOrigin::AwsProfileVar => "AWS_PROFILE",
        ProfileOrigin::Default => "nothing names one, so `default`",
    }
}

/// Whether the developer has any AWS setup: a shared file or an `AWS_*` variable.
fn has_aws_setup(facts: &Facts, files: &AwsFiles) -> bool {
    [&files.config, &files.credentials]
        .into_iter()
        .flatten()
        .any(|path| path.is_file())
        || AWS_VARS.iter().any(|name| facts.var(name).is_some())
}

/// A span of time for people: `45 s`, `23 min`, `7 h 10 min`, `3 days`.
pub(crate) fn span(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..=89 => format!("{secs} s"),
        90..=5_399 => format!("{} min", (secs + 30) / 60),
        5_400..=172_799 => {
            let minutes = (secs + 30) / 60;
            match minutes % 60 {
                0 => format!("{} h", minutes / 60),
                rest => format!("{} h {rest} min", minutes / 60),
            }
        }
        _ => format!("{} days", secs / 86_400),
    }
}

/// The command that sets the host clock from the network, for this operating system.
pub(crate) fn sync_clock_command() -> &'static str {
    if cfg!(target_os = "macos") {
        "sudo sntp -sS time.apple.com"
    } else {
        "sudo timedatectl set-ntp true"
    }
}

/// What the one `GetCallerIdentity` of a doctor run found.
#[derive(Debug)]
pub(crate) struct Caller {
    /// The setup as `devboot up` loads it, or why it does not load.
    pub(crate) host: Result<HostAws, AwsError>,
    /// The call's result, when the setup loaded.
    pub(crate) probe: Option<CallerProbe>,
}

impl Facts {
    /// The one `GetCallerIdentity` of the run, made by the first check that asks; the others
    /// wait for it and read the same result (`setup` is the same for every check of a run).
    pub(crate) async fn aws_caller(&self, setup: &Setup<'_>) -> &Caller {
        let options = setup
            .settings
            .map(|settings| HostOptions::for_project(settings, &self.env))
            .unwrap_or_default();
        self.aws_caller
            .get_or_init(|| async {
                match HostAws::load(&self.env, &options) {
                    Ok(host) => {
                        let host = host.without_instance_metadata();
                        let probe = host.probe_identity().await;
                        Caller {
                            host: Ok(host),
                            probe: Some(probe),
                        }
                    }
                    Err(error) => Caller {
                        host: Err(error),
                        probe: None,
                    },
                }
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(Duration::from_secs(45)), "45 s");
        assert_eq!(span(Duration::from_secs(23 * 60)), "23 min");
        assert_eq!(span(Duration::from_secs(7 * 3600 + 600)), "7 h 10 min");
        assert_eq!(span(Duration::from_secs(2 * 3600)), "2 h");
        assert_eq!(span(Duration::from_secs(3 * 86_400)), "3 days");
    }
}
