//! The checks that ask AWS: `aws.credentials` (STS `GetCallerIdentity` through the developer's
//! chain, exactly as `devboot up` resolves it), `aws.clock` (the skew between the host clock
//! and the `Date` of STS's reply) and `aws.account` (the account against the project's
//! `[aws] account`). One `GetCallerIdentity` serves all three: the first check to ask makes the
//! call, the others wait for it ([`Facts::aws_caller`]).
//!
//! The STS endpoint is the one the SDKs would use: `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`
//! or the profile's `endpoint_url` (an emulator such as moto), else AWS. EC2 instance metadata
//! is not asked: on a workstation it only adds seconds of timeouts.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::aws::config::ProfileOrigin;
use crate::aws::{AwsError, Identity, rfc3339};
use crate::doctor::check::{Check, Outcome, Run};
use crate::doctor::facts::Facts;
use crate::doctor::facts::aws::{Scope, Setup, origin_text, span, sync_clock_command};
use crate::shell::shell_word;

/// The time limit of the checks that call STS: resolving credentials may run an SSO refresh
/// or a `credential_process`, and STS may retry.
const AWS_CALL: Duration = Duration::from_secs(30);

pub(super) const CREDENTIALS: Check = Check {
    id: "aws.credentials",
    title: "AWS accepts the credentials (STS GetCallerIdentity)",
    depends_on: &["aws.profile", "aws.region"],
    timeout: AWS_CALL,
    run: Run::Async(|facts| Box::pin(credentials(facts))),
    safe_fix: None,
};

pub(super) const CLOCK: Check = Check {
    id: "aws.clock",
    title: "The host clock agrees with AWS's",
    depends_on: &["aws.profile", "aws.region"],
    timeout: AWS_CALL,
    run: Run::Async(|facts| Box::pin(clock(facts))),
    safe_fix: None,
};

pub(super) const ACCOUNT: Check = Check {
    id: "aws.account",
    title: "The credentials belong to the account the project expects",
    depends_on: &["aws.credentials"],
    timeout: AWS_CALL,
    run: Run::Async(|facts| Box::pin(account(facts))),
    safe_fix: None,
};

/// Skew past this warns: the SDKs start to refuse at 5 minutes, and clocks drift further.
const SKEW_WARN: i64 = 60;
/// Skew past this fails: AWS refuses `SigV4` signatures more than 5 minutes off.
const SKEW_ERROR: i64 = 300;

/// The account AWS emulators (moto, `LocalStack`) answer with.
const EMULATOR_ACCOUNT: &str = "123456789012";

async fn credentials(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let setup = Setup::load(&facts, Scope::Identity)?;
    let caller = facts.aws_caller(&setup).await;
    let (host, probe) = match (&caller.host, &caller.probe) {
        (Ok(host), Some(probe)) => (host, probe),
        (Err(error), _) => return Ok(credentials_failed(error, &setup.profile)),
        (Ok(_), None) => return Err(Outcome::skipped("no call was made")),
    };
    Ok(match &probe.identity {
        Ok(identity) => credentials_ok(identity, host.endpoint_url.as_deref(), SystemTime::now()),
        Err(error) => credentials_failed(error, &host.profile),
    })
}

fn credentials_ok(identity: &Identity, endpoint: Option<&str>, now: SystemTime) -> Outcome {
    let mut outcome = Outcome::ok(format!(
        "{} (account {}), key {}",
        identity.arn, identity.account, identity.access_key_id_masked
    ))
    .detail(format!(
        "profile `{}`, region {}, credentials from {}",
        identity.profile,
        identity.region,
        identity.source.label()
    ))
    .detail(match identity.expires {
        Some(expires) => match expires.duration_since(now) {
            Ok(left) => format!(
                "the credentials expire at {} (in {}); devboot refreshes them for the app",
                rfc3339(expires),
                span(left)
            ),
            Err(_) => format!("the credentials expired at {}", rfc3339(expires)),
        },
        None => {
            "long-term keys: they do not expire (the app gets one-hour sessions made from them)"
                .to_owned()
        }
    });
    if let Some(endpoint) = endpoint {
        outcome = outcome.detail(format!(
            "answered by {endpoint} (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or the profile's endpoint_url), not by AWS itself"
        ));
    }
    outcome
}

