//! What the developer approved, remembered outside every repository: a committed file may ask
//! devboot for things a repository must not get silently (which of the developer's AWS
//! identities its code receives; the capabilities a published profile uses). Each approval names the project by its real path, so a
//! second clone or a renamed checkout asks again. Stored as JSON in devboot's state directory
//! (`$XDG_STATE_HOME/devboot/approvals.json`), written atomically, readable by the user only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::env::Environment;
use crate::error::Error;
use crate::fsio;
use crate::profile::LoadedProfile;
use crate::profile::capabilities::{self, Capability, Published};

/// Something a repository asks for that needs the developer's yes once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// The app container receives credentials of this AWS profile.
    AwsProfile(String),
    /// The published layer with this key may use this capability.
    Capability {
        layer: String,
        capability: Capability,
    },
}

impl Grant {
    fn key(&self) -> String {
        match self {
            Self::AwsProfile(profile) => format!("aws-profile:{profile}"),
            Self::Capability { layer, capability } => {
                format!("capability:{}:{layer}", capability.name())
            }
        }
    }
}

/// A published layer of the project, and which of the capabilities it uses the developer has
/// approved for this project.
#[derive(Debug, Clone)]
pub struct LayerApproval {
    pub layer: Published,
    pub approved: BTreeSet<Capability>,
}

impl LayerApproval {
    /// The capabilities it uses that are not approved yet: `up` asks for these.
    pub fn pending(&self) -> BTreeSet<Capability> {
        self.layer
            .used()
            .difference(&self.approved)
            .copied()
            .collect()
    }

    pub fn grants(&self, capabilities: &BTreeSet<Capability>) -> Vec<Grant> {
        capabilities
            .iter()
            .map(|&capability| Grant::Capability {
                layer: self.layer.key.clone(),
                capability,
            })
            .collect()
    }
}

/// Each published layer of the project at `root` with its approved capabilities (none without
/// a state directory to keep approvals in).
pub fn capability_approvals(
    consents: Option<&Consents>,
    root: &Path,
    loaded: &LoadedProfile,
) -> Vec<LayerApproval> {
    capabilities::published(loaded)
        .into_iter()
        .map(|layer| {
            let approved = layer
                .used()
                .into_iter()
                .filter(|&capability| {
                    consents.is_some_and(|c| {
                        c.granted(
                            root,
                            &Grant::Capability {
                                layer: layer.key.clone(),
                                capability,
                            },
                        )
                    })
                })
                .collect();
            LayerApproval { layer, approved }
        })
        .collect()
}

/// The approvals file: project root (real path) → granted keys.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Approvals {
    projects: BTreeMap<PathBuf, BTreeSet<String>>,
}

/// The approvals of one user.
#[derive(Debug)]
pub struct Consents {
    file: PathBuf,
}

impl Consents {
    /// The user's approvals; `None` without a home directory to keep them in.
    pub fn of_user(env: &Environment) -> Option<Self> {
        Some(Self {
            file: env.state_dir()?.join("approvals.json"),
        })
    }

    /// Whether `grant` was approved for the project at `root`.
    pub fn granted(&self, root: &Path, grant: &Grant) -> bool {
        self.read()
            .projects
            .get(&real(root))
            .is_some_and(|keys| keys.contains(&grant.key()))
    }

    /// Remembers that `grant` was approved for the project at `root`.
    pub fn grant(&self, root: &Path, grant: &Grant) -> Result<(), Error> {
        self.grant_all(root, std::slice::from_ref(grant))
    }

    /// Remembers that every one of `grants` was approved for the project at `root`.
    pub fn grant_all(&self, root: &Path, grants: &[Grant]) -> Result<(), Error> {
        let mut approvals = self.read();
        approvals
            .projects
            .entry(real(root))
            .or_default()
            .extend(grants.iter().map(Grant::key));
        let json = serde_json::to_vec_pretty(&approvals)
            .map_err(|e| Error::Internal(format!("encoding approvals: {e}")))?;
        fsio::write_atomic(&self.file, &json)?;
        restrict_to_owner(&self.file);
        Ok(())
    }

    /// An unreadable or damaged file counts as no approvals: devboot asks again.
    fn read(&self) -> Approvals {
        std::fs::read(&self.file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }
}

/// The project root as the filesystem resolves it (symlinks followed).
fn real(root: &Path) -> PathBuf {
    std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf())
}

fn restrict_to_owner(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvals_are_per_project_and_per_grant_and_survive_a_reload() {
        let home = tempfile::tempdir().unwrap();
        let env = Environment::from_vars(
            [("HOME", home.path().to_str().unwrap())],
            home.path().to_path_buf(),
        );
        let consents = Consents::of_user(&env).unwrap();
        let (one, two) = (home.path().join("one"), home.path().join("two"));
        std::fs::create_dir_all(&one).unwrap();
        std::fs::create_dir_all(&two).unwrap();
        let dev = Grant::AwsProfile("dev".into());
        assert!(!consents.granted(&one, &dev));
        consents.grant(&one, &dev).unwrap();
        assert!(consents.granted(&one, &dev));
        assert!(!consents.granted(&two, &dev), "another checkout asks again");
        assert!(!consents.granted(&one, &Grant::AwsProfile("prod".into())));
        let again = Consents::of_user(&env).unwrap();
        assert!(again.granted(&one, &dev));
        let mode = {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::metadata(&again.file).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode, 0o600);
    }
}
