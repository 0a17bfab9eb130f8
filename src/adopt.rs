//! Adopting the Compose setup a repository already has, for `devboot init`: a compose file at
//! the root (`compose.yaml`, `docker-compose.yml`, …) or `.devcontainer/` (its compose file and
//! the `containerEnv` of `devcontainer.json`, as Rails 7.1+ writes them).
//!
//! The database, Redis and app services are mapped to the built-in profiles' `db`, `redis` and
//! `web`, so the profile's healthchecks, dependencies and setup keep applying to them; their
//! images, environment, ports and volumes are carried over, and environment values that name
//! a renamed service (`DB_HOST=postgres`, `redis://cache:6379`) are rewritten to the new name.
//! What cannot be carried is listed, never guessed. Compose files are untrusted input: read
//! bounded ([`crate::fsio`]), only inside the project, and never a reason to panic or to fail.
//! Parsing and mapping ([`adopt`]) are pure; [`find`] reads the files.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use crate::model::validate::{relative_in_project, valid_env_name, valid_volume_name};
use crate::profile::document::{PortDocument, VolumeDocument};

/// Compose files at the root, in the order Compose itself looks for them.
const ROOT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
const DEVCONTAINER_DIR: &str = ".devcontainer";
const DEVCONTAINER_JSON: &str = ".devcontainer/devcontainer.json";

/// The built-in profiles' service a Compose service becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Web,
    Db,
    Redis,
}

impl Role {
    /// The service's name in devboot's profiles.
    pub fn name(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Db => "db",
            Self::Redis => "redis",
        }
    }
}

/// One Compose service, as it goes into `devboot.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    pub role: Role,
    /// Its name in the compose file.
    pub from: String,
    pub image: Option<String>,
    pub environment: BTreeMap<String, String>,
    pub ports: Vec<String>,
    pub volumes: Vec<String>,
    pub working_dir: Option<String>,
}

/// What `init` takes from an existing Compose setup, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    /// The compose file, relative to the project root.
    pub compose_file: String,
    /// `devcontainer.json`, when the app's environment also came from its `containerEnv`.
    pub devcontainer_json: Option<String>,
    /// In role order: web, db, redis.
    pub services: Vec<Carried>,
    /// Environment values pointed at a renamed service: `DB_HOST of web: postgres → db`.
    pub rewritten: Vec<String>,
    /// What could not be carried, each naming where it is.
    pub not_carried: Vec<String>,
}

/// What `devcontainer.json` says that matters here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devcontainer {
    /// `dockerComposeFile` (the first, when it lists several), relative to `.devcontainer/`.
    pub compose_file: Option<String>,
    /// `service`: the app's service in the compose file.
    pub service: Option<String>,
    pub container_env: BTreeMap<String, String>,
}

/// Finds and reads the repository's Compose setup: a root compose file first, else
/// `.devcontainer/`. `Ok(None)` when there is none; `Err` says why one could not be read (the
/// caller reports it and goes on without it).
pub fn find(root: &Path) -> Result<Option<Adopted>, String> {
    let read = |relative: &str| -> Result<Option<String>, String> {
        let path = root.join(relative);
        // Only files whose real path is inside the project: a link may point anywhere.
        match (path.canonicalize(), root.canonicalize()) {
            (Ok(real), Ok(real_root)) if !real.starts_with(&real_root) => {
                return Err(format!("{relative} points outside the project; not read"));
            }
            // Opening a FIFO would wait for a writer.
            (Ok(real), _) if !real.is_file() => {
                return Err(format!("{relative} is not a regular file; not read"));
            }
            (Err(_), _) => return Ok(None),
            _ => {}
        }
        let bytes = crate::fsio::read_optional(&path).map_err(|e| e.to_string())?;
        bytes
            .map(|b| String::from_utf8(b).map_err(|_| format!("{relative} is not UTF-8")))
            .transpose()
    };
    for name in ROOT_FILES {
        if let Some(text) = read(name)? {
            let mut adopted = adopt(name, &text, None)?;
            if root.join(DEVCONTAINER_DIR).is_dir() {
                adopted.not_carried.push(format!(
                    "{DEVCONTAINER_DIR}/: not read; {name} describes the stack"
                ));
            }
            return Ok(Some(adopted));
        }
    }
    let devcontainer = match read(DEVCONTAINER_JSON)? {
        Some(text) => {
            Some(parse_devcontainer(&text).map_err(|e| format!("{DEVCONTAINER_JSON}: {e}"))?)
        }
        None => None,
    };
    let named = devcontainer.as_ref().and_then(|d| d.compose_file.clone());
    let candidates = named.map_or_else(
        || {
            ROOT_FILES
                .iter()
                .map(|n| format!("{DEVCONTAINER_DIR}/{n}"))
                .collect()
        },
        |name| vec![format!("{DEVCONTAINER_DIR}/{name}")],
    );
    for candidate in candidates {
        let Ok(relative) = relative_in_project(&candidate) else {
            return Err(format!(
                "{DEVCONTAINER_JSON} names `{candidate}`, outside the project; not read"
            ));
        };
        if let Some(text) = read(&relative)? {
            return adopt(&relative, &text, devcontainer.as_ref()).map(Some);
        }
    }
    Ok(None)
}

