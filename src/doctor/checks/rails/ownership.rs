//! `rails.file_ownership`: the project's files belong to the user, not to root (or another
//! user), as files a container wrote through the bind mount do on Linux.

use std::collections::BTreeMap;
use std::path::Path;

use crate::doctor::check::{Check, Outcome, QUICK, Run};
use crate::doctor::facts::Facts;

pub(super) const FILE_OWNERSHIP: Check = Check {
    id: "rails.file_ownership",
    title: "The project's files belong to you",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(file_ownership),
    safe_fix: None,
};

/// Directories never walked: git's own, and dependency trees whose top directory tells enough.
const NOT_WALKED: &[&str] = &[".git", "node_modules", "vendor/bundle", ".devboot"];

/// At most this many entries are looked at.
const WALK_LIMIT: usize = 100_000;

/// Files under `dir` not owned by `uid`: `(relative path, owner uid)`, and whether the walk
/// stopped at [`WALK_LIMIT`].
fn foreign_files(dir: &Path, uid: u32) -> (Vec<(String, u32)>, bool) {
    use std::os::unix::fs::MetadataExt as _;
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0;
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > WALK_LIMIT {
                return (found, true);
            }
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let relative = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            if meta.uid() != uid {
                found.push((relative.clone(), meta.uid()));
            }
            if meta.is_dir() && !NOT_WALKED.contains(&relative.as_str()) {
                stack.push(path);
            }
        }
    }
    found.sort();
    (found, false)
}

/// The name of user `uid` from `/etc/passwd`, else the number.
fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

fn file_ownership(facts: &Facts) -> Result<Outcome, Outcome> {
    if !cfg!(target_os = "linux") {
        return Err(Outcome::skipped(
            "not Linux: Docker Desktop and similar map file ownership on bind mounts",
        ));
    }
    let uid = rustix::process::getuid().as_raw();
    if uid == 0 {
        return Err(Outcome::skipped(
            "doctor runs as root, which may write every file",
        ));
    }
    let dir = facts.app_dir();
    let (found, stopped) = foreign_files(dir, uid);
    Ok(file_ownership_outcome(&found, stopped, &user_name))
}

fn file_ownership_outcome(
    found: &[(String, u32)],
    stopped: bool,
    name_of: &dyn Fn(u32) -> String,
) -> Outcome {
    let walked = if stopped {
        format!(" (looked at the first {WALK_LIMIT} entries)")
    } else {
        String::new()
    };
    if found.is_empty() {
        return Outcome::ok(format!("every file of the project is yours{walked}"));
    }
    // By top-level entry: `tmp` for `tmp/cache/x`.
    let mut tops: BTreeMap<&str, usize> = BTreeMap::new();
    let mut owners: BTreeMap<u32, usize> = BTreeMap::new();
    for (path, uid) in found {
        let top = path.split('/').next().unwrap_or(path);
        *tops.entry(top).or_default() += 1;
        *owners.entry(*uid).or_default() += 1;
    }
    let owners: Vec<String> = owners
        .iter()
        .map(|(uid, count)| format!("{count} of {}", name_of(*uid)))
        .collect();
    let listed: Vec<String> = tops.keys().map(|t| (*t).to_owned()).collect();
    let mut outcome = Outcome::warn(format!(
        "{} {} in the project belong to another user ({}): {}{walked}",
        found.len(),
        if found.len() == 1 { "file" } else { "files" },
        owners.join(", "),
        listed.join(", ")
    ))
    .detail("a container running as root wrote them through the bind mount; you cannot change or delete them: `Permission denied @ dir_s_mkdir`, git cannot clean them, and the next `up` or test run fails");
    outcome = outcome.details(
        found
            .iter()
            .take(5)
            .map(|(path, uid)| format!("{path} (owner: {})", name_of(*uid))),
    );
    if found.len() > 5 {
        outcome = outcome.detail(format!("… and {} more", found.len() - 5));
    }
    outcome
        .fix_with(
            "take them back",
            format!("sudo chown -R $(id -u):$(id -g) {}", listed.join(" ")),
        )
        .fix("for good, have the app container run as your user (uid:gid) or write tmp/ and log/ outside the mount")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::Sandbox;

    #[test]
    fn files_of_another_owner_are_grouped_with_the_chown_fix() {
        let name = |uid: u32| {
            if uid == 0 {
                "root".to_owned()
            } else {
                format!("uid {uid}")
            }
        };
        let found = vec![
            ("log".to_owned(), 0),
            ("log/development.log".to_owned(), 0),
            ("tmp/cache".to_owned(), 0),
            ("tmp/cache/bootsnap".to_owned(), 1001),
        ];
        let outcome = file_ownership_outcome(&found, false, &name);
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "4 files in the project belong to another user (3 of root, 1 of uid 1001): log, tmp"
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("sudo chown -R $(id -u):$(id -g) log tmp")
        );
        assert_eq!(file_ownership_outcome(&[], true, &name).status, Status::Ok);
    }

    #[test]
    fn the_walk_finds_what_another_user_owns() {
        use std::os::unix::fs::MetadataExt as _;
        let sandbox = Sandbox::new();
        sandbox.write("app/models/note.rb", "class Note; end\n");
        sandbox.write(".git/HEAD", "ref: refs/heads/main\n");
        let mine = std::fs::metadata(sandbox.project()).unwrap().uid();
        assert_eq!(foreign_files(&sandbox.project(), mine), (vec![], false));
        // As another uid every entry is foreign, except inside what is never walked.
        let (found, stopped) = foreign_files(&sandbox.project(), mine + 1);
        assert!(!stopped);
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, [".git", "app", "app/models", "app/models/note.rb"]);
    }
}
