//! What a project writes about catalogs, read without I/O: a catalog's location
//! (`git+https://…`, `git://…`, `https://…/profiles.tar.gz#sha256=…`, `dir:../profiles`, a
//! path), a catalog profile reference
//! (`acme:rails@^2`), and which of a catalog's tags a version request selects.

use std::path::{Path, PathBuf};

use semver::{Version, VersionReq};

/// The git transports a catalog may use; anything else (`ext::`, `fd::`, helpers) is refused.
pub const GIT_PROTOCOLS: &[&str] = &["https", "http", "ssh", "git", "file"];

/// Where a catalog lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A git repository, fetched with the developer's own git; `url` is what git is given.
    Git { url: String },
    /// A directory on this machine, relative to the project root unless absolute.
    Dir { path: PathBuf },
    /// A gzip'd (or plain) tar archive fetched over https; `url` is without the fragment,
    /// `digest` the hex SHA-256 the archive must have (checked before anything is unpacked).
    Tarball { url: String, digest: String },
}

impl Location {
    /// Reads a `[catalogs]` value. `git+https://…`, `git+ssh://…`, `git+http://…`,
    /// `git+file://…` and `git://…` are git repositories; `https://…#sha256=HEX` is a tarball;
    /// `dir:PATH` or a path starting with `./`, `../` or `/` is a directory.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("dir:") {
            return dir(path);
        }
        if text.starts_with("./") || text.starts_with("../") || text.starts_with('/') {
            return dir(text);
        }
        if text.starts_with("https://") || text.starts_with("http://") {
            return tarball(text);
        }
        let git_url = text
            .strip_prefix("git+")
            .or_else(|| text.starts_with("git://").then_some(text))
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a catalog location; write `git+https://host/repo`, \
                     `git+ssh://host/repo`, `git://host/repo`, \
                     `https://host/profiles.tar.gz#sha256=HEX` or `dir:PATH`"
                )
            })?;
        let url = url::Url::parse(git_url).map_err(|e| format!("`{git_url}`: {e}"))?;
        if !GIT_PROTOCOLS.contains(&url.scheme()) {
            return Err(format!(
                "the `{}` transport is not allowed for catalogs (allowed: {})",
                url.scheme(),
                GIT_PROTOCOLS.join(", ")
            ));
        }
        if url.scheme() != "file" && url.host_str().is_none_or(|h| h.starts_with('-')) {
            return Err(format!("`{git_url}` names no valid host"));
        }
        Ok(Self::Git {
            url: git_url.to_owned(),
        })
    }
}

/// `https://host/path#sha256=HEX`. Plain `http://` is refused: the digest would keep the
/// content honest, but the URL's token and the catalog's profiles would cross the network in
/// clear text.
fn tarball(text: &str) -> Result<Location, String> {
    let shown = crate::redact::mask_url_passwords(text);
    let mut url = crate::urls::read(text)
        .ok_or_else(|| format!("`{shown}` is not a URL"))?
        .url;
    if url.scheme() != "https" {
        return Err(format!(
            "`{shown}`: a tarball catalog is fetched over https only; \
             serve it over https (a git catalog may use `git+http://`)"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{shown}` names no host"));
    }
    let digest = url
        .fragment()
        .and_then(|f| f.strip_prefix("sha256="))
        .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| {
            format!(
                "`{shown}` names no digest; a tarball catalog is pinned by its SHA-256: \
                 append `#sha256=` and the 64 hex digits `sha256sum profiles.tar.gz` prints \
                 (for a git repository write `git+https://…`)"
            )
        })?;
    url.set_fragment(None);
    Ok(Location::Tarball {
        url: url.into(),
        digest,
    })
}

/// Whether a `[catalogs]` value is an https tarball. A tarball's URL and digest change with
/// every release, so its lock entry is found by the catalog's name, not its location.
pub fn is_tarball(source: &str) -> bool {
    source.trim().starts_with("https://")
}

fn dir(path: &str) -> Result<Location, String> {
    if path.is_empty() {
        return Err("`dir:` needs a path".to_owned());
    }
    Ok(Location::Dir {
        path: PathBuf::from(path),
    })
}

/// Which version of a catalog an `extends` entry asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// No `@`: the newest release (git), or the directory as it is.
    Latest,
    /// A semver range over the catalog's release tags (`^2`, `~2.1`, `>=1.4, <3`).
    Range(VersionReq),
    /// An exact tag (`v2.1.0`, `2024-06`).
    Tag(String),
    /// A commit, 7 to 40 hex digits.
    Commit(String),
}

