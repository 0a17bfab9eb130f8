//! Capabilities: what a published profile (a catalog's, or a profile file from outside the
//! project) does beyond what any profile may — containers, the project's bind mounts, ports on
//! `127.0.0.1`. Each is found in what the layer itself writes ([`uses`]), must be declared in
//! its `capabilities` key ([`undeclared`]), and needs the developer's approval before `up`
//! acts (remembered by [`crate::consent`]). [`changes`] compares two resolutions of the same
//! layers, for an upgrade's diff. Pure: no file is read here.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::LoadedProfile;
use super::diagnostic::Diagnostic;
use super::document::{AwsMode, LayerId, Origin, ProfileDocument, parse_document};

/// Something a published profile may do only when it declares it and the developer approves.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// `[app] setup`: commands run in the app container on `up`.
    SetupCommands,
    /// `[aws] profile`: which of the developer's AWS identities the app's containers receive
    /// (in any mode: a later layer may change it).
    AwsProfile,
    /// Any other `[aws]` key (not `mode = "emulator"`): the app's containers receive short-lived
    /// credentials of the developer's AWS identity.
    AwsCredentials,
    /// A port published on an address other than loopback, reachable from other machines.
    PublicPorts,
    /// `[files]`: files written into the project.
    ProjectFiles,
}

impl Capability {
    /// The name a profile declares it by.
    pub fn name(self) -> &'static str {
        match self {
            Self::SetupCommands => "setup-commands",
            Self::AwsProfile => "aws-profile",
            Self::AwsCredentials => "aws-credentials",
            Self::PublicPorts => "public-ports",
            Self::ProjectFiles => "project-files",
        }
    }

    /// What it lets the profile do, in plain words.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::SetupCommands => {
                "run its setup commands in the app container on every `up` that changes something"
            }
            Self::AwsProfile => "give the app's containers credentials of the AWS profile it names",
            Self::AwsCredentials => {
                "give the app's containers short-lived credentials of your AWS identity"
            }
            Self::PublicPorts => {
                "publish ports on an address other machines can reach, not only 127.0.0.1"
            }
            Self::ProjectFiles => "write files into your project",
        }
    }
}

/// One place a layer uses a capability: where, and what it asks for there (a command, a
/// profile name, an address, a path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    pub capability: Capability,
    pub origin: Origin,
    pub what: String,
}

/// The capabilities one layer's own document uses, in the order written per capability.
pub fn uses(document: &ProfileDocument) -> Vec<Use> {
    let mut found = Vec::new();
    let mut add = |capability, origin: &Origin, what: String| {
        found.push(Use {
            capability,
            origin: origin.clone(),
            what,
        });
    };
    for command in document.app.setup.iter().flatten() {
        add(
            Capability::SetupCommands,
            &command.origin,
            command.value.clone(),
        );
    }
    let aws = &document.aws;
    // The profile counts even in emulator mode: a later layer may change the mode.
    if let Some(profile) = &aws.profile {
        add(
            Capability::AwsProfile,
            &profile.origin,
            format!("AWS profile `{}`", profile.value),
        );
    }
    let emulator = aws
        .mode
        .as_ref()
        .is_some_and(|m| m.value == AwsMode::Emulator);
    let first = [&aws.region, &aws.account, &aws.relay_image]
        .into_iter()
        .flatten()
        .map(|v| &v.origin)
        .chain(aws.mode.as_ref().map(|m| &m.origin))
        .chain(aws.relay_route.as_ref().map(|r| &r.origin))
        .min_by_key(|origin| origin.span.start);
    if let (Some(origin), false, None) = (first, emulator, &aws.profile) {
        add(
            Capability::AwsCredentials,
            origin,
            "your default AWS identity (`AWS_PROFILE` or `default`)".to_owned(),
        );
    }
    for (name, service) in &document.services {
        for port in service.ports.iter().flatten() {
            let Ok(mapping) = port.value.mapping() else {
                continue;
            };
            // No address means 127.0.0.1; one that does not parse is the model's error.
            let Some(Ok(ip)) = mapping.host_ip.as_deref().map(str::parse::<IpAddr>) else {
                continue;
            };
            if !ip.is_loopback() {
                let host = mapping.host.unwrap_or(mapping.container);
                add(
                    Capability::PublicPorts,
                    &port.origin,
                    format!("`{}` on {ip}:{host}", name.value),
                );
            }
        }
    }
    for path in document.files.keys() {
        add(Capability::ProjectFiles, &path.origin, path.value.clone());
    }
    found
}

