//! The TOML surface of one profile file, exactly as written: every field optional, unknown keys
//! rejected, and every value carrying its [`Origin`] (which layer, which byte span) so later
//! stages can point at it. Merging layers happens in `resolve`; meaning is checked in `model`.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::DeTable;

/// Index of a layer in [`super::Sources`].
use crate::model::BuildSource;
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct LayerId(pub usize);

/// Where a value was written: the layer and the byte range of the value in that layer's text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Origin {
    pub layer: LayerId,
    pub span: Range<usize>,
}

thread_local! {
    /// The layer being deserialized; set by [`parse_document`] for the duration of one parse so
    /// that every [`Sourced`] value learns its layer without a second walk over the tree.
    static PARSING_LAYER: Cell<LayerId> = const { Cell::new(LayerId(0)) };
}

/// A value and where it came from. Compares, orders and hashes by value only.
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct Sourced<T> {
    pub value: T,
    #[serde(skip)]
    pub origin: Origin,
}

impl<T> Sourced<T> {
    pub fn new(value: T, origin: Origin) -> Self {
        Self { value, origin }
    }

    pub fn as_ref(&self) -> Sourced<&T> {
        Sourced {
            value: &self.value,
            origin: self.origin.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sourced<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: PartialEq> PartialEq for Sourced<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq> Eq for Sourced<T> {}
impl<T: PartialOrd> PartialOrd for Sourced<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&other.value)
    }
}
impl<T: Ord> Ord for Sourced<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sourced<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<T>::deserialize(deserializer)?;
        let span = spanned.span();
        let layer = PARSING_LAYER.with(Cell::get);
        Ok(Self {
            value: spanned.into_inner(),
            origin: Origin { layer, span },
        })
    }
}

/// Parses one layer's text. Errors carry toml's span and message; `diagnostic` turns them into
/// `file:line:column` reports with suggestions.
pub fn parse_document(text: &str, layer: LayerId) -> Result<ProfileDocument, toml::de::Error> {
    document_from_table(DeTable::parse(text)?, layer)
}

/// Reads one layer's parsed TOML (see [`parse_document`]); the loader parses first to look
/// for every unknown key, then reads the document from the same tree.
pub fn document_from_table(
    table: Spanned<DeTable<'_>>,
    layer: LayerId,
) -> Result<ProfileDocument, toml::de::Error> {
    struct Reset(LayerId);
    impl Drop for Reset {
        fn drop(&mut self) {
            PARSING_LAYER.with(|cell| cell.set(self.0));
        }
    }
    let _reset = Reset(PARSING_LAYER.with(|cell| cell.replace(layer)));
    ProfileDocument::deserialize(toml::de::Deserializer::from(table))
}

/// One profile file: a built-in profile, a catalog profile, `devboot.toml` or `devboot.local.toml`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileDocument {
    /// Profile format version; `1` is the only one so far.
    pub schema: Option<Sourced<u32>>,
    /// One-line description shown by `devboot profile list`.
    pub description: Option<Sourced<String>>,
    /// Base profiles this one builds on, applied in order before this file: a built-in name
    /// (`rails`), a file (`./team.toml`), or a catalog profile (`acme:rails@^2`).
    pub extends: Option<Sourced<ExtendsDocument>>,
    /// What this profile does beyond containers, the project's bind mounts and ports on
    /// 127.0.0.1, when it is published (a catalog's, or a file outside the project): each needs
    /// the developer's approval before `up`. Declared per file; not inherited.
    pub capabilities: Option<Vec<Sourced<super::capabilities::Capability>>>,
    /// Published catalogs by the name `extends` uses: `acme = "git+https://host/profiles"`,
    /// `acme = "https://host/profiles-2.1.0.tar.gz#sha256=HEX"`,
    /// `local = "dir:../platform-profiles"`. Pinned by `devboot.lock`.
    #[serde(default)]
    pub catalogs: BTreeMap<Sourced<String>, Sourced<String>>,
    #[serde(default)]
    pub project: ProjectSection,
    #[serde(default)]
    pub requires: RequiresSection,
    #[serde(default)]
    pub app: AppSection,
    #[serde(default)]
    pub services: BTreeMap<Sourced<String>, ServiceDocument>,
    /// Extra files to generate, keyed by their path relative to the project root.
    #[serde(default)]
    pub files: BTreeMap<Sourced<String>, FileDocument>,
    /// How the app service gets AWS credentials.
    #[serde(default)]
    pub aws: AwsSection,
    /// Named shortcuts, run as `devboot NAME [ARGS…]`: each is a command line for the
    /// container's shell (`sh -c`), run in the app service's container with ARGS appended,
    /// e.g. `test = "bin/rails test"`.
    #[serde(default)]
    pub commands: BTreeMap<Sourced<String>, Sourced<String>>,
    #[serde(default)]
    pub db: DbSection,
}

