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

use crate::doctor::check::Check;

/// The family's checks, in report order.
pub(super) const CHECKS: &[Check] = &[
    profile::PROFILE,
    profile::DEFAULT_PROFILE_ENV,
    profile::ENV_KEYS,
    files::CREDENTIALS_FILE_MODE,
    sso::SSO_SESSION,
    profile::REGION,
    profile::CREDENTIAL_PROCESS,
    profile::MFA,
    identity::CREDENTIALS,
    identity::CLOCK,
    identity::ACCOUNT,
    container::CONTAINER_ENDPOINT,
    container::CONTAINER_CREDENTIALS,
    ecr::ECR_LOGIN,
];

#[cfg(test)]
mod tests {
    use super::CHECKS;
    use crate::doctor::check::{Check, Status};
    use crate::doctor::facts::aws::NOT_SET_UP;
    use crate::doctor::testing::{Sandbox, run};

    /// The family's check with `id`.
    fn check(id: &str) -> &'static Check {
        CHECKS.iter().find(|check| check.id == id).unwrap()
    }

    #[test]
    fn without_any_aws_setup_every_check_is_skipped_saying_why() {
        let sandbox = Sandbox::new();
        sandbox.write("devboot.toml", crate::doctor::testing::PROFILE);
        for id in [
            "aws.profile",
            "aws.default_profile_env",
            "aws.env_keys",
            "aws.sso_session",
            "aws.region",
            "aws.credential_process",
            "aws.mfa",
            "aws.credentials_file_mode",
            "aws.credentials",
            "aws.clock",
            "aws.account",
        ] {
            let check = check(id);
            let outcome = run(check, sandbox.facts());
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
        for id in [
            "aws.profile",
            "aws.env_keys",
            "aws.sso_session",
            "aws.credentials",
            "aws.clock",
            "aws.mfa",
        ] {
            let check = check(id);
            let outcome = run(check, sandbox.facts());
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
            run(check("aws.region"), sandbox.facts()).summary,
            "eu-west-1 (from the project's `[aws] region`)"
        );
        assert_eq!(
            run(check("aws.credentials_file_mode"), sandbox.facts()).status,
            Status::Skipped
        );
        // Without a region, `devboot up` gives the emulator one.
        sandbox.write(
            "devboot.toml",
            "schema = 1\n[project]\nname = \"emu\"\n[services.db]\nimage = \"postgres:16\"\n[aws]\nmode = \"emulator\"\nemulator_endpoint = \"http://moto:5000\"\n",
        );
        let region = run(check("aws.region"), sandbox.facts());
        assert_eq!(region.status, Status::Ok);
        assert!(
            region.summary.starts_with("us-east-1"),
            "{}",
            region.summary
        );
    }
}
