//! `devboot profile lint`: rules for profiles that are valid but will hurt the people who use
//! them (a Postgres 18 volume at the old path, an image on `latest`, a secret committed in an
//! environment value). Pure: a loaded profile (every layer, every value with its origin) and the
//! stack it validates into go in; findings come out, each with its rule's id and severity, the
//! `file:line:column` of the value at fault and a hint. [`RULES`] is the one list of rules; the
//! help text and `docs/publishing.md` show it.

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use serde::Serialize;

use crate::model::{Stack, postgres};
use crate::profile::diagnostic::{Diagnostic, Place};
use crate::profile::document::{LayerId, Origin, PortPolicy, ProfileDocument, parse_document};
use crate::profile::source::LayerKind;
use crate::profile::{LoadedProfile, SCHEMA_VERSION};
use crate::redact;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// One rule: its stable id (for CI logs and `--json`), how bad breaking it is, and what it is.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

const POSTGRES_DATA_DIR: Rule = Rule {
    id: "postgres-data-dir",
    severity: Severity::Error,
    summary: "Postgres 18+ with its data volume at /var/lib/postgresql/data",
};
const IMAGE_UNPINNED: Rule = Rule {
    id: "image-unpinned",
    severity: Severity::Warning,
    summary: "an image without a tag, or on `latest`",
};
const IMAGE_DIGEST: Rule = Rule {
    id: "image-digest",
    severity: Severity::Warning,
    summary: "a catalog profile's image without a digest (`@sha256:...`)",
};
const LITERAL_SECRET: Rule = Rule {
    id: "literal-secret",
    severity: Severity::Error,
    summary: "a secret written in an environment value or build argument",
};
const HEALTHCHECK_MISSING: Rule = Rule {
    id: "healthcheck-missing",
    severity: Severity::Warning,
    summary: "a service others depend on has no healthcheck",
};
const HOST_PORT_SHARED: Rule = Rule {
    id: "host-port-shared",
    severity: Severity::Error,
    summary: "one host port published by two services (addresses overlapping)",
};
const SCHEMA_OUTDATED: Rule = Rule {
    id: "schema-outdated",
    severity: Severity::Warning,
    summary: "a profile without `schema`, or older than this devboot's",
};

/// Every rule, in the order findings of one value are reported.
pub const RULES: &[Rule] = &[
    POSTGRES_DATA_DIR,
    IMAGE_UNPINNED,
    IMAGE_DIGEST,
    LITERAL_SECRET,
    HEALTHCHECK_MISSING,
    HOST_PORT_SHARED,
    SCHEMA_OUTDATED,
];

/// The rules as the help text and the docs list them.
pub fn rules_table() -> String {
    let width = RULES.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let mut table = String::new();
    for rule in RULES {
        let severity = rule.severity.name();
        let _ = writeln!(
            table,
            "  {:<width$}  {severity:<7}  {}",
            rule.id, rule.summary
        );
    }
    table
}

/// The rules under `devboot profile lint --help`.
pub fn rules_help() -> String {
    format!("Rules (id, severity, what it finds):\n{}", rules_table())
}

/// One rule broken at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    #[serde(flatten)]
    pub diagnostic: Diagnostic,
}

impl Finding {
    fn new(rule: Rule, diagnostic: Diagnostic) -> Self {
        Self {
            rule: rule.id,
            severity: rule.severity,
            diagnostic,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}]: {}",
            self.severity.name(),
            self.rule,
            self.diagnostic
        )
    }
}