/// A published layer of one resolution and the capabilities it uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    #[serde(skip)]
    pub layer: LayerId,
    /// Names the layer across versions (its source's key: a real path, `catalog:URL#NAME`).
    pub key: String,
    /// How messages name it.
    pub display: String,
    /// Each capability it uses, with what it asks for.
    pub capabilities: BTreeMap<Capability, Vec<String>>,
    /// What it declares in `capabilities`.
    pub declared: BTreeSet<Capability>,
}

impl Published {
    pub fn used(&self) -> BTreeSet<Capability> {
        self.capabilities.keys().copied().collect()
    }

    /// One line per capability of `which` that the layer uses: its name, what it lets the
    /// profile do, and what this layer asks for with it.
    pub fn describe(&self, which: &BTreeSet<Capability>) -> Vec<String> {
        which
            .iter()
            .filter_map(|capability| {
                let what = self.capabilities.get(capability)?;
                Some(format!(
                    "`{}`: {} ({})",
                    capability.name(),
                    capability.meaning(),
                    what.join(", ")
                ))
            })
            .collect()
    }
}

/// `` `a`, `b` ``: capability names for a message.
pub fn names(capabilities: &BTreeSet<Capability>) -> String {
    capabilities
        .iter()
        .map(|c| format!("`{}`", c.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every published layer of `loaded` ([`super::source::Sources::is_published`]), in merge
/// order, with the capabilities each uses.
pub fn published(loaded: &LoadedProfile) -> Vec<Published> {
    of_layers(loaded, |id| loaded.sources.is_published(id))
}

/// The layers of `loaded` that `selected` picks, in merge order, with the capabilities each
/// uses (`profile show FILE` also lists the file's own).
pub fn of_layers(loaded: &LoadedProfile, selected: impl Fn(LayerId) -> bool) -> Vec<Published> {
    layers_with_uses(loaded, selected)
        .into_iter()
        .map(|(id, document, found)| {
            let mut capabilities: BTreeMap<Capability, Vec<String>> = BTreeMap::new();
            for use_ in found {
                capabilities
                    .entry(use_.capability)
                    .or_default()
                    .push(use_.what);
            }
            Published {
                layer: id,
                key: loaded.sources.key(id).to_owned(),
                display: loaded.sources.get(id).display.clone(),
                capabilities,
                declared: declared(&document),
            }
        })
        .collect()
}

/// `capabilities = ["a", "b"]`: the line that declares `capabilities`.
pub fn declaration(capabilities: &BTreeSet<Capability>) -> String {
    let names: Vec<String> = capabilities
        .iter()
        .map(|c| format!("\"{}\"", c.name()))
        .collect();
    format!("capabilities = [{}]", names.join(", "))
}

/// Each use of a capability that its published layer does not declare, located at the value
/// that uses it; the hint gives the whole `capabilities` line to write.
pub fn undeclared(loaded: &LoadedProfile) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for (id, document, found) in layers_with_uses(loaded, |id| loaded.sources.is_published(id)) {
        let declared = declared(&document);
        let needed: BTreeSet<Capability> = declared
            .iter()
            .copied()
            .chain(found.iter().map(|u| u.capability))
            .collect();
        let line = declaration(&needed);
        let display = &loaded.sources.get(id).display;
        let mut reported = BTreeSet::new();
        for use_ in found {
            if declared.contains(&use_.capability) || !reported.insert(use_.capability) {
                continue;
            }
            let name = use_.capability.name();
            diagnostics.push(
                Diagnostic::at(
                    &loaded.sources,
                    &use_.origin,
                    format!(
                        "this published profile uses the capability `{name}` (to {}) without declaring it",
                        use_.capability.meaning()
                    ),
                )
                .with_hint(format!(
                    "declare it at the top of {display}: `{line}`"
                )),
            );
        }
    }
    diagnostics
}

/// How one published layer's capabilities differ between two resolutions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub key: String,
    pub display: String,
    pub added: BTreeSet<Capability>,
    pub removed: BTreeSet<Capability>,
}

/// The capabilities each published layer gains or loses from `old` to `new` (an upgrade of a
/// catalog profile, an edited file), matched by layer key; layers without a change are left
/// out. A layer only in `new` gains all it uses; one only in `old` loses all.
pub fn changes(old: &LoadedProfile, new: &LoadedProfile) -> Vec<Change> {
    let before: BTreeMap<String, Published> = published(old)
        .into_iter()
        .map(|p| (p.key.clone(), p))
        .collect();
    let after: BTreeMap<String, Published> = published(new)
        .into_iter()
        .map(|p| (p.key.clone(), p))
        .collect();
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let old_set = before.get(key).map(Published::used).unwrap_or_default();
            let new_set = after.get(key).map(Published::used).unwrap_or_default();
            let display = after.get(key).or_else(|| before.get(key))?.display.clone();
            let change = Change {
                key: key.clone(),
                display,
                added: new_set.difference(&old_set).copied().collect(),
                removed: old_set.difference(&new_set).copied().collect(),
            };
            (!change.added.is_empty() || !change.removed.is_empty()).then_some(change)
        })
        .collect()
}