/// `[db]`: how `devboot db` treats the stack's database.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DbSection {
    #[serde(default)]
    pub import: DbImportSection,
}

/// `[db.import]`: what `devboot db import` does besides loading the dump.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DbImportSection {
    /// SQL statements run in the imported database before it replaces the current one — the
    /// team's sanitising rules, e.g. `UPDATE users SET email = 'user' || id || '@example.test'`.
    /// A failing statement fails the import, and the current database stays.
    pub after: Option<Vec<Sourced<String>>>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsSection {
    /// The AWS profile on the developer's machine (default: `AWS_PROFILE`, then `default`).
    pub profile: Option<Sourced<String>>,
    /// The region the app uses (default: the profile's region).
    pub region: Option<Sourced<String>>,
    /// The 12-digit account the credentials must belong to; `doctor` checks it.
    pub account: Option<Sourced<String>>,
    /// `server` (default), `env` or `emulator`.
    pub mode: Option<Sourced<AwsMode>>,
    /// The emulator's URL as the app container sees it, for `mode = "emulator"`.
    pub emulator_endpoint: Option<Sourced<String>>,
    /// The image of the relay container that answers at 169.254.170.2 for `mode = "server"`
    /// (anything with `socat` as its entrypoint; default `alpine/socat`, pinned).
    pub relay_image: Option<Sourced<String>>,
    /// How the relay reaches the endpoint on the host in `mode = "server"`: `auto` (default:
    /// `host-gateway` when the engine runs in a VM, else `link-local`), `link-local` or
    /// `host-gateway`.
    pub relay_route: Option<Sourced<RelayRoute>>,
}

/// How the credential relay reaches devboot's endpoint on the host.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RelayRoute {
    /// `host-gateway` when the engine runs in a VM (Docker Desktop, `OrbStack`, Colima, Rancher
    /// Desktop), else `link-local`.
    #[default]
    Auto,
    /// The endpoint listens on the credential network's gateway, 169.254.170.1: the engine
    /// runs on this host's kernel.
    LinkLocal,
    /// The relay calls `host.docker.internal` (the engine's `host-gateway`); the endpoint
    /// listens on 127.0.0.1 for a VM engine, else on the address `host-gateway` stands for.
    HostGateway,
}