/// What is linted: a profile, resolved with its bases, and the stack it validated into.
/// `catalog`: the profile is published in a catalog, for others to extend.
pub fn lint(loaded: &LoadedProfile, stack: &Stack, catalog: bool) -> Vec<Finding> {
    let mut findings = Vec::new();
    let doc = &loaded.merged;
    let at = |origin: &Origin| Diagnostic::at(&loaded.sources, origin, String::new());
    let with = |rule: Rule, diagnostic: Diagnostic, message: String, hint: String| {
        Finding::new(
            rule,
            Diagnostic {
                message,
                ..diagnostic
            }
            .with_hint(hint),
        )
    };
    for (name, service) in &doc.services {
        let Some(validated) = stack.services.get(&name.value) else {
            continue;
        };
        if let Some(written) = &service.image {
            let image = &validated.image;
            if image.digest.is_none() && image.tag_or_latest() == "latest" {
                findings.push(with(
                    IMAGE_UNPINNED,
                    at(&written.origin),
                    format!("image `{image}` is whatever `latest` is on the day it is pulled"),
                    format!("name a version: `{}:<version>`", image.name()),
                ));
            }
            if catalog && image.digest.is_none() {
                findings.push(with(
                    IMAGE_DIGEST,
                    at(&written.origin),
                    format!("image `{image}` has no digest: a tag can be moved to other content"),
                    format!(
                        "pin it: `{image}@sha256:<digest>` (`docker inspect --format '{{{{index .RepoDigests 0}}}}' {image}` shows the digest of the one you tested)"
                    ),
                ));
            }
        }
        if postgres::keeps_data_by_major(&validated.image) {
            let at_old_path = service.volumes.iter().flatten().find(|volume| {
                volume
                    .value
                    .mount()
                    .is_ok_and(|m| m.target == postgres::LEGACY_DATA_DIR)
            });
            // The stack says where the volume ends up (a built-in profile's follows the major).
            let kept = validated
                .mounts
                .iter()
                .any(|m| m.target() == postgres::LEGACY_DATA_DIR);
            if let (Some(volume), true) = (at_old_path, kept) {
                findings.push(with(
                    POSTGRES_DATA_DIR,
                    at(&volume.origin),
                    format!(
                        "`{}` is Postgres 18 or later, which keeps its data in `/var/lib/postgresql/<major>/docker` and refuses to start with a volume at `{}`",
                        validated.image,
                        postgres::LEGACY_DATA_DIR
                    ),
                    format!(
                        "mount the volume at `{}`, or leave `volumes` to the built-in profile, whose volume follows the image's major",
                        postgres::VERSIONED_VOLUME_DIR
                    ),
                ));
            }
        }
        let dependents: Vec<(&str, bool)> = stack
            .services
            .values()
            .filter_map(|other| {
                let condition = other.depends_on.get(&name.value)?;
                Some((
                    other.name.as_str(),
                    *condition == crate::model::DependencyCondition::Healthy,
                ))
            })
            .collect();
        if validated.healthcheck.is_none() && !dependents.is_empty() {
            let names: Vec<String> = dependents.iter().map(|(n, _)| format!("`{n}`")).collect();
            let waits = if dependents.iter().any(|(_, healthy)| *healthy) {
                ", waiting for it to be healthy"
            } else {
                ": they start before it is ready"
            };
            findings.push(with(
                HEALTHCHECK_MISSING,
                at(&name.origin),
                format!(
                    "service `{}` has no healthcheck, but {} depend{} on it{waits}",
                    name.value,
                    names.join(", "),
                    if names.len() == 1 { "s" } else { "" }
                ),
                "add `healthcheck = { test = \"...\" }`: a command that succeeds once the service answers".to_owned(),
            ));
        }
    }
    findings.extend(shared_host_ports(loaded, &at));
    findings.extend(literal_secrets(loaded, &at));
    let top = loaded.sources.top();
    let written = parse_document(&top.text, LayerId(0)).unwrap_or_default();
    match &written.schema {
        None => findings.push(Finding::new(
            SCHEMA_OUTDATED,
            Diagnostic::in_file(&top.display, "the profile does not say which schema it is written for")
                .with_hint(format!("add `schema = {SCHEMA_VERSION}` at the top, so a later devboot reads it as this one does")),
        )),
        Some(schema) if schema.value < SCHEMA_VERSION => findings.push(with(
            SCHEMA_OUTDATED,
            at(&schema.origin),
            format!("the profile is written for schema {}; this devboot's is {SCHEMA_VERSION}", schema.value),
            "see the CHANGELOG for what changed, then raise `schema`".to_owned(),
        )),
        Some(_) => {}
    }
    findings.sort_by(|a, b| {
        sort_key(&a.diagnostic.location)
            .cmp(&sort_key(&b.diagnostic.location))
            .then(a.rule.cmp(b.rule))
    });
    findings
}

fn sort_key(place: &Place) -> (&str, usize, usize) {
    match place {
        Place::At(location) => (&location.file, location.line, location.column),
        Place::File { file } => (file, 0, 0),
    }
}

