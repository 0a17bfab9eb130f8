//! `aws.sso_session`: the AWS SSO login of the selected profile, read from the CLI's token
//! cache (`~/.aws/sso/cache/<sha1>.json`) before anything calls AWS — expired, never started on
//! this machine, ending within the hour, or configured so that it cannot work.

use std::time::{Duration, SystemTime};

use crate::aws::config::BaseSource;
use crate::aws::sso::{profile_login_command, session_login_command, sso_state};
use crate::aws::{SsoState, rfc3339};
use crate::doctor::check::{Check, Outcome, QUICK, Run};
use crate::doctor::facts::Facts;
use crate::doctor::facts::aws::{Scope, Setup, span};
use crate::shell::shell_word;

pub(super) const SSO_SESSION: Check = Check {
    id: "aws.sso_session",
    title: "The AWS SSO login is alive",
    depends_on: &["aws.profile"],
    timeout: QUICK,
    run: Run::Blocking(sso_session),
    safe_fix: None,
};

/// A login ending sooner than this is a warning: it dies in the middle of the work.
const EXPIRING_SOON: Duration = Duration::from_secs(3600);

fn sso_session(facts: &Facts) -> Result<Outcome, Outcome> {
    let setup = Setup::load(facts, Scope::Identity)?;
    let chain = setup.chain()?;
    let BaseSource::Sso { session } = &chain.base else {
        return Err(Outcome::skipped(format!(
            "profile `{}` does not use AWS SSO",
            setup.profile
        )));
    };
    let (Ok(profiles), Some(cache_dir)) = (setup.profiles(), setup.files.sso_cache_dir()) else {
        return Err(Outcome::skipped("no home directory, so no SSO token cache"));
    };
    let now = SystemTime::now();
    let state = sso_state(profiles, &setup.profile, &cache_dir, now);
    Ok(judge_sso(
        &state,
        &chain.base_profile,
        session.as_deref(),
        now,
        &|path| facts.display(path),
    ))
}