/// How credentials reach the app container.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AwsMode {
    /// A credential endpoint devboot serves from the developer's own credential chain.
    #[default]
    Server,
    /// Short-lived credentials resolved on the host, injected as environment variables.
    Env,
    /// A local AWS emulator with dummy credentials.
    Emulator,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    /// Compose project name; defaults to the project directory's name.
    pub name: Option<Sourced<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiresSection {
    /// The devboot versions this profile works with, a semver requirement, e.g. ">=0.3". Every
    /// layer that sets it must hold; an older devboot refuses the profile.
    pub devboot: Option<Sourced<String>>,
    /// Minimum Docker Engine API version, e.g. "1.41".
    pub docker_api: Option<Sourced<String>>,
    /// Memory the engine must have, e.g. "4GiB".
    pub memory: Option<Sourced<String>>,
    /// Free disk the engine's data root must have, e.g. "10GiB".
    pub disk: Option<Sourced<String>>,
    /// Host tools and their semver constraints, e.g. `git = ">=2.30"`.
    #[serde(default)]
    pub tools: BTreeMap<Sourced<String>, Sourced<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppSection {
    /// The service that runs the application (setup commands run in it).
    pub service: Option<Sourced<String>>,
    /// Commands run in the app service after the stack is healthy, e.g. `bin/rails db:prepare`.
    pub setup: Option<Vec<Sourced<String>>>,
    /// Project files the setup commands read, e.g. `Gemfile.lock`: when one changes, the next
    /// `up` runs the setup commands again and restarts the app, with no rebuild.
    pub setup_inputs: Option<Vec<Sourced<String>>>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDocument {
    pub image: Option<Sourced<String>>,
    pub build: Option<Sourced<BuildDocument>>,
    pub command: Option<Sourced<CommandDocument>>,
    pub working_dir: Option<Sourced<String>>,
    #[serde(default)]
    pub environment: BTreeMap<Sourced<String>, Sourced<EnvValue>>,
    pub ports: Option<Vec<Sourced<PortDocument>>>,
    pub volumes: Option<Vec<Sourced<VolumeDocument>>>,
    pub depends_on: Option<DependsOnDocument>,
    pub healthcheck: Option<Sourced<HealthcheckDocument>>,
    pub platform: Option<Sourced<String>>,
}

/// `build = "."` or a table: `build = { context = ".", dockerfile = "Dockerfile.dev",
/// target = "dev", args = { ... }, source = "auto", rebuild_on = ["Gemfile.lock"] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildDocument {
    pub context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<BuildSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuild_on: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for BuildDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            context: Option<String>,
            dockerfile: Option<String>,
            target: Option<String>,
            #[serde(default)]
            args: BTreeMap<String, String>,
            source: Option<BuildSource>,
            rebuild_on: Option<Vec<String>>,
        }
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "a build context path or a build table")]
        enum Form {
            Context(String),
            Table(Table),
        }
        Ok(match Form::deserialize(deserializer)? {
            Form::Context(context) => Self {
                context,
                dockerfile: None,
                target: None,
                args: BTreeMap::new(),
                source: None,
                rebuild_on: None,
            },
            Form::Table(t) => Self {
                context: t.context.unwrap_or_else(|| ".".to_owned()),
                dockerfile: t.dockerfile,
                target: t.target,
                args: t.args,
                source: t.source,
                rebuild_on: t.rebuild_on,
            },
        })
    }
}

/// A command as one shell string (run with `sh -c`) or as an argument vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged, expecting = "a command string or an array of arguments")]
pub enum CommandDocument {
    Shell(String),
    Argv(Vec<String>),
}

/// Environment values: strings, or numbers and booleans written naturally (`THREADS = 5`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvValue(pub String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Host-port policy: `fixed` publishes the declared host port and fails when it is taken;
/// `auto` picks a free port once and remembers it for the project.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PortPolicy {
    #[default]
    Fixed,
    Auto,
}

/// `"3000:3000"`, `"127.0.0.1:5432:5432"`, `"3000"` (same port on the host), `3000`, or
/// `{ container = 5432, host = 15432, policy = "auto" }`.
///
/// Short forms are kept as written and read by [`PortDocument::mapping`] during validation,
/// where the error can point at the exact list element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PortDocument {
    Short(String),
    Number(u16),
    Table(PortTable),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortTable {
    pub container: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    #[serde(default)]
    pub policy: PortPolicy,
}

impl PortDocument {
    /// The mapping in table form, or why the short form does not read as one.
    pub fn mapping(&self) -> Result<PortTable, String> {
        let text = match self {
            Self::Table(table) => return Ok(table.clone()),
            Self::Number(port) => {
                return Ok(PortTable {
                    container: *port,
                    host: Some(*port),
                    host_ip: None,
                    policy: PortPolicy::Fixed,
                });
            }
            Self::Short(text) => text,
        };
        let port = |part: &str| {
            part.parse::<u16>().map_err(|_| {
                format!("`{part}` is not a port number (1-65535) in port mapping `{text}`")
            })
        };
        // An IPv6 host address is written in brackets: `[::1]:5432:5432`.
        let (host_ip, rest) = match text.strip_prefix('[').and_then(|t| t.split_once("]:")) {
            Some((ip, rest)) => (Some(ip.to_owned()), rest),
            None => (None, text.as_str()),
        };
        let parts: Vec<&str> = rest.split(':').collect();
        let (host_ip, host, container) = match (host_ip, parts.as_slice()) {
            (None, [container]) => (None, port(container)?, port(container)?),
            (ip, [host, container]) => (ip, port(host)?, port(container)?),
            (None, [ip, host, container]) => {
                (Some((*ip).to_owned()), port(host)?, port(container)?)
            }
            _ => {
                return Err(format!(
                    "port mapping `{text}` is not `CONTAINER`, `HOST:CONTAINER` or `IP:HOST:CONTAINER`"
                ));
            }
        };
        Ok(PortTable {
            container,
            host: Some(host),
            host_ip,
            policy: PortPolicy::Fixed,
        })
    }
}

