//! The checks that read only the shared files and the environment: the selected profile
//! exists (`aws.profile`), `AWS_DEFAULT_PROFILE` does not split the tools
//! (`aws.default_profile_env`), keys in the environment are whole and override nothing by
//! surprise (`aws.env_keys`), a region resolves (`aws.region`), the chain's
//! `credential_process` is installed (`aws.credential_process`), and no role needs an MFA
//! code (`aws.mfa`).

use std::path::PathBuf;

use crate::aws::config::{
    BaseSource, ChainProblem, ProfileChain, ProfileOrigin, Profiles, RegionOrigin, resolve_region,
};
use crate::aws::mask_key_id;
use crate::doctor::check::{Check, Outcome, QUICK, Run};
use crate::doctor::facts::Facts;
use crate::doctor::facts::aws::{Scope, Setup};
use crate::model::AwsMode;
use crate::shell::shell_word;

pub(super) const PROFILE: Check = Check {
    id: "aws.profile",
    title: "The selected AWS profile is defined",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(profile),
    safe_fix: None,
};

pub(super) const DEFAULT_PROFILE_ENV: Check = Check {
    id: "aws.default_profile_env",
    title: "AWS_DEFAULT_PROFILE does not make tools disagree",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(default_profile_env),
    safe_fix: None,
};

pub(super) const ENV_KEYS: Check = Check {
    id: "aws.env_keys",
    title: "AWS keys in the environment are complete and override nothing by surprise",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(env_keys),
    safe_fix: None,
};

pub(super) const REGION: Check = Check {
    id: "aws.region",
    title: "An AWS region is set",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(region),
    safe_fix: None,
};

pub(super) const CREDENTIAL_PROCESS: Check = Check {
    id: "aws.credential_process",
    title: "The profile's credential_process program is installed",
    depends_on: &["aws.profile"],
    timeout: QUICK,
    run: Run::Blocking(credential_process),
    safe_fix: None,
};

pub(super) const MFA: Check = Check {
    id: "aws.mfa",
    title: "No role in the profile chain needs an MFA code devboot cannot ask for",
    depends_on: &["aws.profile"],
    timeout: QUICK,
    run: Run::Blocking(mfa),
    safe_fix: None,
};

fn profile(facts: &Facts) -> Result<Outcome, Outcome> {
    let setup = Setup::load(facts, Scope::Identity)?;
    let profiles = setup.profiles.as_ref().map_err(|error| {
        Outcome::error(error.to_string())
            .detail("every AWS SDK and the CLI fail on these files the same way")
            .fix("fix the line the message names")
            .fix_with("see what the AWS CLI makes of them", "aws configure list")
    })?;
    Ok(judge_profile(&setup, profiles))
}

/// Judges the selected profile against the parsed files.
fn judge_profile(setup: &Setup<'_>, profiles: &Profiles) -> Outcome {
    let name = &setup.profile;
    let origin = setup.origin_text();
    match profiles.chain(name) {
        Ok(chain) => {
            let base = describe_base(&chain, profiles);
            let outcome = match &chain.base {
                BaseSource::Nothing if !setup.env_keys_win() => Outcome::warn(format!(
                    "profile `{}` holds no credentials (no keys, role, SSO or credential_process)",
                    chain.base_profile
                ))
                .fix_with(
                    "log in through AWS SSO with it",
                    format!(
                        "aws configure sso --profile {}",
                        shell_word(&chain.base_profile)
                    ),
                )
                .fix_with(
                    "or store an access key in it",
                    format!(
                        "aws configure --profile {}",
                        shell_word(&chain.base_profile)
                    ),
                ),
                BaseSource::LoginSession if !setup.env_keys_win() => Outcome::error(format!(
                    "profile `{}` uses `login_session` (`aws login`), which devboot cannot use",
                    chain.base_profile
                ))
                .fix_with(
                    "use an SSO login for the profile instead",
                    format!(
                        "aws configure sso --profile {}",
                        shell_word(&chain.base_profile)
                    ),
                ),
                _ => Outcome::ok(format!("profile `{name}` ({origin}): {base}")),
            };
            let mut outcome = outcome.details(describe_chain(&chain));
            if setup.env_keys_win() {
                outcome = outcome.detail(
                    "AWS_ACCESS_KEY_ID in the environment wins over the profile's credentials (see `aws.env_keys`)",
                );
            }
            outcome
        }
        Err(ChainProblem::Loop { profiles: names }) => Outcome::error(format!(
            "the source_profile links of profile `{name}` loop: {}",
            names.join(" → ")
        ))
        .fix(format!(
            "point one of them at a profile with credentials in {}",
            setup.config_shown()
        )),
        Err(ChainProblem::Missing {
            name: missing,
            referenced_from,
        }) => missing_profile(setup, profiles, &missing, referenced_from.as_deref()),
    }
}

