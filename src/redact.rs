//! Redaction: the one place secrets are taken out of text devboot shows. [`mask_url_passwords`]
//! replaces URL passwords with `***` wherever a URL is shown (`up`'s summary, doctor's proxy
//! messages); [`Redactor::redact`] is what every string of a doctor report passes through
//! before it is rendered anywhere (text, JSON, report file): it also removes the values of
//! secret environment variables and anything that looks like an AWS secret, masks AWS access
//! key ids to their last four characters, and writes the home directory as `~`.

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
const REDACTED: &str = "[redacted]";

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
        let text = mask_url_passwords(&text);
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
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let sep = search + found;
        let token_end = text[sep..]
            .find(char::is_whitespace)
            .map_or(text.len(), |i| sep + i);
        search = token_end;
        if let Some(secret) = userinfo_secret(text, sep, token_end)
            && &text[secret.clone()] != MASK
        {
            out.push_str(&text[copied..secret.start]);
            out.push_str(MASK);
            copied = secret.end;
        }
    }
    out.push_str(&text[copied..]);
    out
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