fn declared(document: &ProfileDocument) -> BTreeSet<Capability> {
    document
        .capabilities
        .iter()
        .flatten()
        .map(|c| c.value)
        .collect()
}

/// Each selected layer's own document (parsed again: the merge keeps only the winners) and
/// the capabilities it uses.
fn layers_with_uses(
    loaded: &LoadedProfile,
    selected: impl Fn(LayerId) -> bool,
) -> Vec<(LayerId, ProfileDocument, Vec<Use>)> {
    loaded
        .layers
        .iter()
        .filter(|id| selected(**id))
        // Every loaded layer parsed once already.
        .filter_map(|&id| {
            let document = parse_document(&loaded.sources.get(id).text, id).ok()?;
            let found = uses(&document);
            Some((id, document, found))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::load_project;

    fn used(text: &str) -> Vec<(Capability, String)> {
        let document = parse_document(text, LayerId(0)).unwrap();
        uses(&document)
            .into_iter()
            .map(|u| (u.capability, u.what))
            .collect()
    }

    #[test]
    fn only_what_goes_beyond_a_plain_profile_is_a_capability() {
        let plain = "extends = \"rails\"\n[services.web]\nimage = \"ruby:3.3\"\nports = [\"3000:3000\", \"127.0.0.1:5:5\", \"[::1]:6:6\"]\nvolumes = [\".:/app\", \"data:/data\"]\n[services.web.environment]\nA = \"1\"\n[aws]\nmode = \"emulator\"\nregion = \"eu-west-1\"\nemulator_endpoint = \"http://moto:5000\"\n";
        assert_eq!(used(plain), []);
        let more = "[app]\nsetup = [\"bin/setup\", \"bin/rails db:seed\"]\n[services.web]\nports = [\"0.0.0.0:80:3000\", { container = 5, host_ip = \"192.168.1.2\" }]\n[files.\"config/x.yml\"]\ncontent = \"x\"\n[aws]\nprofile = \"dev\"\n";
        assert_eq!(
            used(more),
            [
                (Capability::SetupCommands, "bin/setup".to_owned()),
                (Capability::SetupCommands, "bin/rails db:seed".to_owned()),
                (Capability::AwsProfile, "AWS profile `dev`".to_owned()),
                (Capability::PublicPorts, "`web` on 0.0.0.0:80".to_owned()),
                (Capability::PublicPorts, "`web` on 192.168.1.2:5".to_owned()),
                (Capability::ProjectFiles, "config/x.yml".to_owned()),
            ]
        );
        // An `[aws]` section without a profile serves the developer's default identity.
        let aws = used("[aws]\naccount = \"123456789012\"\n");
        assert_eq!(aws[0].0, Capability::AwsCredentials);
        // A profile named in emulator mode still counts: another layer may switch the mode.
        let named = used("[aws]\nmode = \"emulator\"\nprofile = \"dev\"\n");
        assert_eq!(
            named,
            [(Capability::AwsProfile, "AWS profile `dev`".to_owned())]
        );
        // An empty setup list runs nothing.
        assert_eq!(used("[app]\nsetup = []\n"), []);
    }

    /// Every key a profile can write (from the schema), each judged: a key that lets a profile
    /// do more than run containers, bind-mount the project and publish on 127.0.0.1 is read by
    /// [`uses`] as the capability named here; the rest are what any profile may do. A new key
    /// fails this test until it is judged.
    const JUDGED: &[(&str, Option<Capability>)] = &[
        ("app.setup", Some(Capability::SetupCommands)),
        ("aws.profile", Some(Capability::AwsProfile)),
        ("aws.account", Some(Capability::AwsCredentials)),
        ("aws.mode", Some(Capability::AwsCredentials)),
        ("aws.region", Some(Capability::AwsCredentials)),
        ("aws.relay_image", Some(Capability::AwsCredentials)),
        ("aws.relay_route", Some(Capability::AwsCredentials)),
        // Only with `mode = "emulator"`, which serves no identity.
        ("aws.emulator_endpoint", None),
        ("services.*.ports.host_ip", Some(Capability::PublicPorts)),
        ("files.*.content", Some(Capability::ProjectFiles)),
        ("files.*.template", Some(Capability::ProjectFiles)),
        // Paths are contained in the project by the model and `containment`.
        ("services.*.volumes.source", None),
        ("services.*.build.context", None),
    ];
    const PLAIN: &[&str] = &[
        "app",
        "app.service",
        "app.setup_inputs",
        "aws",
        "capabilities",
        // Shortcuts run in the containers, and only when the developer names one.
        "commands",
        // SQL run in the database container, and only when the developer imports a dump.
        "db",
        "db.import",
        "db.import.after",
        // Only the project's own files and the user's config name catalogs; a published layer's
        // `[catalogs]` are never read.
        "catalogs",
        "description",
        "extends",
        "files",
        "project",
        "project.name",
        "requires",
        "requires.devboot",
        "requires.disk",
        "requires.docker_api",
        "requires.memory",
        "requires.tools",
        "schema",
        "services",
        "services.*.build",
        "services.*.build.args",
        "services.*.build.dockerfile",
        "services.*.build.rebuild_on",
        "services.*.build.source",
        "services.*.build.target",
        "services.*.command",
        "services.*.depends_on",
        "services.*.environment",
        "services.*.healthcheck",
        "services.*.healthcheck.disable",
        "services.*.healthcheck.interval",
        "services.*.healthcheck.retries",
        "services.*.healthcheck.start_period",
        "services.*.healthcheck.test",
        "services.*.healthcheck.timeout",
        "services.*.image",
        "services.*.platform",
        "services.*.ports",
        "services.*.ports.container",
        "services.*.ports.host",
        "services.*.ports.policy",
        "services.*.volumes",
        "services.*.volumes.read_only",
        "services.*.volumes.target",
        "services.*.working_dir",
    ];

    /// The dotted paths of every key `schema` allows (`*` for a table's own names).
    fn keys(
        root: &serde_json::Value,
        node: &serde_json::Value,
        prefix: &str,
        out: &mut BTreeSet<String>,
    ) {
        let node = match node.get("$ref").and_then(|r| r.as_str()) {
            Some(reference) => &root["$defs"][reference.rsplit('/').next().unwrap()],
            None => node,
        };
        for (key, value) in node
            .get("properties")
            .and_then(|p| p.as_object())
            .into_iter()
            .flatten()
        {
            out.insert(format!("{prefix}{key}"));
            keys(root, value, &format!("{prefix}{key}."), out);
        }
        for forms in ["anyOf", "oneOf", "allOf"] {
            for form in node
                .get(forms)
                .and_then(|f| f.as_array())
                .into_iter()
                .flatten()
            {
                keys(root, form, prefix, out);
            }
        }
        if let Some(items) = node.get("items") {
            keys(root, items, prefix, out);
        }
        if let Some(named) = node.get("additionalProperties").filter(|a| a.is_object()) {
            keys(root, named, &format!("{prefix}*."), out);
        }
    }

    #[test]
    fn every_profile_key_is_judged() {
        let schema = crate::profile::schema::schema().to_value();
        let mut found = BTreeSet::new();
        keys(&schema, &schema, "", &mut found);
        let judged: BTreeSet<String> = JUDGED
            .iter()
            .map(|(key, _)| *key)
            .chain(PLAIN.iter().copied())
            .map(str::to_owned)
            .collect();
        assert_eq!(
            found, judged,
            "a profile key was added or removed: judge whether it lets a published profile do more than a plain one"
        );
    }

    /// A project whose `devboot.toml` extends `../platform/rails.toml` (a published file).
    struct Published {
        dir: tempfile::TempDir,
    }

    impl Published {
        fn new(platform: &str) -> Self {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("app")).unwrap();
            std::fs::create_dir_all(dir.path().join("platform")).unwrap();
            std::fs::write(
                dir.path().join("app/devboot.toml"),
                "extends = \"../platform/rails.toml\"\n[app]\nsetup = [\"bin/mine\"]\n",
            )
            .unwrap();
            let this = Self { dir };
            this.publish(platform);
            this
        }

        fn publish(&self, platform: &str) {
            std::fs::write(self.dir.path().join("platform/rails.toml"), platform).unwrap();
        }

        fn load(&self) -> LoadedProfile {
            let env = crate::env::Environment::default();
            load_project(
                &self.dir.path().join("app"),
                &crate::catalog::Catalogs::none(&env),
            )
            .unwrap()
        }
    }

    const PLATFORM: &str = "extends = \"rails\"\n[app]\nsetup = [\"bin/rails db:prepare\"]\n";

    #[test]
    fn an_undeclared_capability_is_located_in_the_published_file_with_the_line_to_add() {
        let project = Published::new(PLATFORM);
        let loaded = project.load();
        let found = undeclared(&loaded);
        let [diagnostic] = found.as_slice() else {
            panic!("{found:?}");
        };
        let text = diagnostic.to_string();
        assert!(text.contains("../platform/rails.toml:3:10"), "{text}");
        assert!(text.contains("capability `setup-commands`"), "{text}");
        assert!(
            text.contains("`capabilities = [\"setup-commands\"]`"),
            "{text}"
        );
        // Never quoted: the file lies outside the project.
        assert!(!text.contains("db:prepare"), "{text}");
        // The project's own setup and the built-in profile's need no declaration.
        project.publish(&format!("capabilities = [\"setup-commands\"]\n{PLATFORM}"));
        let loaded = project.load();
        assert!(undeclared(&loaded).is_empty());
    }

    #[test]
    fn published_layers_are_named_by_key_with_what_they_use() {
        let project = Published::new(&format!(
            "capabilities = [\"setup-commands\", \"project-files\"]\n{PLATFORM}"
        ));
        let loaded = project.load();
        let [published] = published(&loaded).try_into().unwrap();
        assert_eq!(published.display, "../platform/rails.toml");
        assert!(
            published.key.ends_with("platform/rails.toml"),
            "{published:?}"
        );
        assert_eq!(
            published.capabilities,
            BTreeMap::from([(
                Capability::SetupCommands,
                vec!["bin/rails db:prepare".to_owned()]
            )])
        );
        assert_eq!(published.used(), [Capability::SetupCommands].into());
        assert_eq!(published.declared.len(), 2, "declared but unused is fine");
    }

    #[test]
    fn an_upgrade_that_adds_a_capability_shows_as_added() {
        let project = Published::new(&format!("capabilities = [\"setup-commands\"]\n{PLATFORM}"));
        let old = project.load();
        project.publish(&format!(
            "capabilities = [\"setup-commands\", \"aws-profile\"]\n{PLATFORM}[aws]\nprofile = \"dev\"\n"
        ));
        let new = project.load();
        let [change] = changes(&old, &new).try_into().unwrap();
        assert_eq!(change.display, "../platform/rails.toml");
        assert_eq!(change.added, [Capability::AwsProfile].into());
        assert_eq!(change.removed, BTreeSet::new());
        let [back] = changes(&new, &old).try_into().unwrap();
        assert_eq!(back.removed, [Capability::AwsProfile].into());
        assert_eq!(changes(&old, &old), []);
    }
}