/// Reads `devcontainer.json` (JSON with comments and trailing commas).
pub fn parse_devcontainer(text: &str) -> Result<Devcontainer, String> {
    let value: serde_json::Value = serde_json::from_str(&strip_jsonc(text))
        .map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))?;
    let string = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let compose_file = match value.get("dockerComposeFile") {
        Some(serde_json::Value::Array(files)) => files.first().and_then(string),
        Some(other) => string(other),
        None => None,
    };
    let container_env = value
        .get("containerEnv")
        .and_then(serde_json::Value::as_object)
        .map(|env| {
            env.iter()
                .filter_map(|(k, v)| Some((k.clone(), scalar_json(v)?)))
                .collect()
        })
        .unwrap_or_default();
    Ok(Devcontainer {
        compose_file,
        service: value.get("service").and_then(string),
        container_env,
    })
}

fn scalar_json(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// JSON with comments (`//`, `/* */`) and trailing commas, as VS Code writes it, made JSON.
fn strip_jsonc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            (']' | '}', _) => {
                let kept = out.trim_end().len();
                if out[..kept].ends_with(',') {
                    out.remove(kept - 1);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Maps the compose file at `compose_file` (relative to the project root) to devboot's
/// services; `devcontainer` adds the app's environment and names the app's service.
pub fn adopt(
    compose_file: &str,
    text: &str,
    devcontainer: Option<&Devcontainer>,
) -> Result<Adopted, String> {
    let mut document: Value = serde_yaml_ng::from_str(text).map_err(|e| match e.location() {
        Some(at) => format!("{compose_file}:{}:{}: {e}", at.line(), at.column()),
        None => format!("{compose_file}: {e}"),
    })?;
    document
        .apply_merge()
        .map_err(|e| format!("{compose_file}: {e}"))?;
    let Some(top) = document.as_mapping() else {
        return Err(format!(
            "{compose_file} is not a Compose file (no mapping at its top)"
        ));
    };
    let dir = Path::new(compose_file)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut not_carried = Vec::new();
    for (key, _) in top {
        let key = key.as_str().unwrap_or("?");
        match key {
            "services" | "volumes" | "version" | "name" => {}
            _ if key.starts_with("x-") => {}
            _ => not_carried.push(format!(
                "top-level `{key}` of {compose_file}: devboot's profiles have no such section"
            )),
        }
    }
    let services: Vec<(String, &Mapping)> = top
        .get("services")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_mapping()?)))
        .collect();
    let roles = assign_roles(&services, devcontainer.and_then(|d| d.service.as_deref()));
    // Compose name → devboot name, for every service carried.
    let renames: BTreeMap<&str, &str> = roles
        .iter()
        .map(|(name, role)| (name.as_str(), role.name()))
        .collect();
    let mut carried = Vec::new();
    let mut rewritten = Vec::new();
    for (name, service) in &services {
        let Some(role) = roles.get(name).copied() else {
            let image = service
                .get("image")
                .and_then(Value::as_str)
                .map_or_else(String::new, |i| format!(" ({i})"));
            not_carried.push(format!(
                "service `{name}`{image}: devboot's profile has no such service; add it under [services.{name}] if the app needs it"
            ));
            continue;
        };
        let mut into = Carried {
            role,
            from: name.clone(),
            image: None,
            environment: BTreeMap::new(),
            ports: Vec::new(),
            volumes: Vec::new(),
            working_dir: None,
        };
        let mut note = |what: String| not_carried.push(format!("`{name}`: {what}"));
        let mut environment = environment_of(service, &mut note);
        if role == Role::Web
            && let Some(d) = devcontainer
        {
            environment.extend(d.container_env.clone());
        }
        for (key, value) in environment {
            if !valid_env_name(&key) {
                note(format!("environment `{key}` (not a variable name)"));
            } else if value.contains('$') {
                note(format!(
                    "environment {key} (`$…` takes a value from your shell; devboot does not interpolate)"
                ));
            } else {
                match point_at(&key, &value, &renames, &services) {
                    Pointed::Same => {
                        into.environment.insert(key, value);
                    }
                    Pointed::Renamed {
                        value: new,
                        from,
                        to,
                    } => {
                        rewritten.push(format!("{key} of {}: `{from}` → `{to}`", role.name()));
                        into.environment.insert(key, new);
                    }
                    Pointed::Absent(other) => note(format!(
                        "environment {key} (names `{other}`, a service devboot does not run)"
                    )),
                }
            }
        }
        for (key, value) in *service {
            let key = key.as_str().unwrap_or("?");
            match key {
                "image" if role == Role::Web => {
                    note("`image` (devboot builds the app's image)".into());
                }
                "image" => into.image = value.as_str().map(str::to_owned),
                "ports" => into.ports = ports_of(value, &mut note),
                "volumes" => into.volumes = volumes_of(value, &dir, &mut note),
                "working_dir" if role == Role::Web => {
                    into.working_dir = value.as_str().map(str::to_owned);
                }
                "depends_on" if role == Role::Web => {
                    note(
                        "`depends_on` (the profile makes web wait for db and redis to be healthy)"
                            .into(),
                    );
                }
                "build" => note(format!(
                    "`build`{} (devboot chooses the app's Dockerfile itself: `init` says which, `source` under [services.web.build] overrides)",
                    describe_build(value)
                )),
                // The environment is read above; a restart policy and the default network
                // change nothing for devboot.
                "environment" | "restart" => {}
                "networks" if is_default_network(value) => {}
                "command" | "entrypoint" | "healthcheck" => {
                    note(format!("`{key}` (the profile's own applies)"));
                }
                _ => note(format!("`{key}`")),
            }
        }
        if role == Role::Web {
            // The profile mounts the project at /app; a list of volumes replaces it, so the
            // app's volumes are carried only with the project's own mount among them.
            let project_mount = into.volumes.iter().find_map(|v| {
                v.strip_prefix(".:")
                    .map(|t| t.split(':').next().unwrap_or(t).to_owned())
            });
            match project_mount {
                Some(target) => {
                    into.working_dir.get_or_insert(target);
                }
                None if !into.volumes.is_empty() => {
                    not_carried.push(format!(
                        "`{name}`: volumes {} (without the project's own mount; the profile mounts the project at /app)",
                        into.volumes.join(", ")
                    ));
                    into.volumes.clear();
                }
                None => {}
            }
        }
        carried.push(into);
    }
    carried.sort_by_key(|c| c.role);
    Ok(Adopted {
        compose_file: compose_file.to_owned(),
        devcontainer_json: devcontainer
            .filter(|d| !d.container_env.is_empty())
            .map(|_| DEVCONTAINER_JSON.to_owned()),
        services: carried,
        rewritten,
        not_carried,
    })
}