impl Request {
    /// A request as written after `@`; empty is [`Request::Latest`].
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Ok(Self::Latest);
        }
        if text.len() >= 7 && text.len() <= 40 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Self::Commit(text.to_ascii_lowercase()));
        }
        if let Some(version) = release_version(text) {
            // `2.1.0` or `v2.1.0` names that release's tag exactly.
            return Ok(Self::Range(
                VersionReq::parse(&format!("={version}")).map_err(|e| e.to_string())?,
            ));
        }
        if let Ok(range) = VersionReq::parse(text) {
            return Ok(Self::Range(range));
        }
        if is_tag_name(text) {
            return Ok(Self::Tag(text.to_owned()));
        }
        Err(format!(
            "`{text}` is neither a version range (`^2`, `~2.1`), a tag, nor a commit"
        ))
    }

    /// Whether a locked release (its tag and commit) still satisfies this request.
    pub fn accepts(&self, tag: Option<&str>, commit: Option<&str>) -> bool {
        match self {
            Self::Latest => true,
            Self::Range(range) => tag
                .and_then(release_version)
                .is_some_and(|v| range.matches(&v)),
            Self::Tag(wanted) => tag == Some(wanted.as_str()),
            Self::Commit(prefix) => commit.is_some_and(|c| c.starts_with(prefix.as_str())),
        }
    }
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Latest => f.write_str("latest"),
            Self::Range(range) => write!(f, "{range}"),
            Self::Tag(text) | Self::Commit(text) => f.write_str(text),
        }
    }
}

/// `acme:rails@^2`: a profile in a catalog, at a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRef {
    pub catalog: String,
    pub profile: String,
    pub request: Request,
    /// The version text as written after `@` (empty without one), recorded in the lock.
    pub written: String,
}

