//! `aws.*`: the developer's AWS setup on the host, as devboot will use it for the app
//! container — the selected profile exists, the environment does not quietly override it, the
//! SSO login is alive, a region resolves, the helper programs of the chain are installed, the
//! credentials files are private, STS accepts the credentials, the clock agrees with AWS's and
//! the account is the one the project expects — and, while the stack runs, that the app
//! container is wired to devboot's credential endpoint and gets credentials from it.
//!
//! Everything is read through the AWS module (`crate::aws`): the same file parser, profile
//! selection, region and endpoint resolution and credential chain that `devboot up` uses, so
//! the doctor's view cannot differ from what the app gets. Outside a project the developer's
//! default AWS setup is checked. With no `[aws]` section, no AWS files and no `AWS_*`
//! variables, every check is skipped; in emulator mode the checks about the developer's own
//! identity are skipped.
//!
//! No secret reaches an outcome: key ids are masked to their last four characters, secret
//! keys, session tokens, endpoint tokens and the endpoint's path are never read into a message.

mod container;
mod ecr;
mod files;
mod identity;
mod profile;
mod sso;

use std::time::Duration;

use super::super::check::{Check, Outcome, QUICK, Run, SLOW, SafeFix};
use super::super::facts::Facts;
use crate::aws::AwsError;
use crate::aws::config::{
    AwsFiles, ChainProblem, ProfileChain, ProfileOrigin, Profiles, select_profile,
};
use crate::model::{Aws, AwsMode};
use crate::shell::shell_word;

pub(super) const ECR_LOGIN: Check = Check {
    id: "aws.ecr_login",
    title: "Images on Amazon ECR can be pulled with a live login",
    depends_on: &["profile.valid"],
    timeout: QUICK,
    run: Run::Blocking(ecr::ecr_login),
    safe_fix: None,
};

/// The time limit of the checks that call STS: resolving credentials may run an SSO refresh
/// or a `credential_process`, and STS may retry.
const AWS_CALL: Duration = Duration::from_secs(30);

pub(super) const PROFILE: Check = Check {
    id: "aws.profile",
    title: "The selected AWS profile is defined",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(profile::profile),
    safe_fix: None,
};

pub(super) const DEFAULT_PROFILE_ENV: Check = Check {
    id: "aws.default_profile_env",
    title: "AWS_DEFAULT_PROFILE does not make tools disagree",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(profile::default_profile_env),
    safe_fix: None,
};

pub(super) const ENV_KEYS: Check = Check {
    id: "aws.env_keys",
    title: "AWS keys in the environment are complete and override nothing by surprise",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(profile::env_keys),
    safe_fix: None,
};

pub(super) const SSO_SESSION: Check = Check {
    id: "aws.sso_session",
    title: "The AWS SSO login is alive",
    depends_on: &["aws.profile"],
    timeout: QUICK,
    run: Run::Blocking(sso::sso_session),
    safe_fix: None,
};

pub(super) const REGION: Check = Check {
    id: "aws.region",
    title: "An AWS region is set",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(profile::region),
    safe_fix: None,
};

pub(super) const CREDENTIAL_PROCESS: Check = Check {
    id: "aws.credential_process",
    title: "The profile's credential_process program is installed",
    depends_on: &["aws.profile"],
    timeout: QUICK,
    run: Run::Blocking(profile::credential_process),
    safe_fix: None,
};

pub(super) const MFA: Check = Check {
    id: "aws.mfa",
    title: "No role in the profile chain needs an MFA code devboot cannot ask for",
    depends_on: &["aws.profile"],
    timeout: QUICK,
    run: Run::Blocking(profile::mfa),
    safe_fix: None,
};

pub(super) const CREDENTIALS_FILE_MODE: Check = Check {
    id: "aws.credentials_file_mode",
    title: "AWS credential files are readable by you only",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(files::credentials_file_mode),
    safe_fix: Some(SafeFix {
        description: "make the AWS credential files readable by you only (`chmod 600`)",
        apply: files::restrict,
    }),
};

pub(super) const CREDENTIALS: Check = Check {
    id: "aws.credentials",
    title: "AWS accepts the credentials (STS GetCallerIdentity)",
    depends_on: &["aws.profile", "aws.region"],
    timeout: AWS_CALL,
    run: Run::Async(identity::credentials),
    safe_fix: None,
};

pub(super) const CLOCK: Check = Check {
    id: "aws.clock",
    title: "The host clock agrees with AWS's",
    depends_on: &["aws.profile", "aws.region"],
    timeout: AWS_CALL,
    run: Run::Async(identity::clock),
    safe_fix: None,
};

pub(super) const ACCOUNT: Check = Check {
    id: "aws.account",
    title: "The credentials belong to the account the project expects",
    depends_on: &["aws.credentials"],
    timeout: AWS_CALL,
    run: Run::Async(identity::account),
    safe_fix: None,
};

pub(super) const CONTAINER_ENDPOINT: Check = Check {
    id: "aws.container_endpoint",
    title: "The app container is wired to devboot's credential endpoint",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(container::container_endpoint),
    safe_fix: None,
};

pub(super) const CONTAINER_CREDENTIALS: Check = Check {
    id: "aws.container_credentials",
    title: "The app container gets credentials from the endpoint",
    depends_on: &["aws.container_endpoint"],
    timeout: SLOW,
    run: Run::Async(container::container_credentials),
    safe_fix: None,
};

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
const NOT_SET_UP: &str = "no AWS setup here: no [aws] in devboot.toml, no ~/.aws/config or ~/.aws/credentials, no AWS_* variables";

