//! Profiles: TOML files that declare a stack. This module owns reading them — finding the
//! layers (base profiles → `devboot.toml` → `devboot.local.toml`), parsing each with exact
//! error locations, following `extends` with cycle detection — and merging them into one
//! document whose every value remembers the layer it came from. What the values *mean* is
//! checked in [`crate::model`].

pub mod diagnostic;
pub mod document;
pub mod resolve;
pub mod schema;
pub mod source;

use std::collections::BTreeSet;
use std::path::Path;

use diagnostic::{Diagnostic, Diagnostics, closest};
use document::{LayerId, ProfileDocument, Sourced, parse_document};
use source::{Builtin, Files, FoundProfile, Layer, LayerKind, ProfileSource, Sources};

use crate::error::Error;

/// The profile format this devboot reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Every layer of one profile resolution, parsed, and their merge.
#[derive(Debug, Clone)]
pub struct LoadedProfile {
    pub sources: Sources,
    /// Layers in merge order, lowest precedence first.
    pub layers: Vec<LayerId>,
    /// All layers merged; later layers win.
    pub merged: ProfileDocument,
}

/// Loads a project's profile: `devboot.toml`, its bases, and `devboot.local.toml` if present.
pub fn load_project(root: &Path) -> Result<LoadedProfile, Error> {
    let mut loader = Loader::default();
    let project = root.join(source::PROJECT_FILE);
    loader.add_top(source::read_layer(
        &project,
        LayerKind::Project,
        source::PROJECT_FILE,
    )?);
    let local = root.join(source::LOCAL_FILE);
    if local.is_file() {
        loader.add_top(source::read_layer(
            &local,
            LayerKind::Local,
            source::LOCAL_FILE,
        )?);
    }
    loader.finish()
}

/// Loads one profile on its own (a file or a built-in name) with its bases.
pub fn load_standalone(layer: Layer) -> Result<LoadedProfile, Error> {
    let mut loader = Loader::default();
    loader.add_top(layer);
    loader.finish()
}

/// Builds the layer list depth-first: a layer's bases come before it, each base once.
#[derive(Default)]
struct Loader {
    sources: Sources,
    loaded: Vec<(LayerId, ProfileDocument)>,
    /// Keys of the layers on the current `extends` path, for cycle detection.
    path: Vec<String>,
    /// Keys of the layers already loaded (a base shared by two layers is applied once).
    done: BTreeSet<String>,
    /// The real directory of the first top layer (the project's): profile files outside it
    /// are foreign, and never quoted in messages.
    home_dir: Option<std::path::PathBuf>,
    diagnostics: Vec<Diagnostic>,
}

