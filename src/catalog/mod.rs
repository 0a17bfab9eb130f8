//! Published catalogs: profiles a platform team publishes in a git repository (or an https
//! tarball, or a directory) and projects extend with a version (`extends = "acme:rails@^2"`),
//! pinned by `devboot.lock`.
//!
//! [`Catalogs`] is the [`ProfileSource`] the profile loader asks for catalog profiles. With a
//! lock entry it reads exactly the locked commit from the cache (no network when the cache has
//! it) and refuses content whose SHA-256 differs from the lock; without one it fetches, selects
//! the newest release the request accepts, and records what it used for the caller to lock.
//! The pure parts live in [`spec`] (locations, references, version selection) and [`lock`]
//! (the lock file); [`git`] is the adapter to the developer's `git`, [`tarball`] fetches,
//! verifies and unpacks an https archive.

pub mod diff;
pub mod git;
pub mod lock;
pub mod spec;
pub mod tarball;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::env::Environment;
use crate::error::Error;
use crate::profile::source::{self, FoundProfile, Layer, LayerKind, ProfileSource};
use lock::{LOCK_FILE, Lock, Locked, short};
use spec::{Location, ProfileRef, Request};

/// Which locked profiles a resolution ignores, to select their newest accepted release again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Refresh {
    /// Use the lock for every profile it names.
    #[default]
    None,
    /// Use the lock, and read a directory catalog's files as they were when locked (kept in
    /// the cache by their SHA-256) rather than as they are now: the "before" of an upgrade.
    AsLocked,
    /// Select every catalog profile afresh (`profile update`).
    All,
    /// Select these afresh: a profile name (`rails`) or `catalog:profile`.
    Only(BTreeSet<String>),
}

impl Refresh {
    fn covers(&self, catalog: &str, profile: &str) -> bool {
        match self {
            Self::None | Self::AsLocked => false,
            Self::All => true,
            Self::Only(names) => {
                names.contains(profile) || names.contains(&format!("{catalog}:{profile}"))
            }
        }
    }
}

/// The catalogs one project resolution may use, and what it used.
pub struct Catalogs {
    env: Environment,
    root: PathBuf,
    /// Catalog name → location as written (user config, then `devboot.toml`, then local).
    declared: BTreeMap<String, String>,
    lock: Option<Lock>,
    refresh: Refresh,
    /// Every catalog profile this resolution read, with the hashes of its files.
    used: RefCell<Vec<Locked>>,
    /// A catalog layer's display name → its entry in `used` and its path in the catalog.
    layers: RefCell<BTreeMap<String, (usize, String)>>,
    /// Catalogs fetched in this run (each is fetched at most once).
    fetched: RefCell<BTreeSet<String>>,
    /// Told how a tarball download goes (the caller shows progress).
    on_transfer: Option<OnTransfer>,
}

