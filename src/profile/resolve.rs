//! Merging layers and showing where every resolved value came from.
//!
//! Merge rules (the profile reference documents them): scalars and lists from a later layer
//! replace earlier ones; tables (`services`, `environment`, `requires.tools`, `files`, `commands`) merge
//! key by key.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::diagnostic::Location;
use super::document::{
    AppSection, AwsSection, DbImportSection, DbSection, ProfileDocument, ProjectSection,
    RequiresSection, ServiceDocument, Sourced,
};
use super::source::Sources;

impl ProfileDocument {
    /// `self` overridden by `over`.
    #[must_use]
    pub fn merge(self, over: Self) -> Self {
        Self {
            schema: over.schema.or(self.schema),
            description: over.description.or(self.description),
            extends: over.extends.or(self.extends),
            // Each layer declares its own (see `capabilities::published`); a merge has none.
            capabilities: None,
            catalogs: merge_maps(self.catalogs, over.catalogs, |_, o| o),
            project: ProjectSection {
                name: over.project.name.or(self.project.name),
            },
            requires: RequiresSection {
                devboot: over.requires.devboot.or(self.requires.devboot),
                docker_api: over.requires.docker_api.or(self.requires.docker_api),
                memory: over.requires.memory.or(self.requires.memory),
                disk: over.requires.disk.or(self.requires.disk),
                tools: merge_maps(self.requires.tools, over.requires.tools, |_, o| o),
            },
            app: AppSection {
                service: over.app.service.or(self.app.service),
                setup: over.app.setup.or(self.app.setup),
                setup_inputs: over.app.setup_inputs.or(self.app.setup_inputs),
            },
            services: merge_maps(self.services, over.services, ServiceDocument::merge),
            files: merge_maps(self.files, over.files, |_, o| o),
            aws: AwsSection {
                profile: over.aws.profile.or(self.aws.profile),
                region: over.aws.region.or(self.aws.region),
                account: over.aws.account.or(self.aws.account),
                mode: over.aws.mode.or(self.aws.mode),
                emulator_endpoint: over.aws.emulator_endpoint.or(self.aws.emulator_endpoint),
                relay_image: over.aws.relay_image.or(self.aws.relay_image),
                relay_route: over.aws.relay_route.or(self.aws.relay_route),
            },
            commands: merge_maps(self.commands, over.commands, |_, o| o),
            db: DbSection {
                import: DbImportSection {
                    after: over.db.import.after.or(self.db.import.after),
                },
            },
        }
    }
}

impl ServiceDocument {
    #[must_use]
    pub fn merge(self, over: Self) -> Self {
        Self {
            image: over.image.or(self.image),
            build: over.build.or(self.build),
            command: over.command.or(self.command),
            working_dir: over.working_dir.or(self.working_dir),
            platform: over.platform.or(self.platform),
            environment: merge_maps(self.environment, over.environment, |_, o| o),
            ports: over.ports.or(self.ports),
            volumes: over.volumes.or(self.volumes),
            depends_on: over.depends_on.or(self.depends_on),
            healthcheck: over.healthcheck.or(self.healthcheck),
        }
    }
}

/// Key-by-key merge; the later layer's key (and so its origin) is kept for shared keys.
fn merge_maps<K: Ord, V>(
    base: BTreeMap<K, V>,
    over: BTreeMap<K, V>,
    merge: impl Fn(V, V) -> V,
) -> BTreeMap<K, V> {
    let mut merged = base;
    for (key, value) in over {
        let value = match merged.remove(&key) {
            Some(old) => merge(old, value),
            None => value,
        };
        merged.insert(key, value);
    }
    merged
}

/// One resolved value: its table, key, value and the place it was written.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The table path, e.g. `["services", "web", "environment"]`; empty for top-level keys.
    pub table: Vec<String>,
    pub key: String,
    pub value: toml::Value,
    /// Where the value was written; `None` for an empty list.
    pub from: Option<Location>,
}

