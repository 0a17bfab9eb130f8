//! Reading service URLs as people write them (`DATABASE_URL`, `REDIS_URL`, a proxy): parsed
//! with the `url` crate, also when a password holds `/ ? # @` unencoded, and with where the
//! host is written so a caller can point the URL elsewhere without rewriting the rest.

use std::ops::Range;

use url::Url;

/// A URL read from text, and where its parts are written in that text.
#[derive(Debug, Clone)]
pub struct WrittenUrl {
    pub url: Url,
    /// The host as written (`db`, `[::1]`).
    pub host: Range<usize>,
    /// The host and the port after it, as written (`db:5432`).
    pub host_port: Range<usize>,
    /// The port as written; `None` when none is, or when it is not a number (`${DB_PORT}`).
    pub port: Option<u16>,
}

impl WrittenUrl {
    /// Whether a port is written after the host, a number or not.
    pub fn has_port(&self) -> bool {
        self.host_port.end > self.host.end
    }
}

/// The URL `text` is (`scheme://[user[:password]@]host[:port][/path][?query][#fragment]`).
/// The userinfo ends at the last `@` before the path, as the URL standard reads it; when that
/// reading fails (a password with `/`, `?` or `#` written unencoded, as in
/// `postgres://app:Zx9/k+Q@localhost/app`), at the last `@`. A port that is not a number
/// (`${DB_PORT}`) is read as none, if nothing else makes the URL readable.
pub fn read(text: &str) -> Option<WrittenUrl> {
    let authority = text.find("://")? + 3;
    let path = text[authority..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |i| authority + i);
    let standard = text[authority..path].rfind('@').map(|i| authority + i);
    let last = text[authority..].rfind('@').map(|i| authority + i);
    let mut readings = vec![(standard, Port::Strict), (last, Port::Strict)];
    readings.extend([(last, Port::Lax), (standard, Port::Lax)]);
    readings.dedup();
    readings
        .into_iter()
        .find_map(|(at, port)| reading(text, authority, at, port))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    /// The port must be a number.
    Strict,
    /// A port that is not a number is left out.
    Lax,
}

/// `text` read with its userinfo ending at `at` (none when `None`).
fn reading(text: &str, authority: usize, at: Option<usize>, port: Port) -> Option<WrittenUrl> {
    let host_start = at.map_or(authority, |at| at + 1);
    let rest = &text[host_start..];
    let host_len = if rest.starts_with('[') {
        rest.find(']')? + 1
    } else {
        rest.find([':', '/', '?', '#', '\\']).unwrap_or(rest.len())
    };
    let written_port = rest[host_len..]
        .strip_prefix(':')
        .map(|after| &after[..after.find(['/', '?', '#', '\\']).unwrap_or(after.len())]);
    let port_len = written_port.map_or(0, |p| p.len() + 1);
    let number = written_port.and_then(|p| p.parse::<u16>().ok());
    let after_host = if port == Port::Lax && written_port.is_some() && number.is_none() {
        format!("{}{}", &rest[..host_len], &rest[host_len + port_len..])
    } else {
        rest.to_owned()
    };
    let mut url = Url::parse(&format!("{}{after_host}", &text[..authority])).ok()?;
    if url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    if let Some(at) = at {
        let userinfo = &text[authority..at];
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        url.set_username(user).ok()?;
        url.set_password(password).ok()?;
    }
    Some(WrittenUrl {
        url,
        host: host_start..host_start + host_len,
        host_port: host_start..host_start + host_len + port_len,
        port: number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> Option<(String, &str, &str, Option<u16>)> {
        let written = read(text)?;
        Some((
            written.url.password().unwrap_or_default().to_owned(),
            &text[written.host.clone()],
            &text[written.host_port.clone()],
            written.port,
        ))
    }

    #[test]
    fn urls_read_as_the_standard_reads_them() {
        assert_eq!(
            parts("postgres://app:pw@db:5432/app?x=a@b"),
            Some(("pw".into(), "db", "db:5432", Some(5432)))
        );
        assert_eq!(
            parts("redis://:pw@redis/0"),
            Some(("pw".into(), "redis", "redis", None))
        );
        assert_eq!(
            parts("postgres://u@[::1]:6000/app"),
            Some((String::new(), "[::1]", "[::1]:6000", Some(6000)))
        );
        assert_eq!(
            parts("http://web"),
            Some((String::new(), "web", "web", None))
        );
        assert_eq!(
            parts("http://web:80/x"),
            Some((String::new(), "web", "web:80", Some(80)))
        );
        assert_eq!(
            parts("postgres://localhost:${DB_PORT}/app"),
            Some((String::new(), "localhost", "localhost:${DB_PORT}", None))
        );
        for broken in ["no url", "file:///etc/hosts", "x://", "postgres://a b/x"] {
            assert!(read(broken).is_none(), "{broken}");
        }
    }

    #[test]
    fn passwords_with_delimiters_written_unencoded_still_find_the_host() {
        assert_eq!(
            parts("postgres://app:Zx9/k+Q@localhost:5432/app"),
            Some((
                "Zx9%2Fk+Q".into(),
                "localhost",
                "localhost:5432",
                Some(5432)
            ))
        );
        assert_eq!(
            parts("postgres://app:a#b?c@127.0.0.1/app"),
            Some(("a%23b%3Fc".into(), "127.0.0.1", "127.0.0.1", None))
        );
        assert_eq!(
            parts("postgres://postgres:s3cr@t@db:5432/app_dev"),
            Some(("s3cr%40t".into(), "db", "db:5432", Some(5432)))
        );
    }
}
