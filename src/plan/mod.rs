//! The plan: what `up` would change, computed without side effects from the rendered files,
//! what is on disk, and what devboot recorded when it last wrote. `devboot plan` prints it;
//! `up` carries it out. Pure: the caller gathers the facts.

pub mod db_upgrade;
pub mod observed;
pub mod ports;
pub mod setup;

pub use observed::{Observed, ObservedContainer, ObservedImage};
pub use setup::{SetupPlan, SetupRecord};

use std::collections::BTreeMap;
use std::path::PathBuf;

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

/// What identifies the container devboot would run for a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredContainer {
    /// The hash of the whole definition and the image ID, on the containers devboot creates.
    pub config_hash: String,
    pub image_id: String,
    /// The definition digest the compose file labels the service with; `None` when the file
    /// cannot say everything devboot gives the container.
    pub compose_definition: Option<String>,
}

/// The compose file devboot writes for a stack, as `up` finds it.
#[derive(Debug, Clone)]
pub struct ComposeFile {
    /// Its absolute path.
    pub path: PathBuf,
    /// Whether it holds what devboot last wrote (nobody edited it since).
    pub as_written: bool,
}

impl ComposeFile {
    pub fn of(stack: &Stack, as_written: bool) -> Self {
        Self {
            path: stack.root.join(crate::render::COMPOSE_FILE),
            as_written,
        }
    }
}

impl DesiredContainer {
    /// Whether `container` runs this. Either devboot created it with this definition and image
    /// (its config hash), or Docker Compose created it from the compose file devboot wrote:
    /// the container was made from `compose_file` (one file, this checkout's), the file still
    /// holds what devboot wrote, the definition digest the file gave the container is this
    /// one, and it runs this image. Anything else is recreated.
    pub fn is_run_by(&self, container: &ObservedContainer, compose_file: &ComposeFile) -> bool {
        if container.config_hash.as_ref() == Some(&self.config_hash) {
            return true;
        }
        compose_file.as_written
            && container.compose_file.as_ref() == Some(&compose_file.path)
            && self.compose_definition.is_some()
            && container.compose_definition == self.compose_definition
            && container.image_id == self.image_id
    }
}

/// What each service's container needs. `desired` holds what identifies the container of each
/// service whose image is known now; a service missing from it gets a new image, so its
/// container is (re)created.
pub fn containers(
    stack: &Stack,
    observed: &Observed,
    desired: &BTreeMap<String, DesiredContainer>,
    compose_file: &ComposeFile,
) -> Vec<ContainerStep> {
    stack
        .start_order()
        .into_iter()
        .map(|service| {
            let name = service.name.clone();
            let (action, reason) = match (observed.containers.get(&name), desired.get(&name)) {
                (None, _) => (ContainerAction::Create, None),
                (Some(_), None) => (
                    ContainerAction::Recreate,
                    Some("its image changes".to_owned()),
                ),
                (Some(c), Some(wanted)) if !wanted.is_run_by(c, compose_file) => (
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

    fn desired() -> DesiredContainer {
        DesiredContainer {
            config_hash: "devboot-hash".into(),
            image_id: "sha256:1".into(),
            compose_definition: Some("definition".into()),
        }
    }

    /// A container Compose created from `/src/shop/.devboot/compose.yaml` for `desired()`.
    fn by_compose() -> ObservedContainer {
        ObservedContainer {
            id: "c1".into(),
            name: "shop_web_1".into(),
            service: "web".into(),
            config_hash: Some("compose-hash".into()),
            state: "running".into(),
            image_id: "sha256:1".into(),
            checkout: Some("/src/shop/.devboot".into()),
            compose_file: Some("/src/shop/.devboot/compose.yaml".into()),
            compose_definition: Some("definition".into()),
        }
    }

    #[test]
    fn a_container_compose_made_from_the_written_file_is_devboots() {
        let file = |as_written| ComposeFile {
            path: "/src/shop/.devboot/compose.yaml".into(),
            as_written,
        };
        let wanted = desired();
        assert!(wanted.is_run_by(&by_compose(), &file(true)));
        // The file was edited since devboot wrote it.
        assert!(!wanted.is_run_by(&by_compose(), &file(false)));
        // Another file (another checkout, or an override beside it).
        let other = ObservedContainer {
            compose_file: Some("/src/other/.devboot/compose.yaml".into()),
            ..by_compose()
        };
        assert!(!wanted.is_run_by(&other, &file(true)));
        // Made from an older definition, or running another image.
        let older = ObservedContainer {
            compose_definition: Some("older".into()),
            ..by_compose()
        };
        assert!(!wanted.is_run_by(&older, &file(true)));
        let rebuilt = ObservedContainer {
            image_id: "sha256:2".into(),
            ..by_compose()
        };
        assert!(!wanted.is_run_by(&rebuilt, &file(true)));
        // A service the file cannot describe completely (the app's AWS wiring).
        let wired = DesiredContainer {
            compose_definition: None,
            ..desired()
        };
        let unlabelled = ObservedContainer {
            compose_definition: None,
            ..by_compose()
        };
        assert!(!wired.is_run_by(&unlabelled, &file(true)));
        // devboot's own container: its config hash.
        let by_devboot = ObservedContainer {
            config_hash: Some("devboot-hash".into()),
            compose_file: None,
            compose_definition: None,
            ..by_compose()
        };
        assert!(wanted.is_run_by(&by_devboot, &file(false)));
    }

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