/// The outcome for a profile (or `source_profile`) that is not defined.
fn missing_profile(
    setup: &Setup<'_>,
    profiles: &Profiles,
    missing: &str,
    referenced_from: Option<&str>,
) -> Outcome {
    let defined = profiles.names();
    let defined_detail = if defined.is_empty() {
        format!("no profiles are defined in {}", shown_files(setup))
    } else {
        format!("profiles defined: {}", defined.join(", "))
    };
    // Nothing names a profile and there is no `default`: not an error by itself.
    if referenced_from.is_none() && setup.origin == ProfileOrigin::Default {
        if setup.env_keys_win() {
            return Outcome::ok(
                "no profile is selected; the credentials come from AWS_ACCESS_KEY_ID in the environment",
            );
        }
        let mut outcome = Outcome::warn(
            "no AWS profile is selected: nothing names one (`[aws] profile`, AWS_PROFILE) and there is no `default` profile",
        )
        .detail(defined_detail);
        if let Some(first) = defined.first() {
            outcome = outcome
                .fix(format!(
                    "name the project's profile: `profile = \"{first}\"` under [aws] in devboot.toml (or devboot.local.toml)"
                ))
                .fix_with(
                    format!("or pick `{first}` for this shell"),
                    format!("export AWS_PROFILE={}", shell_word(first)),
                );
        } else {
            outcome = outcome
                .fix_with("set up AWS SSO (recommended)", "aws configure sso")
                .fix_with("or store an access key", "aws configure");
        }
        return outcome;
    }
    if referenced_from.is_none()
        && setup.origin == ProfileOrigin::AwsProfileVar
        && setup.env_keys_win()
    {
        return Outcome::warn(format!(
            "AWS_PROFILE names `{missing}`, which is not defined; the keys in AWS_ACCESS_KEY_ID are used instead"
        ))
        .detail(defined_detail)
        .fix_with("drop the stale variable", "unset AWS_PROFILE");
    }
    let whose = match referenced_from {
        Some(from) => format!("the source_profile of `{from}`"),
        None => setup.origin_text().to_owned(),
    };
    let mut outcome = Outcome::error(format!(
        "AWS profile `{missing}` ({whose}) is not defined in {}",
        shown_files(setup)
    ))
    .detail(defined_detail)
    .detail("the SDKs then fail with \"The config profile could not be found\", or fall through to other credential sources");
    for suggestion in profiles.suggestions(missing) {
        outcome = match (referenced_from, setup.origin) {
            (Some(from), _) => outcome.fix(format!(
                "did you mean `{suggestion}`? set `source_profile = {suggestion}` in profile `{from}` of {}",
                setup.config_shown()
            )),
            (None, ProfileOrigin::Requested) => outcome.fix(format!(
                "did you mean `{suggestion}`? set `profile = \"{suggestion}\"` under [aws] in devboot.local.toml"
            )),
            (None, _) => outcome.fix_with(
                format!("did you mean `{suggestion}`?"),
                format!("export AWS_PROFILE={}", shell_word(&suggestion)),
            ),
        };
    }
    outcome
        .fix_with(
            format!("or create `{missing}` with an AWS SSO login"),
            format!("aws configure sso --profile {}", shell_word(missing)),
        )
        .fix_with(
            "or with an access key",
            format!("aws configure --profile {}", shell_word(missing)),
        )
}

fn shown_files(setup: &Setup<'_>) -> String {
    let shown = setup.files.display(&setup.facts.env);
    if shown.is_empty() {
        "~/.aws/config or ~/.aws/credentials".to_owned()
    } else {
        shown.join(" or ")
    }
}

/// Where a chain's base credentials come from, in a few words.
fn describe_base(chain: &ProfileChain, profiles: &Profiles) -> String {
    let base = &chain.base_profile;
    let what = match &chain.base {
        BaseSource::StaticKeys { session_token } => {
            let key = profiles
                .get(base, "aws_access_key_id")
                .map(mask_key_id)
                .unwrap_or_default();
            if *session_token {
                format!("temporary keys with a session token in profile `{base}` (key {key})")
            } else {
                format!("static keys in profile `{base}` (key {key})")
            }
        }
        BaseSource::Sso {
            session: Some(session),
        } => format!("AWS SSO through session `{session}`"),
        BaseSource::Sso { session: None } => "AWS SSO (legacy start-URL profile)".to_owned(),
        BaseSource::Process { program } => format!("credential_process `{program}`"),
        BaseSource::WebIdentity => "a web identity token file".to_owned(),
        BaseSource::NamedSource(source) => format!("credential_source = {source}"),
        BaseSource::LoginSession => "login_session (`aws login`)".to_owned(),
        BaseSource::Nothing => "no credentials".to_owned(),
    };
    match chain.roles.first() {
        Some(role) => format!("assumes {} with {what}", role.role_arn),
        None => what,
    }
}