/// Two services publishing one host port where validation lets them: the same port on the
/// wildcard address and on another (exact duplicates are validation errors).
fn shared_host_ports(loaded: &LoadedProfile, at: &dyn Fn(&Origin) -> Diagnostic) -> Vec<Finding> {
    let mut claimed: Vec<(&str, IpAddr, u16, &Origin)> = Vec::new();
    let mut findings = Vec::new();
    for (name, service) in &loaded.merged.services {
        for port in service.ports.iter().flatten() {
            let Ok(mapping) = port.value.mapping() else {
                continue;
            };
            let Some(ip) = mapping
                .host_ip
                .as_deref()
                .map_or(Some(IpAddr::from([127, 0, 0, 1])), |ip| ip.parse().ok())
            else {
                continue;
            };
            let host = mapping.host.unwrap_or(mapping.container);
            if mapping.policy == PortPolicy::Auto {
                continue;
            }
            let overlapping = claimed.iter().find(|(other, other_ip, other_host, _)| {
                *other != name.value
                    && *other_host == host
                    && (ip == *other_ip || ip.is_unspecified() || other_ip.is_unspecified())
            });
            if let Some((other, other_ip, _, other_origin)) = overlapping {
                // At the mapping a built-in profile did not write, where the fix goes.
                let (origin, message) = if is_builtin(loaded, &port.origin) {
                    (
                        *other_origin,
                        format!(
                            "host port {host} on {other_ip} is also published by service `{}` on {ip}",
                            name.value
                        ),
                    )
                } else {
                    (
                        &port.origin,
                        format!(
                            "host port {host} on {ip} is also published by service `{other}` on {other_ip}"
                        ),
                    )
                };
                findings.push(Finding::new(
                    HOST_PORT_SHARED,
                    Diagnostic { message, ..at(origin) }
                    .with_hint("publish each host port once; `policy = \"auto\"` lets devboot pick a free one"),
                ));
            }
            claimed.push((&name.value, ip, host, &port.origin));
        }
    }
    findings
}

fn is_builtin(loaded: &LoadedProfile, origin: &Origin) -> bool {
    loaded.sources.get(origin.layer).kind == LayerKind::Builtin
}

/// Secrets written in any layer but devboot's own: what a profile says is committed and
/// shared, even when a later layer overrides it. Located, never quoted.
fn literal_secrets(loaded: &LoadedProfile, at: &dyn Fn(&Origin) -> Diagnostic) -> Vec<Finding> {
    let public = redact::public_words(loaded);
    let documents: Vec<ProfileDocument> = loaded
        .layers
        .iter()
        .filter(|id| loaded.sources.get(**id).kind != LayerKind::Builtin)
        .filter_map(|id| parse_document(&loaded.sources.get(*id).text, *id).ok())
        .collect();
    let mut findings = Vec::new();
    for (service_name, service) in documents.iter().flat_map(|d| &d.services) {
        let environment = service.environment.iter().map(|(name, value)| {
            (
                format!("environment variable `{}`", name.value),
                name.value.as_str(),
                value.value.0.as_str(),
                &value.origin,
            )
        });
        let args = service.build.iter().flat_map(|build| {
            build.value.args.iter().map(|(name, value)| {
                (
                    format!("build argument `{name}`"),
                    name.as_str(),
                    value.as_str(),
                    &build.origin,
                )
            })
        });
        for (what, name, value, origin) in environment.chain(args) {
            if redact::literal_secrets(name, value, &public).is_empty() {
                continue;
            }
            let mut diagnostic = at(origin);
            diagnostic.location = diagnostic.location.unquoted();
            diagnostic.message = format!(
                "{what} of service `{}` holds a secret written into the profile",
                service_name.value
            );
            findings.push(Finding::new(
                LITERAL_SECRET,
                diagnostic.with_hint(
                    "profiles are committed and shared: keep the secret out of them (the developer's git-ignored `devboot.local.toml`, or the app's own credentials)",
                ),
            ));
        }
    }
    findings
}