impl ProfileRef {
    /// Whether an `extends` entry names a catalog profile (`NAME:PROFILE[@VERSION]`).
    pub fn is_ref(text: &str) -> bool {
        !text.contains('/') && text.contains(':')
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let (catalog, rest) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}` is not `CATALOG:PROFILE@VERSION`"))?;
        let (profile, written) = rest.split_once('@').unwrap_or((rest, ""));
        if !is_name(catalog) {
            return Err(format!(
                "`{catalog}` is not a catalog name (letters, digits, `-`, `_`)"
            ));
        }
        if !is_name(profile) {
            return Err(format!(
                "`{profile}` is not a profile name (letters, digits, `-`, `_`)"
            ));
        }
        let request = Request::parse(written)?;
        Ok(Self {
            catalog: catalog.to_owned(),
            profile: profile.to_owned(),
            request,
            written: written.to_owned(),
        })
    }
}

/// Catalog and profile names: what a file name and a TOML bare key both accept.
pub fn is_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Tag names a request may name: no option, no path tricks, no revision syntax.
fn is_tag_name(text: &str) -> bool {
    is_name(&text.replace('.', "_")) && !text.contains("..")
}

/// The release a tag names: `v2.1.0` or `2.1.0` (pre-releases included).
pub fn release_version(tag: &str) -> Option<Version> {
    Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

/// The tag a request selects among a catalog's tags: the highest release in range (a
/// pre-release only when the range names one), or the exact tag. `None` when nothing fits or
/// the request names a commit.
pub fn select<'t>(request: &Request, tags: impl IntoIterator<Item = &'t str>) -> Option<&'t str> {
    let mut tags = tags.into_iter();
    match request {
        Request::Commit(_) => None,
        Request::Tag(wanted) => tags.find(|t| t == wanted),
        Request::Latest | Request::Range(_) => tags
            .filter_map(|t| Some((release_version(t)?, t)))
            .filter(|(v, _)| match request {
                Request::Range(range) => range.matches(v),
                _ => v.pre.is_empty(),
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, t)| t),
    }
}

/// The newest release among `tags`, pre-releases left out.
pub fn newest<'t>(tags: impl IntoIterator<Item = &'t str>) -> Option<&'t str> {
    select(&Request::Latest, tags)
}

/// A path inside a catalog, checked: relative, no `..`, no empty or `.` parts, no backslash.
pub fn inside(path: &str) -> Result<String, String> {
    let clean = path.strip_prefix("./").unwrap_or(path);
    let parts_ok = clean
        .split('/')
        .all(|part| !part.is_empty() && part != "." && part != "..");
    if clean.is_empty() || Path::new(clean).is_absolute() || clean.contains('\\') || !parts_ok {
        return Err(format!(
            "`{path}` leaves the catalog; a catalog profile may extend only files of its own catalog"
        ));
    }
    Ok(clean.to_owned())
}

/// Where a profile sits in a catalog.
pub fn profile_path(profile: &str) -> String {
    format!("profiles/{profile}.toml")
}

/// `path` joined onto the directory of `from` (both inside a catalog), checked with [`inside`].
pub fn relative_to(from: &str, path: &str) -> Result<String, String> {
    let dir = from.rsplit_once('/').map_or("", |(dir, _)| dir);
    let joined = if dir.is_empty() {
        path.to_owned()
    } else {
        format!("{dir}/{}", path.strip_prefix("./").unwrap_or(path))
    };
    inside(&joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_git_urls_with_allowed_transports_or_directories() {
        assert_eq!(
            Location::parse("git+https://git.example.com/platform/profiles").unwrap(),
            Location::Git {
                url: "https://git.example.com/platform/profiles".into()
            }
        );
        assert_eq!(
            Location::parse("git://127.0.0.1:9418/p.git").unwrap(),
            Location::Git {
                url: "git://127.0.0.1:9418/p.git".into()
            }
        );
        assert_eq!(
            Location::parse("dir:../platform").unwrap(),
            Location::Dir {
                path: "../platform".into()
            }
        );
        assert!(matches!(
            Location::parse("../platform"),
            Ok(Location::Dir { .. })
        ));
        for bad in [
            "git+ext::sh -c touch% /tmp/x",
            "git+fd::17",
            "https://example.com/x.git",
            "git+ssh://-oProxyCommand=x/y",
            "acme",
            "dir:",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tarball_locations_are_https_with_a_sha256() {
        let digest = "AB".repeat(32);
        assert_eq!(
            Location::parse(&format!(
                "https://host.example/p/profiles.tar.gz?v=2#sha256={digest}"
            ))
            .unwrap(),
            Location::Tarball {
                url: "https://host.example/p/profiles.tar.gz?v=2".into(),
                digest: digest.to_ascii_lowercase(),
            }
        );
        let refused = |text: &str| Location::parse(text).unwrap_err();
        let missing = refused("https://tok:s3cret@host.example/profiles.tar.gz");
        assert!(missing.contains("names no digest"), "{missing}");
        assert!(missing.contains("sha256sum"), "{missing}");
        assert!(!missing.contains("s3cret"), "{missing}");
        assert!(refused("https://host.example/x.tgz#sha256=abc").contains("no digest"));
        let plain = refused(&format!("http://host.example/x.tgz#sha256={digest}"));
        assert!(plain.contains("https only"), "{plain}");
        assert!(is_tarball(&format!(
            "https://h.example/x.tgz#sha256={digest}"
        )));
        assert!(!is_tarball("git+https://h.example/x"));
    }

    #[test]
    fn references_name_catalog_profile_and_version() {
        let r = ProfileRef::parse("acme:rails@^2").unwrap();
        assert_eq!((r.catalog.as_str(), r.profile.as_str()), ("acme", "rails"));
        assert_eq!(r.request, Request::Range(VersionReq::parse("^2").unwrap()));
        assert_eq!(
            ProfileRef::parse("acme:rails").unwrap().request,
            Request::Latest
        );
        assert_eq!(
            ProfileRef::parse("acme:rails@0123abcd").unwrap().request,
            Request::Commit("0123abcd".into())
        );
        assert_eq!(
            ProfileRef::parse("acme:rails@stable").unwrap().request,
            Request::Tag("stable".into())
        );
        assert!(ProfileRef::is_ref("acme:rails@^2"));
        assert!(!ProfileRef::is_ref("./a:b.toml"));
        assert!(!ProfileRef::is_ref("rails"));
        for bad in [
            "acme:",
            ":rails",
            "acme:../x",
            "acme:rails@--upload-pack=x",
            "a b:c",
        ] {
            assert!(ProfileRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_highest_release_in_range_is_selected() {
        let tags = [
            "v1.9.0",
            "v2.0.0",
            "v2.1.0",
            "v2.2.0-rc.1",
            "v3.0.0",
            "stable",
        ];
        let pick = |req: &str| select(&Request::parse(req).unwrap(), tags);
        assert_eq!(pick("^2"), Some("v2.1.0"));
        assert_eq!(pick("~2.0"), Some("v2.0.0"));
        assert_eq!(pick("2.0.0"), Some("v2.0.0"));
        assert_eq!(pick("^4"), None);
        assert_eq!(pick("stable"), Some("stable"));
        assert_eq!(newest(tags), Some("v3.0.0"));
        assert!(Request::parse("^2").unwrap().accepts(Some("v2.1.0"), None));
        assert!(!Request::parse("^2").unwrap().accepts(Some("v1.9.0"), None));
        assert!(
            Request::parse("abcdef1")
                .unwrap()
                .accepts(None, Some("abcdef1234"))
        );
    }

    #[test]
    fn catalog_paths_stay_inside() {
        assert_eq!(
            inside("./profiles/base.toml").unwrap(),
            "profiles/base.toml"
        );
        assert_eq!(
            relative_to("profiles/rails.toml", "./base.toml").unwrap(),
            "profiles/base.toml"
        );
        for bad in ["../x.toml", "/etc/passwd", "a/../../b", "a//b", ""] {
            assert!(inside(bad).is_err(), "{bad}");
        }
        assert!(relative_to("profiles/rails.toml", "../../x.toml").is_err());
    }
}
