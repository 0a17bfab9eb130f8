//! AWS SSO login state, read from the CLI's token cache before anything calls AWS: is the
//! profile an SSO profile, and if so, is there a cached login that still works? A dead login
//! becomes the exact `aws sso login` command to run, instead of an SDK error mid-request.
//!
//! The cache file is `~/.aws/sso/cache/<sha1 hex>.json`, keyed by the `sso_session` name, or by
//! the `sso_start_url` for legacy profiles (`aws-config` `sso/cache.rs`). Its `expiresAt`
//! says when the access token dies; an `sso-session` login also holds a refresh token that the
//! SDK uses until `registrationExpiresAt` (`sso/token.rs`).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::config::{AwsFiles, BaseSource, Profiles};
use super::error::AwsError;
use crate::shell::shell_word;

/// What the cache says about a profile's SSO login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoState {
    /// The profile's credentials do not come from SSO.
    NotSso,
    /// A cached access token valid until `expires`.
    Valid { expires: SystemTime },
    /// The access token has expired, but the cached refresh token is still registered: the
    /// SDK renews the login by itself.
    Refreshable {
        expired_at: SystemTime,
        registration_expires: SystemTime,
    },
    /// The login is over (or the cache file is unreadable); the developer must log in again.
    Expired {
        expired_at: Option<SystemTime>,
        login_command: String,
    },
    /// No cached login at all on this machine.
    Missing {
        cache_file: PathBuf,
        login_command: String,
    },
    /// The SSO settings cannot work as written.
    Misconfigured { profile: String, problem: String },
}

impl SsoState {
    /// The command that fixes an [`SsoState::Expired`] or [`SsoState::Missing`] login.
    pub fn login_command(&self) -> Option<&str> {
        match self {
            Self::Expired { login_command, .. } | Self::Missing { login_command, .. } => {
                Some(login_command)
            }
            _ => None,
        }
    }

    /// The state as an error, for states that stop credentials from resolving.
    pub fn into_error(self, profile: &str) -> Option<AwsError> {
        match self {
            Self::Expired { login_command, .. } => Some(AwsError::SsoLogin {
                profile: profile.to_owned(),
                expired: true,
                login_command,
            }),
            Self::Missing { login_command, .. } => Some(AwsError::SsoLogin {
                profile: profile.to_owned(),
                expired: false,
                login_command,
            }),
            Self::Misconfigured { profile, problem } => {
                Some(AwsError::SsoConfig { profile, problem })
            }
            Self::NotSso | Self::Valid { .. } | Self::Refreshable { .. } => None,
        }
    }
}

/// Reads the shared files and the SSO cache under `files.home` and judges `profile`'s login
/// at `now`.
pub fn sso_state_from_files(
    files: &AwsFiles,
    profile: &str,
    now: SystemTime,
) -> Result<SsoState, AwsError> {
    let texts = files.read()?;
    let names: Vec<String> = [&files.config, &files.credentials]
        .into_iter()
        .flatten()
        .map(|p| p.display().to_string())
        .collect();
    let profiles = Profiles::parse(&texts, &names)?;
    let Some(cache_dir) = files.sso_cache_dir() else {
        return Ok(SsoState::NotSso);
    };
    Ok(sso_state(&profiles, profile, &cache_dir, now))
}

