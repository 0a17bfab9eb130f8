//! Redaction: the one function every string of a doctor report passes through before it is
//! rendered anywhere (text, JSON, report file). It removes the values of secret environment
//! variables and anything that looks like an AWS secret, masks AWS access key ids to their
//! last four characters, replaces passwords in URLs with `***`, and writes the home directory
//! as `~`.

use crate::env::Environment;

/// Variables whose values are secrets wherever they show up.
const SECRET_VARS: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "RAILS_MASTER_KEY",
    "SECRET_KEY_BASE",
];

/// Keys (as in `~/.aws/credentials` or `aws configure list`) whose values are secrets.
const SECRET_KEYS: &[&str] = &[
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
];

/// Access key id prefixes: long-term (`AKIA`) and temporary (`ASIA`) keys.
const ACCESS_KEY_PREFIXES: &[&str] = &["AKIA", "ASIA"];

/// What a removed secret is replaced with.
pub(super) const REDACTED: &str = "[redacted]";

/// Values shorter than this are not treated as secrets (they would match everywhere).
const MIN_SECRET_LEN: usize = 4;

/// Redacts text for one environment.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Secret values, longest first so a secret containing another is removed whole.
    secrets: Vec<String>,
    home: Option<String>,
}

impl Redactor {
    pub fn new(env: &Environment) -> Self {
        let mut secrets: Vec<String> = SECRET_VARS
            .iter()
            .filter_map(|name| env.var(name))
            .filter(|value| value.len() >= MIN_SECRET_LEN)
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
        let text = url_passwords(&text);
        match &self.home {
            Some(home) => home_as_tilde(&text, home),
            None => text,
        }
    }
}

fn is_base64(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'+' | b'=')
}

/// `aws_secret_access_key = VALUE` (any case, `=` or `:`, optional quotes): VALUE removed.
fn labelled_secrets(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some((at, key)) = SECRET_KEYS
        .iter()
        .filter_map(|key| lower[search..].find(key).map(|i| (search + i, *key)))
        .min()
    {
        let mut i = at + key.len();
        let mut separated = false;
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'"' | b'\'' | b'=' | b':') {
            separated |= matches!(bytes[i], b'=' | b':');
            i += 1;
        }
        let value_start = i;
        while i < bytes.len() && is_base64(bytes[i]) {
            i += 1;
        }
        if separated && i - value_start >= 16 {
            out.push_str(&text[copied..value_start]);
            out.push_str(REDACTED);
            copied = i;
        }
        search = i.max(at + key.len());
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

/// `scheme://user:password@host` → `scheme://user:***@host`. A user part with no password
/// that is long enough to be a token (`https://TOKEN@github.com`) is replaced whole.
pub(super) fn url_passwords(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let sep = search + found;
        let scheme_start = bytes[..sep]
            .iter()
            .rposition(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')))
            .map_or(0, |i| i + 1);
        let authority_start = sep + 3;
        let authority_end = bytes[authority_start..]
            .iter()
            .position(|&b| {
                b.is_ascii_whitespace()
                    || matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'`' | b'<' | b'>')
            })
            .map_or(bytes.len(), |i| authority_start + i);
        search = authority_end.max(authority_start);
        let has_scheme = bytes.get(scheme_start).is_some_and(u8::is_ascii_alphabetic);
        let Some(at) = text[authority_start..authority_end].rfind('@') else {
            continue;
        };
        if !has_scheme {
            continue;
        }
        let userinfo_end = authority_start + at;
        let userinfo = &text[authority_start..userinfo_end];
        let secret_start = match userinfo.find(':') {
            Some(colon) => authority_start + colon + 1,
            None if userinfo.len() >= 20 => authority_start,
            None => continue,
        };
        if secret_start < userinfo_end && &text[secret_start..userinfo_end] != "***" {
            out.push_str(&text[copied..secret_start]);
            out.push_str("***");
            copied = userinfo_end;
        }
    }
    out.push_str(&text[copied..]);
    out
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
