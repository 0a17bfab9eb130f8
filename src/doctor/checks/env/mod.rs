//! `env.*`: the application's environment — every key of `.env.example` is set somewhere the
//! app reads (`.env` files or the profile's service environment), and proxy settings leave
//! local addresses alone. Only variable *names* are ever reported, never values.

use std::collections::BTreeSet;
use std::path::Path;

use crate::doctor::check::{Check, Outcome, QUICK, Run, SafeFix};
use crate::doctor::facts::Facts;
use crate::doctor::facts::app::{DOTENV_FILES, dotenv_entries, dotenv_in};
use crate::doctor::facts::project::app_services;
use crate::doctor::facts::proxy::{ProxySettings, shown};

/// The family's checks, in report order.
pub(super) const CHECKS: &[Check] = &[REQUIRED, PROXY];

const REQUIRED: Check = Check {
    id: "env.required",
    title: "Keys of .env.example are set",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(required),
    safe_fix: Some(SafeFix {
        description: "create `.env` from the example file (only when there is no `.env`)",
        apply: create_dotenv,
    }),
};

const PROXY: Check = Check {
    id: "env.proxy",
    title: "Proxy settings exempt local addresses",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(proxy),
    safe_fix: None,
};

/// Example files, in the order they are looked for.
const EXAMPLES: &[&str] = &[".env.example", ".env.sample", ".env.template", ".env.dist"];

fn example_file(dir: &Path) -> Option<&'static str> {
    EXAMPLES
        .iter()
        .copied()
        .find(|name| dir.join(name).is_file())
}

fn required(facts: &Facts) -> Result<Outcome, Outcome> {
    let dir = facts.app_dir();
    let example = example_file(dir)
        .ok_or_else(|| Outcome::skipped(format!("no {} in {}", EXAMPLES[0], facts.display(dir))))?;
    let text = std::fs::read_to_string(dir.join(example))
        .map_err(|error| Outcome::warn(format!("cannot read {example}: {error}")))?;
    let wanted: BTreeSet<String> = dotenv_entries(&text)
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let mut set: BTreeSet<String> = dotenv_in(dir).into_iter().map(|(_, key, _)| key).collect();
    for service in app_services(facts) {
        set.extend(service.environment.keys().cloned());
    }
    let missing: Vec<&String> = wanted.difference(&set).collect();
    if missing.is_empty() {
        return Ok(Outcome::ok(format!(
            "all {} keys of {example} are set",
            wanted.len()
        )));
    }
    let names = missing
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let count = crate::error::plural(missing.len(), "key");
    if !dir.join(".env").exists() {
        return Ok(
            Outcome::warn(format!("no .env: {count} of {example} unset ({names})")).fix_with(
                format!(
                    "create .env from {example} and fill in the values (ask your team for secrets)"
                ),
                format!("cp {example} .env"),
            ),
        );
    }
    Ok(
        Outcome::warn(format!("{count} of {example} not set: {names}"))
            .detail(format!(
                "looked in {} and the profile's environment of the app services",
                DOTENV_FILES.join(", ")
            ))
            .fix(format!(
                "add {names} to .env (ask your team for the values)"
            )),
    )
}

fn create_dotenv(facts: &Facts) -> Result<(), String> {
    let dir = facts.app_dir();
    let example = example_file(dir).ok_or("there is no example file")?;
    let target = dir.join(".env");
    if target.exists() {
        return Err("`.env` exists; add the missing keys by hand".into());
    }
    let text = std::fs::read(dir.join(example)).map_err(|e| e.to_string())?;
    crate::fsio::write_atomic(&target, &text).map_err(|e| e.to_string())
}

/// Hosts a `NO_PROXY` must name so local requests skip the proxy.
const LOCAL_HOSTS: &[&str] = &["localhost", "127.0.0.1"];

