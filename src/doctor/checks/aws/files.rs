//! `aws.credentials_file_mode`: the files that hold AWS secrets are readable by their owner
//! only — the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
//! `~/.aws/credentials`), the config file when it holds keys too, and the cached SSO and CLI
//! tokens (`~/.aws/sso/cache/*.json`, `~/.aws/cli/cache/*.json`). The AWS CLI creates them
//! with mode 600; an editor, a copy or a dotfiles checkout often leaves them at 644. The safe
//! fix is `chmod 600`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::aws::config::AwsFiles;
use crate::doctor::check::{Check, Outcome, QUICK, Run, SafeFix};
use crate::doctor::facts::Facts;
use crate::doctor::facts::aws::{Scope, Setup};
use crate::shell::home_path_word;

pub(super) const CREDENTIALS_FILE_MODE: Check = Check {
    id: "aws.credentials_file_mode",
    title: "AWS credential files are readable by you only",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(credentials_file_mode),
    safe_fix: Some(SafeFix {
        description: "make the AWS credential files readable by you only (`chmod 600`)",
        apply: restrict,
    }),
};

/// Permission bits that let others than the owner in.
const GROUP_OTHER: u32 = 0o077;

/// A file that holds AWS secrets, and its permission bits.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SecretFile {
    path: PathBuf,
    mode: u32,
}

impl SecretFile {
    fn exposed(&self) -> bool {
        self.mode & GROUP_OTHER != 0
    }

    /// `group and others can read it` and the like.
    fn who(&self) -> String {
        let mut who = Vec::new();
        if self.mode & 0o070 != 0 {
            who.push("its group");
        }
        if self.mode & 0o007 != 0 {
            who.push("every user");
        }
        who.join(" and ")
    }
}

/// The files holding AWS secrets, with their modes.
fn secret_files(files: &AwsFiles) -> Vec<SecretFile> {
    let mut paths: Vec<PathBuf> = Vec::new();
    paths.extend(files.credentials.clone());
    // The config file may hold keys too (the SDKs read them there).
    if let Some(config) = &files.config
        && std::fs::read_to_string(config).is_ok_and(|text| holds_secrets(&text))
    {
        paths.push(config.clone());
    }
    if let Some(home) = &files.home {
        for dir in [".aws/sso/cache", ".aws/cli/cache"] {
            let mut cached: Vec<PathBuf> = std::fs::read_dir(home.join(dir))
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "json"))
                .collect();
            cached.sort();
            paths.extend(cached);
        }
    }
    paths
        .into_iter()
        .filter_map(|path| {
            let metadata = std::fs::metadata(&path)
                .ok()
                .filter(std::fs::Metadata::is_file)?;
            Some(SecretFile {
                mode: metadata.permissions().mode() & 0o7777,
                path,
            })
        })
        .collect()
}

/// Whether a config file's text holds secret keys.
fn holds_secrets(text: &str) -> bool {
    text.lines().any(|line| {
        let key = line.split(['=', ':']).next().unwrap_or_default().trim();
        key.eq_ignore_ascii_case("aws_secret_access_key")
            || key.eq_ignore_ascii_case("aws_session_token")
    })
}

fn credentials_file_mode(facts: &Facts) -> Result<Outcome, Outcome> {
    let setup = Setup::load(facts, Scope::Always)?;
    let found = secret_files(&setup.files);
    Ok(judge_modes(&found, &|path| facts.display(path)))
}

fn judge_modes(found: &[SecretFile], display: &dyn Fn(&Path) -> String) -> Outcome {
    if found.is_empty() {
        return Outcome::skipped("no AWS credentials file or cached tokens on this machine");
    }
    let exposed: Vec<&SecretFile> = found.iter().filter(|f| f.exposed()).collect();
    if exposed.is_empty() {
        let what = match found {
            [one] => display(&one.path),
            many => format!("all {} AWS credential and token files", many.len()),
        };
        return Outcome::ok(format!("{what}: readable by you only"));
    }
    let summary = match exposed.as_slice() {
        [one] => format!(
            "{} is readable by {} (mode {:o})",
            display(&one.path),
            one.who(),
            one.mode
        ),
        many => format!(
            "{} AWS credential and token files are readable by other users",
            many.len()
        ),
    };
    let mut outcome = Outcome::error(summary);
    if exposed.len() > 1 {
        outcome = outcome.details(exposed.iter().map(|f| {
            format!(
                "{}: mode {:o}, readable by {}",
                display(&f.path),
                f.mode,
                f.who()
            )
        }));
    }
    let paths: Vec<String> = exposed
        .iter()
        .map(|f| home_path_word(&display(&f.path)))
        .collect();
    let (subject, object) = if exposed.len() == 1 {
        ("it holds", "it")
    } else {
        ("they hold", "them")
    };
    outcome
        .detail(format!(
            "{subject} AWS secret keys or tokens; the AWS CLI creates these files with mode 600"
        ))
        .fix_with(
            format!("make {object} readable by you only (`devboot doctor --fix` does this)"),
            format!("chmod 600 {}", paths.join(" ")),
        )
}

/// The safe fix: `chmod 600` on every exposed file.
fn restrict(facts: &Facts) -> Result<(), String> {
    let files = AwsFiles::from_env(&facts.env);
    for file in secret_files(&files).iter().filter(|f| f.exposed()) {
        std::fs::set_permissions(&file.path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("{}: {e}", facts.display(&file.path)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{Sandbox, run, write};

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_world_readable_credentials_file_is_an_error_and_the_fix_makes_it_private() {
        let sandbox = Sandbox::new();
        let credentials = write(
            &sandbox.home().join(".aws/credentials"),
            "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\n",
        );
        chmod(&credentials, 0o644);
        let outcome = run(&CREDENTIALS_FILE_MODE, sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "~/.aws/credentials is readable by its group and every user (mode 644)"
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("chmod 600 ~/.aws/credentials")
        );

        restrict(&sandbox.facts()).unwrap();
        let mode = std::fs::metadata(&credentials)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let outcome = run(&CREDENTIALS_FILE_MODE, sandbox.facts());
        assert_eq!(
            (outcome.status, outcome.summary.as_str()),
            (Status::Ok, "~/.aws/credentials: readable by you only")
        );
    }

    #[test]
    fn token_caches_and_a_config_with_keys_count_too() {
        let mut sandbox = Sandbox::new();
        let custom = sandbox.dir.path().join("creds");
        write(&custom, "[default]\naws_access_key_id = A\n");
        chmod(&custom, 0o600);
        sandbox.var("AWS_SHARED_CREDENTIALS_FILE", custom.display().to_string());
        let config = write(
            &sandbox.home().join(".aws/config"),
            "[default]\nregion = eu-west-1\naws_secret_access_key = x\n",
        );
        chmod(&config, 0o640);
        let token = write(&sandbox.home().join(".aws/sso/cache/abc.json"), "{}");
        chmod(&token, 0o604);
        let outcome = run(&CREDENTIALS_FILE_MODE, sandbox.facts());
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "2 AWS credential and token files are readable by other users"
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("chmod 600 ~/.aws/config ~/.aws/sso/cache/abc.json")
        );
        assert!(
            outcome.details[0].contains("readable by its group"),
            "{:?}",
            outcome.details
        );
        assert!(
            outcome.details[1].contains("readable by every user"),
            "{:?}",
            outcome.details
        );

        // A config file without keys may be world-readable.
        assert!(!holds_secrets("[default]\nregion = eu-west-1\n"));
        assert!(holds_secrets("[x]\nAWS_SESSION_TOKEN: abc\n"));
    }
}