/// Told how a tarball catalog's download goes, from the thread that downloads it.
pub type OnTransfer = Box<dyn Fn(tarball::Transfer<'_>) + Sync>;

impl Catalogs {
    /// Catalogs nobody declared (a profile resolved outside a project).
    pub fn none(env: &Environment) -> Self {
        Self::new(env, PathBuf::new(), BTreeMap::new(), None, Refresh::None)
    }

    /// The catalogs `root`'s project declares (with the developer's own, from
    /// `~/.config/devboot/config.toml`), and its `devboot.lock`.
    pub fn for_project(env: &Environment, root: &Path, refresh: Refresh) -> Result<Self, Error> {
        let mut declared = BTreeMap::new();
        let user = env.config_dir().map(|dir| dir.join("config.toml"));
        let files = [
            user,
            Some(root.join(source::PROJECT_FILE)),
            Some(root.join(source::LOCAL_FILE)),
        ];
        for file in files.into_iter().flatten() {
            declared.extend(declared_in(&file));
        }
        let lock = read_lock(root)?;
        Ok(Self::new(env, root.to_owned(), declared, lock, refresh))
    }

    fn new(
        env: &Environment,
        root: PathBuf,
        declared: BTreeMap<String, String>,
        lock: Option<Lock>,
        refresh: Refresh,
    ) -> Self {
        Self {
            env: env.clone(),
            root,
            declared,
            lock,
            refresh,
            used: RefCell::default(),
            layers: RefCell::default(),
            fetched: RefCell::default(),
            on_transfer: None,
        }
    }

    /// These catalogs, telling `on_transfer` how downloads go.
    #[must_use]
    pub fn watched(mut self, on_transfer: Option<OnTransfer>) -> Self {
        self.on_transfer = on_transfer;
        self
    }

    /// What this resolution used, as lock entries.
    pub fn used(&self) -> Vec<Locked> {
        self.used.borrow().clone()
    }

    /// The lock as read, if there was one.
    pub fn lock(&self) -> Option<&Lock> {
        self.lock.as_ref()
    }

    /// The lock this resolution calls for, when it differs from the one on disk.
    pub fn new_lock(&self) -> Option<Lock> {
        let used = self.used();
        let new = Lock {
            version: 0,
            profiles: used,
        };
        let old = self.lock.clone().unwrap_or_default();
        let changed = new.render() != old.render();
        (changed && !(new.profiles.is_empty() && self.lock.is_none())).then_some(new)
    }

    /// Writes `lock` beside `devboot.toml`, atomically.
    pub fn write_lock(&self, lock: &Lock) -> Result<(), Error> {
        crate::fsio::write_atomic(&self.root.join(LOCK_FILE), lock.render().as_bytes())
    }

    /// Every release tag of a locked git profile's catalog, fetched now (for `outdated`).
    pub fn releases(&self, locked: &Locked) -> Result<Vec<String>, Error> {
        let Ok(Location::Git { url }) = Location::parse(&locked.source) else {
            return Ok(Vec::new());
        };
        let repo = self.repo(&url)?;
        repo.fetch(&url, None)?;
        Ok(repo.tags()?.into_iter().map(|(tag, _)| tag).collect())
    }

    /// `~/.cache/devboot/catalogs`.
    fn cache(&self) -> Result<PathBuf, Error> {
        let cache = self.env.cache_dir().ok_or_else(|| Error::Catalog {
            message: "no cache directory for catalogs (neither HOME nor XDG_CACHE_HOME is set)"
                .to_owned(),
            hint: Some("set HOME".to_owned()),
        })?;
        Ok(cache.join("catalogs"))
    }

    fn repo(&self, url: &str) -> Result<git::Repo, Error> {
        git::Repo::new(&self.env, self.cache()?.join(cache_name(url)))
    }

    /// Where a catalog file read from git is kept by its SHA-256, so that a locked resolution
    /// reads plain files and runs no git at all. What is read there is hashed again and must
    /// match the lock.
    fn blob(&self, digest: &str) -> Option<PathBuf> {
        let valid = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| self.cache().ok().map(|c| c.join("files").join(digest)))?
    }

    /// The unpacked archive of a tarball catalog, fetched and verified unless cached.
    fn unpacked(&self, catalog: &str, url: &str, digest: &str) -> Result<PathBuf, Error> {
        let quiet = |_: tarball::Transfer<'_>| {};
        let on_transfer: &(dyn Fn(tarball::Transfer<'_>) + Sync) =
            self.on_transfer.as_deref().unwrap_or(&quiet);
        tarball::ensure(&self.env, catalog, url, digest, &self.cache()?, on_transfer)
    }

    /// Whether every file of a locked git profile is in the blob cache.
    fn all_cached(&self, locked: &Locked) -> bool {
        locked
            .files
            .values()
            .all(|digest| self.blob(digest).is_some_and(|p| p.is_file()))
    }

    fn find_ref(&self, r: &ProfileRef) -> Result<FoundProfile, Error> {
        let source = self.declared.get(&r.catalog).ok_or_else(|| {
            let known: Vec<&str> = self.declared.keys().map(String::as_str).collect();
            Error::Usage {
                message: format!("unknown catalog `{}`", r.catalog),
                hint: Some(if known.is_empty() {
                    format!(
                        "declare it in devboot.toml: `[catalogs]` `{} = \"git+https://host/profiles\"`",
                        r.catalog
                    )
                } else {
                    format!("declared catalogs: {}", known.join(", "))
                }),
            }
        })?;
        let mut location = Location::parse(source).map_err(|message| Error::Usage {
            message: format!("catalog `{}`: {message}", r.catalog),
            hint: None,
        })?;
        let locked = if self.refresh.covers(&r.catalog, &r.profile) {
            None
        } else {
            self.lock
                .as_ref()
                .and_then(|lock| lock.find(&r.catalog, source, &r.profile))
        };
        if let Some(locked) = locked
            && !r
                .request
                .accepts(locked.tag.as_deref(), locked.commit.as_deref())
        {
            return Err(Error::Usage {
                message: format!(
                    "{LOCK_FILE} pins {}, which `@{}` does not accept",
                    locked.describe(),
                    r.written
                ),
                hint: Some(format!(
                    "run `devboot profile update {}` to lock a version it accepts (add `--dry-run` to review it first)",
                    r.profile
                )),
            });
        }
        let mut entry = Locked {
            catalog: r.catalog.clone(),
            source: source.clone(),
            profile: r.profile.clone(),
            requested: r.written.clone(),
            tag: None,
            commit: None,
            digest: None,
            files: BTreeMap::new(),
        };
        match &location {
            // Warm and locked: the files are at hand, no git runs.
            Location::Git { .. }
                if locked.is_some_and(|l| l.commit.is_some() && self.all_cached(l)) =>
            {
                let locked = locked.unwrap_or_else(|| unreachable!());
                entry.tag.clone_from(&locked.tag);
                entry.commit.clone_from(&locked.commit);
            }
            Location::Git { url } => {
                let (tag, commit) = self.select_git(url, r, locked)?;
                entry.tag = tag;
                entry.commit = Some(commit);
            }
            Location::Dir { .. } | Location::Tarball { .. } if r.request != Request::Latest => {
                let (what, hint) = match &location {
                    Location::Tarball { .. } => (
                        "an https tarball",
                        format!(
                            "write `{}:{}`: the digest in `[catalogs]` pins the release; a new release is a new archive and digest there",
                            r.catalog, r.profile
                        ),
                    ),
                    _ => (
                        "a directory",
                        format!("write `{}:{}`", r.catalog, r.profile),
                    ),
                };
                return Err(Error::Usage {
                    message: format!("catalog `{}` is {what}, which has no versions", r.catalog),
                    hint: Some(hint),
                });
            }
            Location::Tarball { digest, .. } => {
                if let Some(locked) = locked
                    && locked.digest.as_ref() != Some(digest)
                    && self.refresh == Refresh::AsLocked
                {
                    // The "before" of an upgrade: the archive as locked.
                    entry.source.clone_from(&locked.source);
                    entry.digest.clone_from(&locked.digest);
                    location = Location::parse(&locked.source).map_err(|message| Error::Usage {
                        message: format!("{LOCK_FILE}: {message}"),
                        hint: None,
                    })?;
                } else if let Some(locked) = locked
                    && locked.digest.as_ref() != Some(digest)
                {
                    return Err(Error::Usage {
                        message: format!(
                            "`[catalogs] {}` pins sha256 {digest}, {LOCK_FILE} pins {}",
                            r.catalog,
                            locked.describe()
                        ),
                        hint: Some(format!(
                            "review the new archive with `devboot profile update {} --dry-run`, then take it with `devboot profile update {}`",
                            r.profile, r.profile
                        )),
                    });
                } else {
                    entry.digest = Some(digest.clone());
                }
            }
            Location::Dir { .. } => {}
        }
        let index = {
            let mut used = self.used.borrow_mut();
            used.push(entry);
            used.len() - 1
        };
        self.load(index, &spec::profile_path(&r.profile), &location, locked)
    }

    /// The tag and commit a git profile resolves to: the locked ones, or the newest release
    /// the request accepts.
    fn select_git(
        &self,
        url: &str,
        r: &ProfileRef,
        locked: Option<&Locked>,
    ) -> Result<(Option<String>, String), Error> {
        let repo = self.repo(url)?;
        if let Some(locked) = locked {
            let commit = locked
                .commit
                .clone()
                .filter(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| Error::Usage {
                    message: format!(
                        "{LOCK_FILE} names no valid commit for {}",
                        locked.describe()
                    ),
                    hint: Some(format!("run `devboot profile update {}`", r.profile)),
                })?;
            if !repo.has_commit(&commit) {
                self.fetch_once(&repo, url, Some(&commit))?;
                if !repo.has_commit(&commit) {
                    return Err(Error::Catalog {
                        message: format!(
                            "commit {} locked for {} is no longer in the catalog",
                            short(&commit),
                            locked.describe()
                        ),
                        hint: Some(format!(
                            "ask the catalog's maintainers whether it was removed; `devboot profile update {}` locks a release that exists",
                            r.profile
                        )),
                    });
                }
            }
            return Ok((locked.tag.clone(), commit));
        }
        let want_commit = match &r.request {
            Request::Commit(c) => Some(c.as_str()),
            _ => None,
        };
        self.fetch_once(&repo, url, want_commit.filter(|c| c.len() == 40))?;
        if let Some(commit) = want_commit {
            return Ok((None, repo.commit_of(commit)?));
        }
        let tags = repo.tags()?;
        let tag = spec::select(&r.request, tags.iter().map(|(t, _)| t.as_str())).ok_or_else(
            || {
                let mut releases: Vec<&str> = tags.iter().map(|(t, _)| t.as_str()).collect();
                releases.sort_unstable();
                Error::Usage {
                    message: format!(
                        "no release of catalog `{}` matches `{}`",
                        r.catalog, r.request
                    ),
                    hint: Some(if releases.is_empty() {
                        "the catalog has no tags; its maintainers publish a release by pushing a tag such as `v1.0.0`".to_owned()
                    } else {
                        format!("its tags: {}", releases.join(", "))
                    }),
                }
            },
        )?;
        let commit = tags
            .iter()
            .find(|(t, _)| t == tag)
            .map(|(_, c)| c.clone())
            .unwrap_or_default();
        Ok((Some(tag.to_owned()), commit))
    }

    fn fetch_once(&self, repo: &git::Repo, url: &str, commit: Option<&str>) -> Result<(), Error> {
        if self.fetched.borrow().contains(url) && commit.is_none() {
            return Ok(());
        }
        repo.fetch(url, commit)?;
        self.fetched.borrow_mut().insert(url.to_owned());
        Ok(())
    }

    /// Reads `path` of the profile `used[index]` resolved to, checks it against the lock, and
    /// records its hash.
    fn load(
        &self,
        index: usize,
        path: &str,
        location: &Location,
        locked: Option<&Locked>,
    ) -> Result<FoundProfile, Error> {
        let entry = self.used.borrow()[index].clone();
        let bytes = match location {
            Location::Git { url } => {
                let cached = locked
                    .and_then(|l| l.files.get(path))
                    .and_then(|digest| self.blob(digest))
                    .filter(|blob| blob.is_file());
                if let Some(blob) = cached {
                    Some(crate::fsio::read(&blob)?)
                } else {
                    let commit = entry.commit.as_deref().unwrap_or_default();
                    self.repo(url)?.read(commit, path)?
                }
            }
            Location::Dir { path: dir } => {
                let as_locked = (self.refresh == Refresh::AsLocked)
                    .then(|| locked.and_then(|l| l.files.get(path)))
                    .flatten()
                    .and_then(|digest| self.blob(digest))
                    .filter(|blob| blob.is_file());
                match as_locked {
                    Some(blob) => Some(crate::fsio::read(&blob)?),
                    None => read_dir_file(&self.root.join(dir), path)?,
                }
            }
            Location::Tarball { url, digest } => {
                let dir = self.unpacked(&entry.catalog, url, digest)?;
                read_dir_file(&dir, path)?
            }
        };
        let at = entry.at();
        let display = match &at {
            Some(at) => format!("{}:{path}@{at}", entry.catalog),
            None => format!("{}:{path}", entry.catalog),
        };
        let bytes = bytes.ok_or_else(|| Error::Usage {
            message: format!(
                "catalog `{}` has no `{path}`{}",
                entry.catalog,
                at.as_deref()
                    .map(|a| format!(" at {a}"))
                    .unwrap_or_default()
            ),
            hint: Some("a catalog keeps each profile in `profiles/NAME.toml`".to_owned()),
        })?;
        let digest = Digest::of(&bytes).into_string();
        if let Some(locked) = locked
            && locked.files.get(path) != Some(&digest)
        {
            return Err(self.mismatch(&entry, path, location));
        }
        // Kept by its SHA-256: git's for reads without git, a directory's for the "before" of
        // an upgrade (a tarball's stays in its unpacked archive).
        if !matches!(location, Location::Tarball { .. })
            && let Some(blob) = self.blob(&digest).filter(|b| !b.is_file())
        {
            crate::fsio::write_atomic(&blob, &bytes)?;
        }
        self.used.borrow_mut()[index]
            .files
            .insert(path.to_owned(), digest);
        let text = source::decode(bytes, &display)?;
        self.layers
            .borrow_mut()
            .insert(display.clone(), (index, path.to_owned()));
        let name = path
            .strip_prefix("profiles/")
            .unwrap_or(path)
            .trim_end_matches(".toml");
        Ok(FoundProfile {
            key: format!("catalog:{}#{name}", entry.source),
            layer: Layer {
                display,
                path: None,
                kind: LayerKind::Catalog,
                text,
            },
        })
    }

    fn mismatch(&self, entry: &Locked, path: &str, location: &Location) -> Error {
        let what = format!("{}:{path}", entry.catalog);
        match location {
            Location::Git { .. } => {
                let cache = self
                    .cache()
                    .map(|dir| self.env.display_path(&dir))
                    .unwrap_or_default();
                Error::Catalog {
                    message: format!(
                        "`{what}` in the catalog cache does not match {LOCK_FILE} (commit {}): refusing to use it",
                        short(entry.commit.as_deref().unwrap_or_default())
                    ),
                    hint: Some(format!(
                        "if {LOCK_FILE} is as committed, the cache was altered: remove `{cache}` and run devboot again \
                         (it fetches the locked commit afresh); if {LOCK_FILE} was edited, restore it from git"
                    )),
                }
            }
            Location::Tarball { digest, .. } => {
                let cache = self
                    .cache()
                    .map(|dir| self.env.display_path(&tarball::dir(&dir, digest)))
                    .unwrap_or_default();
                Error::Catalog {
                    message: format!(
                        "`{what}` in the catalog cache does not match {LOCK_FILE} (sha256 {}): refusing to use it",
                        short(digest)
                    ),
                    hint: Some(format!(
                        "if {LOCK_FILE} is as committed, the cache was altered: remove `{cache}` and run devboot again \
                         (it fetches and verifies the archive afresh); if {LOCK_FILE} was edited, restore it from git"
                    )),
                }
            }
            Location::Dir { .. } => Error::Catalog {
                message: format!(
                    "`{what}` changed since {LOCK_FILE} was written: refusing to use it"
                ),
                hint: Some(format!(
                    "review the change with `devboot profile update {} --dry-run`, then accept it with `devboot profile update {}`",
                    entry.profile, entry.profile
                )),
            },
        }
    }
}

impl ProfileSource for Catalogs {
    fn find(&self, name: &str, from: &Layer) -> Result<Option<FoundProfile>, Error> {
        if from.kind == LayerKind::Catalog {
            if ProfileRef::is_ref(name) {
                return Err(Error::Usage {
                    message: format!("a catalog profile cannot extend `{name}`"),
                    hint: Some(
                        "a catalog profile extends built-in profiles and files of its own catalog (`./base.toml`)"
                            .to_owned(),
                    ),
                });
            }
            if !source::Files::is_path(name) {
                return Ok(None);
            }
            let (index, from_path) = self
                .layers
                .borrow()
                .get(&from.display)
                .cloned()
                .ok_or_else(|| {
                    Error::Internal(format!("unknown catalog layer {}", from.display))
                })?;
            let path = spec::relative_to(&from_path, name).map_err(|message| Error::Usage {
                message,
                hint: None,
            })?;
            let entry = self.used.borrow()[index].clone();
            let location = Location::parse(&entry.source).map_err(|message| Error::Usage {
                message,
                hint: None,
            })?;
            let locked = if self.refresh.covers(&entry.catalog, &entry.profile) {
                None
            } else {
                self.lock
                    .as_ref()
                    .and_then(|l| l.find(&entry.catalog, &entry.source, &entry.profile))
            };
            return self.load(index, &path, &location, locked).map(Some);
        }
        if !ProfileRef::is_ref(name) {
            return Ok(None);
        }
        let r = ProfileRef::parse(name).map_err(|message| Error::Usage {
            message,
            hint: Some("write `CATALOG:PROFILE@VERSION`, e.g. `acme:rails@^2`".to_owned()),
        })?;
        self.find_ref(&r).map(Some)
    }

    fn names(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// The `[catalogs]` a TOML file declares; a file that does not parse declares none (the
/// profile loader reports its errors with their locations).
fn declared_in(file: &Path) -> BTreeMap<String, String> {
    let Ok(Some(bytes)) = crate::fsio::read_optional(file) else {
        return BTreeMap::new();
    };
    let table: toml::Table = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| toml::from_str(text).ok())
        .unwrap_or_default();
    let Some(toml::Value::Table(catalogs)) = table.get("catalogs") else {
        return BTreeMap::new();
    };
    catalogs
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
        .collect()
}

fn read_lock(root: &Path) -> Result<Option<Lock>, Error> {
    let path = root.join(LOCK_FILE);
    let Some(bytes) = crate::fsio::read_optional(&path)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    Lock::parse(&text).map(Some).map_err(|message| Error::Usage {
        message: format!("{LOCK_FILE} is not a valid lock: {message}"),
        hint: Some(
            "restore it from git, or delete it and run `devboot plan` to lock the newest accepted releases"
                .to_owned(),
        ),
    })
}

/// The cache directory of the catalog at `url`: readable, and unique by the URL's digest.
fn cache_name(url: &str) -> String {
    let tail: String = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(40)
        .collect();
    let digest = Digest::of(url.as_bytes()).into_string();
    format!("{tail}-{}.git", &digest[..16])
}

/// A file of a directory catalog: a regular file (no link anywhere on the way) inside it.
fn read_dir_file(dir: &Path, path: &str) -> Result<Option<Vec<u8>>, Error> {
    let mut at = dir.to_owned();
    for part in path.split('/') {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", at, e)),
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::Catalog {
                    message: format!(
                        "`{}` in a catalog is a link; devboot does not follow links in catalogs",
                        at.display()
                    ),
                    hint: Some("publish profiles as plain files".to_owned()),
                });
            }
            Ok(meta) if meta.len() > git::FILE_LIMIT && meta.is_file() => {
                return Err(Error::Catalog {
                    message: format!(
                        "`{}` is larger than a profile may be (256 KiB)",
                        at.display()
                    ),
                    hint: None,
                });
            }
            Ok(_) => {}
        }
    }
    crate::fsio::read(&at).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_are_readable_and_distinct() {
        let a = cache_name("https://git.example.com/platform/devboot-profiles.git");
        assert!(a.starts_with("devboot-profiles-"), "{a}");
        assert_ne!(
            a,
            cache_name("https://other.example.com/platform/devboot-profiles.git")
        );
        assert!(!cache_name("file:///../../x").contains(".."));
    }

    #[test]
    fn refresh_names_a_profile_or_catalog_profile() {
        let only = Refresh::Only(BTreeSet::from(["rails".to_owned(), "acme:web".to_owned()]));
        assert!(only.covers("acme", "rails"));
        assert!(only.covers("acme", "web"));
        assert!(!only.covers("other", "web"));
        assert!(!Refresh::None.covers("acme", "rails"));
    }
}