#[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
fn proxy(facts: &Facts) -> Result<Outcome, Outcome> {
    let settings = ProxySettings::of_host(facts);
    let Some(proxy) = settings.any_proxy() else {
        return Ok(Outcome::ok("no HTTP proxy is set"));
    };
    let name = proxy.name;
    let no_proxy = settings.no_proxy.as_ref().map_or("", |s| s.value.as_str());
    let exempt: Vec<&str> = no_proxy.split(',').map(str::trim).collect();
    let missing: Vec<&str> = LOCAL_HOSTS
        .iter()
        .copied()
        .filter(|host| !exempt.contains(host) && !exempt.contains(&"*"))
        .collect();
    if missing.is_empty() {
        return Ok(Outcome::ok(format!(
            "{name} is set; NO_PROXY exempts local addresses"
        )));
    }
    let wanted = if no_proxy.is_empty() {
        "localhost,127.0.0.1,::1".to_owned()
    } else {
        format!("{no_proxy},{}", missing.join(","))
    };
    Ok(Outcome::warn(format!(
        "{name} is set but NO_PROXY lacks {}",
        missing.join(", ")
    ))
    .detail(format!("{name}={}", shown(&proxy.value)))
    .detail("requests to the app and services on this machine would be sent to the proxy")
    .fix_with(
        "exempt local addresses (add it to your shell profile)",
        format!("export NO_PROXY={wanted} no_proxy={wanted}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{Sandbox, reported};

    #[test]
    fn missing_keys_are_named_without_values() {
        let sandbox = Sandbox::new();
        sandbox.write(
            ".env.example",
            "STRIPE_KEY=sk_test_example\nAPP_HOST=localhost\nDATABASE_URL=\n",
        );
        let outcome = reported(required(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(
            outcome.summary,
            "no .env: 3 keys of .env.example unset (APP_HOST, DATABASE_URL, STRIPE_KEY)"
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("cp .env.example .env")
        );

        sandbox.write(".env", "APP_HOST=myhost.test\n");
        sandbox.write(".env.local", "STRIPE_KEY=sk_live_supersecret\n");
        let outcome = reported(required(&sandbox.facts()));
        assert_eq!(
            outcome.summary,
            "1 key of .env.example not set: DATABASE_URL"
        );
        let everything = format!("{outcome:?}");
        for value in ["sk_live_supersecret", "myhost.test", "sk_test_example"] {
            assert!(!everything.contains(value), "a value leaked: {everything}");
        }
    }

    #[test]
    fn keys_the_profile_sets_for_the_app_count_as_set() {
        let sandbox = Sandbox::new();
        sandbox.write(
            "devboot.toml",
            "schema = 1\n[app]\nservice = \"web\"\n[services.web]\nimage = \"ruby:3.3\"\n[services.web.environment]\nDATABASE_URL = \"postgres://db/app\"\n",
        );
        sandbox.write(".env.example", "DATABASE_URL=\n");
        let outcome = reported(required(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(outcome.summary, "all 1 keys of .env.example are set");
    }

    #[test]
    fn without_an_example_file_it_is_skipped() {
        assert_eq!(
            reported(required(&Sandbox::new().facts())).status,
            Status::Skipped
        );
    }

    #[test]
    fn the_fix_copies_the_example_only_when_there_is_no_env_file() {
        let sandbox = Sandbox::new();
        sandbox.write(".env.sample", "A=1\n");
        create_dotenv(&sandbox.facts()).unwrap();
        assert_eq!(
            std::fs::read_to_string(sandbox.project().join(".env")).unwrap(),
            "A=1\n"
        );
        assert_eq!(reported(required(&sandbox.facts())).status, Status::Ok);
        sandbox.write(".env", "MINE=1\n");
        assert!(create_dotenv(&sandbox.facts()).is_err());
        assert_eq!(
            std::fs::read_to_string(sandbox.project().join(".env")).unwrap(),
            "MINE=1\n"
        );
    }

    #[test]
    fn a_proxy_without_local_exemptions_is_reported() {
        let mut sandbox = Sandbox::new();
        assert_eq!(reported(proxy(&sandbox.facts())).status, Status::Ok);
        sandbox.var("HTTPS_PROXY", "http://bob:hunter2@proxy.corp:3128");
        sandbox.var("NO_PROXY", "localhost,.corp");
        let outcome = reported(proxy(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(
            outcome.summary,
            "HTTPS_PROXY is set but NO_PROXY lacks 127.0.0.1"
        );
        assert_eq!(
            outcome.details[0],
            "HTTPS_PROXY=http://bob:***@proxy.corp:3128"
        );
        assert!(!format!("{outcome:?}").contains("hunter2"));
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("export NO_PROXY=localhost,.corp,127.0.0.1 no_proxy=localhost,.corp,127.0.0.1")
        );
        sandbox.var("NO_PROXY", "localhost,127.0.0.1");
        assert_eq!(reported(proxy(&sandbox.facts())).status, Status::Ok);
    }
}
