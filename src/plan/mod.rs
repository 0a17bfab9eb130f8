//! The plan: what `up` would change, computed without side effects from the rendered files,
//! what is on disk, and what devboot recorded when it last wrote. `devboot plan` prints it;
//! `up` carries it out. Pure: the caller gathers the facts.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::render::{Ownership, RenderedFile};
use crate::workspace::Digest;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileAction {
    Create,
    Update,
    Unchanged,
    /// The user edited a file devboot wrote (or it was there before): left alone.
    Conflict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStep {
    pub path: String,
    pub action: FileAction,
    pub ownership: Ownership,
}

/// What each rendered file needs: `on_disk` holds the digest of each file that exists now,
/// `recorded` the digest devboot wrote last time.
pub fn files(
    rendered: &[RenderedFile],
    on_disk: &BTreeMap<String, Digest>,
    recorded: &BTreeMap<String, Digest>,
) -> Vec<FileStep> {
    rendered
        .iter()
        .map(|file| {
            let wanted = Digest::of(file.content.as_bytes());
            let action = match on_disk.get(&file.path) {
                None => FileAction::Create,
                Some(current) if *current == wanted => FileAction::Unchanged,
                Some(_) if file.ownership == Ownership::Generated => FileAction::Update,
                Some(current) if recorded.get(&file.path) == Some(current) => FileAction::Update,
                Some(_) => FileAction::Conflict,
            };
            FileStep {
                path: file.path.clone(),
                action,
                ownership: file.ownership,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, content: &str, ownership: Ownership) -> RenderedFile {
        RenderedFile {
            path: path.into(),
            content: content.into(),
            ownership,
        }
    }

    #[test]
    fn decides_each_file() {
        let rendered = [
            file("new", "x", Ownership::Tracked),
            file("same", "x", Ownership::Tracked),
            file(".devboot/gen", "new", Ownership::Generated),
            file("untouched", "new", Ownership::Tracked),
            file("edited", "new", Ownership::Tracked),
            file("preexisting", "new", Ownership::Tracked),
        ];
        let on_disk = BTreeMap::from([
            ("same".to_owned(), Digest::of(b"x")),
            (".devboot/gen".to_owned(), Digest::of(b"hand edit")),
            ("untouched".to_owned(), Digest::of(b"old")),
            ("edited".to_owned(), Digest::of(b"old, edited")),
            ("preexisting".to_owned(), Digest::of(b"theirs")),
        ]);
        let recorded = BTreeMap::from([
            ("untouched".to_owned(), Digest::of(b"old")),
            ("edited".to_owned(), Digest::of(b"old")),
        ]);
        let actions: Vec<_> = files(&rendered, &on_disk, &recorded)
            .into_iter()
            .map(|s| s.action)
            .collect();
        assert_eq!(
            actions,
            [
                FileAction::Create,
                FileAction::Unchanged,
                FileAction::Update,
                FileAction::Update,
                FileAction::Conflict,
                FileAction::Conflict
            ]
        );
    }
}
