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

use crate::doctor::check::{Check, QUICK, Run, SLOW, SafeFix};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::checks::testing::{Sandbox, run};
    use crate::doctor::facts::aws::NOT_SET_UP;

    #[test]
    fn without_any_aws_setup_every_check_is_skipped_saying_why() {
        let sandbox = Sandbox::new();
        sandbox.write("devboot.toml", crate::doctor::checks::testing::PROFILE);
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
}