/// Which Compose service becomes `web`, `db` and `redis`: databases and Redis by their image,
/// the app by the devcontainer's `service`, else by its name, else the one service that builds.
fn assign_roles(services: &[(String, &Mapping)], app: Option<&str>) -> BTreeMap<String, Role> {
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    let mut take = |name: &str, role: Role| {
        if !roles.values().any(|r| *r == role) && !roles.contains_key(name) {
            roles.insert(name.to_owned(), role);
        }
    };
    for (name, service) in services {
        let image = service
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let repository = image.split([':', '@']).next().unwrap_or_default();
        let last = repository.rsplit('/').next().unwrap_or_default();
        if ["postgres", "postgis", "mysql", "mysql-server", "mariadb"].contains(&last) {
            take(name, Role::Db);
        } else if ["redis", "valkey", "redis-stack-server"].contains(&last) {
            take(name, Role::Redis);
        }
    }
    let builds: Vec<&str> = services
        .iter()
        .filter(|(_, s)| s.contains_key("build"))
        .map(|(n, _)| n.as_str())
        .collect();
    let app = app
        .filter(|a| services.iter().any(|(n, _)| n == a))
        .or_else(|| {
            ["web", "app", "rails", "rails-app"]
                .into_iter()
                .find(|n| services.iter().any(|(name, _)| name == n))
        })
        .or(if builds.len() == 1 {
            Some(builds[0])
        } else {
            None
        });
    if let Some(app) = app {
        take(app, Role::Web);
    }
    roles
}

