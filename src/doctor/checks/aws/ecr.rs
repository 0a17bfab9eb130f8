//! `aws.ecr_login`: the stack's images on Amazon ECR (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`)
//! can be pulled: the Docker CLI config gives the registry a credential helper that is
//! installed (`ecr-login` never expires), a credential store, or a `docker login` entry — and
//! such a login lasts 12 hours. Static: read from `config.json`, the helpers on `PATH` and the
//! file's age, never a secret, no pull.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::doctor::check::{Check, Outcome, QUICK, Run, Status};
use crate::doctor::facts::Facts;
use crate::engine::auth::{CredentialSource, credential_source};
use crate::engine::endpoint;

pub(super) const ECR_LOGIN: Check = Check {
    id: "aws.ecr_login",
    title: "Images on Amazon ECR can be pulled with a live login",
    depends_on: &["profile.valid"],
    timeout: QUICK,
    run: Run::Blocking(ecr_login),
    safe_fix: None,
};

/// How long an ECR authorization token (what `aws ecr get-login-password` prints) lasts.
const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// An ECR registry host, split into its account and region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct EcrRegistry {
    host: String,
    account: String,
    region: String,
}

/// `ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]`, or `None`.
fn ecr_registry(host: &str) -> Option<EcrRegistry> {
    let lower = host.to_ascii_lowercase();
    let rest = lower
        .strip_suffix(".amazonaws.com")
        .or_else(|| lower.strip_suffix(".amazonaws.com.cn"))?;
    let (account, rest) = rest.split_once('.')?;
    let region = rest
        .strip_prefix("dkr.ecr.")
        .or_else(|| rest.strip_prefix("dkr.ecr-fips."))?;
    let valid_region = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && valid_region).then(
        || EcrRegistry {
            host: host.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
        },
    )
}

fn ecr_login(facts: &Facts) -> Result<Outcome, Outcome> {
    let stack = facts
        .stack()
        .ok_or_else(|| Outcome::skipped("the profile did not load"))?;
    // Registries of the images `devboot up` pulls (built services' images are local).
    let mut registries: BTreeMap<EcrRegistry, Vec<String>> = BTreeMap::new();
    for service in stack.services.values().filter(|s| s.build.is_none()) {
        if let Some(registry) = service.image.registry.as_deref().and_then(ecr_registry) {
            registries
                .entry(registry)
                .or_default()
                .push(service.name.clone());
        }
    }
    if registries.is_empty() {
        return Err(Outcome::skipped("no image of the stack is on Amazon ECR"));
    }
    let config_dir = endpoint::config_dir(&facts.env)
        .ok_or_else(|| Outcome::skipped("no HOME or DOCKER_CONFIG, so no Docker CLI config"))?;
    let config_file = config_dir.join("config.json");
    let age = std::fs::metadata(&config_file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok());
    let mut found = Vec::new();
    for (registry, services) in registries {
        let source = credential_source(
            &config_dir,
            &registry.host,
            facts.var("PATH"),
            &facts.env.cwd,
        )
        .map_err(|error| {
            let outcome = Outcome::error(error.to_string());
            match error.hint() {
                Some(hint) => outcome.fix(hint),
                None => outcome,
            }
        })?;
        found.push((registry, services, source));
    }
    Ok(judge(&found, age, &facts.display(&config_file)))
}

