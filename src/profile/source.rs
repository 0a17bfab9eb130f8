//! Where profile text comes from: the built-in catalog embedded from `profiles/`, profile files
//! on disk, and the project's own `devboot.toml` / `devboot.local.toml`. Every loaded text
//! becomes a [`Layer`] in [`Sources`], which later stages use to show `file:line:column`.
//!
//! Base profiles are found through the [`ProfileSource`] trait so that published catalogs
//! (git, pinned and locked) can join the built-in and file sources without touching the loader.

use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Diagnostics, Location, Place};
use super::document::{LayerId, Origin};
use crate::error::Error;

/// The project file, searched for upward from the working directory like git does.
pub const PROJECT_FILE: &str = "devboot.toml";
/// The developer's own, git-ignored overrides beside the project file.
pub const LOCAL_FILE: &str = "devboot.local.toml";

/// What role a layer plays; decides how it is shown and what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// A profile embedded in the binary.
    Builtin,
    /// A profile file named by `extends`.
    File,
    /// A profile published in a catalog (`extends = "acme:rails@^2"`), pinned by `devboot.lock`.
    /// Always foreign: it is code other people wrote.
    Catalog,
    /// The project's `devboot.toml`.
    Project,
    /// The developer's `devboot.local.toml`.
    Local,
}

/// One profile text and where it came from.
#[derive(Debug, Clone)]
pub struct Layer {
    /// How the layer is named in messages: `devboot.toml`, `profiles/rails.toml (built-in)`.
    pub display: String,
    /// The file on disk, for layers that have one.
    pub path: Option<PathBuf>,
    pub kind: LayerKind,
    pub text: String,
}

/// Every layer loaded for one resolution, indexed by [`LayerId`].
#[derive(Debug, Clone, Default)]
pub struct Sources {
    layers: Vec<Layer>,
    /// Layers read from outside the project (an `extends` path leading out of it): messages
    /// locate problems in them but never quote their lines, which may hold anything.
    foreign: std::collections::BTreeSet<LayerId>,
    /// Each layer's key across resolutions (a real path, `builtin:rails`, `catalog:URL#NAME`),
    /// as its source found it: approvals of a published layer's capabilities name it.
    keys: std::collections::BTreeMap<LayerId, String>,
}

impl Sources {
    pub fn add(&mut self, layer: Layer) -> LayerId {
        self.layers.push(layer);
        LayerId(self.layers.len() - 1)
    }

    pub fn get(&self, id: LayerId) -> &Layer {
        &self.layers[id.0]
    }

    /// The first layer added: the one being resolved (a layer's bases are added after it).
    pub fn top(&self) -> &Layer {
        self.get(LayerId(0))
    }

    pub fn locate(&self, origin: &Origin) -> Location {
        let layer = self.get(origin.layer);
        let location = Location::in_text(&layer.display, &layer.text, origin.span.clone());
        if self.is_foreign(origin.layer) {
            location.unquoted()
        } else {
            location
        }
    }

    /// Marks a layer as read from outside the project.
    pub fn mark_foreign(&mut self, id: LayerId) {
        self.foreign.insert(id);
    }

    pub fn is_foreign(&self, id: LayerId) -> bool {
        self.foreign.contains(&id)
    }

    /// Records the key its source gave a layer.
    pub fn set_key(&mut self, id: LayerId, key: String) {
        self.keys.insert(id, key);
    }

    /// The layer's key, or its display name when it was given none.
    pub fn key(&self, id: LayerId) -> &str {
        self.keys
            .get(&id)
            .map_or(self.get(id).display.as_str(), String::as_str)
    }

    /// Whether a layer is published — a catalog's, or a profile file from outside the
    /// project — rather than the developer's or devboot's own: what it does beyond a plain
    /// profile are capabilities it declares and the developer approves.
    pub fn is_published(&self, id: LayerId) -> bool {
        self.get(id).kind == LayerKind::Catalog || self.is_foreign(id)
    }
}

/// A base profile's text found by a [`ProfileSource`].
#[derive(Debug, Clone)]
pub struct FoundProfile {
    /// Identifies the profile across sources, for cycle detection (`builtin:rails`, a path).
    pub key: String,
    pub layer: Layer,
}

/// Finds base profiles by the name an `extends` entry uses.
pub trait ProfileSource {
    /// `Ok(None)` when this source does not know the name; the next source is asked.
    fn find(&self, name: &str, from: &Layer) -> Result<Option<FoundProfile>, Error>;
    /// Names this source can list (for `profile list` and suggestions).
    fn names(&self) -> Vec<&'static str>;
}