/// The chain, hop by hop, for details.
fn describe_chain(chain: &ProfileChain) -> Vec<String> {
    chain
        .roles
        .iter()
        .map(|role| {
            format!(
                "profile `{}` assumes {}{}",
                role.profile,
                role.role_arn,
                if role.mfa_serial.is_some() {
                    " (with MFA)"
                } else {
                    ""
                }
            )
        })
        .collect()
}

fn default_profile_env(facts: &Facts) -> Result<Outcome, Outcome> {
    let setup = Setup::load(facts, Scope::Identity)?;
    Ok(judge_default_profile_env(
        facts.var("AWS_DEFAULT_PROFILE"),
        facts.var("AWS_PROFILE"),
        &setup.profile,
        setup.origin,
    ))
}

/// `AWS_DEFAULT_PROFILE` against `AWS_PROFILE` and the profile devboot uses.
fn judge_default_profile_env(
    default_profile: Option<&str>,
    aws_profile: Option<&str>,
    devboot_uses: &str,
    origin: ProfileOrigin,
) -> Outcome {
    let Some(default_profile) = default_profile else {
        return Outcome::ok("AWS_DEFAULT_PROFILE is not set");
    };
    if let Some(aws_profile) = aws_profile {
        return if aws_profile == default_profile {
            Outcome::ok(format!(
                "AWS_PROFILE and AWS_DEFAULT_PROFILE agree (`{aws_profile}`)"
            ))
        } else {
            Outcome::ok(format!(
                "AWS_PROFILE (`{aws_profile}`) wins over AWS_DEFAULT_PROFILE (`{default_profile}`) in every tool"
            ))
        };
    }
    if default_profile == devboot_uses {
        return Outcome::ok(format!(
            "AWS_DEFAULT_PROFILE names `{default_profile}`, the profile devboot uses"
        ))
        .detail("only the AWS CLI and some SDKs (Ruby, Python) read AWS_DEFAULT_PROFILE; AWS_PROFILE is read by all");
    }
    let devboot = match origin {
        ProfileOrigin::Requested => {
            format!("devboot uses `{devboot_uses}` (the project's `[aws] profile`)")
        }
        _ => format!("devboot and the Rust and Go SDKs use `{devboot_uses}`"),
    };
    Outcome::warn(format!(
        "AWS_DEFAULT_PROFILE (`{default_profile}`) is set without AWS_PROFILE: the AWS CLI and the Ruby SDK use `{default_profile}`, {devboot}"
    ))
    .detail("so `aws sts get-caller-identity` and devboot can answer with different identities")
    .fix_with(
        "name the profile in AWS_PROFILE, which every tool reads",
        format!("export AWS_PROFILE={}", shell_word(default_profile)),
    )
    .fix_with("and drop the variable only some tools read", "unset AWS_DEFAULT_PROFILE")
}

/// The AWS key variables of the environment, as `aws.env_keys` judges them. Holds the key id
/// only (it is shown masked); the secret and the token are only known to be there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct EnvKeys {
    key_id: Option<String>,
    secret: bool,
    token: bool,
}

impl EnvKeys {
    fn from_facts(facts: &Facts) -> Self {
        Self {
            key_id: facts
                .var("AWS_ACCESS_KEY_ID")
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty()),
            secret: facts.var("AWS_SECRET_ACCESS_KEY").is_some(),
            token: facts.var("AWS_SESSION_TOKEN").is_some(),
        }
    }

    /// `unset` for the variables that are set.
    fn unset_command(&self) -> String {
        let mut names = Vec::new();
        if self.key_id.is_some() {
            names.push("AWS_ACCESS_KEY_ID");
        }
        if self.secret {
            names.push("AWS_SECRET_ACCESS_KEY");
        }
        if self.token {
            names.push("AWS_SESSION_TOKEN");
        }
        format!("unset {}", names.join(" "))
    }
}

fn env_keys(facts: &Facts) -> Result<Outcome, Outcome> {
    let setup = Setup::load(facts, Scope::Identity)?;
    let profile_has_credentials = setup.profiles.as_ref().is_ok_and(|profiles| {
        profiles
            .chain(&setup.profile)
            .is_ok_and(|chain| chain.base != BaseSource::Nothing)
    });
    Ok(judge_env_keys(
        &EnvKeys::from_facts(facts),
        &setup.profile,
        setup.origin,
        profile_has_credentials,
    ))
}