/// Judges `profile`'s SSO login from parsed profiles and the cache directory.
pub fn sso_state(
    profiles: &Profiles,
    profile: &str,
    cache_dir: &Path,
    now: SystemTime,
) -> SsoState {
    let Ok(chain) = profiles.chain(profile) else {
        // A broken chain is reported by credential resolution, with close matches.
        return SsoState::NotSso;
    };
    let BaseSource::Sso { session } = &chain.base else {
        return SsoState::NotSso;
    };
    let sso_profile = chain.base_profile.as_str();
    let misconfigured = |problem: String| SsoState::Misconfigured {
        profile: sso_profile.to_owned(),
        problem,
    };
    let key = if let Some(session) = session {
        if !profiles.has_sso_session(session) {
            return misconfigured(format!(
                "`sso_session = {session}` names no `[sso-session {session}]` section"
            ));
        }
        for key in ["sso_start_url", "sso_region"] {
            if profiles.sso_session_get(session, key).is_none() {
                return misconfigured(format!("`[sso-session {session}]` has no `{key}`"));
            }
        }
        session.clone()
    } else {
        for key in ["sso_region", "sso_account_id", "sso_role_name"] {
            if profiles.get(sso_profile, key).is_none() {
                return misconfigured(format!("the profile has `sso_start_url` but no `{key}`"));
            }
        }
        let Some(url) = profiles.get(sso_profile, "sso_start_url") else {
            return misconfigured("the profile has no `sso_start_url`".to_owned());
        };
        url.to_owned()
    };
    let login_command = format!("aws sso login --profile {}", shell_word(sso_profile));
    let cache_file = cache_dir.join(cache_file_name(&key));
    let text = match std::fs::read_to_string(&cache_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return SsoState::Missing {
                cache_file,
                login_command,
            };
        }
        Err(_) => {
            return SsoState::Expired {
                expired_at: None,
                login_command,
            };
        }
    };
    let Some(token) = CachedToken::parse(&text) else {
        return SsoState::Expired {
            expired_at: None,
            login_command,
        };
    };
    if token.expires_at > now {
        return SsoState::Valid {
            expires: token.expires_at,
        };
    }
    // Legacy (start-URL) logins cannot refresh; session logins can while registered.
    match token.registration_expires.filter(|_| session.is_some()) {
        Some(registration) if token.can_refresh && registration > now => SsoState::Refreshable {
            expired_at: token.expires_at,
            registration_expires: registration,
        },
        _ => SsoState::Expired {
            expired_at: Some(token.expires_at),
            login_command,
        },
    }
}

/// `<sha1 hex of key>.json`: the cache file for an `sso_session` name or a legacy start URL.
pub fn cache_file_name(key: &str) -> String {
    format!("{}.json", sha1_smol::Sha1::from(key).digest())
}

/// The fields of a cache file that matter here (the token itself is never kept).
struct CachedToken {
    expires_at: SystemTime,
    can_refresh: bool,
    registration_expires: Option<SystemTime>,
}