/// Environment as a map or a `KEY=value` list; variables passed through from the shell and
/// values that are not scalars are noted.
fn environment_of(service: &Mapping, note: &mut impl FnMut(String)) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    match service.get("environment") {
        Some(Value::Mapping(map)) => {
            for (key, value) in map {
                let Some(key) = key.as_str() else { continue };
                match scalar(value) {
                    Some(value) => {
                        found.insert(key.to_owned(), value);
                    }
                    None => note(format!(
                        "environment {key} (no value: Compose passes yours from the shell)"
                    )),
                }
            }
        }
        Some(Value::Sequence(list)) => {
            for item in list.iter().filter_map(Value::as_str) {
                match item.split_once('=') {
                    Some((key, value)) => {
                        found.insert(key.to_owned(), value.to_owned());
                    }
                    None => note(format!(
                        "environment {item} (no value: Compose passes yours from the shell)"
                    )),
                }
            }
        }
        _ => {}
    }
    found
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What an environment value says about the services.
#[derive(Debug, PartialEq, Eq)]
enum Pointed {
    /// Names no other Compose service, or one that keeps its name.
    Same,
    /// Names a carried service under its new name.
    Renamed {
        value: String,
        from: String,
        to: &'static str,
    },
    /// Names a Compose service that is not carried.
    Absent(String),
}

/// Whether `value` names a Compose service: as a URL's host, or as the whole value of a
/// variable whose name says it holds a host (`DB_HOST`, `SELENIUM_HOSTNAME`).
fn point_at(
    key: &str,
    value: &str,
    renames: &BTreeMap<&str, &'static str>,
    services: &[(String, &Mapping)],
) -> Pointed {
    let (host, range) = match crate::urls::read(value) {
        Some(url) => (&value[url.host.clone()], url.host),
        None if key.ends_with("HOST") || key.ends_with("HOSTNAME") => (value, 0..value.len()),
        None => return Pointed::Same,
    };
    match renames.get(host) {
        Some(to) if host == *to => Pointed::Same,
        Some(to) => {
            let mut new = value.to_owned();
            new.replace_range(range, to);
            Pointed::Renamed {
                value: new,
                from: host.to_owned(),
                to,
            }
        }
        None if services.iter().any(|(n, _)| n == host) => Pointed::Absent(host.to_owned()),
        None => Pointed::Same,
    }
}