/// Flattens a document into entries in table order, each located in its layer.
pub fn entries(document: &ProfileDocument, sources: &Sources) -> Vec<Entry> {
    let mut out = Entries {
        sources,
        entries: Vec::new(),
    };
    let root: &[&str] = &[];
    out.push(root, "schema", document.schema.as_ref());
    out.push(root, "description", document.description.as_ref());
    let extends = document.extends();
    out.push_list(root, "extends", &extends);
    for (name, location) in &document.catalogs {
        out.push(&["catalogs"], &name.value, Some(location));
    }
    out.push(&["project"], "name", document.project.name.as_ref());
    let requires = &document.requires;
    out.push(&["requires"], "devboot", requires.devboot.as_ref());
    out.push(&["requires"], "docker_api", requires.docker_api.as_ref());
    out.push(&["requires"], "memory", requires.memory.as_ref());
    out.push(&["requires"], "disk", requires.disk.as_ref());
    for (tool, constraint) in &requires.tools {
        out.push(&["requires", "tools"], &tool.value, Some(constraint));
    }
    out.push(&["app"], "service", document.app.service.as_ref());
    if let Some(setup) = &document.app.setup {
        out.push_list(&["app"], "setup", setup);
    }
    if let Some(inputs) = &document.app.setup_inputs {
        out.push_list(&["app"], "setup_inputs", inputs);
    }
    for (name, service) in &document.services {
        let table = ["services", name.value.as_str()];
        out.push(&table, "image", service.image.as_ref());
        out.push(&table, "build", service.build.as_ref());
        out.push(&table, "command", service.command.as_ref());
        out.push(&table, "working_dir", service.working_dir.as_ref());
        out.push(&table, "platform", service.platform.as_ref());
        if let Some(ports) = &service.ports {
            out.push_list(&table, "ports", ports);
        }
        if let Some(volumes) = &service.volumes {
            out.push_list(&table, "volumes", volumes);
        }
        out.push(&table, "healthcheck", service.healthcheck.as_ref());
        if let Some(depends_on) = &service.depends_on {
            for (dependency, condition) in &depends_on.0 {
                out.push(
                    &["services", name.value.as_str(), "depends_on"],
                    &dependency.value,
                    Some(condition),
                );
            }
        }
        for (key, value) in &service.environment {
            out.push(
                &["services", name.value.as_str(), "environment"],
                &key.value,
                Some(&value.as_ref().map_value(|v| v.0.clone())),
            );
        }
    }
    let aws = &document.aws;
    out.push(&["aws"], "profile", aws.profile.as_ref());
    out.push(&["aws"], "region", aws.region.as_ref());
    out.push(&["aws"], "account", aws.account.as_ref());
    out.push(&["aws"], "mode", aws.mode.as_ref());
    out.push(
        &["aws"],
        "emulator_endpoint",
        aws.emulator_endpoint.as_ref(),
    );
    out.push(&["aws"], "relay_image", aws.relay_image.as_ref());
    out.push(&["aws"], "relay_route", aws.relay_route.as_ref());
    for (path, file) in &document.files {
        let table = ["files", path.value.as_str()];
        out.push(&table, "template", file.template.as_ref());
        out.push(&table, "content", file.content.as_ref());
    }
    if let Some(after) = &document.db.import.after {
        out.push_list(&["db", "import"], "after", after);
    }
    for (name, command) in &document.commands {
        out.push(&["commands"], &name.value, Some(command));
    }
    out.entries
}

impl<T> Sourced<T> {
    fn map_value<U>(self, f: impl FnOnce(T) -> U) -> Sourced<U> {
        Sourced::new(f(self.value), self.origin)
    }
}

struct Entries<'a> {
    sources: &'a Sources,
    entries: Vec<Entry>,
}

