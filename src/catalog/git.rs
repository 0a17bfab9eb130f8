//! The git adapter: a bare cache repository per catalog, filled by the developer's own `git`
//! (their credential helpers, proxies and SSH setup apply) and read object by object. No work
//! tree is ever checked out, so no filter, hook or attribute of the catalog runs; only the
//! transports in [`super::spec::GIT_PROTOCOLS`] are allowed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::env::Environment;
use crate::error::Error;

/// Largest profile file read from a catalog.
pub const FILE_LIMIT: u64 = 256 * 1024;

/// Variables that would point git at another repository than the cache one.
const REDIRECTS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_ALLOW_PROTOCOL",
];

/// The developer's `git`, run on one bare cache repository.
#[derive(Debug, Clone)]
pub struct Repo {
    program: PathBuf,
    dir: PathBuf,
    vars: Vec<(String, String)>,
}

impl Repo {
    /// The cache repository at `dir` (created on first fetch), run with `env`'s variables.
    pub fn new(env: &Environment, dir: PathBuf) -> Result<Self, Error> {
        let program =
            crate::host::tools::find_on_path("git", env.var("PATH")).ok_or_else(|| {
                Error::Catalog {
                    message: "`git` is not on PATH; devboot fetches catalogs with it".to_owned(),
                    hint: Some(
                        "install git (e.g. `apt install git`, `brew install git`)".to_owned(),
                    ),
                }
            })?;
        let mut vars: Vec<(String, String)> = env
            .vars()
            .filter(|(k, _)| !REDIRECTS.contains(k))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        vars.push((
            "GIT_ALLOW_PROTOCOL".to_owned(),
            super::spec::GIT_PROTOCOLS.join(":"),
        ));
        // No prompt can be answered (devboot may run without a terminal): credentials come
        // from the developer's credential helper or SSH agent.
        vars.push(("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned()));
        vars.push(("GIT_ASKPASS".to_owned(), String::new()));
        vars.push(("SSH_ASKPASS".to_owned(), String::new()));
        Ok(Self { program, dir, vars })
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .arg("--git-dir")
            .arg(&self.dir)
            .args([
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "protocol.ext.allow=never",
                "-c",
                "protocol.fd.allow=never",
                "-c",
                "transfer.fsckObjects=true",
                "-c",
                "http.lowSpeedLimit=1000",
                "-c",
                "http.lowSpeedTime=30",
            ])
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Result<std::process::Output, Error> {
        self.command()
            .args(args)
            .output()
            .map_err(|e| Error::io("run git in", self.dir.clone(), e))
    }

    fn ok(&self, args: &[&str], what: &str) -> Result<Vec<u8>, Error> {
        let output = self.run(args)?;
        if output.status.success() {
            return Ok(output.stdout);
        }
        Err(failed(what, &output.stderr))
    }

    /// Whether the cache holds `commit` (any form git resolves) as a commit.
    pub fn has_commit(&self, commit: &str) -> bool {
        self.dir.is_dir()
            && self
                .run(&["cat-file", "-e", &format!("{commit}^{{commit}}")])
                .is_ok_and(|o| o.status.success())
    }

    /// Fetches every tag of `url` into the cache (tags moved upstream move here too; a lock
    /// names commits, so it is unaffected), and `commit` when given.
    pub fn fetch(&self, url: &str, commit: Option<&str>) -> Result<(), Error> {
        if !self.dir.join("HEAD").is_file() {
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| Error::io("create directory", self.dir.clone(), e))?;
            // No template: no sample hooks, nothing but the repository.
            self.ok(
                &["init", "--quiet", "--bare", "--template="],
                "creating the catalog cache",
            )?;
        }
        let what = format!("fetching `{url}`");
        self.ok(
            &[
                "fetch",
                "--quiet",
                "--force",
                "--prune",
                "--no-tags",
                "--no-recurse-submodules",
                "--end-of-options",
                url,
                "+refs/tags/*:refs/tags/*",
            ],
            &what,
        )?;
        if let Some(commit) = commit.filter(|c| !self.has_commit(c)) {
            self.ok(
                &[
                    "fetch",
                    "--quiet",
                    "--no-tags",
                    "--no-recurse-submodules",
                    "--end-of-options",
                    url,
                    commit,
                ],
                &format!("fetching commit {commit} of `{url}`"),
            )?;
        }
        Ok(())
    }

    /// Every tag in the cache with the commit it points to.
    pub fn tags(&self) -> Result<Vec<(String, String)>, Error> {
        if !self.dir.is_dir() {
            return Ok(Vec::new());
        }
        let out = self.ok(
            &[
                "for-each-ref",
                "--format=%(refname:strip=2) %(objectname) %(*objectname)",
                "refs/tags",
            ],
            "listing the catalog's tags",
        )?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|line| {
                let mut parts = line.split(' ');
                let tag = parts.next()?;
                let object = parts.next()?;
                // An annotated tag's commit is the peeled object.
                let commit = parts.next().filter(|p| !p.is_empty()).unwrap_or(object);
                Some((tag.to_owned(), commit.to_owned()))
            })
            .collect())
    }

    /// The full id of `rev`'s commit.
    pub fn commit_of(&self, rev: &str) -> Result<String, Error> {
        let out = self.ok(
            &[
                "rev-parse",
                "--verify",
                "--end-of-options",
                &format!("{rev}^{{commit}}"),
            ],
            &format!("finding commit `{rev}`"),
        )?;
        Ok(String::from_utf8_lossy(&out).trim().to_owned())
    }

    /// The bytes of the regular file `path` at `commit`; `Ok(None)` when there is none. A link,
    /// a submodule or a directory there is refused, and so is a file over [`FILE_LIMIT`].
    pub fn read(&self, commit: &str, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let out = self.ok(
            &[
                "ls-tree",
                "-l",
                "-z",
                "--end-of-options",
                commit,
                "--",
                path,
            ],
            &format!("reading commit {commit}"),
        )?;
        let entry = String::from_utf8_lossy(&out);
        let Some((meta, name)) = entry.trim_end_matches('\0').split_once('\t') else {
            return Ok(None);
        };
        if name != path {
            return Ok(None);
        }
        let fields: Vec<&str> = meta.split_whitespace().collect();
        let [mode, kind, id, size] = fields[..] else {
            return Ok(None);
        };
        if kind != "blob" || !(mode == "100644" || mode == "100755") {
            return Err(unsafe_entry(
                path,
                "is not a regular file (a link or a directory)",
            ));
        }
        if size.parse::<u64>().map_or(true, |s| s > FILE_LIMIT) {
            return Err(unsafe_entry(
                path,
                "is larger than a profile may be (256 KiB)",
            ));
        }
        self.ok(&["cat-file", "blob", id], &format!("reading `{path}`"))
            .map(Some)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn unsafe_entry(path: &str, what: &str) -> Error {
    Error::Catalog {
        message: format!("the catalog's `{path}` {what}"),
        hint: Some("ask the catalog's maintainers to publish profiles as plain files".to_owned()),
    }
}

fn failed(what: &str, stderr: &[u8]) -> Error {
    let detail = String::from_utf8_lossy(stderr);
    let detail = detail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Error::Catalog {
        message: format!("{what} failed: {detail}"),
        hint: Some(
            "check that you can reach the catalog with `git ls-remote URL`; private catalogs use \
             your git credential helper or SSH agent"
                .to_owned(),
        ),
    }
}