/// The outcome of a failed resolution or call: the error's message, code and fix.
fn credentials_failed(error: &AwsError, profile: &str) -> Outcome {
    let text = error.to_string();
    let mut lines = text.lines();
    let mut outcome = Outcome::error(lines.next().unwrap_or_default().to_owned())
        .details(lines.map(|l| l.trim().trim_start_matches("- ").to_owned()))
        .detail(format!("error code: {}", error.code()));
    let hint = error.hint().unwrap_or_default();
    let p = shell_word(profile);
    outcome = match error {
        AwsError::NoCredentials { .. } => outcome
            .detail("devboot doctor does not ask EC2 instance metadata")
            .fix_with(
                format!("set up profile `{profile}` with an AWS SSO login"),
                format!("aws configure sso --profile {p}"),
            )
            .fix_with("or store an access key in it", format!("aws configure --profile {p}")),
        AwsError::ProfileNotFound { .. } => outcome
            .fix(format!("{hint} (see `aws.profile`)"))
            .fix_with("list the profiles", "aws configure list-profiles"),
        AwsError::SsoLogin { login_command, .. } => {
            outcome.fix_with("log in again (opens a browser)", login_command.clone())
        }
        AwsError::SsoConfig { profile, .. } => outcome.fix_with(
            "write a complete SSO configuration",
            format!("aws configure sso --profile {}", shell_word(profile)),
        ),
        AwsError::ExpiredToken {
            stale_env_token: true,
            ..
        }
        | AwsError::InvalidKey {
            stale_env_token: true,
            ..
        } => outcome.fix_with(hint, "unset AWS_SESSION_TOKEN"),
        AwsError::ExpiredToken { .. } => outcome
            .fix(format!(
                "{hint}; for keys in ~/.aws/credentials, replace the profile's expired aws_session_token and keys"
            ))
            .fix_with("then check", format!("aws sts get-caller-identity --profile {p}")),
        AwsError::InvalidKey { .. } => outcome.fix_with(
            "the key was deleted, deactivated or mistyped: store a new one",
            format!("aws configure --profile {p}"),
        ),
        AwsError::ClockSkew { .. } => outcome
            .detail("see `aws.clock`")
            .fix_with("sync the host clock", sync_clock_command()),
        AwsError::NoRegion { .. } => outcome.fix_with(
            "set a region (see `aws.region`)",
            format!("aws configure set region eu-west-1 --profile {p}"),
        ),
        _ => outcome
            .fix(hint)
            .fix_with("compare with the AWS CLI", format!("aws sts get-caller-identity --profile {p}")),
    };
    outcome
}

async fn clock(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let setup = Setup::load(&facts, Scope::Identity)?;
    let caller = facts.aws_caller(&setup).await;
    let host = caller.host.as_ref().map_err(|error| {
        Outcome::skipped(format!(
            "the AWS setup does not load (see `aws.profile`): {error}"
        ))
    })?;
    let skew = match caller.probe.as_ref().and_then(|p| p.clock_skew_secs) {
        Some(skew) => skew,
        // The credentials did not get as far as STS: ask for its time without them.
        None => host.clock_skew().await.map_err(|error| {
            Outcome::skipped(format!("no reply from STS to read its clock: {error}"))
        })?,
    };
    Ok(judge_clock(skew))
}

