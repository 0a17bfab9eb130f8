//! `devboot.lock`: for every catalog profile a project uses, the exact content it resolved to —
//! the release tag and commit (git), the archive's SHA-256 (https tarball) and the SHA-256 of
//! each file read. Pure: parsing and a
//! deterministic rendering; reading and writing the file is the caller's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The lock file's name, beside `devboot.toml`.
pub const LOCK_FILE: &str = "devboot.lock";

const FORMAT: u32 = 1;

const HEADER: &str = "\
# devboot.lock: the exact catalog content this project's profile is built from.
# Written by devboot; commit it. `devboot up` uses exactly what it names; review an upgrade
# with `devboot profile update --dry-run`, then `devboot profile update`.
";

/// The whole lock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    #[serde(default)]
    pub version: u32,
    #[serde(default, rename = "profile")]
    pub profiles: Vec<Locked>,
}

/// One catalog profile as resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    /// The catalog's name in `devboot.toml` (informational: the URL identifies it).
    pub catalog: String,
    /// The catalog's location as written in `[catalogs]`.
    pub source: String,
    pub profile: String,
    /// The version request as written after `@` (empty for none).
    #[serde(default)]
    pub requested: String,
    /// The release tag it resolved to, when a tag selected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The commit (git catalogs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The archive's hex SHA-256 (https tarball catalogs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Every catalog file this profile read (its own and the ones it extends), by path in the
    /// catalog, with the hex SHA-256 of its content.
    pub files: BTreeMap<String, String>,
}

impl Lock {
    /// Parses a lock; the error names the line and column.
    pub fn parse(text: &str) -> Result<Self, String> {
        let lock: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        if lock.version != FORMAT {
            return Err(format!(
                "lock format {} is not supported (this devboot writes {FORMAT})",
                lock.version
            ));
        }
        Ok(lock)
    }

    /// The locked entry for a profile of the catalog `catalog` at `source`: the same location,
    /// or for a tarball any archive locked under the same name (a release is a new URL and
    /// digest; see [`super::spec::is_tarball`]).
    pub fn find(&self, catalog: &str, source: &str, profile: &str) -> Option<&Locked> {
        let tarball = super::spec::is_tarball(source);
        self.profiles.iter().find(|l| {
            l.profile == profile
                && if tarball {
                    l.catalog == catalog && super::spec::is_tarball(&l.source)
                } else {
                    l.source == source
                }
        })
    }

    /// The lock as written: header, entries sorted by catalog and profile.
    pub fn render(&self) -> String {
        let mut sorted = self.clone();
        sorted.version = FORMAT;
        sorted.profiles.sort_by(|a, b| {
            (&a.catalog, &a.profile, &a.source).cmp(&(&b.catalog, &b.profile, &b.source))
        });
        sorted.profiles.dedup();
        let body = toml::to_string(&sorted).unwrap_or_default();
        format!("{HEADER}\n{body}")
    }
}

impl Locked {
    /// `acme:rails v2.1.0 (0123abc)`, `acme:rails sha256:0123abc` for messages.
    pub fn describe(&self) -> String {
        let at = match (&self.tag, &self.commit, &self.digest) {
            (Some(tag), Some(commit), _) => format!(" {tag} ({})", short(commit)),
            (Some(tag), None, _) => format!(" {tag}"),
            (None, Some(commit), _) => format!(" {}", short(commit)),
            (None, None, Some(digest)) => format!(" sha256:{}", short(digest)),
            (None, None, None) => String::new(),
        };
        format!("{}:{}{at}", self.catalog, self.profile)
    }

    /// Which release is locked: the tag, else the commit, else the archive's digest (short);
    /// `None` for a directory.
    pub fn at(&self) -> Option<String> {
        self.tag
            .clone()
            .or_else(|| self.commit.as_deref().map(|c| short(c).to_owned()))
            .or_else(|| {
                self.digest
                    .as_deref()
                    .map(|d| format!("sha256:{}", short(d)))
            })
    }
}

/// A commit's (or digest's) first 12 hex digits.
pub fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(profile: &str) -> Locked {
        Locked {
            catalog: "acme".into(),
            source: "git+https://git.example.com/p".into(),
            profile: profile.into(),
            requested: "^2".into(),
            tag: Some("v2.0.0".into()),
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            digest: None,
            files: BTreeMap::from([("profiles/rails.toml".into(), "ab".repeat(32))]),
        }
    }

    #[test]
    fn the_lock_renders_deterministically_and_reads_back() {
        let lock = Lock {
            version: 0,
            profiles: vec![entry("web"), entry("rails")],
        };
        let text = lock.render();
        insta::assert_snapshot!(text);
        let back = Lock::parse(&text).unwrap();
        assert_eq!(back.profiles[0].profile, "rails");
        assert_eq!(back.render(), text);
        assert!(
            back.find("acme", "git+https://git.example.com/p", "web")
                .is_some()
        );
        assert!(Lock::parse("version = 9\n").is_err());
        assert!(Lock::parse("version = 1\n[[profile]]\nbogus = 1\n").is_err());
    }

    #[test]
    fn a_tarball_is_found_at_any_digest_and_described_by_it() {
        let digest = |d: &str| d.repeat(64);
        let tarball = Locked {
            source: format!("https://h.example/p.tgz#sha256={}", digest("a")),
            tag: None,
            commit: None,
            digest: Some(digest("a")),
            ..entry("rails")
        };
        let lock = Lock {
            version: 1,
            profiles: vec![tarball.clone()],
        };
        let released = format!("https://h.example/p-2.1.tgz#sha256={}", digest("b"));
        assert_eq!(lock.find("acme", &released, "rails"), Some(&tarball));
        assert!(lock.find("other", &released, "rails").is_none());
        assert!(
            lock.find("acme", "git+https://h.example/p", "rails")
                .is_none()
        );
        assert_eq!(tarball.describe(), "acme:rails sha256:aaaaaaaaaaaa");
        assert_eq!(Lock::parse(&lock.render()).unwrap().profiles, [tarball]);
    }
}