/// A built-in profile: its name and TOML text.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinProfile {
    pub name: &'static str,
    pub text: &'static str,
}

/// The profiles embedded from `profiles/`.
pub const BUILTIN_PROFILES: &[BuiltinProfile] = &[
    BuiltinProfile {
        name: "rails",
        text: include_str!("../../profiles/rails.toml"),
    },
    BuiltinProfile {
        name: "rails-sidekiq",
        text: include_str!("../../profiles/rails-sidekiq.toml"),
    },
    BuiltinProfile {
        name: "rails-mysql",
        text: include_str!("../../profiles/rails-mysql.toml"),
    },
];

/// The built-in catalog.
#[derive(Debug, Default, Clone, Copy)]
pub struct Builtin;

impl Builtin {
    pub fn get(name: &str) -> Option<&'static BuiltinProfile> {
        BUILTIN_PROFILES.iter().find(|p| p.name == name)
    }

    pub fn layer(profile: &BuiltinProfile) -> Layer {
        Layer {
            display: format!("profiles/{}.toml (built-in)", profile.name),
            path: None,
            kind: LayerKind::Builtin,
            text: profile.text.to_owned(),
        }
    }
}

impl ProfileSource for Builtin {
    fn find(&self, name: &str, _from: &Layer) -> Result<Option<FoundProfile>, Error> {
        Ok(Self::get(name).map(|p| FoundProfile {
            key: format!("builtin:{}", p.name),
            layer: Self::layer(p),
        }))
    }

    fn names(&self) -> Vec<&'static str> {
        BUILTIN_PROFILES.iter().map(|p| p.name).collect()
    }
}

/// Profile files named by a relative or absolute path (`extends = "./team.toml"`), resolved
/// against the directory of the file that names them.
#[derive(Debug, Default, Clone, Copy)]
pub struct Files;

impl Files {
    /// Whether an `extends` entry names a file rather than a catalog profile.
    pub fn is_path(name: &str) -> bool {
        name.contains('/') || Path::new(name).extension().is_some_and(|e| e == "toml")
    }
}

impl ProfileSource for Files {
    fn find(&self, name: &str, from: &Layer) -> Result<Option<FoundProfile>, Error> {
        if !Self::is_path(name) {
            return Ok(None);
        }
        let Some(base_dir) = from.path.as_deref().and_then(Path::parent) else {
            return Ok(None);
        };
        let path = base_dir.join(name);
        if !path.is_file() {
            return Ok(None);
        }
        let layer = read_layer(&path, LayerKind::File, &display_path(&path, base_dir))?;
        let key = path.canonicalize().unwrap_or(path).display().to_string();
        Ok(Some(FoundProfile { key, layer }))
    }

    fn names(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// Reads a profile file into a layer. A file that is not UTF-8 is an invalid profile, located
/// at its first byte that is not.
pub fn read_layer(path: &Path, kind: LayerKind, display: &str) -> Result<Layer, Error> {
    let text = decode(crate::fsio::read(path)?, display)?;
    Ok(Layer {
        display: display.to_owned(),
        path: Some(path.to_owned()),
        kind,
        text,
    })
}

/// A profile file's bytes as text, or where they stop being UTF-8 (in the file `display`).
pub fn decode(bytes: Vec<u8>, display: &str) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|error| not_utf8(display, &error))
}

fn not_utf8(display: &str, error: &std::string::FromUtf8Error) -> Error {
    // Up to the first invalid byte the lossy text is the file's own, so lines and columns hold.
    let at = error.utf8_error().valid_up_to();
    let text = String::from_utf8_lossy(error.as_bytes());
    let span = at..at + char::REPLACEMENT_CHARACTER.len_utf8();
    // Not quoted: whether the file lies outside the project is not known yet.
    let location = Location::in_text(display, &text, span).unquoted();
    Error::InvalidProfile(Diagnostics(vec![Diagnostic {
        message: "this file is not valid UTF-8".to_owned(),
        location: Place::At(location),
        hint: Some("profiles are UTF-8 text; save the file as UTF-8".to_owned()),
    }]))
}

/// `path` relative to `base` when it lies below it, else as given.
pub fn display_path(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The directory holding `devboot.toml`, searched upward from `start`.
pub fn find_project_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(PROJECT_FILE).is_file())
        .map(Path::to_path_buf)
}
