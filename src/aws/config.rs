//! The developer's AWS configuration as the SDK sees it, read through our [`Environment`]:
//! where the shared files are, which profile is selected, what its chain of `source_profile`
//! links resolves to, and the region and STS endpoint that apply.
//!
//! **How `Environment` reaches `aws-config`.** `aws-config` 1.x has no public way to give its
//! default chain a custom environment: `ConfigLoader::env`/`fs` and `ProviderConfig::with_env`
//! are `pub(crate)`/test-only, and `aws_types::os_shim_internal::Env` has no `from_custom`. So
//! devboot reads the two shared files itself (paths from `HOME`, `AWS_CONFIG_FILE`,
//! `AWS_SHARED_CREDENTIALS_FILE` in the snapshot) and hands their *contents* to `aws-config`
//! with `EnvConfigFiles::builder().with_contents(..)`: the SDK's own parser then sees exactly
//! these bytes and never touches the process environment or disk for them. Profile name,
//! region and endpoint are likewise decided here and passed explicitly; the credential chain
//! is assembled link by link in [`super::chain`]. The parsing itself goes through
//! `aws_config::profile::load` (which does accept a custom `Env`), so devboot's view of the
//! files cannot differ from the SDK's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aws_config::profile::ProfileSet;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use futures_util::FutureExt as _;

use super::error::AwsError;
use crate::env::Environment;

/// Where the profile name came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileOrigin {
    /// Named by devboot's own settings (`[aws] profile`, a flag).
    Requested,
    /// From the `AWS_PROFILE` variable.
    AwsProfileVar,
    /// Nothing named one: `default`.
    Default,
}

/// The shared config and credentials files, located the way the SDKs locate them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFiles {
    pub home: Option<PathBuf>,
    /// `AWS_CONFIG_FILE`, else `~/.aws/config`; `None` without either.
    pub config: Option<PathBuf>,
    /// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
    pub credentials: Option<PathBuf>,
}

