//! Redaction: the one place secrets are taken out of text devboot shows. [`mask_url_passwords`]
//! replaces URL passwords with `***` wherever a URL is shown (`up`'s summary, doctor's proxy
//! messages); [`Redactor::redact`] is what every string of a doctor report passes through
//! before it is rendered anywhere (text, JSON, report file), container log tails included.
//!
//! One rule says which variables hold secrets: [`is_secret_name`]. The redactor removes the
//! values of every such variable of the host environment and of every layer of the project's
//! profile (services' `environment` and build `args`), and the value after any such name written
//! `NAME=value` (or `name: "value"`) in the text itself; it also removes anything that looks like
//! an AWS secret, masks AWS access key ids to their last four characters, masks URL passwords,
//! and writes the home directory as `~`.

use std::collections::BTreeSet;

use crate::env::Environment;
use crate::profile::LoadedProfile;
use crate::profile::document::parse_document;
use crate::profile::source::LayerKind;

/// Parts of a variable name that make it a secret wherever they appear in it.
const SECRET_PARTS: &[&str] = &[
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "PRIVATE_KEY",
];

/// Endings of names that say where a secret is kept, not what it is (`PGPASSFILE` aside, these
/// hold paths): `POSTGRES_PASSWORD_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, `PASSWORD_STORE_DIR`.
const LOCATION_SUFFIXES: &[&str] = &["_FILE", "_PATH", "_DIR"];

/// Bundler settings whose names hold dots (`build.pg` is `BUNDLE_BUILD__PG`) but no gem server.
const BUNDLER_DOTTED_SETTINGS: &[&str] = &["BUILD", "LOCAL", "MIRROR", "GEM"];

/// Access key id prefixes: long-term (`AKIA`) and temporary (`ASIA`) keys.
const ACCESS_KEY_PREFIXES: &[&str] = &["AKIA", "ASIA"];

/// What a removed secret is replaced with.
const REDACTED: &str = "[redacted]";

/// Values shorter than this are not treated as secrets (they would match everywhere).
const MIN_SECRET_LEN: usize = 4;

/// Whether a variable (or a key like `aws_secret_access_key`, in any case) holds a secret:
///
/// * its name contains `SECRET`, `PASSWORD`, `PASSWD`, `PASSPHRASE`, `CREDENTIAL` or
///   `PRIVATE_KEY` (`SECRET_KEY_BASE`, `PGPASSWORD`, `AWS_SECRET_ACCESS_KEY`);
/// * one of its `_`-separated words ends in `TOKEN` or `TOKENS` (`GITHUB_TOKEN`, `NPM_TOKEN`,
///   `AWS_SESSION_TOKEN`, `NGROK_AUTHTOKEN`; not `TOKENIZERS_PARALLELISM`);
/// * it is `KEY` or ends in `_KEY` (`RAILS_MASTER_KEY`, `STRIPE_KEY`; not `KEYBOARD`, `MONKEY`,
///   nor `AWS_ACCESS_KEY_ID`: key ids are identifiers, shown masked to their last four
///   characters);
/// * it is Bundler's credential for a gem server, `BUNDLE_<HOST>__<DOMAIN>`
///   (`BUNDLE_GEMS__CONTRIBSYS__COM=user:pass`; not settings like `BUNDLE_BUILD__PG`);
///
/// unless it ends in `_FILE`, `_PATH` or `_DIR`: those say where a secret is kept.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    if LOCATION_SUFFIXES
        .iter()
        .any(|suffix| name.ends_with(suffix))
    {
        return false;
    }
    SECRET_PARTS.iter().any(|part| name.contains(part))
        || name
            .split('_')
            .any(|word| word.ends_with("TOKEN") || word.ends_with("TOKENS"))
        || name == "KEY"
        || name.ends_with("_KEY")
        || is_bundler_credential(&name)
}

/// `BUNDLE_GEMS__CONTRIBSYS__COM`: a host name, its dots written `__`.
fn is_bundler_credential(upper_name: &str) -> bool {
    upper_name
        .strip_prefix("BUNDLE_")
        .and_then(|rest| rest.split_once("__"))
        .is_some_and(|(first, _)| !first.is_empty() && !BUNDLER_DOTTED_SETTINGS.contains(&first))
}