/// Keys in the environment: whole, matching their kind (`AKIA` long-term, `ASIA` temporary
/// with a token), and whether they override the profile devboot selects.
fn judge_env_keys(
    keys: &EnvKeys,
    profile: &str,
    origin: ProfileOrigin,
    profile_has_credentials: bool,
) -> Outcome {
    let Some(key_id) = &keys.key_id else {
        return match (keys.token, keys.secret) {
            (false, false) => Outcome::ok("no AWS keys in the environment"),
            (true, _) => Outcome::warn(
                "AWS_SESSION_TOKEN is set without AWS_ACCESS_KEY_ID: a leftover of an old session",
            )
            .detail("the SDKs ignore it now, but the next keys exported in this shell would be sent with it, and AWS rejects the pair (InvalidClientTokenId or ExpiredToken)")
            .fix_with("drop it", keys.unset_command()),
            (false, true) => Outcome::warn(
                "AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID; the SDKs ignore it",
            )
            .fix_with("drop it", keys.unset_command()),
        };
    };
    let masked = mask_key_id(key_id);
    if !keys.secret {
        return Outcome::error(format!(
            "AWS_ACCESS_KEY_ID ({masked}) is set without AWS_SECRET_ACCESS_KEY"
        ))
        .detail("the SDKs stop at the half-set keys instead of using a profile")
        .fix_with("drop the key id", keys.unset_command());
    }
    if keys.token && key_id.starts_with("AKIA") {
        return Outcome::error(format!(
            "a stale AWS_SESSION_TOKEN is set next to the long-term key {masked}"
        ))
        .detail("long-term keys (AKIA…) take no session token: AWS rejects the pair (InvalidClientTokenId or ExpiredToken)")
        .fix_with(
            "unset the token; it belongs to an older session",
            "unset AWS_SESSION_TOKEN",
        );
    }
    if !keys.token && key_id.starts_with("ASIA") {
        return Outcome::error(format!(
            "the temporary key {masked} (ASIA…) has no AWS_SESSION_TOKEN; AWS rejects it"
        ))
        .fix_with(
            "export all three variables again from your credential tool, e.g. from a profile",
            format!(
                "eval \"$(aws configure export-credentials --profile {} --format env)\"",
                shell_word(profile)
            ),
        );
    }
    let kind = if keys.token {
        "temporary key with a session token"
    } else {
        "long-term key"
    };
    let unset = keys.unset_command();
    match origin {
        ProfileOrigin::Requested => Outcome::warn(format!(
            "AWS_ACCESS_KEY_ID ({masked}) is set, but the project asks for profile `{profile}`: devboot uses the profile, the AWS CLI and the app run on the host use the keys"
        ))
        .fix_with("drop the keys so every tool uses the profile", unset),
        ProfileOrigin::AwsProfileVar => Outcome::warn(format!(
            "the keys in the environment ({masked}) override profile `{profile}` from AWS_PROFILE"
        ))
        .detail("every SDK takes AWS_ACCESS_KEY_ID before any profile, silently; the profile still supplies the region")
        .fix_with("drop the keys to use the profile", unset),
        ProfileOrigin::Default if profile_has_credentials => Outcome::warn(format!(
            "the keys in the environment ({masked}) override the `default` profile's credentials"
        ))
        .detail("every SDK takes AWS_ACCESS_KEY_ID before any profile, silently")
        .fix_with("drop the keys to use the profile", unset),
        ProfileOrigin::Default => Outcome::ok(format!(
            "the credentials come from the environment: {kind} {masked}"
        )),
    }
}

