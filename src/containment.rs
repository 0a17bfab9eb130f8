//! Paths a profile names stay inside the project by the filesystem's word, not only by their
//! text: validation already refuses `..` and absolute paths, and this module resolves every
//! bind-mount source, build context, setup input and generated file's directory through its
//! symbolic links and refuses any that lands outside the project's real root. A committed
//! `h -> /` with `volumes = ["./h:/host"]`, a build context linked to `~`, or a `.devboot ->
//! .git` link can therefore neither mount, send, read nor overwrite anything outside the
//! repository.

use std::path::{Component, Path, PathBuf};

use crate::error::Error;
use crate::model::{Mount, Stack};

/// devboot's own directory in the project.
pub const WORK_DIR: &str = ".devboot";

/// Checks every path of `stack` that devboot mounts, sends, reads or writes; the first one that
/// leaves the project is the error.
pub fn check(stack: &Stack) -> Result<(), Error> {
    let root = &stack.root;
    let real_root = std::fs::canonicalize(root).map_err(|e| Error::io("resolve", root, e))?;
    refuse_symlink(root, WORK_DIR)?;
    for service in stack.services.values() {
        if let Some(build) = &service.build {
            let what = format!("the build context of service `{}`", service.name);
            inside(&real_root, root, &build.context, &what)?;
            let dockerfile = Path::new(&build.context).join(&build.dockerfile);
            let what = format!("the Dockerfile of service `{}`", service.name);
            inside(&real_root, root, &dockerfile.to_string_lossy(), &what)?;
        }
        for mount in &service.mounts {
            if let Mount::Bind { source, .. } = mount {
                let what = format!("the bind mount `{source}` of service `{}`", service.name);
                inside(&real_root, root, source, &what)?;
            }
        }
    }
    for file in &stack.files {
        let what = format!("the generated file `{}`", file.path);
        inside(&real_root, root, &file.path, &what)?;
    }
    for input in stack.app.iter().flat_map(|app| &app.setup_inputs) {
        let what = format!("the setup input `{input}`");
        inside(&real_root, root, input, &what)?;
    }
    Ok(())
}

/// Refuses `relative` when it is a symbolic link (devboot's own directory must be a directory
/// of the project, never a link to one elsewhere such as `.git`).
fn refuse_symlink(root: &Path, relative: &str) -> Result<(), Error> {
    match std::fs::symlink_metadata(root.join(relative)) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::Usage {
            message: format!(
                "`{relative}` in the project is a symbolic link; devboot writes only into a real `{relative}` directory"
            ),
            hint: Some(format!(
                "remove the link (`rm {relative}`) — it is generated, and should be git-ignored"
            )),
        }),
        _ => Ok(()),
    }
}

/// Whether the project path `relative` (already free of `..` and absolute parts) resolves,
/// through any symbolic links on the way, to a place inside `real_root`. A path that does not
/// exist yet is judged by its deepest existing ancestor.
fn inside(real_root: &Path, root: &Path, relative: &str, what: &str) -> Result<(), Error> {
    let path = root.join(relative);
    let (existing, rest) = deepest_existing(&path);
    let resolved = std::fs::canonicalize(existing)
        .map(|real| real.join(rest))
        .map_err(|e| Error::io("resolve", existing, e))?;
    if resolved.starts_with(real_root) {
        Ok(())
    } else {
        Err(Error::Usage {
            message: format!(
                "{what} leads outside the project through a symbolic link (`{relative}`)"
            ),
            hint: Some(
                "devboot mounts, sends to the engine and writes only what is inside the project; replace the link with the files it stands for, or change the path"
                    .into(),
            ),
        })
    }
}

/// The longest prefix of `path` that exists (without following a final dangling link), and
/// the rest.
fn deepest_existing(path: &Path) -> (&Path, PathBuf) {
    let mut existing = path;
    let mut rest: Vec<Component<'_>> = Vec::new();
    while std::fs::symlink_metadata(existing).is_err() {
        let Some(parent) = existing.parent() else {
            break;
        };
        if let Some(name) = existing.components().next_back() {
            rest.push(name);
        }
        existing = parent;
    }
    (existing, rest.iter().rev().collect())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn project() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("app");
        std::fs::create_dir_all(root.join("tmp")).unwrap();
        (dir, root)
    }

    #[test]
    fn paths_inside_pass_and_those_behind_a_link_outside_are_refused() {
        let (dir, root) = project();
        let real_root = std::fs::canonicalize(&root).unwrap();
        assert!(inside(&real_root, &root, "tmp", "x").is_ok());
        assert!(inside(&real_root, &root, "not/yet/there", "x").is_ok());
        symlink("/", root.join("h")).unwrap();
        symlink(dir.path(), root.join("up")).unwrap();
        symlink("tmp", root.join("inner")).unwrap();
        let error = inside(&real_root, &root, "h", "the bind mount").unwrap_err();
        assert!(
            error.to_string().contains("leads outside the project"),
            "{error}"
        );
        assert!(
            inside(&real_root, &root, "up/app", "x").is_ok(),
            "back inside"
        );
        assert!(inside(&real_root, &root, "up/other", "x").is_err());
        assert!(inside(&real_root, &root, "h/etc/new-file", "x").is_err());
        assert!(inside(&real_root, &root, "inner/x", "x").is_ok());
    }

    #[test]
    fn a_dangling_link_is_judged_by_where_it_points() {
        let (_dir, root) = project();
        let real_root = std::fs::canonicalize(&root).unwrap();
        symlink("/nonexistent-devboot-target", root.join("dangling")).unwrap();
        // canonicalize fails on the dangling link itself: refused, never written through.
        assert!(inside(&real_root, &root, "dangling", "x").is_err());
    }

    #[test]
    fn a_linked_work_dir_is_refused() {
        let (_dir, root) = project();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        symlink(".git", root.join(WORK_DIR)).unwrap();
        let error = refuse_symlink(&root, WORK_DIR).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
    }
}
