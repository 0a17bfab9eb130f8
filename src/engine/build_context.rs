//! Build contexts: the files of a context directory that its `.dockerignore` lets through, as
//! the tar the engine's build API takes, with a digest of exactly what is sent. The tar is
//! normalized (entries in sorted order, mtime 0, owner 0, modes from the files), so the same
//! content always gives the same bytes and digest, and an unchanged context is never rebuilt.
//!
//! `.dockerignore` follows Docker's rules: patterns are relative to the context root, in Go's
//! `filepath.Match` syntax (`*`, `?`, `[...]`) plus `**` for any number of directories; a
//! pattern matching a directory covers everything under it; `!pattern` re-includes; the last
//! matching line wins; and the Dockerfile and `.dockerignore` are sent even when ignored.

use std::fs::Metadata;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use tar::{EntryType, Header};

use crate::digest::Digest;
use crate::error::Error;
use crate::fsio;

const DOCKERIGNORE: &str = ".dockerignore";

/// A build context ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildContext {
    pub tar: Vec<u8>,
    /// SHA-256 (hex) of the tar: of the paths, contents and modes sent, nothing else.
    pub digest: String,
}

/// Packs `context_dir` for a build with `dockerfile` (a path relative to the context), with
/// `suffix` (lines devboot adds, e.g. to run as the developer) appended to the Dockerfile.
pub fn build_context(
    context_dir: &Path,
    dockerfile: &str,
    suffix: Option<&str>,
) -> Result<BuildContext, Error> {
    pack(context_dir, dockerfile, None, suffix)
}

/// The digest of what an image built from `context_dir` depends on: the Dockerfile and the
/// files of the context that `selection` picks (among those `.dockerignore` lets through).
/// Reads only those: a context whose files are all bind-mounted costs one file read.
pub fn digest(
    context_dir: &Path,
    dockerfile: &str,
    selection: &Selection,
    suffix: Option<&str>,
) -> Result<String, Error> {
    Ok(pack(context_dir, dockerfile, Some(selection), suffix)?.digest)
}

/// A context holding only `dockerfile` (as `Dockerfile`): devboot's own images.
pub fn from_dockerfile(dockerfile: &str) -> BuildContext {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = Header::new_gnu();
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(EntryType::Regular);
    header.set_size(dockerfile.len() as u64);
    tar.append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .expect("writing to memory cannot fail");
    let tar = tar.into_inner().expect("writing to memory cannot fail");
    let digest = Digest::of(&tar).as_str().to_owned();
    BuildContext { tar, digest }
}

/// Which files of a context an image depends on: those matching `include` (`.dockerignore`
/// patterns; `.` for all; a directory covers its contents) and under none of `exclude`
/// (context paths; `.` for all).
#[derive(Debug)]
pub struct Selection {
    include: Vec<Pattern>,
    everything: bool,
    exclude: Vec<String>,
}

impl Selection {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, String> {
        let include: Vec<String> = include.iter().map(|p| clean(p)).collect();
        Ok(Self {
            everything: include.iter().any(|p| p == "."),
            include: include
                .iter()
                .filter(|p| *p != ".")
                .map(|p| Pattern::compile(p).map_err(|problem| format!("`{p}` {problem}")))
                .collect::<Result<_, _>>()?,
            exclude: exclude.iter().map(|p| clean(p)).collect(),
        })
    }

    /// Whether `path` (or a directory above it) is excluded.
    fn excludes(&self, path: &str) -> bool {
        self.exclude
            .iter()
            .any(|e| e == "." || path == e || path.starts_with(&format!("{e}/")))
    }

    fn selects(&self, path: &str) -> bool {
        if self.excludes(path) {
            return false;
        }
        self.everything
            || self.include.iter().any(|pattern| {
                pattern.matches(path)
                    || path
                        .match_indices('/')
                        .any(|(end, _)| pattern.matches(&path[..end]))
            })
    }
}