/// Judges `skew` (AWS time minus host time, in seconds).
fn judge_clock(skew: i64) -> Outcome {
    let magnitude = skew.unsigned_abs();
    if magnitude <= SKEW_WARN.unsigned_abs() {
        return Outcome::ok(format!(
            "within {magnitude} s of AWS's clock (the `Date` of STS's reply)"
        ));
    }
    let said = AwsError::ClockSkew { skew_secs: skew }.to_string();
    let outcome = if magnitude > SKEW_ERROR.unsigned_abs() {
        Outcome::error(said)
            .detail("AWS refuses requests signed more than 5 minutes off: SignatureDoesNotMatch (\"Signature expired\"), RequestTimeTooSkewed")
    } else {
        Outcome::warn(said).detail(
            "AWS refuses requests signed more than 5 minutes off; the clock is on its way there",
        )
    };
    outcome
        .detail("the Rust SDK devboot uses corrects skew by itself, the Ruby SDK in the app container does not; `docker.clock` compares the engine's clock")
        .fix_with("synchronise the host clock", sync_clock_command())
}

async fn account(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let setup = Setup::load(&facts, Scope::Identity)?;
    let expected = setup
        .settings
        .and_then(|s| s.account.clone())
        .ok_or_else(|| {
            Outcome::skipped(
                "the project names no expected account (`account` under [aws] in devboot.toml)",
            )
        })?;
    let caller = facts.aws_caller(&setup).await;
    let Some(Ok(identity)) = caller.probe.as_ref().map(|p| &p.identity) else {
        return Err(Outcome::skipped("no identity (see `aws.credentials`)"));
    };
    let for_account = setup
        .profiles
        .as_ref()
        .map(|profiles| profiles.profiles_for_account(&expected))
        .unwrap_or_default();
    Ok(judge_account(
        identity,
        &expected,
        setup.origin,
        &for_account,
    ))
}

