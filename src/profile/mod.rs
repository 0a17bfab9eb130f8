//! Profiles: TOML files that declare a stack. This module owns reading them — finding the
//! layers (base profiles → `devboot.toml` → `devboot.local.toml`), parsing each with exact
//! error locations, following `extends` with cycle detection — and merging them into one
//! document whose every value remembers the layer it came from. What the values *mean* is
//! checked in [`crate::model`].

pub mod capabilities;
pub mod diagnostic;
pub mod document;
#[cfg(test)]
pub(crate) mod fuzz_tests;
pub mod keys;
pub mod resolve;
pub mod schema;
pub mod source;

use std::collections::BTreeSet;
use std::path::Path;

use diagnostic::{Diagnostic, Diagnostics, closest};
use document::{LayerId, Origin, ProfileDocument, Sourced, document_from_table};
use source::{Builtin, Files, FoundProfile, Layer, LayerKind, ProfileSource, Sources};
use toml::de::DeTable;

use crate::catalog::Catalogs;
use crate::error::Error;

/// Outside a project no catalog is declared: a catalog reference is an unknown profile.
struct NoCatalogs;

impl ProfileSource for NoCatalogs {
    fn find(&self, _name: &str, _from: &Layer) -> Result<Option<FoundProfile>, Error> {
        Ok(None)
    }