impl Entries<'_> {
    fn push<T: Serialize>(&mut self, table: &[&str], key: &str, value: Option<&Sourced<T>>) {
        let Some(value) = value else { return };
        if let Ok(toml_value) = toml::Value::try_from(&value.value) {
            self.entries.push(Entry {
                table: table.iter().map(|s| (*s).to_owned()).collect(),
                key: key.to_owned(),
                value: toml_value,
                from: Some(self.sources.locate(&value.origin)),
            });
        }
    }

    fn push_list<T: Serialize>(&mut self, table: &[&str], key: &str, values: &[Sourced<T>]) {
        let items: Vec<toml::Value> = values
            .iter()
            .filter_map(|v| toml::Value::try_from(&v.value).ok())
            .collect();
        self.entries.push(Entry {
            table: table.iter().map(|s| (*s).to_owned()).collect(),
            key: key.to_owned(),
            value: toml::Value::Array(items),
            from: values.first().map(|v| self.sources.locate(&v.origin)),
        });
    }
}

/// Renders entries as TOML with a comment after each value naming its `file:line`.
pub fn annotated_toml(entries: &[Entry]) -> String {
    let mut out = String::new();
    let mut current: Option<&[String]> = Some(&[]);
    let width = entries
        .iter()
        .map(|e| key(&e.key).len() + e.value.to_string().len())
        .max();
    let width = width.unwrap_or(0).min(60) + 3;
    for entry in entries {
        if current != Some(entry.table.as_slice()) {
            if !out.is_empty() {
                out.push('\n');
            }
            let table: Vec<String> = entry.table.iter().map(|k| key(k)).collect();
            let _ = writeln!(out, "[{}]", table.join("."));
            current = Some(&entry.table);
        }
        let line = format!("{} = {}", key(&entry.key), entry.value);
        match &entry.from {
            Some(from) => {
                let _ = writeln!(out, "{line:<width$}  # {}:{}", from.file, from.line);
            }
            None => {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}

/// A TOML key, quoted when it is not a bare key.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_owned()
    } else {
        toml::Value::String(name.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::source::{Layer, LayerKind};
    use crate::profile::{Builtin, load_standalone, source};

    #[test]
    fn later_environment_keys_win_and_others_stay() {
        let text = "extends = \"rails\"\n[services.web.environment]\nRAILS_ENV = \"test\"\n";
        let loaded = load_standalone(Layer {
            display: "devboot.toml".into(),
            path: None,
            kind: LayerKind::Project,
            text: text.into(),
        })
        .unwrap();
        let web = &loaded
            .merged
            .services
            .iter()
            .find(|(k, _)| k.value == "web")
            .unwrap()
            .1;
        let env: BTreeMap<_, _> = web
            .environment
            .iter()
            .map(|(k, v)| (k.value.as_str(), v.value.0.as_str()))
            .collect();
        assert_eq!(env["RAILS_ENV"], "test");
        assert!(env.contains_key("DATABASE_URL"));
    }

    #[test]
    fn resolved_view_names_the_layer_of_each_value() {
        let text = "extends = \"rails\"\n[services.db]\nimage = \"postgres:15\"\n";
        let loaded = load_standalone(Layer {
            display: "devboot.toml".into(),
            path: None,
            kind: LayerKind::Project,
            text: text.into(),
        })
        .unwrap();
        let shown = annotated_toml(&entries(&loaded.merged, &loaded.sources));
        let image_line = shown
            .lines()
            .find(|l| l.starts_with("image = \"postgres:15\""))
            .unwrap();
        assert!(image_line.ends_with("# devboot.toml:3"), "{image_line}");
        let healthcheck = shown
            .lines()
            .find(|l| l.starts_with("healthcheck") && l.contains("pg_isready"));
        assert!(
            healthcheck
                .unwrap()
                .contains("# profiles/rails.toml (built-in):"),
            "{shown}"
        );
    }

    #[test]
    fn every_builtin_profile_has_a_resolved_view() {
        for profile in source::BUILTIN_PROFILES {
            let loaded = load_standalone(Builtin::layer(profile)).unwrap();
            assert!(!entries(&loaded.merged, &loaded.sources).is_empty());
        }
    }
}