/// Ports devboot reads the same way: `HOST:CONTAINER`, `IP:HOST:CONTAINER`, `PORT`, and
/// Compose's long form; UDP and ranges are noted.
fn ports_of(value: &Value, note: &mut impl FnMut(String)) -> Vec<String> {
    let mut found = Vec::new();
    for item in value.as_sequence().into_iter().flatten() {
        let text = match item {
            Value::Mapping(long) => {
                let field = |k: &str| long.get(k).and_then(scalar);
                let (Some(target), protocol) = (field("target"), field("protocol")) else {
                    note("a port without `target`".into());
                    continue;
                };
                let host = field("published").unwrap_or_else(|| target.clone());
                let text = match field("host_ip") {
                    Some(ip) => format!("{ip}:{host}:{target}"),
                    None => format!("{host}:{target}"),
                };
                match protocol {
                    Some(p) if p != "tcp" => format!("{text}/{p}"),
                    _ => text,
                }
            }
            other => scalar(other).unwrap_or_default(),
        };
        let plain = text.strip_suffix("/tcp").unwrap_or(&text);
        if PortDocument::Short(plain.to_owned()).mapping().is_ok() {
            found.push(plain.to_owned());
        } else {
            note(format!("port `{text}`"));
        }
    }
    found
}

/// Volumes as devboot writes them: named volumes, and bind mounts of the project's own
/// directories (resolved against the compose file's directory); mounts from outside the
/// project and anonymous volumes are noted.
fn volumes_of(value: &Value, dir: &str, note: &mut impl FnMut(String)) -> Vec<String> {
    let mut found = Vec::new();
    for item in value.as_sequence().into_iter().flatten() {
        let (source, target, read_only, written) = match item {
            Value::Mapping(long) => {
                let field = |k: &str| long.get(k).and_then(Value::as_str).map(str::to_owned);
                let ro = long
                    .get("read_only")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let (Some(s), Some(t)) = (field("source"), field("target")) else {
                    note("a volume without `source` and `target`".into());
                    continue;
                };
                (s.clone(), t.clone(), ro, format!("{s}:{t}"))
            }
            Value::String(text) => {
                let Ok(table) = VolumeDocument::Short(text.clone()).mount().or_else(|_| {
                    // Compose's consistency and SELinux options mean nothing to devboot.
                    let (base, mode) = text.rsplit_once(':').unwrap_or((text, ""));
                    let options: Vec<&str> = mode.split(',').collect();
                    let ignored = ["cached", "delegated", "consistent", "z", "Z"];
                    if options
                        .iter()
                        .all(|o| ignored.contains(o) || *o == "ro" || *o == "rw")
                    {
                        let mut table = VolumeDocument::Short(base.to_owned()).mount()?;
                        table.read_only = options.contains(&"ro");
                        Ok(table)
                    } else {
                        Err(String::new())
                    }
                }) else {
                    note(format!("volume `{text}`"));
                    continue;
                };
                (table.source, table.target, table.read_only, text.clone())
            }
            _ => continue,
        };
        let source = if source.starts_with(['/', '~']) {
            note(format!(
                "volume `{written}` (its source is outside the project)"
            ));
            continue;
        } else if source.starts_with('.') {
            let joined = if dir.is_empty() {
                source.clone()
            } else {
                format!("{dir}/{source}")
            };
            match relative_in_project(&joined) {
                Ok(relative) if relative == "." => ".".to_owned(),
                Ok(relative) => format!("./{relative}"),
                Err(_) => {
                    note(format!(
                        "volume `{written}` (its source is outside the project)"
                    ));
                    continue;
                }
            }
        } else if valid_volume_name(&source) {
            source
        } else {
            note(format!("volume `{written}`"));
            continue;
        };
        found.push(if read_only {
            format!("{source}:{target}:ro")
        } else {
            format!("{source}:{target}")
        });
    }
    found
}

fn describe_build(value: &Value) -> String {
    match value {
        Value::String(context) => format!(" with context {context}"),
        Value::Mapping(build) => {
            let field = |k: &str| build.get(k).and_then(Value::as_str);
            let mut parts: Vec<String> = Vec::new();
            if let Some(context) = field("context") {
                parts.push(format!("context {context}"));
            }
            if let Some(dockerfile) = field("dockerfile") {
                parts.push(format!("dockerfile {dockerfile}"));
            }
            if build.contains_key("args") {
                parts.push("args".into());
            }
            if parts.is_empty() {
                String::new()
            } else {
                format!(" with {}", parts.join(", "))
            }
        }
        _ => String::new(),
    }
}