impl Loader {
    const SOURCES: [&'static dyn ProfileSource; 2] = [&Files, &Builtin];

    fn add_top(&mut self, layer: Layer) {
        if self.home_dir.is_none() {
            self.home_dir = layer
                .path
                .as_deref()
                .and_then(Path::parent)
                .and_then(|dir| dir.canonicalize().ok());
        }
        let key = layer.path.as_ref().map_or_else(
            || layer.display.clone(),
            |p| {
                p.canonicalize()
                    .unwrap_or_else(|_| p.clone())
                    .display()
                    .to_string()
            },
        );
        self.add(key, layer, false);
    }

    /// Whether a profile file lies outside the project's directory.
    fn is_foreign(&self, layer: &Layer) -> bool {
        let real = layer.path.as_deref().and_then(|p| p.canonicalize().ok());
        match (&self.home_dir, real) {
            (Some(home), Some(real)) => !real.starts_with(home),
            _ => layer.kind == LayerKind::File,
        }
    }

    fn add(&mut self, key: String, layer: Layer, foreign: bool) {
        let id = self.sources.add(layer);
        if foreign {
            self.sources.mark_foreign(id);
        }
        let layer = self.sources.get(id);
        let document = match parse_document(&layer.text, id) {
            Ok(document) => document,
            Err(error) => {
                let mut diagnostic = Diagnostic::from_toml(&layer.display, &layer.text, &error);
                if foreign {
                    // The parser's message may quote the file (a key, a value): say only where.
                    "this file outside the project is not a valid profile"
                        .clone_into(&mut diagnostic.message);
                    diagnostic.hint = None;
                    diagnostic.location = diagnostic.location.unquoted();
                }
                self.diagnostics.push(diagnostic);
                return;
            }
        };
        if let Some(schema) = &document.schema
            && schema.value != SCHEMA_VERSION
        {
            self.diagnostics.push(
                Diagnostic::at(
                    &self.sources,
                    &schema.origin,
                    format!("profile schema {} is not supported", schema.value),
                )
                .with_hint(format!(
                    "this devboot reads schema {SCHEMA_VERSION}; upgrade devboot or set `schema = {SCHEMA_VERSION}`"
                )),
            );
        }
        self.path.push(key.clone());
        for base in document.extends() {
            self.add_base(&base, id);
        }
        self.path.pop();
        self.done.insert(key);
        self.loaded.push((id, document));
    }

    fn add_base(&mut self, name: &Sourced<String>, from: LayerId) {
        let from_layer = self.sources.get(from).clone();
        let found = Self::SOURCES
            .iter()
            .find_map(|source| source.find(&name.value, &from_layer).transpose());
        match found {
            None => {
                let known: Vec<&str> = Self::SOURCES.iter().flat_map(|s| s.names()).collect();
                let hint = match closest(&name.value, known.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!(
                        "built-in profiles: {}; a file path must start with `./` or end in `.toml`",
                        known.join(", ")
                    ),
                };
                self.diagnostics.push(
                    Diagnostic::at(
                        &self.sources,
                        &name.origin,
                        format!("unknown profile `{}`", name.value),
                    )
                    .with_hint(hint),
                );
            }
            Some(Err(error)) => self.diagnostics.push(
                Diagnostic::at(
                    &self.sources,
                    &name.origin,
                    format!("cannot load `{}`", name.value),
                )
                .with_hint(error.to_string()),
            ),
            Some(Ok(FoundProfile { key, layer })) => {
                if let Some(start) = self.path.iter().position(|k| *k == key) {
                    let mut cycle: Vec<String> = self.path[start..]
                        .iter()
                        .map(|k| k.strip_prefix("builtin:").unwrap_or(k).to_owned())
                        .collect();
                    cycle.push(name.value.clone());
                    self.diagnostics.push(
                        Diagnostic::at(
                            &self.sources,
                            &name.origin,
                            format!("`extends` forms a cycle: {}", cycle.join(" → ")),
                        )
                        .with_hint("remove one of these `extends` entries"),
                    );
                } else if !self.done.contains(&key) {
                    let foreign = layer.kind == LayerKind::File && self.is_foreign(&layer);
                    self.add(key, layer, foreign);
                }
            }
        }
    }

    fn finish(self) -> Result<LoadedProfile, Error> {
        if !self.diagnostics.is_empty() {
            return Err(Error::InvalidProfile(Diagnostics::sorted(self.diagnostics)));
        }
        let layers = self.loaded.iter().map(|(id, _)| *id).collect();
        let merged = self
            .loaded
            .into_iter()
            .map(|(_, document)| document)
            .reduce(ProfileDocument::merge)
            .unwrap_or_default();
        Ok(LoadedProfile {
            sources: self.sources,
            layers,
            merged,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_outside_the_project_is_located_but_never_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("app");
        std::fs::create_dir_all(&project).unwrap();
        for secret in [
            "token = \"hunter2-secret\"\n",
            "password: hunter2-secret\n",
            "[services.web]\nimage = \"x\"\nhunter2-secret = 1\n",
        ] {
            std::fs::write(dir.path().join("outside.toml"), secret).unwrap();
            std::fs::write(
                project.join("devboot.toml"),
                "extends = \"../outside.toml\"\n",
            )
            .unwrap();
            let error = load_project(&project).unwrap_err().to_string();
            assert!(!error.contains("hunter2"), "{error}");
            assert!(error.contains("outside.toml:"), "still located: {error}");
        }
        // Inside the project, the offending line is shown as usual.
        std::fs::write(project.join("base.toml"), "token = \"visible\"\n").unwrap();
        std::fs::write(project.join("devboot.toml"), "extends = \"./base.toml\"\n").unwrap();
        let error = load_project(&project).unwrap_err().to_string();
        assert!(error.contains("visible"), "{error}");
    }

    fn layer(display: &str, text: &str) -> Layer {
        Layer {
            display: display.into(),
            path: None,
            kind: LayerKind::Project,
            text: text.into(),
        }
    }

    #[test]
    fn every_builtin_profile_loads() {
        for profile in source::BUILTIN_PROFILES {
            let loaded = load_standalone(Builtin::layer(profile));
            assert!(loaded.is_ok(), "{}: {}", profile.name, loaded.unwrap_err());
        }
    }

    #[test]
    fn extends_layers_bases_first_and_later_layers_win() {
        let loaded = load_standalone(layer(
            "devboot.toml",
            "extends = \"rails\"\n[services.db]\nimage = \"pg:15\"\n",
        ))
        .unwrap();
        let kinds: Vec<_> = loaded
            .layers
            .iter()
            .map(|id| loaded.sources.get(*id).kind)
            .collect();
        assert_eq!(kinds.first(), Some(&LayerKind::Builtin));
        assert_eq!(kinds.last(), Some(&LayerKind::Project));
        let db = loaded
            .merged
            .services
            .iter()
            .find(|(k, _)| k.value == "db")
            .unwrap()
            .1;
        let image = db.image.as_ref().unwrap();
        assert_eq!(image.value, "pg:15");
        assert_eq!(
            loaded.sources.get(image.origin.layer).display,
            "devboot.toml"
        );
    }

    #[test]
    fn unknown_base_suggests_a_builtin() {
        let err = load_standalone(layer("devboot.toml", "extends = \"rials\"\n")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown profile `rials`"), "{text}");
        assert!(text.contains("did you mean `rails`?"), "{text}");
        assert!(text.contains("devboot.toml:1:11"), "{text}");
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "extends = \"./b.toml\"\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "extends = [\"./a.toml\"]\n").unwrap();
        let path = dir.path().join("a.toml");
        let err = load_standalone(source::read_layer(&path, LayerKind::File, "a.toml").unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`extends` forms a cycle"), "{err}");
        assert!(err.contains("b.toml:1:12"), "{err}");
    }

    #[test]
    fn newer_schema_is_rejected_with_a_hint() {
        let err = load_standalone(layer("x.toml", "schema = 2\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("profile schema 2 is not supported"), "{err}");
    }
}