impl<'de> Deserialize<'de> for PortDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "a port mapping like \"3000:3000\", a port number, or a table with `container`, `host`, `host_ip`, `policy`"
        )]
        enum Form {
            Short(String),
            Number(u16),
            Table(PortTable),
        }
        Ok(match Form::deserialize(deserializer)? {
            Form::Short(text) => Self::Short(text),
            Form::Number(port) => Self::Number(port),
            Form::Table(table) => Self::Table(table),
        })
    }
}

/// `"NAME:/path"` (named volume), `"./dir:/path"` (bind mount inside the project), with an
/// optional `:ro`, or `{ source = "...", target = "...", read_only = true }`. Short forms are
/// read by [`VolumeDocument::mount`] during validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum VolumeDocument {
    Short(String),
    Table(VolumeTable),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeTable {
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
}

impl VolumeDocument {
    pub fn mount(&self) -> Result<VolumeTable, String> {
        let text = match self {
            Self::Table(table) => return Ok(table.clone()),
            Self::Short(text) => text,
        };
        let mut parts = text.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(source), Some(target), mode) if !source.is_empty() => {
                let read_only = match mode {
                    None | Some("rw") => false,
                    Some("ro") => true,
                    Some(other) => {
                        return Err(format!(
                            "volume mode `{other}` in `{text}` is neither `ro` nor `rw`"
                        ));
                    }
                };
                Ok(VolumeTable {
                    source: source.to_owned(),
                    target: target.to_owned(),
                    read_only,
                })
            }
            _ => Err(format!(
                "volume `{text}` is not `SOURCE:TARGET` (a volume name or a `./` path, then an absolute container path)"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for VolumeDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "a volume like \"data:/var/lib/data\" or a table with `source`, `target`, `read_only`"
        )]
        enum Form {
            Short(String),
            Table(VolumeTable),
        }
        Ok(match Form::deserialize(deserializer)? {
            Form::Short(text) => Self::Short(text),
            Form::Table(table) => Self::Table(table),
        })
    }
}

/// When a dependent service may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DependencyCondition {
    /// The dependency's container has started.
    Started,
    /// The dependency's healthcheck passes.
    Healthy,
    /// The dependency ran to completion with exit code 0.
    Completed,
}

/// `depends_on = ["db"]` (condition `started`) or `depends_on = { db = "healthy" }`.
///
/// Deserialized by hand: an untagged enum would buffer the value and lose the spans that point
/// an "unknown service" error at the right name.
#[derive(Debug, Clone, Default)]
pub struct DependsOnDocument(pub Vec<(Sourced<String>, Sourced<DependencyCondition>)>);

impl<'de> Deserialize<'de> for DependsOnDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = DependsOnDocument;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of service names or a table of service = condition")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(name) = seq.next_element::<Sourced<String>>()? {
                    let condition = Sourced::new(DependencyCondition::Started, name.origin.clone());
                    entries.push((name, condition));
                }
                Ok(DependsOnDocument(entries))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(DependsOnDocument(entries))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckDocument {
    /// A shell command (run with `CMD-SHELL`) or an argument vector (run directly).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<CommandDocument>,
    /// Durations like "2s", "500ms", "1m30s".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// `disable = true` turns off a healthcheck inherited from a base profile or the image.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
}

/// A generated file declared by a profile: a built-in template or literal content.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileDocument {
    pub template: Option<Sourced<String>>,
    pub content: Option<Sourced<String>>,
}

/// `extends = "rails"` or `extends = ["rails", "./team.toml"]`.
///
/// Deserialized by hand so each name in a list keeps its own span; a single name is given the
/// span of the whole value by [`ProfileDocument::extends`].
#[derive(Debug, Clone, Default)]
pub struct ExtendsDocument(Vec<Sourced<String>>);