/// Judges each ECR registry's credential source; `age` is how long ago `config.json` (where
/// `docker login` writes a login without a store) was last written.
fn judge(
    registries: &[(EcrRegistry, Vec<String>, CredentialSource)],
    age: Option<Duration>,
    config_file: &str,
) -> Outcome {
    let mut status = Status::Ok;
    let mut problems = Vec::new();
    let mut fine = Vec::new();
    let mut details = Vec::new();
    let mut login_for: Vec<&EcrRegistry> = Vec::new();
    let mut missing_helpers: Vec<String> = Vec::new();
    let hours = |d: Duration| d.as_secs() / 3600;
    for (registry, services, source) in registries {
        let host = &registry.host;
        let used_by = format!("{} (`{}`)", host, services.join("`, `"));
        match source {
            CredentialSource::Helper { helper, installed }
            | CredentialSource::Store { helper, installed }
                if !installed =>
            {
                status = status.max(Status::Error);
                problems.push(format!(
                    "`docker-credential-{helper}` for {host} is not installed: pulls fail with `error getting credentials`"
                ));
                missing_helpers.push(helper.clone());
            }
            CredentialSource::Helper { helper, .. } => fine.push(format!(
                "{used_by}: credential helper `docker-credential-{helper}`"
            )),
            CredentialSource::Store { helper, .. } => {
                fine.push(format!(
                    "{used_by}: logins kept by `docker-credential-{helper}`"
                ));
                details.push(format!(
                    "a `docker login` to {host} kept by `{helper}` lasts 12 h; if pulls say `authorization token has expired`, log in again"
                ));
                login_for.push(registry);
            }
            CredentialSource::Auths => match age {
                Some(age) if age > TOKEN_LIFETIME => {
                    status = status.max(Status::Error);
                    problems.push(format!(
                        "the `docker login` to {host} is older than 12 h ({config_file} was last written {} h ago): ECR tokens expire after 12 h, pulls fail with `denied: Your authorization token has expired`",
                        hours(age)
                    ));
                    login_for.push(registry);
                }
                _ => {
                    status = status.max(Status::Warn);
                    problems.push(format!(
                        "{used_by}: a `docker login` token in {config_file}, which expires 12 h after the login"
                    ));
                    login_for.push(registry);
                }
            },
            CredentialSource::Anonymous => {
                status = status.max(Status::Error);
                problems.push(format!(
                    "no credentials for {host} (`{}`): pulls fail with `no basic auth credentials`",
                    services.join("`, `")
                ));
                login_for.push(registry);
            }
        }
    }
    if status == Status::Ok {
        return Outcome::ok(fine.join("; ")).details(details);
    }
    let summary = problems.join("; ");
    let mut outcome = if status == Status::Error {
        Outcome::error(summary)
    } else {
        Outcome::warn(summary)
    };
    outcome = outcome.details(fine).details(details);
    let mut seen = Vec::new();
    for registry in login_for {
        if seen.contains(&&registry.host) {
            continue;
        }
        seen.push(&registry.host);
        outcome = outcome.fix_with(
            format!(
                "log in to {} with your AWS credentials (valid for 12 h)",
                registry.host
            ),
            format!(
                "aws ecr get-login-password --region {} | docker login --username AWS --password-stdin {}",
                registry.region, registry.host
            ),
        );
    }
    if missing_helpers.is_empty() {
        let hosts: Vec<String> = registries
            .iter()
            .map(|(r, _, _)| format!("\"{}\": \"ecr-login\"", r.host))
            .collect();
        outcome = outcome.fix(format!(
            "for good: install amazon-ecr-credential-helper (`sudo apt-get install amazon-ecr-credential-helper`, `brew install docker-credential-helper-ecr`) and add `\"credHelpers\": {{{}}}` to {config_file}; it logs in with your AWS profile on every pull",
            hosts.join(", ")
        ));
    } else {
        outcome = outcome.fix(format!(
            "install the missing helper{} (`sudo apt-get install amazon-ecr-credential-helper`, `brew install docker-credential-helper-ecr` for `ecr-login`), or remove the entry from {config_file}",
            if missing_helpers.len() > 1 { "s" } else { "" }
        ));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::testing::{Sandbox, reported, script, write};

    const ECR: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

    fn registry() -> EcrRegistry {
        ecr_registry(ECR).unwrap()
    }

    #[test]
    fn ecr_hosts_are_recognised() {
        assert_eq!(
            registry(),
            EcrRegistry {
                host: ECR.into(),
                account: "123456789012".into(),
                region: "eu-west-1".into()
            }
        );
        assert_eq!(
            ecr_registry("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com")
                .unwrap()
                .region,
            "us-east-1"
        );
        assert_eq!(
            ecr_registry("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn")
                .unwrap()
                .region,
            "cn-north-1"
        );
        for other in [
            "ghcr.io",
            "127.0.0.1:5000",
            "12345.dkr.ecr.eu-west-1.amazonaws.com",
            "123456789012.dkr.ecr..amazonaws.com",
            "public.ecr.aws",
        ] {
            assert_eq!(ecr_registry(other), None, "{other}");
        }
    }

    #[test]
    fn each_credential_source_is_judged() {
        let at = |source: CredentialSource, age: Option<u64>| {
            judge(
                &[(registry(), vec!["api".into()], source)],
                age.map(|h| Duration::from_secs(h * 3600)),
                "~/.docker/config.json",
            )
        };
        let login = format!(
            "aws ecr get-login-password --region eu-west-1 | docker login --username AWS --password-stdin {ECR}"
        );

        let none = at(CredentialSource::Anonymous, None);
        assert_eq!(none.status, Status::Error);
        assert_eq!(
            none.summary,
            format!(
                "no credentials for {ECR} (`api`): pulls fail with `no basic auth credentials`"
            )
        );
        assert_eq!(none.fixes[0].command.as_deref(), Some(login.as_str()));
        assert!(
            none.fixes[1]
                .description
                .contains(&format!("\"{ECR}\": \"ecr-login\""))
        );

        let fresh = at(CredentialSource::Auths, Some(2));
        assert_eq!(fresh.status, Status::Warn, "{fresh:?}");
        assert_eq!(fresh.fixes[0].command.as_deref(), Some(login.as_str()));
        let stale = at(CredentialSource::Auths, Some(30));
        assert_eq!(stale.status, Status::Error);
        assert!(
            stale.summary.contains("last written 30 h ago"),
            "{}",
            stale.summary
        );

        let helper = at(
            CredentialSource::Helper {
                helper: "ecr-login".into(),
                installed: true,
            },
            None,
        );
        assert_eq!(helper.status, Status::Ok);
        assert_eq!(
            helper.summary,
            format!("{ECR} (`api`): credential helper `docker-credential-ecr-login`")
        );
        let missing = at(
            CredentialSource::Helper {
                helper: "ecr-login".into(),
                installed: false,
            },
            None,
        );
        assert_eq!(missing.status, Status::Error);
        assert!(
            missing
                .summary
                .starts_with("`docker-credential-ecr-login` for")
        );
        assert!(
            missing.fixes[0]
                .description
                .contains("amazon-ecr-credential-helper")
        );
    }

    #[test]
    fn the_check_reads_the_profile_and_the_cli_config() {
        let mut sandbox = Sandbox::new();
        let bin = sandbox.dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        sandbox.var("PATH", bin.display().to_string());
        sandbox.write(
            "devboot.toml",
            &format!(
                "schema = 1\n\n[project]\nname = \"ecrtest\"\n\n[services.db]\nimage = \"postgres:16\"\n\n[services.api]\nimage = \"{ECR}/team/api:1\"\n"
            ),
        );
        let outcome = reported(ecr_login(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert!(
            outcome.summary.starts_with("no credentials for"),
            "{}",
            outcome.summary
        );

        let config = sandbox.home().join(".docker/config.json");
        write(
            &config,
            &format!(r#"{{"auths": {{"{ECR}": {{"auth": "QVdTOnRva2Vu"}}}}}}"#),
        );
        let outcome = reported(ecr_login(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert!(
            !format!("{outcome:?}").contains("QVdTOnRva2Vu"),
            "no secret"
        );

        write(
            &config,
            &format!(r#"{{"credHelpers": {{"{ECR}": "ecr-login"}}}}"#),
        );
        assert_eq!(reported(ecr_login(&sandbox.facts())).status, Status::Error);
        script(&bin.join("docker-credential-ecr-login"), "exit 0");
        assert_eq!(reported(ecr_login(&sandbox.facts())).status, Status::Ok);

        let plain = Sandbox::new();
        plain.write("devboot.toml", crate::doctor::testing::PROFILE);
        assert_eq!(reported(ecr_login(&plain.facts())).status, Status::Skipped);
    }
}