/// The secrets in the value of variable `name`: none unless the name says secret; of a URL,
/// its password alone (the rest of it is shown, password masked); of Bundler's `user:password`,
/// the whole value and the password.
fn secrets_of<'v>(name: &str, value: &'v str) -> Vec<&'v str> {
    if !is_secret_name(name) {
        return Vec::new();
    }
    if value.contains("://") {
        return url_secrets(value).map(|range| &value[range]).collect();
    }
    let mut secrets = vec![value];
    if is_bundler_credential(&name.to_ascii_uppercase())
        && let Some((_, password)) = value.split_once(':')
    {
        secrets.push(password);
    }
    secrets
}

/// Redacts text for one environment and project.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Secret values, longest first so a secret containing another is removed whole.
    secrets: Vec<String>,
    home: Option<String>,
}

impl Redactor {
    /// The redactor of the host environment `env`.
    pub fn new(env: &Environment) -> Self {
        Self::for_project(env, None)
    }

    /// The redactor of `env` and of the project whose profile is `profile`: the secrets of
    /// every non-built-in layer count (a value a later layer overrides may still show up in a
    /// container's log). Built-in profiles are public, and so are the stack's service and image
    /// names: a value equal to one (the `rails` profile's `POSTGRES_PASSWORD = "postgres"`) is
    /// not removed, or every mention of the service would go.
    pub fn for_project(env: &Environment, profile: Option<&LoadedProfile>) -> Self {
        let mut found: BTreeSet<&str> = env
            .vars()
            .flat_map(|(name, value)| secrets_of(name, value))
            .collect();
        let documents: Vec<_> = profile
            .into_iter()
            .flat_map(|profile| {
                profile.layers.iter().filter_map(|&id| {
                    let layer = profile.sources.get(id);
                    (layer.kind != LayerKind::Builtin)
                        .then(|| parse_document(&layer.text, id).ok())
                        .flatten()
                })
            })
            .collect();
        for service in documents.iter().flat_map(|doc| doc.services.values()) {
            let environment = service
                .environment
                .iter()
                .map(|(name, value)| (name.value.as_str(), value.value.0.as_str()));
            let args = service
                .build
                .iter()
                .flat_map(|build| build.value.args.iter())
                .map(|(name, value)| (name.as_str(), value.as_str()));
            found.extend(
                environment
                    .chain(args)
                    .flat_map(|(name, value)| secrets_of(name, value)),
            );
        }
        let public = profile.map(public_words).unwrap_or_default();
        let mut secrets: Vec<String> = found
            .into_iter()
            .filter(|value| is_secret_value(value, &public))
            .map(str::to_owned)
            .collect();
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        let home = env
            .home
            .as_deref()
            .and_then(|home| home.to_str())
            .map(|home| home.trim_end_matches('/').to_owned())
            .filter(|home| !home.is_empty());
        Self { secrets, home }
    }

    /// `text` with every secret removed or masked.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), REDACTED);
        }
        let text = labelled_secrets(&text);
        let text = access_key_ids(&text);
        let text = mask_url_passwords(&text);
        match &self.home {
            Some(home) => home_as_tilde(&text, home),
            None => text,
        }
    }
}

/// Whether a value found where a secret is kept is one: long enough to be, and none of the
/// words the stack shows in the open ([`public_words`]).
fn is_secret_value(value: &str, public: &BTreeSet<String>) -> bool {
    value.len() >= MIN_SECRET_LEN && !public.contains(value)
}

/// The secrets a profile writes in the value of variable `name` (`profile lint`'s
/// `literal-secret`): what the redactor would remove from it, the value of a secret's name and
/// the password of a URL whatever the name, but not a word of the stack's `public` ones (the
/// `rails` profile's `POSTGRES_PASSWORD = "postgres"`).
pub fn literal_secrets<'v>(name: &str, value: &'v str, public: &BTreeSet<String>) -> Vec<&'v str> {
    let mut secrets = secrets_of(name, value);
    secrets.extend(url_secrets(value).map(|range| &value[range]));
    secrets.retain(|secret| is_secret_value(secret, public));
    secrets.dedup();
    secrets
}