impl AwsFiles {
    pub fn from_env(env: &Environment) -> Self {
        let home = env.home.clone();
        let locate = |var: &str, default: &str| match env.var(var) {
            Some(path) => Some(expand(path, home.as_deref(), &env.cwd)),
            None => home.as_ref().map(|h| h.join(default)),
        };
        Self {
            config: locate("AWS_CONFIG_FILE", ".aws/config"),
            credentials: locate("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
            home,
        }
    }

    /// `~/.aws/sso/cache`: the SDKs and the CLI always use this (no variable moves it).
    pub fn sso_cache_dir(&self) -> Option<PathBuf> {
        self.home.as_ref().map(|h| h.join(".aws/sso/cache"))
    }

    /// Both files' contents; a missing file reads as empty, as in the SDKs.
    pub fn read(&self) -> Result<FileTexts, AwsError> {
        Ok(FileTexts {
            config: read_optional(self.config.as_deref())?,
            credentials: read_optional(self.credentials.as_deref())?,
        })
    }

    /// The files' modification times and sizes, to notice edits.
    pub(crate) fn stamp(&self) -> FilesStamp {
        let one = |path: Option<&Path>| {
            path.and_then(|p| std::fs::metadata(p).ok())
                .map(|m| (m.modified().ok(), m.len()))
        };
        FilesStamp([
            one(self.config.as_deref()),
            one(self.credentials.as_deref()),
        ])
    }

    /// How the files are named in messages (`~/.aws/config`).
    pub fn display(&self, env: &Environment) -> Vec<String> {
        [&self.config, &self.credentials]
            .into_iter()
            .flatten()
            .map(|p| env.display_path(p))
            .collect()
    }
}

/// Modification time and length of each shared file (`None`: missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilesStamp([Option<(Option<SystemTime>, u64)>; 2]);

fn expand(path: &str, home: Option<&Path>, cwd: &Path) -> PathBuf {
    if let (Some(rest), Some(home)) = (path.strip_prefix("~/"), home) {
        return home.join(rest);
    }
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

fn read_optional(path: Option<&Path>) -> Result<String, AwsError> {
    let Some(path) = path else {
        return Ok(String::new());
    };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(AwsError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The contents of the two shared files.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FileTexts {
    pub config: String,
    pub credentials: String,
}

impl std::fmt::Debug for FileTexts {
    // The credentials file holds secret keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileTexts")
            .field("config_len", &self.config.len())
            .field("credentials_len", &self.credentials.len())
            .finish()
    }
}

impl FileTexts {
    /// The texts as an `aws-config` file set: contents only, so the SDK reads nothing itself.
    pub fn env_config_files(&self) -> EnvConfigFiles {
        EnvConfigFiles::builder()
            .with_contents(EnvConfigFileKind::Config, self.config.clone())
            .with_contents(EnvConfigFileKind::Credentials, self.credentials.clone())
            .build()
    }
}

/// The parsed profiles and `[sso-session]` sections.
#[derive(Debug, Clone)]
pub struct Profiles {
    sections: ProfileSet,
}

impl Profiles {
    /// Parses with the SDK's own parser. `files` names the files in messages.
    pub fn parse(texts: &FileTexts, files: &[String]) -> Result<Self, AwsError> {
        parse_set(&texts.env_config_files())
            .map(|sections| Self { sections })
            .map_err(|message| {
                // Say which file is broken: the config file alone parses, or it does not.
                let culprit = match (files, parse_config_only(&texts.config)) {
                    ([config, ..], Err(_)) => config.clone(),
                    ([_, credentials], Ok(())) => credentials.clone(),
                    _ => files.join(" or "),
                };
                AwsError::InvalidConfig {
                    message: format!("{culprit}: {message}"),
                }
            })
    }

    pub fn contains(&self, profile: &str) -> bool {
        self.sections.get_profile(profile).is_some()
    }

    /// A key of a profile.
    pub fn get(&self, profile: &str, key: &str) -> Option<&str> {
        self.sections
            .get_profile(profile)?
            .get(key)
            .filter(|v| !v.is_empty())
    }

    /// A key of an `[sso-session NAME]` section; `None` if the section is missing too.
    pub fn sso_session_get(&self, session: &str, key: &str) -> Option<&str> {
        self.sections
            .sso_session(session)?
            .get(key)
            .filter(|v| !v.is_empty())
    }

    pub fn has_sso_session(&self, session: &str) -> bool {
        self.sections.sso_session(session).is_some()
    }

    /// Profile names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.sections.profiles().map(str::to_owned).collect();
        names.sort();
        names
    }

    /// Defined profiles whose names are close to `name`, best first (at most three).
    pub fn suggestions(&self, name: &str) -> Vec<String> {
        let wanted = name.to_lowercase();
        let mut scored: Vec<(f64, String)> = self
            .names()
            .into_iter()
            .filter_map(|candidate| {
                let lower = candidate.to_lowercase();
                let score = strsim::jaro_winkler(&wanted, &lower);
                let close = score >= 0.85
                    || strsim::levenshtein(&wanted, &lower) <= 2
                    || (wanted.len() >= 3 && lower.contains(&wanted));
                close.then_some((score, candidate))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        scored.into_iter().take(3).map(|(_, n)| n).collect()
    }

    /// Profiles whose settings name `account`: `sso_account_id`, or the account of their
    /// `role_arn` (`arn:aws:iam::ACCOUNT:role/...`). Sorted.
    pub fn profiles_for_account(&self, account: &str) -> Vec<String> {
        self.names()
            .into_iter()
            .filter(|name| {
                self.get(name, "sso_account_id") == Some(account)
                    || self
                        .get(name, "role_arn")
                        .and_then(|arn| arn.split(':').nth(4))
                        == Some(account)
            })
            .collect()
    }

    /// Follows `profile`'s `role_arn`/`source_profile` links the way `aws-config` does
    /// (`profile/credentials/repr.rs`) and says where the credentials finally come from.
    pub fn chain(&self, profile: &str) -> Result<ProfileChain, ChainProblem> {
        let mut name = profile.to_owned();
        let mut visited: Vec<String> = Vec::new();
        let mut roles = Vec::new();
        let (base_profile, base) = loop {
            if !self.contains(&name) {
                return Err(ChainProblem::Missing {
                    name,
                    referenced_from: visited.last().cloned(),
                });
            }
            if visited.contains(&name) {
                visited.push(name);
                return Err(ChainProblem::Loop { profiles: visited });
            }
            visited.push(name.clone());
            // After the first hop, static keys end the chain.
            if visited.len() > 1 && self.get(&name, "aws_access_key_id").is_some() {
                break (name.clone(), self.base_of(&name));
            }
            let role_arn = self
                .get(&name, "role_arn")
                .filter(|_| self.get(&name, "web_identity_token_file").is_none());
            let Some(role_arn) = role_arn else {
                break (name.clone(), self.base_of(&name));
            };
            roles.push(RoleHop {
                profile: name.clone(),
                role_arn: role_arn.to_owned(),
                mfa_serial: self.get(&name, "mfa_serial").map(str::to_owned),
            });
            match (
                self.get(&name, "source_profile"),
                self.get(&name, "credential_source"),
            ) {
                (Some(source), _) if source == name => {
                    break (name.clone(), self.base_of(&name));
                }
                (Some(source), _) => source.clone_into(&mut name),
                (None, Some(source)) => {
                    break (name.clone(), BaseSource::NamedSource(source.to_owned()));
                }
                (None, None) => break (name.clone(), BaseSource::Nothing),
            }
        };
        Ok(ProfileChain {
            profile: profile.to_owned(),
            roles,
            base_profile,
            base,
        })
    }

    fn base_of(&self, profile: &str) -> BaseSource {
        let get = |key| self.get(profile, key);
        if let Some(source) = get("credential_source") {
            BaseSource::NamedSource(source.to_owned())
        } else if get("web_identity_token_file").is_some() {
            BaseSource::WebIdentity
        } else if get("sso_session").is_some() || get("sso_start_url").is_some() {
            BaseSource::Sso {
                session: get("sso_session").map(str::to_owned),
            }
        } else if get("login_session").is_some() {
            BaseSource::LoginSession
        } else if let Some(command) = get("credential_process") {
            BaseSource::Process {
                program: program_of(command),
            }
        } else if get("aws_access_key_id").is_some() {
            BaseSource::StaticKeys {
                session_token: get("aws_session_token").is_some(),
            }
        } else {
            BaseSource::Nothing
        }
    }

    /// The profile's `region`, else that of the profiles it sources from.
    pub fn region(&self, profile: &str) -> Option<String> {
        let mut name = profile.to_owned();
        for _ in 0..16 {
            if let Some(region) = self.get(&name, "region") {
                return Some(region.to_owned());
            }
            match self.get(&name, "source_profile") {
                Some(next) if next != name => name = next.to_owned(),
                _ => return None,
            }
        }
        None
    }
}

fn parse_set(files: &EnvConfigFiles) -> Result<ProfileSet, String> {
    let empty_env = aws_types::os_shim_internal::Env::from(HashMap::new());
    // With contents only, loading never waits on I/O, so the future is ready at once.
    aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::real(),
        &empty_env,
        files,
        Some("default".into()),
    )
    .now_or_never()
    .ok_or_else(|| "internal: loading profile contents waited on I/O".to_owned())?
    .map_err(|e| e.to_string())
}

fn parse_config_only(config: &str) -> Result<(), String> {
    let files = EnvConfigFiles::builder()
        .with_contents(EnvConfigFileKind::Config, config)
        .build();
    parse_set(&files).map(|_| ())
}

/// The first word of a `credential_process` command: the program. The rest may hold secrets.
pub fn program_of(command: &str) -> String {
    let command = command.trim_start();
    if let Some(rest) = command.strip_prefix('"') {
        return rest.split('"').next().unwrap_or_default().to_owned();
    }
    command
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Where a profile's credentials come from after following its links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileChain {
    /// The selected profile.
    pub profile: String,
    /// Roles assumed on the way, outermost (the selected profile's) first.
    pub roles: Vec<RoleHop>,
    /// The profile that holds the base credentials.
    pub base_profile: String,
    pub base: BaseSource,
}

impl ProfileChain {
    /// The first `mfa_serial` on the chain: `aws-config` ignores it (aws-sdk-rust#527).
    pub fn mfa_serial(&self) -> Option<&str> {
        self.roles.iter().find_map(|r| r.mfa_serial.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHop {
    pub profile: String,
    pub role_arn: String,
    pub mfa_serial: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseSource {
    StaticKeys {
        session_token: bool,
    },
    Sso {
        session: Option<String>,
    },
    Process {
        program: String,
    },
    WebIdentity,
    /// `credential_source = Environment | EcsContainer | Ec2InstanceMetadata`.
    NamedSource(String),
    /// `login_session` (needs `aws-config`'s `credentials-login` feature, not enabled).
    LoginSession,
    /// The profile exists but defines no credentials.
    Nothing,
}

/// Why a profile chain cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    Missing {
        name: String,
        referenced_from: Option<String>,
    },
    Loop {
        profiles: Vec<String>,
    },
}

/// The profile to use: devboot's own setting, else `AWS_PROFILE`, else `default`.
/// (`AWS_DEFAULT_PROFILE` is not read: the Rust SDK ignores it; the doctor warns about it.)
pub fn select_profile(requested: Option<&str>, env: &Environment) -> (String, ProfileOrigin) {
    match (requested.filter(|p| !p.is_empty()), env.var("AWS_PROFILE")) {
        (Some(profile), _) => (profile.to_owned(), ProfileOrigin::Requested),
        (None, Some(profile)) => (profile.to_owned(), ProfileOrigin::AwsProfileVar),
        (None, None) => ("default".to_owned(), ProfileOrigin::Default),
    }
}

/// Where a region came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionOrigin {
    Requested,
    AwsRegionVar,
    AwsDefaultRegionVar,
    Profile,
}

/// The region: devboot's setting, `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's
/// (following `source_profile`), as the SDK's region chain does minus IMDS.
pub fn resolve_region(
    requested: Option<&str>,
    env: &Environment,
    profiles: &Profiles,
    profile: &str,
) -> Option<(String, RegionOrigin)> {
    requested
        .filter(|r| !r.is_empty())
        .map(|r| (r.to_owned(), RegionOrigin::Requested))
        .or_else(|| {
            env.var("AWS_REGION")
                .map(|r| (r.to_owned(), RegionOrigin::AwsRegionVar))
        })
        .or_else(|| {
            env.var("AWS_DEFAULT_REGION")
                .map(|r| (r.to_owned(), RegionOrigin::AwsDefaultRegionVar))
        })
        .or_else(|| profiles.region(profile).map(|r| (r, RegionOrigin::Profile)))
}

/// The STS endpoint override: devboot's setting, else `AWS_ENDPOINT_URL_STS`,
/// `AWS_ENDPOINT_URL`, the profile's `endpoint_url` — unless configured endpoints are
/// switched off with `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`.
pub fn resolve_sts_endpoint(
    requested: Option<&str>,
    env: &Environment,
    profiles: &Profiles,
    profile: &str,
) -> Option<String> {
    if let Some(url) = requested.filter(|u| !u.is_empty()) {
        return Some(url.to_owned());
    }
    let ignore = env
        .var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .or_else(|| profiles.get(profile, "ignore_configured_endpoint_urls"))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if ignore {
        return None;
    }
    env.var("AWS_ENDPOINT_URL_STS")
        .or_else(|| env.var("AWS_ENDPOINT_URL"))
        .or_else(|| profiles.get(profile, "endpoint_url"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::testing::TempHome;

    fn profiles(config: &str, credentials: &str) -> Profiles {
        let texts = FileTexts {
            config: config.into(),
            credentials: credentials.into(),
        };
        Profiles::parse(&texts, &["config".into(), "credentials".into()]).unwrap()
    }

    #[test]
    fn files_follow_home_and_the_override_variables() {
        let env = Environment::from_vars([("HOME", "/home/dev")], "/srv/app".into());
        let files = AwsFiles::from_env(&env);
        assert_eq!(files.config, Some("/home/dev/.aws/config".into()));
        assert_eq!(files.credentials, Some("/home/dev/.aws/credentials".into()));
        assert_eq!(
            files.sso_cache_dir(),
            Some("/home/dev/.aws/sso/cache".into())
        );

        let env = Environment::from_vars(
            [
                ("HOME", "/home/dev"),
                ("AWS_CONFIG_FILE", "~/cfg/aws"),
                ("AWS_SHARED_CREDENTIALS_FILE", "creds"),
            ],
            "/srv/app".into(),
        );
        let files = AwsFiles::from_env(&env);
        assert_eq!(files.config, Some("/home/dev/cfg/aws".into()));
        assert_eq!(files.credentials, Some("/srv/app/creds".into()));

        let env = Environment::from_vars(Vec::<(String, String)>::new(), "/srv/app".into());
        assert_eq!(AwsFiles::from_env(&env).config, None);
    }

    #[test]
    fn missing_files_read_as_empty_and_unreadable_ones_fail() {
        let home = TempHome::new();
        let files = AwsFiles::from_env(&home.env([]));
        assert_eq!(files.read().unwrap(), FileTexts::default());
        home.write(".aws/config", "[default]\nregion = eu-west-1\n");
        assert!(files.read().unwrap().config.contains("eu-west-1"));
        std::fs::create_dir_all(home.path().join(".aws/credentials")).unwrap();
        assert!(matches!(files.read(), Err(AwsError::Io { .. })));
    }

    #[test]
    fn parse_errors_name_the_broken_file() {
        let texts = FileTexts {
            config: "[default]\nregion = eu-west-1\n".into(),
            credentials: "no section here = 1\n".into(),
        };
        let err = Profiles::parse(
            &texts,
            &["~/.aws/config".into(), "~/.aws/credentials".into()],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid AWS configuration: ~/.aws/credentials:"),
            "{err}"
        );
    }

    #[test]
    fn chains_resolve_like_the_sdk() {
        let p = profiles(
            "[profile app]\nrole_arn = arn:aws:iam::111122223333:role/app\nsource_profile = base\nmfa_serial = arn:aws:iam::111122223333:mfa/dev\n\
             [profile sso]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n\
             [profile ci]\ncredential_process = \"/opt/my tools/creds\" --secret hunter2\n\
             [profile self]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = self\naws_access_key_id = AKIA1\naws_secret_access_key = s\n\
             [profile loop1]\nrole_arn = a\nsource_profile = loop2\n[profile loop2]\nrole_arn = b\nsource_profile = loop1\n\
             [profile dangling]\nrole_arn = a\nsource_profile = nowhere\n\
             [profile ecs]\nrole_arn = a\ncredential_source = EcsContainer\n",
            "[base]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n",
        );
        let chain = p.chain("app").unwrap();
        assert_eq!(chain.roles.len(), 1);
        assert_eq!(chain.base_profile, "base");
        assert_eq!(
            chain.base,
            BaseSource::StaticKeys {
                session_token: false
            }
        );
        assert_eq!(
            chain.mfa_serial(),
            Some("arn:aws:iam::111122223333:mfa/dev")
        );

        assert_eq!(
            p.chain("sso").unwrap().base,
            BaseSource::Sso {
                session: Some("corp".into())
            }
        );
        assert_eq!(
            p.chain("ci").unwrap().base,
            BaseSource::Process {
                program: "/opt/my tools/creds".into()
            }
        );
        let chain = p.chain("self").unwrap();
        assert_eq!(
            (chain.roles.len(), chain.base_profile.as_str()),
            (1, "self")
        );
        assert!(matches!(p.chain("loop1"), Err(ChainProblem::Loop { .. })));
        assert_eq!(
            p.chain("dangling"),
            Err(ChainProblem::Missing {
                name: "nowhere".into(),
                referenced_from: Some("dangling".into())
            })
        );
        assert_eq!(
            p.chain("ecs").unwrap().base,
            BaseSource::NamedSource("EcsContainer".into())
        );
        assert!(matches!(
            p.chain("nope"),
            Err(ChainProblem::Missing {
                referenced_from: None,
                ..
            })
        ));
    }

    #[test]
    fn suggestions_find_near_misses() {
        let p = profiles(
            "[profile staging]\nregion = a\n[profile production]\nregion = b\n[profile dev]\nregion = c\n",
            "",
        );
        assert_eq!(p.suggestions("stagign"), vec!["staging".to_owned()]);
        assert_eq!(p.suggestions("prod"), vec!["production".to_owned()]);
        assert!(p.suggestions("zzzzzz").is_empty());
        assert_eq!(p.names(), vec!["dev", "production", "staging"]);
    }

    #[test]
    fn region_and_endpoint_precedence() {
        let p = profiles(
            "[profile app]\nrole_arn = a\nsource_profile = base\n[profile base]\nregion = eu-central-1\nendpoint_url = http://profile\n",
            "",
        );
        let env = Environment::from_vars(Vec::<(String, String)>::new(), "/".into());
        assert_eq!(
            resolve_region(None, &env, &p, "app"),
            Some(("eu-central-1".into(), RegionOrigin::Profile))
        );
        let env = Environment::from_vars([("AWS_DEFAULT_REGION", "us-west-2")], "/".into());
        assert_eq!(
            resolve_region(None, &env, &p, "app").unwrap().1,
            RegionOrigin::AwsDefaultRegionVar
        );
        let env = Environment::from_vars(
            [
                ("AWS_DEFAULT_REGION", "us-west-2"),
                ("AWS_REGION", "ap-south-1"),
            ],
            "/".into(),
        );
        assert_eq!(
            resolve_region(None, &env, &p, "app").unwrap().0,
            "ap-south-1"
        );
        assert_eq!(
            resolve_region(Some("sa-east-1"), &env, &p, "app")
                .unwrap()
                .1,
            RegionOrigin::Requested
        );

        let env = Environment::from_vars([("AWS_ENDPOINT_URL", "http://env")], "/".into());
        assert_eq!(
            resolve_sts_endpoint(None, &env, &p, "base").as_deref(),
            Some("http://env")
        );
        assert_eq!(
            resolve_sts_endpoint(Some("http://flag"), &env, &p, "base").as_deref(),
            Some("http://flag")
        );
        let env = Environment::from_vars(Vec::<(String, String)>::new(), "/".into());
        assert_eq!(
            resolve_sts_endpoint(None, &env, &p, "base").as_deref(),
            Some("http://profile")
        );
        let env = Environment::from_vars(
            [("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")],
            "/".into(),
        );
        assert_eq!(resolve_sts_endpoint(None, &env, &p, "base"), None);
    }

    #[test]
    fn profile_selection_order() {
        let env = Environment::from_vars([("AWS_PROFILE", "env")], "/".into());
        assert_eq!(
            select_profile(Some("dev"), &env),
            ("dev".into(), ProfileOrigin::Requested)
        );
        assert_eq!(
            select_profile(None, &env),
            ("env".into(), ProfileOrigin::AwsProfileVar)
        );
        let env = Environment::from_vars([("AWS_DEFAULT_PROFILE", "ignored")], "/".into());
        assert_eq!(
            select_profile(None, &env),
            ("default".into(), ProfileOrigin::Default)
        );
    }
}