fn judge_account(
    identity: &Identity,
    expected: &str,
    origin: ProfileOrigin,
    profiles_for_expected: &[String],
) -> Outcome {
    if identity.account == expected {
        return Outcome::ok(format!(
            "account {expected}, as the project expects ({})",
            identity.arn
        ));
    }
    let mut outcome = Outcome::error(format!(
        "these credentials belong to account {}, the project expects {expected}",
        identity.account
    ))
    .detail(format!(
        "{} through profile `{}` ({})",
        identity.arn,
        identity.profile,
        origin_text(origin)
    ));
    if identity.account == EMULATOR_ACCOUNT {
        outcome = outcome.detail(format!(
            "{EMULATOR_ACCOUNT} is the account AWS emulators (moto, LocalStack) answer with: does AWS_ENDPOINT_URL point at one?"
        ));
    }
    for profile in profiles_for_expected.iter().take(3) {
        outcome = match origin {
            ProfileOrigin::Requested => outcome.fix(format!(
                "use profile `{profile}` (it names account {expected}): `profile = \"{profile}\"` under [aws] in devboot.local.toml"
            )),
            _ => outcome.fix_with(
                format!("use profile `{profile}` (it names account {expected})"),
                format!("export AWS_PROFILE={}", shell_word(profile)),
            ),
        };
    }
    if profiles_for_expected.is_empty() {
        outcome = outcome
            .fix(format!(
                "pick the profile of account {expected}: `profile` under [aws] in devboot.local.toml, or AWS_PROFILE"
            ))
            .fix_with("see the profiles this machine has", "aws configure list-profiles");
    }
    outcome
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::aws::CredentialSource;
    use crate::aws::testing::StubSts;
    use crate::doctor::check::{Check, Run, Status};
    use crate::doctor::testing::{Sandbox, reported, write};

    fn identity(account: &str) -> Identity {
        Identity {
            account: account.to_owned(),
            arn: format!("arn:aws:iam::{account}:user/dev"),
            user_id: "AIDAEXAMPLE".into(),
            source: CredentialSource::Profile,
            access_key_id_masked: "****************MPLE".into(),
            expires: None,
            profile: "dev".into(),
            region: "eu-west-1".into(),
            clock_skew_secs: Some(0),
        }
    }

    fn commands(outcome: &Outcome) -> Vec<&str> {
        outcome
            .fixes
            .iter()
            .filter_map(|f| f.command.as_deref())
            .collect()
    }

    #[test]
    fn profiles_naming_an_account_are_found_for_the_fix() {
        let texts = crate::aws::config::FileTexts {
            config: "[profile prod]\nsso_session = corp\nsso_account_id = 444455556666\n\
                     [profile admin]\nrole_arn = arn:aws:iam::444455556666:role/admin\nsource_profile = prod\n\
                     [profile dev]\nrole_arn = arn:aws:iam::111122223333:role/dev\n"
                .into(),
            credentials: String::new(),
        };
        let profiles = crate::aws::config::Profiles::parse(&texts, &[]).unwrap();
        assert_eq!(
            profiles.profiles_for_account("444455556666"),
            ["admin", "prod"]
        );
        assert!(profiles.profiles_for_account("999999999999").is_empty());
    }

    #[test]
    fn clock_thresholds() {
        assert_eq!(judge_clock(0).status, Status::Ok);
        assert_eq!(judge_clock(-60).status, Status::Ok);
        let warn = judge_clock(-120);
        assert_eq!(warn.status, Status::Warn);
        assert_eq!(warn.summary, "the host clock is ahead of AWS time by 120 s");
        let error = judge_clock(1200);
        assert_eq!(error.status, Status::Error);
        assert_eq!(error.summary, "the host clock is behind AWS time by 1200 s");
        assert_eq!(commands(&error), [sync_clock_command()]);
    }

    #[test]
    fn a_wrong_account_names_both_and_the_profile_to_use() {
        let outcome = judge_account(
            &identity("111122223333"),
            "444455556666",
            ProfileOrigin::AwsProfileVar,
            &["prod".into()],
        );
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.summary,
            "these credentials belong to account 111122223333, the project expects 444455556666"
        );
        assert_eq!(commands(&outcome), ["export AWS_PROFILE=prod"]);
        let outcome = judge_account(
            &identity(EMULATOR_ACCOUNT),
            "444455556666",
            ProfileOrigin::Requested,
            &[],
        );
        assert!(outcome.details.iter().any(|d| d.contains("moto")));
        assert!(outcome.fixes[0].description.contains("devboot.local.toml"));
        let outcome = judge_account(
            &identity("444455556666"),
            "444455556666",
            ProfileOrigin::Default,
            &[],
        );
        assert_eq!(outcome.status, Status::Ok);
    }

    #[test]
    fn a_successful_call_shows_the_arn_and_the_masked_key() {
        let now = SystemTime::now();
        let mut id = identity("123456789012");
        id.expires = Some(now + Duration::from_secs(3000));
        let outcome = credentials_ok(&id, Some("http://127.0.0.1:5000"), now);
        assert_eq!(
            outcome.summary,
            "arn:aws:iam::123456789012:user/dev (account 123456789012), key ****************MPLE"
        );
        assert!(
            outcome.details[1].contains("(in 50 min)"),
            "{:?}",
            outcome.details
        );
        assert!(outcome.details[2].contains("http://127.0.0.1:5000"));
    }

    #[test]
    fn error_classes_get_their_fixes() {
        let e = AwsError::ExpiredToken {
            source_label: "static keys in a profile".into(),
            stale_env_token: false,
        };
        let outcome = credentials_failed(&e, "dev");
        assert_eq!(
            outcome.summary,
            "AWS rejected the credentials as expired (from static keys in a profile)"
        );
        assert!(
            outcome
                .details
                .contains(&"error code: ExpiredToken".to_owned())
        );
        assert_eq!(
            commands(&outcome),
            ["aws sts get-caller-identity --profile dev"]
        );

        let e = AwsError::InvalidKey {
            key_masked: "****************MPLE".into(),
            code: "InvalidClientTokenId".into(),
            stale_env_token: true,
        };
        assert_eq!(
            commands(&credentials_failed(&e, "dev")),
            ["unset AWS_SESSION_TOKEN"]
        );

        let e = AwsError::NoCredentials {
            profile: "dev".into(),
            attempts: vec![crate::aws::error::Attempt {
                provider: "Environment",
                reason: "AWS_ACCESS_KEY_ID is not set".into(),
            }],
        };
        let outcome = credentials_failed(&e, "dev");
        assert_eq!(
            outcome.summary,
            "no AWS credentials found for profile `dev`"
        );
        assert_eq!(
            outcome.details[0],
            "Environment: AWS_ACCESS_KEY_ID is not set"
        );
        assert_eq!(
            commands(&outcome),
            [
                "aws configure sso --profile dev",
                "aws configure --profile dev"
            ]
        );
    }

    fn stub_sandbox(url: &str) -> Sandbox {
        let mut sandbox = Sandbox::new();
        write(
            &sandbox.home().join(".aws/credentials"),
            "[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
        );
        write(
            &sandbox.home().join(".aws/config"),
            "[profile dev]\nregion = eu-west-1\n",
        );
        sandbox
            .var("AWS_PROFILE", "dev")
            .var("AWS_ENDPOINT_URL_STS", url);
        sandbox
    }

    /// Starts a stub STS answering `code` with a `Date` `offset` seconds off, then runs async
    /// `checks` one after the other on the same runtime, sharing one `Facts` (and so one STS
    /// call); `sandbox` gets the stub's URL.
    fn with_stub(
        code: &str,
        offset: i64,
        sandbox: impl FnOnce(&str) -> Sandbox,
        checks: &[&Check],
    ) -> Vec<Outcome> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let stub = StubSts::error(403, code, offset).await;
                let sandbox = sandbox(&stub.url());
                let facts = Arc::new(sandbox.facts());
                let mut outcomes = Vec::new();
                for check in checks {
                    let Run::Async(run) = check.run else {
                        panic!("{} is not async", check.id);
                    };
                    outcomes.push(reported(run(Arc::clone(&facts)).await));
                }
                outcomes
            })
    }

    #[test]
    fn an_expired_token_with_a_skewed_clock_from_the_stub_sts() {
        let outcomes = with_stub(
            "ExpiredToken",
            150,
            stub_sandbox,
            &[&CREDENTIALS, &CLOCK, &ACCOUNT],
        );
        assert_eq!(outcomes[0].status, Status::Error, "{:?}", outcomes[0]);
        assert_eq!(
            outcomes[0].summary,
            "AWS rejected the credentials as expired (from static keys in a profile)"
        );
        assert_eq!(outcomes[1].status, Status::Warn, "{:?}", outcomes[1]);
        assert!(
            outcomes[1]
                .summary
                .starts_with("the host clock is behind AWS time by 1"),
            "{}",
            outcomes[1].summary
        );
        assert_eq!(outcomes[2].status, Status::Skipped);
    }

    #[test]
    fn a_clock_far_off_turns_a_signature_error_into_a_clock_error() {
        let outcomes = with_stub(
            "SignatureDoesNotMatch",
            -900,
            stub_sandbox,
            &[&CREDENTIALS, &CLOCK],
        );
        assert_eq!(outcomes[0].status, Status::Error);
        assert!(
            outcomes[0].summary.contains("ahead of AWS time"),
            "{}",
            outcomes[0].summary
        );
        assert_eq!(outcomes[1].status, Status::Error);
        assert_eq!(commands(&outcomes[1]), [sync_clock_command()]);
    }

    #[test]
    fn a_dead_sso_login_still_gets_the_clock_compared_without_credentials() {
        let sso = |url: &str| {
            let mut sandbox = Sandbox::new();
            write(
                &sandbox.home().join(".aws/config"),
                "[profile dev]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\nregion = eu-west-1\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
            );
            sandbox
                .var("AWS_PROFILE", "dev")
                .var("AWS_ENDPOINT_URL_STS", url);
            sandbox
        };
        let outcomes = with_stub("InvalidClientTokenId", 0, sso, &[&CREDENTIALS, &CLOCK]);
        assert_eq!(outcomes[0].status, Status::Error);
        assert_eq!(commands(&outcomes[0]), ["aws sso login --profile dev"]);
        assert_eq!(outcomes[1].status, Status::Ok, "{:?}", outcomes[1]);
    }
}