impl CachedToken {
    fn parse(text: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let object = value.as_object()?;
        // The SDK matches these keys case-insensitively.
        let field = |name: &str| {
            object
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        field("accessToken")?;
        let expires_at = super::parse_rfc3339(field("expiresAt")?)?;
        let can_refresh = ["refreshToken", "clientId", "clientSecret"]
            .iter()
            .all(|k| field(k).is_some());
        Some(Self {
            expires_at,
            can_refresh,
            registration_expires: field("registrationExpiresAt").and_then(super::parse_rfc3339),
        })
    }
}

/// `aws sso login --profile PROFILE`, quoted for a shell.
pub fn profile_login_command(profile: &str) -> String {
    format!("aws sso login --profile {}", shell_word(profile))
}

/// `aws sso login --sso-session SESSION` (AWS CLI v2): one login for every profile of the
/// session.
pub fn session_login_command(session: &str) -> String {
    format!("aws sso login --sso-session {}", shell_word(session))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::aws::testing::TempHome;

    const CONFIG: &str = "\
[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Developer
region = eu-west-1

[profile app]
role_arn = arn:aws:iam::111122223333:role/app
source_profile = dev

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = ReadOnly

[profile broken]
sso_session = nowhere

[profile keys]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = secret
";

    fn now() -> SystemTime {
        crate::aws::parse_rfc3339("2026-11-22T10:00:00Z").unwrap()
    }

    fn home() -> TempHome {
        let home = TempHome::new();
        home.write(".aws/config", CONFIG);
        home
    }

    fn state(home: &TempHome, profile: &str) -> SsoState {
        sso_state_from_files(&AwsFiles::from_env(&home.env([])), profile, now()).unwrap()
    }

    fn cache(home: &TempHome, key: &str, json: &str) {
        home.write(&format!(".aws/sso/cache/{}", cache_file_name(key)), json);
    }

    #[test]
    fn cache_names_are_the_sha1_of_the_session_or_start_url() {
        // `printf %s KEY | sha1sum`; "admin" is also in aws-config's tests (sso/cache.rs).
        assert_eq!(
            cache_file_name("https://d-abc123.awsapps.com/start"),
            "40a89917e3175433e361b710a9d43528d7f1890a.json"
        );
        assert_eq!(
            cache_file_name("admin"),
            "d033e22ae348aeb5660fc2140aec35850c4da997.json"
        );
    }

    #[test]
    fn profiles_without_sso_are_not_sso() {
        let home = home();
        assert_eq!(state(&home, "keys"), SsoState::NotSso);
        assert_eq!(state(&home, "nosuchprofile"), SsoState::NotSso);
    }

    #[test]
    fn a_never_started_session_names_the_login_command() {
        let home = home();
        let SsoState::Missing {
            cache_file,
            login_command,
        } = state(&home, "dev")
        else {
            panic!("expected Missing");
        };
        assert_eq!(login_command, "aws sso login --profile dev");
        assert!(cache_file.ends_with(cache_file_name("corp")));
        // A role profile sourcing from the SSO profile logs in through that profile.
        assert_eq!(
            state(&home, "app").login_command(),
            Some("aws sso login --profile dev")
        );
    }

    #[test]
    fn valid_expired_and_refreshable_tokens() {
        let home = home();
        cache(
            &home,
            "corp",
            r#"{"accessToken":"t","expiresAt":"2026-11-22T11:00:00Z"}"#,
        );
        assert_eq!(
            state(&home, "dev"),
            SsoState::Valid {
                expires: now() + Duration::from_secs(3600)
            }
        );

        cache(
            &home,
            "corp",
            r#"{"accessToken":"t","expiresAt":"2026-11-22T09:00:00Z"}"#,
        );
        assert_eq!(
            state(&home, "dev"),
            SsoState::Expired {
                expired_at: Some(now() - Duration::from_secs(3600)),
                login_command: "aws sso login --profile dev".into()
            }
        );

        let refreshable = r#"{"accessToken":"t","expiresAt":"2026-11-22T09:00:00Z",
            "refreshToken":"r","clientId":"c","clientSecret":"s",
            "registrationExpiresAt":"2026-12-22T09:00:00Z"}"#;
        cache(&home, "corp", refreshable);
        assert!(matches!(state(&home, "dev"), SsoState::Refreshable { .. }));

        let lapsed = refreshable.replace("2026-12-22", "2026-11-21");
        cache(&home, "corp", &lapsed);
        assert!(matches!(state(&home, "dev"), SsoState::Expired { .. }));
    }

    #[test]
    fn legacy_profiles_use_the_start_url_and_never_refresh() {
        let home = home();
        cache(
            &home,
            "https://legacy.awsapps.com/start",
            r#"{"accessToken":"t","expiresAt":"2026-11-22T09:00:00UTC","refreshToken":"r","clientId":"c","clientSecret":"s","registrationExpiresAt":"2027-01-01T00:00:00Z"}"#,
        );
        assert_eq!(
            state(&home, "legacy").login_command(),
            Some("aws sso login --profile legacy")
        );
    }

    #[test]
    fn corrupt_cache_files_need_a_new_login() {
        let home = home();
        cache(&home, "corp", "{not json");
        assert!(matches!(
            state(&home, "dev"),
            SsoState::Expired {
                expired_at: None,
                ..
            }
        ));
    }

    #[test]
    fn broken_settings_are_reported_not_guessed() {
        let home = home();
        let state = state(&home, "broken");
        assert!(
            matches!(&state, SsoState::Misconfigured { problem, .. } if problem.contains("[sso-session nowhere]")),
            "{state:?}"
        );
        assert!(matches!(
            state.into_error("broken"),
            Some(AwsError::SsoConfig { .. })
        ));
    }

    #[test]
    fn odd_profile_names_are_quoted() {
        assert_eq!(
            profile_login_command("team/dev"),
            "aws sso login --profile team/dev"
        );
        assert_eq!(
            session_login_command("it's"),
            r"aws sso login --sso-session 'it'\''s'"
        );
    }
}
