//! The observed state: what the engine holds for a project (containers, network, volumes,
//! images, published ports), as plain data. `engine::observe` fills it in; the pure planner
//! and the gates read it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedContainer {
    pub id: String,
    pub name: String,
    pub service: String,
    pub config_hash: Option<String>,
    /// `created`, `running`, `exited`, ...
    pub state: String,
    pub image_id: String,
    /// The checkout (project directory) that created it.
    pub checkout: Option<String>,
    /// For a container Docker Compose created (not devboot): the compose file it was created
    /// from, as its labels say.
    pub compose_file: Option<PathBuf>,
    /// The definition digest the compose file labelled the service with, if any.
    pub compose_definition: Option<String>,
}

impl ObservedContainer {
    pub fn running(&self) -> bool {
        self.state == "running"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedImage {
    pub id: String,
    /// For images devboot built: the build context digest they were built from.
    pub context_digest: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The project's containers by service name.
    pub containers: BTreeMap<String, ObservedContainer>,
    /// Containers of the project whose service the profile no longer declares.
    pub orphans: Vec<ObservedContainer>,
    pub network: bool,
    /// Logical names (as the profile writes them) of the project's volumes that exist.
    pub volumes: BTreeSet<String>,
    /// The checkouts (project directories) that the project's containers and volumes say
    /// created them; more than this one means another clone uses the same project name.
    pub checkouts: BTreeSet<String>,
    /// The stack's images that are present locally, by reference.
    pub images: BTreeMap<String, ObservedImage>,
    /// Host ports the project's containers publish now.
    pub published: BTreeSet<u16>,
}