/// `networks: [default]`: what devboot's one project network is.
fn is_default_network(value: &Value) -> bool {
    value
        .as_sequence()
        .is_some_and(|list| list.iter().all(|n| n.as_str() == Some("default")))
}

/// The `devboot.toml` sections for the carried services.
pub fn profile_text(adopted: &Adopted) -> String {
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let list = |items: &[String]| {
        toml::Value::Array(
            items
                .iter()
                .map(|s| toml::Value::String(s.clone()))
                .collect(),
        )
        .to_string()
    };
    let mut text = String::new();
    for service in &adopted.services {
        let name = service.role.name();
        text.push_str(&format!(
            "\n# From {}, service `{}`.\n[services.{name}]\n",
            adopted.compose_file, service.from
        ));
        if let Some(image) = &service.image {
            text.push_str(&format!("image = {}\n", quote(image)));
        }
        if let Some(dir) = &service.working_dir {
            text.push_str(&format!("working_dir = {}\n", quote(dir)));
        }
        if !service.ports.is_empty() {
            text.push_str(&format!("ports = {}\n", list(&service.ports)));
        }
        if !service.volumes.is_empty() {
            text.push_str(&format!("volumes = {}\n", list(&service.volumes)));
        }
        if !service.environment.is_empty() {
            text.push_str(&format!("\n[services.{name}.environment]\n"));
            for (key, value) in &service.environment {
                text.push_str(&format!("{key} = {}\n", quote(value)));
            }
        }
    }
    text
}

