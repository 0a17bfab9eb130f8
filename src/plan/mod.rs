//! The plan: what `up` would change, computed without side effects from the rendered files,
//! what is on disk, and what devboot recorded when it last wrote. `devboot plan` prints it;
//! `up` carries it out. Pure: the caller gathers the facts.

pub mod observed;
pub mod ports;
pub mod setup;

pub use observed::{Observed, ObservedContainer, ObservedImage};
pub use setup::{SetupPlan, SetupRecord};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::digest::Digest;
use crate::model::Stack;
use crate::render::{Ownership, RenderedFile};

/// Everything `up` would do.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub project: String,
    pub files: Vec<FileStep>,
    pub images: Vec<ImageStep>,
    pub containers: Vec<ContainerStep>,
    /// Setup commands that would run in the app service.
    pub setup: Vec<String>,
}

impl Plan {
    /// Whether carrying out the plan would change nothing.
    pub fn is_noop(&self) -> bool {
        self.files.iter().all(|f| f.action == FileAction::Unchanged)
            && self.images.iter().all(|i| i.action == ImageAction::Present)
            && self
                .containers
                .iter()
                .all(|c| c.action == ContainerAction::Unchanged)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageAction {
    Pull,
    Build,
    Present,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageStep {
    pub image: String,
    pub action: ImageAction,
    /// The services that run this image.
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerAction {
    Create,
    Recreate,
    Start,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerStep {
    pub service: String,
    pub action: ContainerAction,
    /// Why, for anything but `unchanged`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Which images to pull or build. `context_digests` holds, for each service with a build, the
/// digest of its build context and arguments.
pub fn images(
    stack: &Stack,
    observed: &Observed,
    context_digests: &BTreeMap<String, String>,
) -> Vec<ImageStep> {
    let mut steps: BTreeMap<String, ImageStep> = BTreeMap::new();
    for service in stack.services.values() {
        let image = service.image.to_string();
        let present = observed.images.get(&image);
        let action = match (&service.build, present) {
            (Some(_), Some(found))
                if found.context_digest.as_ref() == context_digests.get(&service.name) =>
            {
                ImageAction::Present
            }
            (Some(_), _) => ImageAction::Build,
            (None, Some(_)) => ImageAction::Present,
            (None, None) => ImageAction::Pull,
        };
        let step = steps.entry(image.clone()).or_insert(ImageStep {
            image,
            action,
            services: Vec::new(),
        });
        // Two services sharing a built image: building once serves both.
        if action == ImageAction::Build {
            step.action = ImageAction::Build;
        }
        step.services.push(service.name.clone());
    }
    steps.into_values().collect()
}

/// What each service's container needs. `desired_hashes` holds the config hash of each service
/// whose image is known now; a service missing from it gets a new image, so its container is
/// (re)created.
pub fn containers(
    stack: &Stack,
    observed: &Observed,
    desired_hashes: &BTreeMap<String, String>,
) -> Vec<ContainerStep> {
    stack
        .start_order()
        .into_iter()
        .map(|service| {
            let name = service.name.clone();
            let (action, reason) = match (observed.containers.get(&name), desired_hashes.get(&name))
            {
                (None, _) => (ContainerAction::Create, None),
                (Some(_), None) => (
                    ContainerAction::Recreate,
                    Some("its image changes".to_owned()),
                ),
                (Some(c), Some(hash)) if c.config_hash.as_ref() != Some(hash) => (
                    ContainerAction::Recreate,
                    Some("its configuration changed".to_owned()),
                ),
                (Some(c), Some(_)) if !c.running() => {
                    (ContainerAction::Start, Some(format!("it is {}", c.state)))
                }
                (Some(_), Some(_)) => (ContainerAction::Unchanged, None),
            };
            ContainerStep {
                service: name,
                action,
                reason,
            }
        })
        .collect()
}

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