/// Which checks apply in emulator mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// About the developer's own identity: not used in emulator mode.
    Identity,
    /// Applies in every mode.
    Always,
}

/// The developer's AWS setup as the checks see it: the project's `[aws]` settings, the shared
/// files (parsed with the SDK's parser), and the profile devboot selects.
struct Setup<'f> {
    facts: &'f Facts,
    /// The project's `[aws]` section, when there is a valid project with one.
    settings: Option<&'f Aws>,
    files: AwsFiles,
    /// The parsed files, or why they do not read or parse.
    profiles: Result<Profiles, AwsError>,
    /// The profile devboot uses, and what named it.
    profile: String,
    origin: ProfileOrigin,
}

impl<'f> Setup<'f> {
    /// The setup, or the `skipped` outcome saying why the check does not apply.
    fn load(facts: &'f Facts, scope: Scope) -> Result<Self, Outcome> {
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
    fn env_keys_win(&self) -> bool {
        self.facts.var("AWS_ACCESS_KEY_ID").is_some() && self.origin != ProfileOrigin::Requested
    }

    /// The parsed files, or `skipped` (`aws.profile` reports why they do not parse).
    fn profiles(&self) -> Result<&Profiles, Outcome> {
        self.profiles.as_ref().map_err(|error| {
            Outcome::skipped(format!(
                "the AWS files do not load (see `aws.profile`): {error}"
            ))
        })
    }

    /// The selected profile's chain, or `skipped` when it cannot be followed (`aws.profile`
    /// reports why) or does not matter (environment keys win).
    fn chain(&self) -> Result<ProfileChain, Outcome> {
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
    fn origin_text(&self) -> &'static str {
        origin_text(self.origin)
    }

    /// `~/.aws/config` as messages show it.
    fn config_shown(&self) -> String {
        self.files
            .config
            .as_deref()
            .map_or_else(|| "~/.aws/config".to_owned(), |p| self.facts.display(p))
    }
}

fn origin_text(origin: ProfileOrigin) -> &'static str {
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
fn span(duration: Duration) -> String {
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
fn sync_clock_command() -> &'static str {
    if cfg!(target_os = "macos") {
        "sudo sntp -sS time.apple.com"
    } else {
        "sudo timedatectl set-ntp true"
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::check::Status;
    use super::super::testing::{Sandbox, run};
    use super::*;

    #[test]
    fn without_any_aws_setup_every_check_is_skipped_saying_why() {
        let sandbox = Sandbox::new();
        sandbox.write("devboot.toml", super::super::testing::PROFILE);
        for check in [
            PROFILE,
            DEFAULT_PROFILE_ENV,
            ENV_KEYS,
            SSO_SESSION,
            REGION,
            CREDENTIAL_PROCESS,
            MFA,
            CREDENTIALS_FILE_MODE,
            CREDENTIALS,
            CLOCK,
            ACCOUNT,
        ] {
            let outcome = run(&check, sandbox.facts());
            assert_eq!(outcome.status, Status::Skipped, "{}: {outcome:?}", check.id);
            assert_eq!(outcome.summary, NOT_SET_UP, "{}", check.id);
        }
    }

    #[test]
    fn emulator_mode_skips_the_identity_checks_but_not_the_file_modes() {
        let sandbox = Sandbox::new();
        sandbox.write(
            "devboot.toml",
            "schema = 1\n[project]\nname = \"emu\"\n[services.db]\nimage = \"postgres:16\"\n[aws]\nmode = \"emulator\"\nemulator_endpoint = \"http://moto:5000\"\nregion = \"eu-west-1\"\n",
        );
        for check in [PROFILE, ENV_KEYS, SSO_SESSION, CREDENTIALS, CLOCK, MFA] {
            let outcome = run(&check, sandbox.facts());
            assert_eq!(outcome.status, Status::Skipped, "{}", check.id);
            assert!(
                outcome.summary.starts_with("emulator mode")
                    && outcome.summary.contains("http://moto:5000"),
                "{}: {}",
                check.id,
                outcome.summary
            );
        }
        // The region still matters (the app's SDK needs one), and so do private files.
        assert_eq!(
            run(&REGION, sandbox.facts()).summary,
            "eu-west-1 (from the project's `[aws] region`)"
        );
        assert_eq!(
            run(&CREDENTIALS_FILE_MODE, sandbox.facts()).status,
            Status::Skipped
        );
        // Without a region, `devboot up` gives the emulator one.
        sandbox.write(
            "devboot.toml",
            "schema = 1\n[project]\nname = \"emu\"\n[services.db]\nimage = \"postgres:16\"\n[aws]\nmode = \"emulator\"\nemulator_endpoint = \"http://moto:5000\"\n",
        );
        let region = run(&REGION, sandbox.facts());
        assert_eq!(region.status, Status::Ok);
        assert!(
            region.summary.starts_with("us-east-1"),
            "{}",
            region.summary
        );
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(Duration::from_secs(45)), "45 s");
        assert_eq!(span(Duration::from_secs(23 * 60)), "23 min");
        assert_eq!(span(Duration::from_secs(7 * 3600 + 600)), "7 h 10 min");
        assert_eq!(span(Duration::from_secs(2 * 3600)), "2 h");
        assert_eq!(span(Duration::from_secs(3 * 86_400)), "3 days");
    }
}