fn region(facts: &Facts) -> Result<Outcome, Outcome> {
    let setup = Setup::load(facts, Scope::Always)?;
    let empty = Profiles::parse(&crate::aws::config::FileTexts::default(), &[]);
    let profiles = match (&setup.profiles, &empty) {
        (Ok(profiles), _) | (Err(_), Ok(profiles)) => profiles,
        (Err(error), Err(_)) => return Err(Outcome::skipped(error.to_string())),
    };
    let emulator = setup.settings.is_some_and(|s| s.mode == AwsMode::Emulator);
    let requested = setup.settings.and_then(|s| s.region.as_deref());
    Ok(
        match resolve_region(requested, &facts.env, profiles, &setup.profile) {
            Some((region, origin)) => {
                let from = match origin {
                    RegionOrigin::Requested => "the project's `[aws] region`".to_owned(),
                    RegionOrigin::AwsRegionVar => "AWS_REGION".to_owned(),
                    RegionOrigin::AwsDefaultRegionVar => "AWS_DEFAULT_REGION".to_owned(),
                    RegionOrigin::Profile => format!("profile `{}`", setup.profile),
                };
                let mut outcome = Outcome::ok(format!("{region} (from {from})"));
                if origin == RegionOrigin::Requested
                    && let Some(host) = facts
                        .var("AWS_REGION")
                        .or_else(|| facts.var("AWS_DEFAULT_REGION"))
                        .filter(|host| *host != region)
                {
                    outcome = outcome.detail(format!(
                    "tools run on the host use {host} (from the environment); the app uses {region}"
                ));
                }
                outcome
            }
            // `devboot up` gives an emulator a region of its own when none is set.
            None if emulator => {
                Outcome::ok("us-east-1 (no region is set; devboot gives the emulator us-east-1)")
            }
            None if !setup.env_keys_win()
                && !profiles.contains(&setup.profile)
                && setup.origin != ProfileOrigin::Default =>
            {
                Outcome::skipped(format!(
                    "profile `{}` is not defined (see `aws.profile`)",
                    setup.profile
                ))
            }
            None => {
                let mut outcome = Outcome::error(format!(
                "no AWS region is set for profile `{}`",
                setup.profile
            ))
            .detail("AWS calls fail with \"You must specify a region\" (MissingSigningRegion); the container endpoint carries no region, so devboot passes AWS_REGION to the app")
            .detail("looked at: the project's `[aws] region`, AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`");
                if setup.facts.stack().is_some() {
                    outcome = outcome.fix(
                    "set `region = \"eu-west-1\"` (your region) under [aws] in devboot.toml, for everyone on the project",
                );
                }
                outcome = outcome.fix_with(
                    "or set it in the profile",
                    format!(
                        "aws configure set region eu-west-1 --profile {}",
                        shell_word(&setup.profile)
                    ),
                );
                outcome.fix_with("or for this shell", "export AWS_REGION=eu-west-1")
            }
        },
    )
}

fn credential_process(facts: &Facts) -> Result<Outcome, Outcome> {
    let setup = Setup::load(facts, Scope::Identity)?;
    let chain = setup.chain()?;
    let BaseSource::Process { program } = &chain.base else {
        return Err(Outcome::skipped(format!(
            "profile `{}` does not use credential_process",
            setup.profile
        )));
    };
    let found = locate(facts, program);
    Ok(judge_credential_process(
        &chain.base_profile,
        program,
        found.as_ref().map(|p| facts.display(p)),
    ))
}

/// Where the program is: an absolute path or `~/…` as written, else searched on `PATH` (never
/// relative to the working directory, which is the repository).
fn locate(facts: &Facts, program: &str) -> Option<PathBuf> {
    let expanded = match (program.strip_prefix("~/"), facts.home()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(program),
    };
    if expanded.is_absolute() {
        use std::os::unix::fs::PermissionsExt as _;
        return std::fs::metadata(&expanded)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .then_some(expanded);
    }
    crate::host::tools::find_on_path(program, facts.var("PATH"))
}

fn judge_credential_process(profile: &str, program: &str, found: Option<String>) -> Outcome {
    if let Some(path) = found {
        return Outcome::ok(format!(
            "`{program}` (credential_process of profile `{profile}`) is at {path}"
        ));
    }
    let place = if program.contains('/') {
        "does not exist or is not executable"
    } else {
        "is not on PATH"
    };
    let mut outcome = Outcome::error(format!(
        "the credential_process program `{program}` of profile `{profile}` {place}"
    ))
    .detail("the SDK runs it for every credential refresh: it fails with \"exit status: 127\" and the app gets no credentials");
    let name = program.rsplit('/').next().unwrap_or(program);
    if let Some((tool, how)) = KNOWN_TOOLS.iter().find(|(tool, _)| *tool == name) {
        outcome = outcome.fix(format!("install `{tool}` on the host: {how}"));
    } else {
        outcome = outcome.fix(format!(
            "install `{program}` on the host (it must be on PATH)"
        ));
    }
    outcome.fix_with(
        "or correct the profile's credential_process line; see what it runs",
        format!(
            "aws configure get credential_process --profile {}",
            shell_word(profile)
        ),
    )
}

/// Credential helpers people name in `credential_process`, and where to get them.
const KNOWN_TOOLS: &[(&str, &str)] = &[
    (
        "granted",
        "https://docs.commonfate.io/granted/getting-started",
    ),
    (
        "assume",
        "it comes with granted: https://docs.commonfate.io/granted/getting-started",
    ),
    (
        "aws-vault",
        "https://github.com/99designs/aws-vault#installing",
    ),
    (
        "op",
        "the 1Password CLI: https://developer.1password.com/docs/cli/get-started/",
    ),
    ("saml2aws", "https://github.com/Versent/saml2aws#install"),
    ("aws-sso-util", "`pipx install aws-sso-util`"),
    ("gimme-aws-creds", "`pipx install gimme-aws-creds`"),
];

fn mfa(facts: &Facts) -> Result<Outcome, Outcome> {
    let setup = Setup::load(facts, Scope::Identity)?;
    let chain = setup.chain()?;
    Ok(judge_mfa(&chain))
}