impl<'de> Deserialize<'de> for ExtendsDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = ExtendsDocument;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a profile name or a list of profile names")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
                Ok(ExtendsDocument(vec![Sourced::new(
                    name.to_owned(),
                    Origin::default(),
                )]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element()? {
                    names.push(name);
                }
                Ok(ExtendsDocument(names))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl ProfileDocument {
    /// The base profiles named by `extends`, each with the origin of its name.
    pub fn extends(&self) -> Vec<Sourced<String>> {
        let Some(extends) = &self.extends else {
            return Vec::new();
        };
        extends
            .value
            .0
            .iter()
            .map(|name| {
                let origin = if name.origin.span.is_empty() {
                    extends.origin.clone()
                } else {
                    name.origin.clone()
                };
                Sourced::new(name.value.clone(), origin)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ProfileDocument, toml::de::Error> {
        parse_document(text, LayerId(3))
    }

    #[test]
    fn values_remember_their_layer_and_span() {
        let doc = parse("[services.web]\nimage = \"ruby:3.3\"\n").unwrap();
        let (name, web) = doc.services.iter().next().unwrap();
        assert_eq!(name.value, "web");
        let image = web.image.as_ref().unwrap();
        assert_eq!(image.origin.layer, LayerId(3));
        assert_eq!(
            &"[services.web]\nimage = \"ruby:3.3\"\n"[image.origin.span.clone()],
            "\"ruby:3.3\""
        );
    }

    #[test]
    fn short_and_long_port_forms() {
        let doc = parse(
            "[services.a]\nports = [\"3000:3001\", \"127.0.0.1:1:2\", 80, { container = 5432, policy = \"auto\" }, \"[::1]:5:6\"]\n",
        )
        .unwrap();
        let ports = doc.services.values().next().unwrap().ports.clone().unwrap();
        let ports: Vec<_> = ports
            .into_iter()
            .map(|p| p.value.mapping().unwrap())
            .collect();
        assert_eq!(
            ports[0],
            PortTable {
                container: 3001,
                host: Some(3000),
                host_ip: None,
                policy: PortPolicy::Fixed
            }
        );
        assert_eq!(ports[1].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(ports[2].host, Some(80));
        assert_eq!(
            ports[3],
            PortTable {
                container: 5432,
                host: None,
                host_ip: None,
                policy: PortPolicy::Auto
            }
        );
        assert_eq!(
            (ports[4].host_ip.as_deref(), ports[4].host),
            (Some("::1"), Some(5))
        );
    }

    #[test]
    fn bad_port_strings_are_explained() {
        let err = PortDocument::Short("30x0:3000".into())
            .mapping()
            .unwrap_err();
        assert!(err.contains("`30x0` is not a port number"), "{err}");
        let err = PortDocument::Short("1:2:3:4".into()).mapping().unwrap_err();
        assert!(err.contains("is not `CONTAINER`"), "{err}");
    }

    #[test]
    fn volumes_short_form_with_mode() {
        let doc =
            parse("[services.a]\nvolumes = [\"data:/var/data:ro\", \"./src:/app\"]\n").unwrap();
        let vols = doc
            .services
            .values()
            .next()
            .unwrap()
            .volumes
            .clone()
            .unwrap();
        assert!(vols[0].value.mount().unwrap().read_only);
        assert_eq!(vols[1].value.mount().unwrap().source, "./src");
        assert!(VolumeDocument::Short("data:/x:rx".into()).mount().is_err());
    }

    #[test]
    fn env_values_accept_numbers_and_booleans() {
        let doc = parse("[services.a.environment]\nA = 5\nB = true\nC = \"x\"\n").unwrap();
        let env: Vec<_> = doc
            .services
            .values()
            .next()
            .unwrap()
            .environment
            .values()
            .map(|v| v.value.0.clone())
            .collect();
        assert_eq!(env, ["5", "true", "x"]);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = parse("[services.web]\nhelthcheck = { test = \"true\" }\n").unwrap_err();
        assert!(
            err.message().starts_with("unknown field `helthcheck`"),
            "{}",
            err.message()
        );
    }
}