/// Judges an SSO login state. `profile` is the profile holding the SSO settings (the one to
/// log in with), `session` its `sso_session`.
fn judge_sso(
    state: &SsoState,
    profile: &str,
    session: Option<&str>,
    now: SystemTime,
    display: &dyn Fn(&std::path::Path) -> String,
) -> Outcome {
    let again = if matches!(state, SsoState::Missing { .. }) {
        "log in (opens a browser)"
    } else {
        "log in again (opens a browser)"
    };
    let login = |outcome: Outcome| {
        let outcome = outcome.fix_with(again, profile_login_command(profile));
        match session {
            Some(session) => outcome.fix_with(
                format!("or log in once for every profile of session `{session}` (AWS CLI v2)"),
                session_login_command(session),
            ),
            None => outcome,
        }
    };
    match state {
        SsoState::Valid { expires } => {
            let left = expires.duration_since(now).unwrap_or_default();
            if left < EXPIRING_SOON {
                login(Outcome::warn(format!(
                    "the AWS SSO login of profile `{profile}` expires in {} (at {})",
                    span(left),
                    rfc3339(*expires)
                )))
                .detail("the app loses its AWS credentials then, in the middle of the work")
            } else {
                Outcome::ok(format!(
                    "logged in to AWS SSO until {} ({} left)",
                    rfc3339(*expires),
                    span(left)
                ))
            }
        }
        SsoState::Refreshable {
            expired_at,
            registration_expires,
        } => Outcome::ok(format!(
            "the SSO access token expired at {}; the SDK renews it with the cached refresh token (registered until {})",
            rfc3339(*expired_at),
            rfc3339(*registration_expires)
        )),
        SsoState::Expired { expired_at, .. } => login(Outcome::error(match expired_at {
            Some(at) => format!(
                "the AWS SSO login of profile `{profile}` has expired (at {})",
                rfc3339(*at)
            ),
            None => format!(
                "the AWS SSO login of profile `{profile}` is unusable (its cached token does not read)"
            ),
        }))
        .detail("AWS calls fail with \"the SSO session associated with this profile has expired or is otherwise invalid\" until you log in again"),
        SsoState::Missing { cache_file, .. } => login(Outcome::error(format!(
            "profile `{profile}` has never logged in to AWS SSO on this machine"
        )))
        .detail(format!("no cached token at {}", display(cache_file))),
        SsoState::Misconfigured { profile, problem } => {
            let outcome = Outcome::error(format!(
                "the AWS SSO settings of profile `{profile}` are incomplete: {problem}"
            ))
            .fix_with(
                "write a complete SSO configuration for the profile",
                format!("aws configure sso --profile {}", shell_word(profile)),
            );
            if problem.contains("names no `[sso-session") {
                outcome.fix_with("or create the `[sso-session]` section", "aws configure sso-session")
            } else {
                outcome
            }
        }
        SsoState::NotSso => Outcome::skipped(format!("profile `{profile}` does not use AWS SSO")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::sso::cache_file_name;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{Sandbox, run, write};

    const CONFIG: &str = "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\nregion = eu-west-1\n\
        [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
        [profile app]\nrole_arn = arn:aws:iam::111122223333:role/app\nsource_profile = dev\n\
        [profile broken]\nsso_session = nowhere\n\
        [profile keys]\nregion = eu-west-1\n";

    fn sandbox(profile: &str) -> Sandbox {
        let mut sandbox = Sandbox::new();
        write(&sandbox.home().join(".aws/config"), CONFIG);
        sandbox.var("AWS_PROFILE", profile);
        sandbox
    }

    fn cache(sandbox: &Sandbox, expires: SystemTime) {
        write(
            &sandbox
                .home()
                .join(".aws/sso/cache")
                .join(cache_file_name("corp")),
            &format!(
                r#"{{"accessToken":"secret-token","expiresAt":"{}"}}"#,
                rfc3339(expires)
            ),
        );
    }

    fn commands(outcome: &Outcome) -> Vec<&str> {
        outcome
            .fixes
            .iter()
            .filter_map(|f| f.command.as_deref())
            .collect()
    }

    #[test]
    fn expired_missing_and_expiring_logins_name_the_login_commands() {
        let sandbox = sandbox("app");
        let outcome = run(&SSO_SESSION, sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "profile `dev` has never logged in to AWS SSO on this machine"
        );
        assert_eq!(
            commands(&outcome),
            [
                "aws sso login --profile dev",
                "aws sso login --sso-session corp"
            ]
        );
        assert!(outcome.details[0].starts_with("no cached token at ~/.aws/sso/cache/"));

        let now = SystemTime::now();
        cache(&sandbox, now - Duration::from_secs(7200));
        let outcome = run(&SSO_SESSION, sandbox.facts());
        assert_eq!(outcome.status, Status::Error);
        assert!(
            outcome.summary.contains("has expired (at "),
            "{}",
            outcome.summary
        );

        cache(&sandbox, now + Duration::from_secs(20 * 60));
        let outcome = run(&SSO_SESSION, sandbox.facts());
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert!(
            outcome.summary.contains("expires in 20 min"),
            "{}",
            outcome.summary
        );
        assert_eq!(commands(&outcome)[0], "aws sso login --profile dev");

        cache(&sandbox, now + Duration::from_secs(8 * 3600));
        let outcome = run(&SSO_SESSION, sandbox.facts());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(
            outcome.summary.ends_with("(8 h left)"),
            "{}",
            outcome.summary
        );
        assert!(!format!("{outcome:?}").contains("secret-token"));
    }

    #[test]
    fn broken_settings_and_non_sso_profiles() {
        let outcome = run(&SSO_SESSION, sandbox("broken").facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert!(outcome.summary.contains("[sso-session nowhere]"));
        assert_eq!(
            commands(&outcome),
            [
                "aws configure sso --profile broken",
                "aws configure sso-session"
            ]
        );
        let outcome = run(&SSO_SESSION, sandbox("keys").facts());
        assert_eq!(outcome.status, Status::Skipped);
        assert_eq!(outcome.summary, "profile `keys` does not use AWS SSO");
    }

    #[test]
    fn a_refreshable_token_is_fine() {
        let now = SystemTime::now();
        let state = SsoState::Refreshable {
            expired_at: now - Duration::from_secs(60),
            registration_expires: now + Duration::from_secs(86_400),
        };
        let outcome = judge_sso(&state, "dev", Some("corp"), now, &|p| {
            p.display().to_string()
        });
        assert_eq!(outcome.status, Status::Ok);
    }
}