fn judge_mfa(chain: &ProfileChain) -> Outcome {
    let Some(role) = chain.roles.iter().find(|role| role.mfa_serial.is_some()) else {
        return Outcome::skipped(format!(
            "no role in the chain of profile `{}` asks for MFA",
            chain.profile
        ));
    };
    let serial = role.mfa_serial.as_deref().unwrap_or_default();
    let profile = &chain.profile;
    let vault = format!("{profile}-vault");
    Outcome::warn(format!(
        "profile `{}` assumes {} with MFA ({serial}): devboot cannot ask for the code",
        role.profile, role.role_arn
    ))
    .detail("devboot resolves credentials on the host with aws-config, which does not prompt for MFA codes (aws-sdk-rust#527), and nothing in the container can prompt: assuming the role fails with AccessDenied")
    .detail("the MFA session has to come from a tool that prompts on the host and caches the session, as the profile's credential_process")
    .fix_with(
        "let aws-vault prompt on the host and cache the session, in a profile of its own",
        format!(
            "aws configure set credential_process 'aws-vault exec --json {}' --profile {}",
            profile,
            shell_word(&vault)
        ),
    )
    .fix(format!(
        "then use it: `profile = \"{vault}\"` under [aws] in devboot.local.toml (or `export AWS_PROFILE={vault}`)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{Sandbox, run, script};

    fn commands(outcome: &Outcome) -> Vec<&str> {
        outcome
            .fixes
            .iter()
            .filter_map(|f| f.command.as_deref())
            .collect()
    }

    fn sandbox(config: &str, credentials: &str) -> Sandbox {
        let sandbox = Sandbox::new();
        if !config.is_empty() {
            crate::doctor::testing::write(&sandbox.home().join(".aws/config"), config);
        }
        if !credentials.is_empty() {
            crate::doctor::testing::write(&sandbox.home().join(".aws/credentials"), credentials);
        }
        sandbox
    }

    const CONFIG: &str = "[profile staging]\nregion = eu-west-1\n[profile production]\nregion = eu-west-1\n\
        [profile app]\nrole_arn = arn:aws:iam::111122223333:role/app\nsource_profile = kyes\n\
        [profile mfa]\nrole_arn = arn:aws:iam::111122223333:role/admin\nsource_profile = keys\nmfa_serial = arn:aws:iam::111122223333:mfa/dev\n\
        [profile ci]\ncredential_process = granted credential-process --profile ci --secret hunter2\nregion = us-east-1\n";
    const CREDENTIALS: &str = "[keys]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\
        [staging]\naws_access_key_id = AKIAIOSFODNN7STAGING\naws_secret_access_key = s\n";

    #[test]
    fn a_missing_profile_from_aws_profile_suggests_the_close_ones() {
        let mut sandbox = sandbox(CONFIG, CREDENTIALS);
        sandbox.var("AWS_PROFILE", "stagign");
        let outcome = run(&PROFILE, sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "AWS profile `stagign` (AWS_PROFILE) is not defined in ~/.aws/config or ~/.aws/credentials"
        );
        assert_eq!(commands(&outcome)[0], "export AWS_PROFILE=staging");
        assert!(commands(&outcome).contains(&"aws configure sso --profile stagign"));
        assert!(
            outcome.details[0].contains("production, staging"),
            "{:?}",
            outcome.details
        );
    }

    #[test]
    fn a_missing_project_profile_and_a_dangling_source_profile_say_where_to_fix_them() {
        let sandbox = sandbox(CONFIG, CREDENTIALS);
        sandbox.write(
            "devboot.toml",
            "schema = 1\n[project]\nname = \"p\"\n[services.db]\nimage = \"postgres:16\"\n[aws]\nprofile = \"prodution\"\n",
        );
        let outcome = run(&PROFILE, sandbox.facts());
        assert_eq!(outcome.status, Status::Error);
        assert!(
            outcome.summary.contains("(the project's `[aws] profile`)"),
            "{}",
            outcome.summary
        );
        assert!(
            outcome.fixes[0]
                .description
                .contains("profile = \"production\"")
                && outcome.fixes[0].description.contains("devboot.local.toml"),
            "{:?}",
            outcome.fixes
        );

        let mut sandbox = self::sandbox(CONFIG, CREDENTIALS);
        sandbox.var("AWS_PROFILE", "app");
        let outcome = run(&PROFILE, sandbox.facts());
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.summary,
            "AWS profile `kyes` (the source_profile of `app`) is not defined in ~/.aws/config or ~/.aws/credentials"
        );
        assert_eq!(
            outcome.fixes[0].description,
            "did you mean `keys`? set `source_profile = keys` in profile `app` of ~/.aws/config"
        );
    }

    #[test]
    fn a_defined_profile_describes_its_chain_without_secrets() {
        let mut sandbox = sandbox(CONFIG, CREDENTIALS);
        sandbox.var("AWS_PROFILE", "mfa");
        let outcome = run(&PROFILE, sandbox.facts());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "profile `mfa` (AWS_PROFILE): assumes arn:aws:iam::111122223333:role/admin with static keys in profile `keys` (key ****************MPLE)"
        );
        assert_eq!(
            outcome.details,
            ["profile `mfa` assumes arn:aws:iam::111122223333:role/admin (with MFA)"]
        );

        let mut sandbox = self::sandbox(CONFIG, CREDENTIALS);
        sandbox.var("AWS_PROFILE", "ci");
        let outcome = run(&PROFILE, sandbox.facts());
        assert_eq!(
            outcome.summary,
            "profile `ci` (AWS_PROFILE): credential_process `granted`"
        );
        assert!(!format!("{outcome:?}").contains("hunter2"));
    }

    #[test]
    fn no_profile_at_all_is_a_warning_naming_the_defined_ones() {
        let sandbox = sandbox(CONFIG, "");
        let outcome = run(&PROFILE, sandbox.facts());
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert!(commands(&outcome).contains(&"export AWS_PROFILE=app"));
        // Keys in the environment make that fine.
        let mut sandbox = self::sandbox(CONFIG, "");
        sandbox
            .var("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .var("AWS_SECRET_ACCESS_KEY", "s");
        assert_eq!(run(&PROFILE, sandbox.facts()).status, Status::Ok);
    }

    #[test]
    fn unparsable_files_are_an_error_naming_the_file() {
        let sandbox = sandbox("[default]\nregion = eu-west-1\n", "no section here = 1\n");
        let outcome = run(&PROFILE, sandbox.facts());
        assert_eq!(outcome.status, Status::Error);
        assert!(
            outcome.summary.contains("~/.aws/credentials"),
            "{}",
            outcome.summary
        );
        assert_eq!(commands(&outcome), ["aws configure list"]);
    }

    #[test]
    fn aws_default_profile_alone_splits_the_tools() {
        let outcome =
            judge_default_profile_env(Some("dev"), None, "default", ProfileOrigin::Default);
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(
            commands(&outcome),
            ["export AWS_PROFILE=dev", "unset AWS_DEFAULT_PROFILE"]
        );
        assert!(
            outcome
                .summary
                .contains("devboot and the Rust and Go SDKs use `default`")
        );
        let outcome = judge_default_profile_env(Some("dev"), None, "app", ProfileOrigin::Requested);
        assert!(
            outcome
                .summary
                .contains("devboot uses `app` (the project's `[aws] profile`)")
        );
        for (default, profile, uses) in [
            (None, None, "default"),
            (Some("dev"), Some("dev"), "dev"),
            (Some("dev"), Some("prod"), "prod"),
            (Some("dev"), None, "dev"),
        ] {
            let outcome = judge_default_profile_env(default, profile, uses, ProfileOrigin::Default);
            assert_eq!(outcome.status, Status::Ok, "{default:?} {profile:?}");
        }

        let mut sandbox = sandbox(CONFIG, "");
        sandbox.var("AWS_DEFAULT_PROFILE", "staging");
        assert_eq!(
            run(&DEFAULT_PROFILE_ENV, sandbox.facts()).status,
            Status::Warn
        );
    }

    fn keys(key_id: Option<&str>, secret: bool, token: bool) -> EnvKeys {
        EnvKeys {
            key_id: key_id.map(str::to_owned),
            secret,
            token,
        }
    }

    #[test]
    fn env_keys_are_judged_by_kind_and_by_what_they_override() {
        let judge = |k: &EnvKeys, origin| judge_env_keys(k, "dev", origin, true);
        let none = judge(&keys(None, false, false), ProfileOrigin::Default);
        assert_eq!(
            (none.status, none.summary.as_str()),
            (Status::Ok, "no AWS keys in the environment")
        );

        let token_only = judge(&keys(None, false, true), ProfileOrigin::Default);
        assert_eq!(token_only.status, Status::Warn);
        assert_eq!(commands(&token_only), ["unset AWS_SESSION_TOKEN"]);

        let stale = judge(
            &keys(Some("AKIAIOSFODNN7EXAMPLE"), true, true),
            ProfileOrigin::Default,
        );
        assert_eq!(stale.status, Status::Error);
        assert_eq!(
            stale.summary,
            "a stale AWS_SESSION_TOKEN is set next to the long-term key ****************MPLE"
        );
        assert_eq!(commands(&stale), ["unset AWS_SESSION_TOKEN"]);

        let no_token = judge(
            &keys(Some("ASIAIOSFODNN7EXAMPLE"), true, false),
            ProfileOrigin::Default,
        );
        assert_eq!(no_token.status, Status::Error);
        assert!(commands(&no_token)[0].contains("aws configure export-credentials --profile dev"));

        let half = judge(
            &keys(Some("AKIAIOSFODNN7EXAMPLE"), false, false),
            ProfileOrigin::Default,
        );
        assert_eq!(half.status, Status::Error);
        assert_eq!(commands(&half), ["unset AWS_ACCESS_KEY_ID"]);

        let temporary = keys(Some("ASIAIOSFODNN7EXAMPLE"), true, true);
        let overrides = judge(&temporary, ProfileOrigin::AwsProfileVar);
        assert_eq!(overrides.status, Status::Warn);
        assert_eq!(
            overrides.summary,
            "the keys in the environment (****************MPLE) override profile `dev` from AWS_PROFILE"
        );
        assert_eq!(
            commands(&overrides),
            ["unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN"]
        );
        assert_eq!(
            judge(&temporary, ProfileOrigin::Requested).status,
            Status::Warn
        );
        assert_eq!(
            judge(&temporary, ProfileOrigin::Default).status,
            Status::Warn
        );
        let alone = judge_env_keys(&temporary, "default", ProfileOrigin::Default, false);
        assert_eq!(alone.status, Status::Ok);
        assert!(!format!("{alone:?}").contains("IOSFODNN7"));
    }

    #[test]
    fn env_keys_over_a_default_profile_with_keys_warn() {
        let mut sandbox = sandbox(
            "",
            "[default]\naws_access_key_id = AKIAIOSFODNN7DEFAULT\naws_secret_access_key = s\n",
        );
        sandbox
            .var("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7FROMENV")
            .var("AWS_SECRET_ACCESS_KEY", "s");
        let outcome = run(&ENV_KEYS, sandbox.facts());
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert!(
            outcome.summary.contains("****************MENV"),
            "{}",
            outcome.summary
        );
    }

    #[test]
    fn a_missing_region_names_the_three_places_to_set_it() {
        let mut sandbox = sandbox("[profile bare]\nsso_session = x\n", "");
        sandbox.var("AWS_PROFILE", "bare");
        let outcome = run(&REGION, sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(outcome.summary, "no AWS region is set for profile `bare`");
        assert_eq!(
            commands(&outcome),
            [
                "aws configure set region eu-west-1 --profile bare",
                "export AWS_REGION=eu-west-1"
            ]
        );
        sandbox.var("AWS_DEFAULT_REGION", "ap-south-1");
        let outcome = run(&REGION, sandbox.facts());
        assert_eq!(
            (outcome.status, outcome.summary.as_str()),
            (Status::Ok, "ap-south-1 (from AWS_DEFAULT_REGION)")
        );
        let mut sandbox = self::sandbox(CONFIG, "");
        sandbox.var("AWS_PROFILE", "staging");
        assert_eq!(
            run(&REGION, sandbox.facts()).summary,
            "eu-west-1 (from profile `staging`)"
        );
    }

    #[test]
    fn a_credential_process_program_must_be_installed() {
        let mut sandbox = sandbox(CONFIG, "");
        let bin = sandbox.dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        sandbox
            .var("AWS_PROFILE", "ci")
            .var("PATH", bin.display().to_string());
        let outcome = run(&CREDENTIAL_PROCESS, sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "the credential_process program `granted` of profile `ci` is not on PATH"
        );
        assert!(outcome.fixes[0].description.contains("commonfate"));
        assert_eq!(
            commands(&outcome),
            ["aws configure get credential_process --profile ci"]
        );
        assert!(!format!("{outcome:?}").contains("hunter2"));

        script(&bin.join("granted"), "exit 0");
        let outcome = run(&CREDENTIAL_PROCESS, sandbox.facts());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");

        sandbox.var("AWS_PROFILE", "staging");
        assert_eq!(
            run(&CREDENTIAL_PROCESS, sandbox.facts()).status,
            Status::Skipped
        );
    }

    #[test]
    fn an_mfa_role_is_a_warning_with_the_host_side_way_out() {
        let mut sandbox = sandbox(CONFIG, CREDENTIALS);
        sandbox.var("AWS_PROFILE", "mfa");
        let outcome = run(&MFA, sandbox.facts());
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert!(
            outcome
                .summary
                .contains("arn:aws:iam::111122223333:mfa/dev")
        );
        assert_eq!(
            commands(&outcome),
            [
                "aws configure set credential_process 'aws-vault exec --json mfa' --profile mfa-vault"
            ]
        );
        sandbox.var("AWS_PROFILE", "staging");
        assert_eq!(run(&MFA, sandbox.facts()).status, Status::Skipped);
    }
}