/// Findings at `severity` or worse.
pub fn count_at_least(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity >= severity).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::source::Layer;

    fn lint_text(text: &str, catalog: bool) -> Vec<Finding> {
        let loaded = crate::profile::load_standalone(Layer {
            display: "team.toml".into(),
            path: None,
            kind: LayerKind::File,
            text: text.into(),
        })
        .unwrap();
        let stack =
            crate::model::validate::stack(&loaded, std::path::Path::new("/src/shop")).unwrap();
        lint(&loaded, &stack, catalog)
    }

    fn rules(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.rule).collect()
    }

    fn place(finding: &Finding) -> String {
        match &finding.diagnostic.location {
            Place::At(l) => format!("{}:{}:{}", l.file, l.line, l.column),
            Place::File { file } => file.clone(),
        }
    }

    #[test]
    fn the_builtin_profiles_are_clean_outside_a_catalog() {
        for name in ["rails", "rails-sidekiq", "rails-mysql"] {
            let findings = lint_text(&format!("schema = 1\nextends = \"{name}\"\n"), false);
            assert_eq!(rules(&findings), Vec::<&str>::new(), "{name}");
        }
    }

    #[test]
    fn postgres_18_on_the_old_data_path() {
        let findings = lint_text(
            "schema = 1\nextends = \"rails\"\n[services.db]\nimage = \"postgres:18\"\nvolumes = [\"db-data:/var/lib/postgresql/data\"]\n",
            false,
        );
        assert_eq!(rules(&findings), ["postgres-data-dir"]);
        assert_eq!(place(&findings[0]), "team.toml:5:12");
        // The built-in profile's own volume follows the major: nothing to say.
        let findings = lint_text(
            "schema = 1\nextends = \"rails\"\n[services.db]\nimage = \"postgres:18.1\"\n",
            false,
        );
        assert_eq!(rules(&findings), Vec::<&str>::new());
        let findings = lint_text(
            "schema = 1\nextends = \"rails\"\n[services.db]\nimage = \"postgres:17\"\nvolumes = [\"db-data:/var/lib/postgresql/data\"]\n",
            false,
        );
        assert_eq!(rules(&findings), Vec::<&str>::new(), "17 uses the old path");
    }

    #[test]
    fn images_without_a_version_or_a_digest() {
        let findings = lint_text(
            "schema = 1\n[services.a]\nimage = \"redis\"\n[services.b]\nimage = \"redis:latest\"\n[services.c]\nimage = \"redis:7\"\n\
             [services.d]\nimage = \"redis@sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n",
            false,
        );
        assert_eq!(rules(&findings), ["image-unpinned", "image-unpinned"]);
        assert_eq!(place(&findings[1]), "team.toml:5:9");
        let findings = lint_text("schema = 1\n[services.c]\nimage = \"redis:7\"\n", true);
        assert_eq!(rules(&findings), ["image-digest"]);
        assert!(
            findings[0]
                .diagnostic
                .hint
                .as_ref()
                .unwrap()
                .contains("redis:7@sha256:")
        );
    }

    #[test]
    fn secrets_are_found_located_and_never_quoted() {
        let findings = lint_text(
            "schema = 1\nextends = \"rails\"\n[services.web.environment]\nSECRET_KEY_BASE = \"f00dfeedcafe\"\n\
             CACHE_URL = \"redis://:hunter22@redis:6379\"\nAPP_HOST = \"shop.test\"\nPOSTGRES_PASSWORD = \"postgres\"\n\
             [services.web.build]\nargs = { NPM_TOKEN = \"npm_abcdef\" }\n",
            false,
        );
        assert_eq!(
            rules(&findings),
            ["literal-secret", "literal-secret", "literal-secret"]
        );
        assert_eq!(
            findings.iter().map(place).collect::<Vec<_>>(),
            ["team.toml:4:19", "team.toml:5:13", "team.toml:8:1"]
        );
        for finding in &findings {
            let text = finding.to_string() + &serde_json::to_string(finding).unwrap();
            for secret in ["f00dfeedcafe", "hunter22", "npm_abcdef"] {
                assert!(!text.contains(secret), "{text}");
            }
        }
    }

    #[test]
    fn dependencies_without_a_healthcheck() {
        let findings = lint_text(
            "schema = 1\n[services.web]\nimage = \"ruby:3.3\"\ndepends_on = { db = \"healthy\", cache = \"started\" }\nhealthcheck = { test = \"true\" }\n\
             [services.db]\nimage = \"postgres:16\"\n[services.cache]\nimage = \"redis:7\"\nhealthcheck = { disable = true }\n",
            false,
        );
        assert_eq!(
            rules(&findings),
            ["healthcheck-missing", "healthcheck-missing"]
        );
        assert_eq!(
            findings
                .iter()
                .map(|f| f.diagnostic.message.as_str())
                .collect::<Vec<_>>(),
            [
                "service `db` has no healthcheck, but `web` depends on it, waiting for it to be healthy",
                "service `cache` has no healthcheck, but `web` depends on it: they start before it is ready",
            ]
        );
    }

    #[test]
    fn one_host_port_on_overlapping_addresses() {
        let findings = lint_text(
            "schema = 1\n[services.a]\nimage = \"x:1\"\nports = [\"0.0.0.0:8080:80\"]\n\
             [services.b]\nimage = \"y:1\"\nports = [\"8080:80\", \"127.0.0.1:9090:90\"]\n\
             [services.c]\nimage = \"z:1\"\nports = [\"127.0.0.2:9090:90\", { container = 80, host = 8080, policy = \"auto\" }]\n",
            false,
        );
        assert_eq!(rules(&findings), ["host-port-shared"]);
        assert_eq!(place(&findings[0]), "team.toml:7:10");
        assert_eq!(
            findings[0].diagnostic.message,
            "host port 8080 on 127.0.0.1 is also published by service `a` on 0.0.0.0"
        );
    }

    #[test]
    fn a_profile_without_schema() {
        let findings = lint_text("extends = \"rails\"\n", false);
        assert_eq!(rules(&findings), ["schema-outdated"]);
        assert_eq!(place(&findings[0]), "team.toml");
    }

    #[test]
    fn every_rule_is_listed_once() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        assert!(rules_table().lines().count() == RULES.len());
    }
}
