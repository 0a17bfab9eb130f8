//! Image references (`postgres:16`, `127.0.0.1:5000/team/app:1.2@sha256:...`), parsed by the
//! grammar of the distribution spec so a typo fails at validation, not at pull time.

use std::fmt;

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (with port), when the reference names one.
    pub registry: Option<String>,
    /// Path within the registry, e.g. `library/postgres` is written `postgres`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, digest) = match text.split_once('@') {
            Some((name, digest)) => {
                let hex = digest
                    .strip_prefix("sha256:")
                    .ok_or_else(|| format!("digest `{digest}` must start with `sha256:`"))?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!(
                        "digest `{digest}` must be `sha256:` and 64 hex digits"
                    ));
                }
                (name, Some(digest.to_owned()))
            }
            None => (text, None),
        };
        // A tag is after the last `:` that follows the last `/` (a registry port comes before).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        if let Some(tag) = tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !valid {
                return Err(format!(
                    "tag `{tag}` may hold only letters, digits, `_`, `.` and `-`"
                ));
            }
        }
        let mut components: Vec<&str> = path.split('/').collect();
        let registry = match components.as_slice() {
            [first, _, ..] if first.contains(['.', ':']) || *first == "localhost" => {
                Some(components.remove(0).to_owned())
            }
            _ => None,
        };
        if let Some(component) = components.iter().find(|c| !valid_path_component(c)) {
            return Err(if component.is_empty() {
                "the image name is empty".to_owned()
            } else {
                format!(
                    "`{component}` is not a valid image name part (lowercase letters, digits, and `.`, `_`, `-` between them)"
                )
            });
        }
        Ok(Self {
            registry,
            repository: components.join("/"),
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// The tag to pull when none is written.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// `registry/repository` without tag or digest, as the engine's pull API takes it.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}", self.repository),
            None => self.repository.clone(),
        }
    }
}

fn valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes.iter().all(|b| alnum(b) || b"._-".contains(b))
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl Serialize for ImageRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_shapes() {
        let r = ImageRef::parse("postgres:16").unwrap();
        assert_eq!(
            (r.registry, r.repository.as_str(), r.tag.as_deref()),
            (None, "postgres", Some("16"))
        );
        let r = ImageRef::parse("127.0.0.1:5000/devboot/postgres:15").unwrap();
        assert_eq!(r.registry.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(r.repository, "devboot/postgres");
        assert_eq!(r.tag.as_deref(), Some("15"));
        let r = ImageRef::parse("localhost/app").unwrap();
        assert_eq!(
            (r.registry.as_deref(), r.tag_or_latest()),
            (Some("localhost"), "latest")
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("ghcr.io/org/app@{digest}")).unwrap();
        assert_eq!(r.digest.as_deref(), Some(digest.as_str()));
    }

    #[test]
    fn round_trips_through_display() {
        for text in [
            "redis:7",
            "ghcr.io/a/b:1.2.3",
            "127.0.0.1:5000/x/y",
            "a/b-c_d.e:latest",
        ] {
            assert_eq!(ImageRef::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn rejects_what_the_engine_would() {
        for bad in [
            "Postgres:16",
            "postgres:",
            "post gres",
            "",
            "a//b",
            "x:tag@sha256:12",
            "-a:1",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