    fn names(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// The profile format this devboot reads.
pub const SCHEMA_VERSION: u32 = 1;

/// This devboot's version, which `requires.devboot` is checked against.
pub const DEVBOOT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How to get a newer devboot (README, "Install").
const INSTALL_NEWER: &str = "install a newer devboot: `git pull && ./install.sh` in your devboot checkout, or `./install.sh --from-url URL` with a newer release";

/// Whether devboot `version` satisfies a profile's `requires.devboot` requirement, or why not.
fn devboot_version_holds(required: &str, version: &str) -> Result<(), String> {
    let requirement = semver::VersionReq::parse(required).map_err(|error| {
        format!("`{required}` is not a version requirement like `>=0.3`: {error}")
    })?;
    let version = semver::Version::parse(version).expect("the crate version is semver");
    if requirement.matches(&version) {
        Ok(())
    } else {
        Err(format!(
            "this profile needs devboot {required}; this is devboot {version}"
        ))
    }
}

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
/// Catalog profiles (`acme:rails@^2`) come from `catalogs`, which records what it used.
pub fn load_project(root: &Path, catalogs: &Catalogs) -> Result<LoadedProfile, Error> {
    let mut loader = Loader::new(catalogs);
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
    let mut loader = Loader::new(&NoCatalogs);
    loader.add_top(layer);
    loader.finish()
}

/// Parses one profile without following its `extends` (`profile show FILE`).
pub fn load_alone(layer: Layer) -> Result<LoadedProfile, Error> {
    let mut sources = Sources::default();
    let id = sources.add(layer);
    let merged = parse_layer(&sources, id)
        .map_err(|diagnostics| Error::InvalidProfile(Diagnostics::sorted(diagnostics)))?;
    Ok(LoadedProfile {
        sources,
        layers: vec![id],
        merged,
    })
}

/// Parses one layer of `sources`. A syntax error stops the parse; past it, every unknown key is
/// reported, with the first error serde finds in the values when it is another one.
fn parse_layer(sources: &Sources, id: LayerId) -> Result<ProfileDocument, Vec<Diagnostic>> {
    let diagnostics = match layer_document(sources, id) {
        Ok(document) => return Ok(document),
        Err(diagnostics) => diagnostics,
    };
    if !sources.is_foreign(id) {
        return Err(diagnostics);
    }
    // The messages may quote the file (a key, a value): say only where the first problem is.
    let first = Diagnostics::sorted(diagnostics).0.swap_remove(0);
    Err(vec![Diagnostic {
        message: "this file outside the project is not a valid profile".to_owned(),
        location: first.location.unquoted(),
        hint: None,
    }])
}

fn layer_document(sources: &Sources, id: LayerId) -> Result<ProfileDocument, Vec<Diagnostic>> {
    let layer = sources.get(id);
    let from_toml =
        |error: &toml::de::Error| Diagnostic::from_toml(&layer.display, &layer.text, error);
    let table = DeTable::parse(&layer.text).map_err(|error| vec![from_toml(&error)])?;
    let (unknown, wrong) = keys::check(table.get_ref());
    let error = match document_from_table(table, id) {
        Ok(document) => {
            debug_assert!(
                unknown.is_empty() && wrong.is_empty(),
                "serde accepted {unknown:?} {wrong:?}"
            );
            return Ok(document);
        }
        Err(error) => error,
    };
    // Serde's error is about the first unknown key or wrong value, or the value holding one (an
    // untagged form such as a port table): the walk's own diagnostics say it better.
    let covered = error.span().is_some_and(|span| {
        let spans = unknown.iter().map(|key| &key.span);
        spans
            .chain(wrong.iter().map(|value| &value.span))
            .any(|found| span.start <= found.start && found.end <= span.end)
    });
    let mut diagnostics: Vec<Diagnostic> = unknown
        .iter()
        .map(|key| {
            let origin = Origin {
                layer: id,
                span: key.span.clone(),
            };
            let names = key.expected.iter().map(String::as_str);
            let diagnostic = Diagnostic::at(sources, &origin, key.message());
            match diagnostic::suggestion(&key.name, names) {
                Some(hint) => diagnostic.with_hint(hint),
                None => diagnostic,
            }
        })
        .collect();
    diagnostics.extend(wrong.iter().map(|value| {
        let origin = Origin {
            layer: id,
            span: value.span.clone(),
        };
        Diagnostic::at(sources, &origin, value.message.clone())
    }));
    if !covered {
        diagnostics.push(from_toml(&error));
    }
    Err(diagnostics)
}

/// Builds the layer list depth-first: a layer's bases come before it, each base once.
struct Loader<'c> {
    /// Where base profiles are found, asked in order: catalogs, files, built-ins.
    finders: [&'c dyn ProfileSource; 3],
    /// An error that stops the resolution (a catalog that cannot be fetched or does not
    /// match the lock); it is reported as it is, not as a profile diagnostic.
    fatal: Option<Error>,
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

impl<'c> Loader<'c> {
    fn new(catalogs: &'c dyn ProfileSource) -> Self {
        Self {
            finders: [catalogs, &Files, &Builtin],
            fatal: None,
            sources: Sources::default(),
            loaded: Vec::new(),
            path: Vec::new(),
            done: BTreeSet::new(),
            home_dir: None,
            diagnostics: Vec::new(),
        }
    }

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
        self.sources.set_key(id, key.clone());
        if foreign {
            self.sources.mark_foreign(id);
        }
        let document = match parse_layer(&self.sources, id) {
            Ok(document) => document,
            Err(diagnostics) => {
                self.diagnostics.extend(diagnostics);
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
        if let Some(required) = &document.requires.devboot
            && let Err(message) = devboot_version_holds(&required.value, DEVBOOT_VERSION)
        {
            self.diagnostics.push(
                Diagnostic::at(&self.sources, &required.origin, message).with_hint(INSTALL_NEWER),
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
        if self.fatal.is_some() {
            return;
        }
        let found = self
            .finders
            .iter()
            .find_map(|source| source.find(&name.value, &from_layer).transpose());
        match found {
            None => {
                let known: Vec<&str> = self.finders.iter().flat_map(|s| s.names()).collect();
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
            // A base that is not UTF-8, located in that file.
            Some(Err(Error::InvalidProfile(found))) => self.diagnostics.extend(found.0),
            // A catalog reference that cannot hold (unknown catalog, no matching release, a lock
            // the range does not accept): located at the `extends` entry.
            Some(Err(Error::Usage { message, hint })) => {
                let diagnostic = Diagnostic::at(&self.sources, &name.origin, message);
                self.diagnostics.push(match hint {
                    Some(hint) => diagnostic.with_hint(hint),
                    None => diagnostic,
                });
            }
            Some(Err(error @ Error::Catalog { .. })) => self.fatal = Some(error),
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
                    let foreign = layer.kind == LayerKind::Catalog
                        || (layer.kind == LayerKind::File && self.is_foreign(&layer));
                    self.add(key, layer, foreign);
                }
            }
        }
    }

    fn finish(self) -> Result<LoadedProfile, Error> {
        if let Some(error) = self.fatal {
            return Err(error);
        }
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
            let error = load_project(
                &project,
                &Catalogs::none(&crate::env::Environment::default()),
            )
            .unwrap_err()
            .to_string();
            assert!(!error.contains("hunter2"), "{error}");
            assert!(error.contains("outside.toml:"), "still located: {error}");
        }
        // Inside the project, the offending line is shown as usual.
        std::fs::write(project.join("base.toml"), "token = \"visible\"\n").unwrap();
        std::fs::write(project.join("devboot.toml"), "extends = \"./base.toml\"\n").unwrap();
        let error = load_project(
            &project,
            &Catalogs::none(&crate::env::Environment::default()),
        )
        .unwrap_err()
        .to_string();
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
    fn every_unknown_key_is_reported_once_with_a_suggestion() {
        let err = load_standalone(layer(
            "devboot.toml",
            "extends = \"rails\"\n[project]\nnmae = \"x\"\n[services.web]\nhelthcheck = { test = \"true\" }\n\
             ports = [{ container = 1, hots = 2 }]\n",
        ))
        .unwrap_err();
        let Error::InvalidProfile(diagnostics) = &err else {
            panic!("{err}");
        };
        let found: Vec<(&str, Option<&str>)> = diagnostics
            .0
            .iter()
            .map(|d| (d.message.as_str(), d.hint.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "unknown field `nmae`, expected `name`",
                    Some("did you mean `name`?")
                ),
                (
                    "unknown field `helthcheck`, expected one of `build`, `command`, `depends_on`, `environment`, `healthcheck`, `image`, `platform`, `ports`, `volumes`, `working_dir`",
                    Some("did you mean `healthcheck`?")
                ),
                (
                    "unknown field `hots`, expected one of `container`, `host`, `host_ip`, `policy`",
                    Some("did you mean `host`?")
                ),
            ],
            "{err}"
        );
        let text = err.to_string();
        for at in ["devboot.toml:3:1", "devboot.toml:5:1", "devboot.toml:6:27"] {
            assert!(text.contains(at), "{at} in {text}");
        }
    }

    #[test]
    fn a_wrong_value_is_reported_beside_the_unknown_keys() {
        let err = load_standalone(layer(
            "devboot.toml",
            "[app]\nsetup = 1\n[services.web]\nimage = \"x\"\nimgae = \"y\"\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `imgae`"), "{err}");
        assert!(err.contains("devboot.toml:2:9"), "{err}");
    }

    #[test]
    fn every_wrong_value_is_reported_not_only_the_first() {
        let err = load_standalone(layer(
            "devboot.toml",
            "[app]\nsetup = 1\n[services.web]\nimage = 5\nworking_dir = true\n",
        ))
        .unwrap_err()
        .to_string();
        for (at, message) in [
            (
                "devboot.toml:2:9",
                "invalid type: integer `1`, expected an array",
            ),
            (
                "devboot.toml:4:9",
                "invalid type: integer `5`, expected a string",
            ),
            (
                "devboot.toml:5:15",
                "invalid type: boolean `true`, expected a string",
            ),
        ] {
            assert!(
                err.contains(at) && err.contains(message),
                "{at} {message} in {err}"
            );
        }
        // serde's own report of the first is not repeated.
        assert_eq!(err.matches("integer `1`").count(), 1, "{err}");
    }

    #[test]
    fn text_that_is_not_utf8_is_located_at_its_first_bad_byte() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.toml"),
            b"schema = 1\ndescription = \"caf\xe9 au lait\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("a.toml"), "extends = \"./base.toml\"\n").unwrap();
        let path = dir.path().join("a.toml");
        let err = load_standalone(source::read_layer(&path, LayerKind::File, "a.toml").unwrap())
            .unwrap_err();
        assert!(matches!(err, Error::InvalidProfile(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "this file is not valid UTF-8\n --> base.toml:2:19\nhint: profiles are UTF-8 text; save the file as UTF-8\n"
        );
        let err = source::read_layer(&dir.path().join("base.toml"), LayerKind::Project, "x.toml")
            .unwrap_err();
        assert_eq!(err.exit_status(), crate::error::ExitStatus::Usage);
        assert!(err.to_string().contains("x.toml:2:19"), "{err}");
    }

    #[test]
    fn every_layer_requiring_another_devboot_is_refused_with_the_install_command() {
        assert_eq!(devboot_version_holds(">=0.3", "0.3.1"), Ok(()));
        assert_eq!(devboot_version_holds("^0.1", "0.1.0"), Ok(()));
        assert_eq!(
            devboot_version_holds(">=0.3", "0.2.9"),
            Err("this profile needs devboot >=0.3; this is devboot 0.2.9".to_owned())
        );
        assert!(
            devboot_version_holds("three", "0.1.0")
                .unwrap_err()
                .starts_with("`three` is not a version requirement like `>=0.3`")
        );
        // This binary is older than 99 and not 0.0.x: the layer asking for 99 is refused
        // wherever it sits, the one asking for what this binary is passes.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.toml"),
            "schema = 1\nextends = \"rails\"\n[requires]\ndevboot = \">=99\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("devboot.toml"),
            format!("extends = \"./base.toml\"\n[requires]\ndevboot = \"={DEVBOOT_VERSION}\"\n"),
        )
        .unwrap();
        let err = load_project(
            dir.path(),
            &Catalogs::none(&crate::env::Environment::default()),
        )
        .unwrap_err();
        assert_eq!(err.exit_status(), crate::error::ExitStatus::Usage);
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "this profile needs devboot >=99; this is devboot {DEVBOOT_VERSION}\n --> base.toml:4:11\n"
            )),
            "{text}"
        );
        assert!(text.contains("`git pull && ./install.sh`"), "{text}");
        assert_eq!(text.matches("needs devboot").count(), 1, "{text}");
    }

    #[test]
    fn newer_schema_is_rejected_with_a_hint() {
        let err = load_standalone(layer("x.toml", "schema = 2\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("profile schema 2 is not supported"), "{err}");
    }
}