fn pack(
    context_dir: &Path,
    dockerfile: &str,
    selection: Option<&Selection>,
    suffix: Option<&str>,
) -> Result<BuildContext, Error> {
    let problem = match std::fs::metadata(context_dir) {
        Ok(meta) if meta.is_dir() => None,
        Ok(_) => Some("is not a directory"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some("does not exist"),
        Err(e) => return Err(Error::io("read", context_dir, e)),
    };
    if let Some(problem) = problem {
        let message = format!("the build context `{}` {problem}", context_dir.display());
        return Err(usage(message, CONTEXT_HINT));
    }
    let dockerfile = dockerfile_in(context_dir, dockerfile)?;
    let ignore_file = context_dir.join(DOCKERIGNORE);
    let rules = match fsio::read_optional(&ignore_file)? {
        Some(bytes) => IgnoreRules::parse(&String::from_utf8_lossy(&bytes)).map_err(|problem| {
            usage(
                format!("`{}`: {problem}", ignore_file.display()),
                "fix the pattern; the syntax is Go's `filepath.Match` plus `**`",
            )
        })?,
        None => IgnoreRules::default(),
    };
    let rules = rules
        .always_sending(&[DOCKERIGNORE, &dockerfile])
        .map_err(|problem| {
            usage(
                format!("the Dockerfile path `{dockerfile}` {problem}"),
                DOCKERFILE_HINT,
            )
        })?;

    let mut packer = Packer {
        root: context_dir,
        rules: &rules,
        selection,
        dockerfile: &dockerfile,
        suffix,
        tar: tar::Builder::new(Vec::new()),
    };
    if selection.is_some() {
        // The Dockerfile always counts, wherever it is.
        let path = Path::new(&dockerfile);
        let meta = std::fs::symlink_metadata(context_dir.join(path))
            .map_err(|e| Error::io("read", context_dir.join(path), e))?;
        packer.add_file(path, &meta)?;
    }
    packer.add_children(Path::new(""))?;
    let tar = packer
        .tar
        .into_inner()
        .map_err(|e| Error::io("archive", context_dir, e))?;
    let digest = Digest::of(&tar).as_str().to_owned();
    Ok(BuildContext { tar, digest })
}

const CONTEXT_HINT: &str =
    "check `build.context` of the service in the profile; it is relative to the project root";
const DOCKERFILE_HINT: &str =
    "check `build.dockerfile` of the service in the profile; it is relative to the build context";

fn usage(message: String, hint: &str) -> Error {
    Error::Usage {
        message,
        hint: Some(hint.to_owned()),
    }
}

/// `dockerfile` as a clean path relative to the context, after checking it is a file there.
fn dockerfile_in(context_dir: &Path, dockerfile: &str) -> Result<String, Error> {
    let cleaned = clean(dockerfile);
    if cleaned.starts_with('/') || cleaned == ".." || cleaned.starts_with("../") {
        return Err(usage(
            format!(
                "the Dockerfile `{dockerfile}` is outside the build context `{}`",
                context_dir.display()
            ),
            DOCKERFILE_HINT,
        ));
    }
    let path = context_dir.join(&cleaned);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(cleaned),
        Ok(_) => Err(usage(
            format!("the Dockerfile `{}` is not a file", path.display()),
            DOCKERFILE_HINT,
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(usage(
            format!(
                "there is no Dockerfile `{dockerfile}` in the build context `{}`",
                context_dir.display()
            ),
            DOCKERFILE_HINT,
        )),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// Walks the context in sorted order, appending what the rules (and the selection, when
/// there is one) let through.
struct Packer<'a> {
    root: &'a Path,
    rules: &'a IgnoreRules,
    selection: Option<&'a Selection>,
    /// Packed first when there is a selection, so skipped in the walk.
    dockerfile: &'a str,
    /// Appended to the Dockerfile's content.
    suffix: Option<&'a str>,
    tar: tar::Builder<Vec<u8>>,
}

impl Packer<'_> {
    /// Appends the entries of the directory at `relative` (`""` for the root).
    fn add_children(&mut self, relative: &Path) -> Result<(), Error> {
        let dir = self.root.join(relative);
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("read directory", &dir, e))?;
        let mut names = entries
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::io("read directory", &dir, e))?;
        names.sort();
        for name in names {
            let relative = relative.join(name);
            let path = self.root.join(&relative);
            let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io("read", &path, e))?;
            let text = relative.to_string_lossy();
            let excluded = self.rules.excludes(&text);
            let selected = self.selection.is_none_or(|s| s.selects(&text));
            if meta.is_dir() {
                if self.selection.is_some_and(|s| s.excludes(&text)) {
                    continue;
                }
                if !excluded {
                    if selected {
                        self.append(&relative, &meta, Content::Directory)?;
                    }
                    self.add_children(&relative)?;
                } else if self.rules.may_reinclude_under(&text) {
                    // Like Docker: look for re-included files, but leave the directory out.
                    self.add_children(&relative)?;
                }
            } else if !excluded
                && selected
                && !(self.selection.is_some() && text == self.dockerfile)
            {
                self.add_file(&relative, &meta)?;
            }
        }
        Ok(())
    }

    /// Appends a file or symlink. Sockets, FIFOs and devices cannot be sent; like the Docker
    /// CLI, this skips them.
    fn add_file(&mut self, relative: &Path, meta: &Metadata) -> Result<(), Error> {
        let path = self.root.join(relative);
        if meta.is_file() {
            let mut bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            if let Some(suffix) = self
                .suffix
                .filter(|_| relative == Path::new(self.dockerfile))
            {
                if !bytes.ends_with(b"\n") {
                    bytes.push(b'\n');
                }
                bytes.extend_from_slice(suffix.as_bytes());
            }
            self.append(relative, meta, Content::File(&bytes))
        } else if meta.is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| Error::io("read", &path, e))?;
            self.append(relative, meta, Content::Symlink(&target))
        } else {
            Ok(())
        }
    }

    /// Appends one entry with a normalized header: only its path, type, mode and content count.
    fn append(
        &mut self,
        relative: &Path,
        meta: &Metadata,
        content: Content<'_>,
    ) -> Result<(), Error> {
        let mut header = Header::new_gnu();
        header.set_mode(meta.permissions().mode() & 0o7777);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        let result = match content {
            Content::Directory => {
                header.set_entry_type(EntryType::Directory);
                header.set_size(0);
                self.tar.append_data(&mut header, relative, io::empty())
            }
            Content::File(bytes) => {
                header.set_entry_type(EntryType::Regular);
                header.set_size(bytes.len() as u64);
                self.tar.append_data(&mut header, relative, bytes)
            }
            Content::Symlink(target) => {
                header.set_entry_type(EntryType::Symlink);
                header.set_size(0);
                self.tar.append_link(&mut header, relative, target)
            }
        };
        result.map_err(|e| Error::io("archive", self.root.join(relative), e))
    }
}