/// What the stack shows in the open: its service names and the parts of its image names.
pub fn public_words(profile: &LoadedProfile) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    for (name, service) in &profile.merged.services {
        words.insert(name.value.clone());
        if let Some(image) = &service.image {
            words.insert(image.value.clone());
            words.extend(image.value.split(['/', ':', '@']).map(str::to_owned));
        }
    }
    words
}

fn is_base64(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'+' | b'=')
}

/// The value written after a secret's name (see [`is_secret_name`]) in `text`, removed whatever
/// its length (a three-letter password, or one equal to a service name like `postgres`, which
/// the value list leaves alone): `NAME=value`, `NAME="value"`, `"name": "value"`, `name: value`
/// opening a line (a YAML key), and `name: value` elsewhere only when the value looks like a key
/// (16 or more base64 characters; other words after a colon mid-line are prose). A reference
/// (`$NAME`, `<token>`) and a URL (whose password is masked on its own) stay.
fn labelled_secrets(text: &str) -> String {
    let bytes = text.as_bytes();
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let quote = |b: u8| matches!(b, b'"' | b'\'' | b'`');
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !name_byte(bytes[i]) || (i > 0 && name_byte(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let name_start = i;
        while i < bytes.len() && name_byte(bytes[i]) {
            i += 1;
        }
        if !is_secret_name(&text[name_start..i]) {
            continue;
        }
        let mut j = i;
        while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'"' | b'\'') {
            j += 1;
        }
        let Some(&separator) = bytes.get(j).filter(|b| matches!(b, b'=' | b':')) else {
            continue;
        };
        j += 1;
        while j < bytes.len() && matches!(bytes[j], b' ' | b'\t') {
            j += 1;
        }
        let quoted = bytes.get(j).copied().filter(|&b| quote(b));
        let value_start = j + usize::from(quoted.is_some());
        let value_end = match quoted {
            Some(q) => text[value_start..]
                .find(char::from(q))
                .map_or(bytes.len(), |k| value_start + k),
            None => text[value_start..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`'))
                .map_or(bytes.len(), |k| value_start + k),
        };
        let value = &text[value_start..value_end];
        let keylike = value.len() >= 16 && value.bytes().all(is_base64);
        // `name: value` opening its line (after indentation or a list dash) is a YAML key.
        let yaml_key = text[..name_start]
            .rsplit('\n')
            .next()
            .is_some_and(|before| {
                before
                    .trim_start_matches([' ', '\t', '-', '"', '\''])
                    .is_empty()
            });
        let secret = !value.is_empty()
            && (quoted.is_some() || separator == b'=' || yaml_key || keylike)
            && !value.starts_with(['$', '<', '*', '%', '{'])
            && value != REDACTED
            && !value.contains("://");
        if secret {
            out.push_str(&text[copied..value_start]);
            out.push_str(REDACTED);
            copied = value_end;
        }
        i = value_end.max(i);
    }
    out.push_str(&text[copied..]);
    out
}

/// `AKIA` or `ASIA` and 16 more upper-case letters or digits, standing alone: all but the
/// last four characters masked, as `aws configure list` does.
fn access_key_ids(text: &str) -> String {
    let bytes = text.as_bytes();
    let id_byte = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i + 20 <= bytes.len() {
        let standalone = (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            && bytes.get(i + 20).is_none_or(|b| !b.is_ascii_alphanumeric());
        if standalone
            && ACCESS_KEY_PREFIXES
                .iter()
                .any(|prefix| bytes[i..].starts_with(prefix.as_bytes()))
            && bytes[i..i + 20].iter().all(|&b| id_byte(b))
        {
            out.push_str(&text[copied..i]);
            out.push_str(&"*".repeat(16));
            out.push_str(&text[i + 16..i + 20]);
            copied = i + 20;
            i += 20;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Every URL password in `text` — one URL, or free text holding any number of them — replaced
/// by `***`: `scheme://user:password@host…` → `scheme://user:***@host…`. A user part with no
/// password that is long enough to be a token (`https://TOKEN@github.com`) is replaced whole.
///
/// Passwords are often written unencoded, and then `/ ? # ' @ :` can all be part of one, while
/// a URL parser (the `url` crate, libpq, Ruby's `URI`) ends the userinfo at the first `/ ? #`
/// and would show the rest. So the password here is everything from after `scheme://user:` up
/// to the last `@` before the next whitespace: when that is ambiguous (`http://h:80/p?to=a@b`),
/// more is masked, never less.
pub fn mask_url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for secret in url_secrets(text).filter(|secret| &text[secret.clone()] != MASK) {
        out.push_str(&text[copied..secret.start]);
        out.push_str(MASK);
        copied = secret.end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Where the URL passwords (or token user parts) of `text` are, in order.
fn url_secrets(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut search = 0;
    std::iter::from_fn(move || {
        while let Some(found) = text[search..].find("://") {
            let sep = search + found;
            let token_end = text[sep..]
                .find(char::is_whitespace)
                .map_or(text.len(), |i| sep + i);
            search = token_end;
            if let Some(secret) = userinfo_secret(text, sep, token_end) {
                return Some(secret);
            }
        }
        None
    })
}

/// What a URL password is replaced with.
const MASK: &str = "***";

/// The secret in the userinfo of the URL whose `://` is at `sep` and which ends at `end`: the
/// password, or a user part long enough to be a token.
fn userinfo_secret(text: &str, sep: usize, end: usize) -> Option<std::ops::Range<usize>> {
    // Byte-wise: the byte after any non-ASCII character's last byte starts a character.
    let scheme_start = text.as_bytes()[..sep]
        .iter()
        .rposition(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')))
        .map_or(0, |i| i + 1);
    if !text[scheme_start..sep].starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let start = sep + 3;
    let at = start + text[start..end].rfind('@')?;
    let userinfo = &text[start..at];
    let (user, secret_start) = match userinfo.find(':') {
        Some(colon) => (&userinfo[..colon], start + colon + 1),
        None if userinfo.len() >= 20 => (userinfo, start),
        None => return None,
    };
    // A user part never holds these; with them the `@` is in the path (`https://h/a:b@c`).
    if user.contains(['/', '?', '#']) || secret_start == at {
        return None;
    }
    Some(secret_start..at)
}

/// The home directory written as `~` where it starts a path.
fn home_as_tilde(text: &str, home: &str) -> String {
    let path_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find(home) {
        let start = search + found;
        let end = start + home.len();
        let starts_path = start == 0 || !(path_byte(bytes[start - 1]) || bytes[start - 1] == b'/');
        let ends_path = bytes.get(end).is_none_or(|&b| !path_byte(b));
        if starts_path && ends_path {
            out.push_str(&text[copied..start]);
            out.push('~');
            copied = end;
        }
        search = end;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "FwoGZXIvYXdzEBYaDHqa0AP1/Example+SessionToken==";

    fn redactor() -> Redactor {
        Redactor::new(&Environment::from_vars(
            [
                ("HOME", "/home/alice"),
                ("AWS_SECRET_ACCESS_KEY", SECRET),
                ("AWS_SESSION_TOKEN", TOKEN),
                ("RAILS_MASTER_KEY", "0123456789abcdef0123456789abcdef"),
            ],
            PathBuf::from("/home/alice/app"),
        ))
    }

    #[test]
    fn secret_variable_values_are_removed_wherever_they_appear() {
        let text = format!("key={SECRET} token:{TOKEN} master 0123456789abcdef0123456789abcdef");
        let redacted = redactor().redact(&text);
        assert!(!redacted.contains(SECRET), "{redacted}");
        assert!(!redacted.contains(TOKEN), "{redacted}");
        assert!(!redacted.contains("0123456789abcdef0123"), "{redacted}");
        assert_eq!(redacted.matches(REDACTED).count(), 3, "{redacted}");
    }

    #[test]
    fn one_rule_says_which_names_are_secret() {
        for secret in [
            "GITHUB_TOKEN",
            "NPM_TOKEN",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "NGROK_AUTHTOKEN",
            "SLACK_BOT_TOKENS",
            "AWS_SECRET_ACCESS_KEY",
            "aws_secret_access_key",
            "SECRET_KEY_BASE",
            "CLIENT_SECRET",
            "RAILS_MASTER_KEY",
            "STRIPE_SECRET_KEY",
            "STRIPE_KEY",
            "KEY",
            "DB_PASSWORD",
            "PGPASSWORD",
            "MYSQL_ROOT_PASSWD",
            "GPG_PASSPHRASE",
            "REGISTRY_CREDENTIALS",
            "SSH_PRIVATE_KEY_PEM",
            "BUNDLE_GEMS__CONTRIBSYS__COM",
            "BUNDLE_RUBYGEMS__PKG__GITHUB__COM",
        ] {
            assert!(is_secret_name(secret), "{secret} is a secret");
        }
        for plain in [
            "PATH",
            "HOME",
            "RAILS_ENV",
            "KEYBOARD",
            "MONKEY",
            "AWS_ACCESS_KEY_ID",
            "DATABASE_URL",
            "TOKENIZERS_PARALLELISM",
            "POSTGRES_PASSWORD_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "PASSWORD_STORE_DIR",
            "BUNDLE_BUILD__PG",
            "BUNDLE_LOCAL__RACK",
            "BUNDLE_PATH",
            "BUNDLE_WITHOUT",
        ] {
            assert!(!is_secret_name(plain), "{plain} is not a secret");
        }
    }

    /// A project in a temporary directory with `devboot.toml` and `devboot.local.toml`.
    fn project_profile(project: &str, local: &str) -> (tempfile::TempDir, LoadedProfile) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("devboot.toml"), project).unwrap();
        std::fs::write(dir.path().join("devboot.local.toml"), local).unwrap();
        let env = Environment::default();
        let catalogs =
            crate::catalog::Catalogs::for_project(&env, dir.path(), crate::catalog::Refresh::None)
                .unwrap();
        let profile = crate::profile::load_project(dir.path(), &catalogs).unwrap();
        (dir, profile)
    }

    #[test]
    fn a_log_tail_loses_the_secrets_of_the_host_and_of_every_profile_layer() {
        let (_dir, profile) = project_profile(
            "schema = 1\nextends = \"rails\"\n[services.web.environment]\nSTRIPE_SECRET_KEY = \"sk_test_devboot_overridden\"\nAPP_HOST = \"shop.test\"\n\
             [services.web.build]\ncontext = \".\"\nargs = { BUNDLE_GEMS__CONTRIBSYS__COM = \"cafe0123:babe4567\" }\n",
            "[services.web.environment]\nSTRIPE_SECRET_KEY = \"sk_test_devboot_hidden_1234\"\nPOSTGRES_PASSWORD = \"postgres\"\n",
        );
        let env = Environment::from_vars(
            [
                ("HOME", "/home/alice"),
                ("GITHUB_TOKEN", "ghp_devbootHostToken0123456789"),
                ("TOKENIZERS_PARALLELISM", "false"),
            ],
            PathBuf::from("/home/alice/app"),
        );
        let redactor = Redactor::for_project(&env, Some(&profile));
        let line = "  web | charge with sk_test_devboot_hidden_1234 (was sk_test_devboot_overridden) \
                    via ghp_devbootHostToken0123456789 to postgres://u:p@h/db, gems babe4567; \
                    host shop.test, postgres up, parallel false";
        assert_eq!(
            redactor.redact(line),
            "  web | charge with [redacted] (was [redacted]) via [redacted] to postgres://u:***@h/db, \
             gems [redacted]; host shop.test, postgres up, parallel false"
        );
        // Without the profile, only the host's secrets are known.
        let host_only = Redactor::new(&env).redact(line);
        assert!(
            host_only.contains("sk_test_devboot_hidden_1234"),
            "{host_only}"
        );
        assert!(!host_only.contains("ghp_devboot"), "{host_only}");
    }

    #[test]
    fn a_secret_written_after_its_name_is_removed() {
        let r = Redactor::default();
        for (text, redacted) in [
            (
                "STRIPE_KEY=sk_live_abcd1234 next",
                "STRIPE_KEY=[redacted] next",
            ),
            (
                r#"{"password":"hunter22","user":"bob"}"#,
                r#"{"password":"[redacted]","user":"bob"}"#,
            ),
            (
                "export GITHUB_TOKEN='ghp x y'",
                "export GITHUB_TOKEN='[redacted]'",
            ),
            (
                "BUNDLE_GEMS__CONTRIBSYS__COM=cafe0123:babe4567",
                "BUNDLE_GEMS__CONTRIBSYS__COM=[redacted]",
            ),
            // Whatever the length, and when the value is a word the stack shows elsewhere.
            ("PGPASSWORD=abc psql", "PGPASSWORD=[redacted] psql"),
            ("DB_PASSWORD=x", "DB_PASSWORD=[redacted]"),
            (
                "POSTGRES_PASSWORD=postgres initdb",
                "POSTGRES_PASSWORD=[redacted] initdb",
            ),
            (
                r#""POSTGRES_PASSWORD": "pg""#,
                r#""POSTGRES_PASSWORD": "[redacted]""#,
            ),
            (
                "development:\n  password: pw\n  - SECRET_KEY_BASE: ab",
                "development:\n  password: [redacted]\n  - SECRET_KEY_BASE: [redacted]",
            ),
            (
                "POSTGRES_PASSWORD: postgres",
                "POSTGRES_PASSWORD: [redacted]",
            ),
        ] {
            assert_eq!(r.redact(text), redacted, "{text}");
        }
        for unchanged in [
            "the configured POSTGRES_PASSWORD: its data volume was initialised before",
            "error: password: too short",
            "GITHUB_TOKEN=$GITHUB_TOKEN",
            "RAILS_MASTER_KEY=<the key>",
            "AWS_ACCESS_KEY_ID=AKIA",
            "TOKENIZERS_PARALLELISM=false",
            "POSTGRES_PASSWORD_FILE=/run/secrets/pg",
            "MONKEY=banana",
        ] {
            assert_eq!(r.redact(unchanged), unchanged);
        }
        // A URL keeps all but its password.
        assert_eq!(
            r.redact("SECRET_DATABASE_URL=postgres://app:pw12@db/app"),
            "SECRET_DATABASE_URL=postgres://app:***@db/app"
        );
    }

    #[test]
    fn secrets_after_their_key_names_are_removed_without_the_environment() {
        let other = "abcdEFGHijklMNOPqrstUVWXyz0123456789+/AB";
        let text = format!(
            "aws_secret_access_key = {other}\nAWS_SECRET_ACCESS_KEY=\"{other}\"\naws_session_token: {TOKEN}"
        );
        let redacted = Redactor::default().redact(&text);
        assert!(!redacted.contains(other), "{redacted}");
        assert!(!redacted.contains(TOKEN), "{redacted}");
        assert!(
            redacted.starts_with("aws_secret_access_key = [redacted]\n"),
            "{redacted}"
        );
        // A key name without a value, or with a short one, stays as written.
        let prose = "set aws_secret_access_key in ~/.aws/credentials";
        assert_eq!(Redactor::default().redact(prose), prose);
    }

    #[test]
    fn access_key_ids_keep_only_their_last_four_characters() {
        let redacted =
            Redactor::default().redact("id AKIAIOSFODNN7EXAMPLE, temp ASIAY34FZKBOKMUTVV7A.");
        assert_eq!(
            redacted,
            "id ****************MPLE, temp ****************VV7A."
        );
        // Not an id: too long, or part of a longer word.
        let text = "AKIAIOSFODNN7EXAMPLEX xAKIAIOSFODNN7EXAMPLE";
        assert_eq!(Redactor::default().redact(text), text);
    }

    #[test]
    fn url_passwords_are_replaced() {
        let r = Redactor::default();
        assert_eq!(
            r.redact("DATABASE_URL=postgres://postgres:s3cr@t@db:5432/app_dev"),
            "DATABASE_URL=postgres://postgres:***@db:5432/app_dev"
        );
        assert_eq!(
            r.redact("redis://:pw@redis:6379/0"),
            "redis://:***@redis:6379/0"
        );
        assert_eq!(
            r.redact("proxy http://bob:hunter2@proxy.corp:3128 and https://ghp_abcdefghijklmnopqrstuvwxyz@github.com/x"),
            "proxy http://bob:***@proxy.corp:3128 and https://***@github.com/x"
        );
        for unchanged in [
            "postgres://postgres@db:5432",
            "redis://redis:6379/0",
            "see https://docs.docker.com/desktop/",
            "mailto:a@b ://x@y",
        ] {
            assert_eq!(r.redact(unchanged), unchanged);
        }
    }

    #[test]
    fn passwords_with_url_delimiters_are_masked_whole() {
        for (url, masked) in [
            (
                "postgres://app:Zx9/k+Q@localhost:5432/app",
                "postgres://app:***@localhost:5432/app",
            ),
            ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
            ("postgres://u:a#b@db/x", "postgres://u:***@db/x"),
            (
                "postgres://u:a?b=c@db/x?sslmode=off",
                "postgres://u:***@db/x?sslmode=off",
            ),
            ("postgres://u:it's@db", "postgres://u:***@db"),
            ("postgres://u:p@ss:w0rd@db:5432", "postgres://u:***@db:5432"),
            ("postgres://u:a/b?c#d'e@f:g@db/x", "postgres://u:***@db/x"),
            ("ü postgres://u:p@h", "ü postgres://u:***@h"),
        ] {
            assert_eq!(mask_url_passwords(url), masked, "{url}");
            assert_eq!(mask_url_passwords(masked), masked, "{masked}");
        }
        for unchanged in [
            "http://user@h",
            "http://h/a:b@c",
            "redis://:@h",
            "é://x:y@z",
            "https://github.com/org/repo/commit/0123456789@abc",
        ] {
            assert_eq!(mask_url_passwords(unchanged), unchanged);
        }
    }

    #[test]
    fn every_url_of_free_text_is_masked() {
        assert_eq!(
            mask_url_passwords(
                "DATABASE_URL = postgres://app:Zx9/k+Q@db/app (from .env), REDIS_URL=redis://:s#cr?t@redis:6379/0\nok"
            ),
            "DATABASE_URL = postgres://app:***@db/app (from .env), REDIS_URL=redis://:***@redis:6379/0\nok"
        );
        // Ambiguous: the `@` could end a password; more is masked, never less.
        assert_eq!(
            mask_url_passwords("`http://h:80/p?to=a@b`"),
            "`http://h:***@b`"
        );
    }

    proptest::proptest! {
        #[test]
        fn no_password_survives(password in "[!-~é😀]{1,24}") {
            let text = format!("url postgres://app:{password}@db:5432/app, then more");
            let masked = mask_url_passwords(&text);
            proptest::prop_assert_eq!(masked, "url postgres://app:***@db:5432/app, then more");
        }
    }

    #[test]
    fn the_home_directory_is_shown_as_tilde() {
        let r = redactor();
        assert_eq!(r.redact("/home/alice/code/app"), "~/code/app");
        assert_eq!(r.redact("in `/home/alice`."), "in `~`.");
        assert_eq!(r.redact("HOME=/home/alice"), "HOME=~");
        for unchanged in ["/home/alicia/x", "/srv/home/alice/x", "/home/alice.bak"] {
            assert_eq!(r.redact(unchanged), unchanged);
        }
    }

    #[test]
    fn redaction_is_idempotent_and_leaves_ordinary_text_alone() {
        let r = redactor();
        let text = format!(
            "AKIAIOSFODNN7EXAMPLE {SECRET} postgres://u:p@h/d /home/alice/x aws_session_token={TOKEN}"
        );
        let once = r.redact(&text);
        assert_eq!(r.redact(&once), once);
        let plain = "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 — 3 ok, ✓ done";
        assert_eq!(r.redact(plain), plain);
    }
}