/// What `init` tells the user it took, from where, and what it left, line by line. Values of
/// the environment are never shown (they may be passwords), only names.
pub fn report(adopted: &Adopted) -> Vec<String> {
    let also = adopted
        .devcontainer_json
        .as_ref()
        .map_or_else(String::new, |json| {
            format!(" and the `containerEnv` of {json}")
        });
    let mut lines = vec![format!("Carried from {}{also}:", adopted.compose_file)];
    for service in &adopted.services {
        let mut took: Vec<String> = Vec::new();
        if let Some(image) = &service.image {
            took.push(format!("image {image}"));
        }
        if !service.environment.is_empty() {
            let keys: Vec<&str> = service.environment.keys().map(String::as_str).collect();
            took.push(format!("environment {}", keys.join(", ")));
        }
        if !service.ports.is_empty() {
            took.push(format!("ports {}", service.ports.join(", ")));
        }
        if !service.volumes.is_empty() {
            took.push(format!("volumes {}", service.volumes.join(", ")));
        }
        if let Some(dir) = &service.working_dir {
            took.push(format!("working_dir {dir}"));
        }
        let what = if took.is_empty() {
            "nothing to carry".to_owned()
        } else {
            took.join("; ")
        };
        lines.push(format!(
            "  `{}` → {}: {what}",
            service.from,
            service.role.name()
        ));
    }
    if !adopted.rewritten.is_empty() {
        lines.push("Rewrote for devboot's service names:".into());
        lines.extend(adopted.rewritten.iter().map(|l| format!("  {l}")));
    }
    if !adopted.not_carried.is_empty() {
        lines.push("Not carried (add to devboot.toml what the app needs):".into());
        lines.extend(adopted.not_carried.iter().map(|l| format!("  {l}")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `rails new app --database=postgresql --devcontainer` (Rails 7.2) writes: the
    /// templates `railties/lib/rails/generators/rails/devcontainer/templates/devcontainer/`
    /// rendered with the generator's defaults (system tests, Redis, Active Storage, Kamal).
    const RAILS_COMPOSE: &str = include_str!("adopt/testdata/rails-7.2-compose.yaml");
    const RAILS_DEVCONTAINER_JSON: &str =
        include_str!("adopt/testdata/rails-7.2-devcontainer.json");
    /// A hand-written root compose file of the kind teams keep beside their app.
    const TEAM_COMPOSE: &str = include_str!("adopt/testdata/team-docker-compose.yml");

    fn rails_devcontainer() -> Adopted {
        let devcontainer = parse_devcontainer(RAILS_DEVCONTAINER_JSON).unwrap();
        adopt(
            ".devcontainer/compose.yaml",
            RAILS_COMPOSE,
            Some(&devcontainer),
        )
        .unwrap()
    }

    #[test]
    fn devcontainer_json_reads_with_comments() {
        let devcontainer = parse_devcontainer(RAILS_DEVCONTAINER_JSON).unwrap();
        assert_eq!(devcontainer.compose_file.as_deref(), Some("compose.yaml"));
        assert_eq!(devcontainer.service.as_deref(), Some("rails-app"));
        assert_eq!(devcontainer.container_env["DB_HOST"], "postgres");
        assert_eq!(
            strip_jsonc("{\"a\": \"//not a comment\", /* x */ \"b\": [1, 2,],}\n"),
            "{\"a\": \"//not a comment\",  \"b\": [1, 2]}\n"
        );
    }

    #[test]
    fn rails_devcontainer_is_carried_into_db_redis_and_web() {
        let adopted = rails_devcontainer();
        insta::assert_snapshot!("rails_devcontainer_profile", profile_text(&adopted));
        insta::assert_snapshot!("rails_devcontainer_report", report(&adopted).join("\n"));
        assert_eq!(adopted.rewritten, ["DB_HOST of web: `postgres` → `db`"]);
    }

    #[test]
    fn team_compose_file_is_carried_with_its_names_rewritten() {
        let adopted = adopt("docker-compose.yml", TEAM_COMPOSE, None).unwrap();
        insta::assert_snapshot!("team_compose_profile", profile_text(&adopted));
        insta::assert_snapshot!("team_compose_report", report(&adopted).join("\n"));
    }

    #[test]
    fn hostile_compose_files_are_refused_or_left_out_without_panics() {
        for text in [
            "",
            "- a list",
            "services: [1, 2]",
            "services:\n  web:\n    build: .\n    volumes: [\"/etc:/etc\", \"../../..:/x\", \"~/.ssh:/root/.ssh\"]\n    ports: [\"1-9:1-9\", {published: 1}, \"53:53/udp\"]\n",
            "a: &a [*a]",
            "services: {web: {<<: 5}}",
            "x: !!binary AAAA\nservices:\n  db: {image: [1]}\n",
        ] {
            if let Ok(adopted) = adopt("compose.yaml", text, None) {
                for service in &adopted.services {
                    assert!(service.volumes.is_empty(), "{text}: {service:?}");
                    assert!(service.ports.is_empty(), "{text}: {service:?}");
                }
            }
        }
        let error = adopt("compose.yaml", "services:\n  web: [\n", None).unwrap_err();
        assert!(error.starts_with("compose.yaml:"), "{error}");
        // Billion laughs: aliases are expanded within a bound, or refused.
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let prev = level - 1;
            let name = |n: usize| {
                if n == 0 {
                    "a".to_owned()
                } else {
                    format!("a{n}")
                }
            };
            text.push_str(&format!(
                "{}: &{} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n",
                name(level),
                name(level),
                p = name(prev)
            ));
        }
        assert!(adopt("compose.yaml", &text, None).is_err());
    }

    #[test]
    fn renamed_hosts_are_rewritten_in_urls_and_bare_values() {
        let services: Vec<(String, &Mapping)> = Vec::new();
        let renames = BTreeMap::from([("postgres", "db"), ("redis", "redis")]);
        assert_eq!(
            point_at(
                "DATABASE_URL",
                "postgres://u:p@postgres:5432/app",
                &renames,
                &services
            ),
            Pointed::Renamed {
                value: "postgres://u:p@db:5432/app".into(),
                from: "postgres".into(),
                to: "db"
            }
        );
        assert_eq!(
            point_at("REDIS_URL", "redis://redis:6379/1", &renames, &services),
            Pointed::Same
        );
        assert_eq!(
            point_at("DB_HOST", "postgres", &renames, &services),
            Pointed::Renamed {
                value: "db".into(),
                from: "postgres".into(),
                to: "db"
            }
        );
        assert_eq!(
            point_at("POSTGRES_USER", "postgres", &renames, &services),
            Pointed::Same
        );
    }
}