#[derive(Clone, Copy)]
enum Content<'a> {
    Directory,
    File(&'a [u8]),
    Symlink(&'a Path),
}

/// The rules of a `.dockerignore`, in order.
#[derive(Debug, Default)]
struct IgnoreRules {
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    pattern: Pattern,
    /// `!pattern`: re-includes what earlier rules excluded.
    exception: bool,
}

impl IgnoreRules {
    /// Reads `.dockerignore` text as Docker does: `#` comments only at the very start of a
    /// line, surrounding spaces trimmed, paths cleaned and a leading `/` dropped.
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut rules = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let number = index + 1;
            if pattern.is_empty() {
                return Err(format!("line {number}: `!` needs a pattern after it"));
            }
            let cleaned = clean(pattern);
            let cleaned = match cleaned.strip_prefix('/') {
                Some(relative) if !relative.is_empty() => relative.to_owned(),
                _ => cleaned,
            };
            let pattern = Pattern::compile(&cleaned)
                .map_err(|problem| format!("line {number}: `{line}` {problem}"))?;
            rules.push(Rule { pattern, exception });
        }
        Ok(Self { rules })
    }

    /// Re-includes each of `paths` the rules exclude, as the Docker CLI does for the
    /// Dockerfile and `.dockerignore`.
    fn always_sending(mut self, paths: &[&str]) -> Result<Self, String> {
        for path in paths {
            if self.excludes(path) {
                let pattern = Pattern::compile(path)?;
                self.rules.push(Rule {
                    pattern,
                    exception: true,
                });
            }
        }
        Ok(self)
    }

    /// Whether `path` (relative, `/`-separated) is left out: the last rule matching it or one
    /// of its parent directories decides.
    fn excludes(&self, path: &str) -> bool {
        let parents: Vec<&str> = path
            .match_indices('/')
            .map(|(end, _)| &path[..end])
            .collect();
        let mut excluded = false;
        for rule in &self.rules {
            // An exclusion cannot change an excluded path, nor an exception an included one.
            if rule.exception != excluded {
                continue;
            }
            if rule.pattern.matches(path)
                || parents.iter().any(|parent| rule.pattern.matches(parent))
            {
                excluded = !rule.exception;
            }
        }
        excluded
    }

    /// Whether an exception may re-include something under the excluded directory `dir`.
    /// Docker only looks into it when an exception's text starts with the directory's path.
    fn may_reinclude_under(&self, dir: &str) -> bool {
        let dir = format!("{dir}/");
        self.rules
            .iter()
            .any(|rule| rule.exception && format!("{}/", rule.pattern.text).starts_with(&dir))
    }
}

/// Why `pattern` is not a valid `.dockerignore`-style pattern, if it is not.
pub fn pattern_problem(pattern: &str) -> Option<String> {
    if pattern.trim().is_empty() {
        return Some("is empty".to_owned());
    }
    Pattern::compile(&clean(pattern)).err()
}

/// Go's `filepath.Clean` for `/`-separated paths: no `.` or empty parts, `..` resolved.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}

/// One compiled `.dockerignore` pattern.
#[derive(Debug)]
struct Pattern {
    /// The cleaned text, which Docker's directory look-ahead compares against.
    text: String,
    tokens: Vec<Token>,
}

#[derive(Debug)]
enum Token {
    Char(char),
    /// `?`: one character other than `/`.
    AnyChar,
    /// `*`: any characters other than `/`.
    AnyRun,
    /// `**` (or `**/`) before more pattern: nothing, or anything ending in `/`.
    AnyDirs,
    /// `**` at the end: anything.
    AnyPath,
    /// `[...]`: one character in (or with `^`, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    /// Whether a single-character token accepts `c`.
    fn accepts(&self, c: char) -> bool {
        match self {
            Self::Char(expected) => c == *expected,
            Self::AnyChar => c != '/',
            Self::Class { negated, ranges } => {
                ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
            }
            Self::AnyRun | Self::AnyDirs | Self::AnyPath => false,
        }
    }
}

impl Pattern {
    fn compile(text: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let token = match c {
                '*' if chars.next_if_eq(&'*').is_some() => {
                    chars.next_if_eq(&'/');
                    if chars.peek().is_some() {
                        Token::AnyDirs
                    } else {
                        Token::AnyPath
                    }
                }
                '*' => Token::AnyRun,
                '?' => Token::AnyChar,
                '[' => parse_class(&mut chars)?,
                '\\' => Token::Char(chars.next().unwrap_or('\\')),
                c => Token::Char(c),
            };
            tokens.push(token);
        }
        Ok(Self {
            text: text.to_owned(),
            tokens,
        })
    }

    /// Whether the whole of `path` matches. Runs the tokens over the path once, keeping the
    /// set of path prefixes matched so far, so no pattern can make it slow.
    fn matches(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        // matched[j]: the tokens so far match `chars[..j]`.
        let mut matched = vec![false; chars.len() + 1];
        matched[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; chars.len() + 1];
            match token {
                Token::AnyRun => {
                    for j in 0..next.len() {
                        next[j] = matched[j] || (j > 0 && next[j - 1] && chars[j - 1] != '/');
                    }
                }
                Token::AnyDirs => {
                    let mut matched_before = false;
                    for j in 0..next.len() {
                        next[j] = matched[j] || (j > 0 && matched_before && chars[j - 1] == '/');
                        matched_before |= matched[j];
                    }
                }
                Token::AnyPath => {
                    let mut matched_before = false;
                    for j in 0..next.len() {
                        matched_before |= matched[j];
                        next[j] = matched_before;
                    }
                }
                single => {
                    for (j, c) in chars.iter().enumerate() {
                        next[j + 1] = matched[j] && single.accepts(*c);
                    }
                }
            }
            if !next.contains(&true) {
                return false;
            }
            matched = next;
        }
        matched[chars.len()]
    }
}

/// The rest of a `[...]` class after its `[`, with `filepath.Match`'s rules: `^` negates,
/// `a-z` is a range, `\` escapes, and the class may not be empty.
fn parse_class(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Token, String> {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut ranges = Vec::new();
    loop {
        if !ranges.is_empty() && chars.next_if_eq(&']').is_some() {
            return Ok(Token::Class { negated, ranges });
        }
        let low = class_char(chars)?;
        let high = if chars.next_if_eq(&'-').is_some() {
            class_char(chars)?
        } else {
            low
        };
        ranges.push((low, high));
    }
}

fn class_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<char, String> {
    match chars.next() {
        None => Err("has a `[` without its `]`".to_owned()),
        Some('-' | ']') => Err("has an empty `[]` or a `-` that starts no range".to_owned()),
        Some('\\') => chars
            .next()
            .ok_or_else(|| "has a `[` without its `]`".to_owned()),
        Some(c) => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, SystemTime};

    use super::*;

    fn rules(text: &str) -> IgnoreRules {
        IgnoreRules::parse(text).unwrap()
    }

    fn write(root: &Path, relative: &str, content: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// The entries of a context's tar: path (directories end in `/`) → what they hold.
    fn entries(context: &BuildContext) -> BTreeMap<String, String> {
        let mut archive = tar::Archive::new(context.tar.as_slice());
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let header = entry.header();
                assert_eq!(
                    (
                        header.mtime().unwrap(),
                        header.uid().unwrap(),
                        header.gid().unwrap()
                    ),
                    (0, 0, 0)
                );
                let path = entry.path().unwrap().to_string_lossy().into_owned();
                let held = match header.entry_type() {
                    EntryType::Directory => "<dir>".to_owned(),
                    EntryType::Symlink => {
                        format!("-> {}", entry.link_name().unwrap().unwrap().display())
                    }
                    _ => io::read_to_string(&mut entry).unwrap(),
                };
                (path.trim_end_matches('/').to_owned(), held)
            })
            .collect()
    }

    fn paths(context: &BuildContext) -> Vec<String> {
        entries(context).into_keys().collect()
    }

    #[test]
    fn patterns_are_relative_to_the_root_and_cover_directories() {
        let r = rules("tmp\n/log/*\n");
        assert!(r.excludes("tmp"));
        assert!(
            r.excludes("tmp/cache/a"),
            "a matched directory covers its contents"
        );
        assert!(
            !r.excludes("app/tmp"),
            "patterns are anchored at the context root"
        );
        assert!(!r.excludes("tmpfile"));
        assert!(
            !r.excludes("log"),
            "`log/*` matches inside log, not log itself"
        );
        assert!(r.excludes("log/development.log"));
        assert!(r.excludes("log/archive/old.log"));
    }

    #[test]
    fn double_star_spans_directories() {
        let r = rules("**/*.pyc\ndocs/**\na/**/z");
        assert!(r.excludes("x.pyc"));
        assert!(r.excludes("deep/down/x.pyc"));
        assert!(!r.excludes("x.py"));
        assert!(r.excludes("docs/a/b.md"));
        assert!(!r.excludes("docs"));
        assert!(r.excludes("a/z"));
        assert!(r.excludes("a/b/c/z"));
        assert!(!r.excludes("a/bz"));
    }

    #[test]
    fn single_characters_and_classes() {
        let r = rules("file?.txt\n[ab]*.md\n[^x-z]y\n\\*literal");
        assert!(r.excludes("file1.txt"));
        assert!(!r.excludes("file10.txt"));
        assert!(!r.excludes("file/.txt"), "`?` does not match `/`");
        assert!(r.excludes("a-notes.md"));
        assert!(!r.excludes("c-notes.md"));
        assert!(r.excludes("ay"));
        assert!(!r.excludes("xy"));
        assert!(r.excludes("*literal"));
        assert!(!r.excludes("aliteral"));
        for bad in ["[abc", "[]", "x[-a]"] {
            assert!(IgnoreRules::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exceptions_and_the_last_match_win() {
        let r = rules("*.md\n!README.md\n");
        assert!(r.excludes("CHANGELOG.md"));
        assert!(!r.excludes("README.md"));
        let r = rules("!README.md\n*.md\n");
        assert!(
            r.excludes("README.md"),
            "a later exclusion overrides an earlier exception"
        );
        let r = rules("vendor\n!vendor/keep.txt");
        assert!(r.excludes("vendor/other.txt"));
        assert!(!r.excludes("vendor/keep.txt"));
        assert!(r.may_reinclude_under("vendor"));
        assert!(!r.may_reinclude_under("node_modules"));
    }

    #[test]
    fn comments_blanks_and_paths_are_read_like_docker() {
        let r = rules("\u{feff}# comment\n\n  ./tmp/  \r\n! /keep/../kept\n #spaced\n");
        let texts: Vec<(&str, bool)> = r
            .rules
            .iter()
            .map(|rule| (rule.pattern.text.as_str(), rule.exception))
            .collect();
        assert_eq!(texts, [("tmp", false), ("kept", true), ("#spaced", false)]);
        assert!(IgnoreRules::parse("!").is_err());
    }

    #[test]
    fn packs_what_dockerignore_lets_through() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Dockerfile", "FROM ruby");
        write(root, ".dockerignore", "*\n!app\n!Gemfile\napp/**/*.log\n");
        write(root, "Gemfile", "gems");
        write(root, "app/models/user.rb", "class User; end");
        write(root, "app/log/dev.log", "noise");
        write(root, "node_modules/x/index.js", "js");
        std::os::unix::fs::symlink("models/user.rb", root.join("app/link.rb")).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(root.join("app/server.sock")).unwrap();

        let context = build_context(root, "Dockerfile", None).unwrap();
        let entries = entries(&context);
        assert_eq!(
            entries.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                ".dockerignore",
                "Dockerfile",
                "Gemfile",
                "app",
                "app/link.rb",
                "app/log",
                "app/models",
                "app/models/user.rb",
            ],
            "ignored files, sockets and node_modules are left out"
        );
        assert_eq!(entries["app/link.rb"], "-> models/user.rb");
        assert_eq!(entries["app/models/user.rb"], "class User; end");
        assert_eq!(entries["Dockerfile"], "FROM ruby");
    }

    #[test]
    fn the_dockerfile_is_sent_even_from_an_ignored_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "docker/Dockerfile.dev", "FROM ruby");
        write(root, "docker/secrets.env", "KEY=1");
        write(root, ".dockerignore", "docker\n.dockerignore\n");
        let context = build_context(root, "./docker/Dockerfile.dev", None).unwrap();
        assert_eq!(paths(&context), [".dockerignore", "docker/Dockerfile.dev"]);
    }

    #[test]
    fn excluded_directories_are_entered_only_for_exceptions_under_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Dockerfile", "FROM ruby");
        write(root, "vendor/keep.txt", "keep");
        write(root, "vendor/drop.txt", "drop");
        write(root, "node_modules/keep.txt", "keep");
        write(
            root,
            ".dockerignore",
            "vendor\nnode_modules\n!vendor/keep.txt\n!**/keep.txt\n",
        );
        let context = build_context(root, "Dockerfile", None).unwrap();
        // Docker does not look into node_modules: no exception starts with its path.
        assert_eq!(
            paths(&context),
            [".dockerignore", "Dockerfile", "vendor/keep.txt"]
        );
    }

    #[test]
    fn the_digest_follows_content_and_modes_not_times() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Dockerfile", "FROM ruby");
        write(root, "app/main.rb", "puts 1");
        let first = build_context(root, "Dockerfile", None).unwrap();
        assert_eq!(build_context(root, "Dockerfile", None).unwrap(), first);

        let file = std::fs::File::options()
            .write(true)
            .open(root.join("app/main.rb"))
            .unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(86_400))
            .unwrap();
        drop(file);
        assert_eq!(
            build_context(root, "Dockerfile", None).unwrap().digest,
            first.digest
        );

        write(root, "app/main.rb", "puts 2");
        let edited = build_context(root, "Dockerfile", None).unwrap();
        assert_ne!(edited.digest, first.digest);

        let script = root.join("app/main.rb");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(
            build_context(root, "Dockerfile", None).unwrap().digest,
            edited.digest
        );
    }

    #[test]
    fn a_missing_dockerfile_or_context_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = build_context(dir.path(), "Dockerfile", None).unwrap_err();
        assert!(matches!(error, Error::Usage { .. }));
        assert!(
            error.to_string().contains("no Dockerfile `Dockerfile`"),
            "{error}"
        );
        let error = build_context(dir.path(), "../Dockerfile", None).unwrap_err();
        assert!(
            error.to_string().contains("outside the build context"),
            "{error}"
        );
        let error = build_context(&dir.path().join("missing"), "Dockerfile", None).unwrap_err();
        assert!(error.to_string().contains("does not exist"), "{error}");

        write(dir.path(), "Dockerfile", "FROM ruby");
        write(dir.path(), ".dockerignore", "[oops\n");
        let error = build_context(dir.path(), "Dockerfile", None).unwrap_err();
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn the_digest_covers_the_dockerfile_and_the_selected_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "Dockerfile",
            "FROM ruby\nCOPY Gemfile Gemfile.lock ./\nCOPY . .\n",
        );
        write(root, "Gemfile", "gems");
        write(root, "Gemfile.lock", "locked");
        write(root, "app/controllers/home.rb", "class Home; end");
        write(root, "vendor/gem/x.rb", "x");
        let digest = |include: &[&str], exclude: &[&str]| {
            let own = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
            let selection = Selection::new(&own(include), &own(exclude)).unwrap();
            digest(root, "Dockerfile", &selection, None).unwrap()
        };
        // All bind-mounted: only the Dockerfile counts.
        let mounted = digest(&["Gemfile", "Gemfile.lock", "."], &["."]);
        let gems = digest(&["Gemfile.lock"], &[]);
        let vendored = digest(&["vendor/"], &["app"]);
        write(
            root,
            "app/controllers/home.rb",
            "class Home; def index; end; end",
        );
        assert_eq!(digest(&["Gemfile", "Gemfile.lock", "."], &["."]), mounted);
        assert_eq!(digest(&["Gemfile.lock"], &[]), gems);
        assert_eq!(digest(&["vendor/"], &["app"]), vendored);
        write(root, "vendor/gem/x.rb", "y");
        assert_ne!(
            digest(&["vendor/"], &["app"]),
            vendored,
            "a directory covers its files"
        );
        write(root, "Gemfile.lock", "relocked");
        assert_ne!(digest(&["Gemfile.lock"], &[]), gems);
        write(root, "Dockerfile", "FROM ruby:3.3\n");
        assert_ne!(digest(&["Gemfile", "Gemfile.lock", "."], &["."]), mounted);
        // Without a selection, everything is sent (and counted).
        let full = build_context(root, "Dockerfile", None).unwrap();
        assert!(paths(&full).contains(&"app/controllers/home.rb".to_owned()));
    }

    #[test]
    fn a_dockerfile_alone_is_a_context() {
        let context = from_dockerfile("FROM ruby\n");
        assert_eq!(paths(&context), ["Dockerfile"]);
        assert_eq!(from_dockerfile("FROM ruby\n"), context);
        assert_ne!(from_dockerfile("FROM ruby:3\n").digest, context.digest);
    }

    #[test]
    fn clean_matches_go() {
        for (input, expected) in [
            ("a//b/./c/", "a/b/c"),
            ("./x", "x"),
            ("a/../../b", "../b"),
            ("/../a", "/a"),
            ("", "."),
            ("/", "/"),
        ] {
            assert_eq!(clean(input), expected, "{input}");
        }
    }
}
