//! `docker.context`, `docker.socket_permission` and `docker.default_socket`: the endpoint devboot (and the Docker CLI)
//! would talk to, checked without needing an engine to answer — these say *why* one does not.
//! A context named by `DOCKER_CONTEXT` or `currentContext` whose endpoint is gone (Colima or
//! Docker Desktop uninstalled, `OrbStack` stopped) is an error, with the contexts that do answer
//! and a safe fix (switch the CLI's `currentContext` back to `default`); a socket this user may
//! not open is an error naming its owner, group and mode and the group to join.

use std::collections::BTreeMap;
use std::io;
use std::net::{TcpStream, ToSocketAddrs as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::doctor::check::{Check, Outcome, QUICK, Run, SafeFix};
use crate::doctor::facts::Facts;
use crate::engine::endpoint::{self, DEFAULT_HOST, EndpointSource};

pub(super) const CONTEXT: Check = Check {
    id: "docker.context",
    title: "The active Docker context points at a live engine",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(context),
    safe_fix: Some(SafeFix {
        description: "switch the Docker CLI back to the `default` context (`currentContext` in its config.json)",
        apply: use_default_context,
    }),
};

pub(super) const SOCKET_PERMISSION: Check = Check {
    id: "docker.socket_permission",
    title: "This user may open the engine's socket",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(socket_permission),
    safe_fix: None,
};

pub(super) const DEFAULT_SOCKET: Check = Check {
    id: "docker.default_socket",
    title: "Tools that hard-code /var/run/docker.sock reach the engine",
    depends_on: &["docker.daemon"],
    timeout: QUICK,
    run: Run::Blocking(default_socket),
    safe_fix: None,
};

/// The socket tools use when they ignore `DOCKER_HOST` and contexts (IDEs, testcontainers, `act`).
const DEFAULT_SOCKET_PATH: &str = "/var/run/docker.sock";

/// How long a TCP endpoint may take to accept a connection.
const TCP_PROBE: Duration = Duration::from_secs(1);

/// What is at an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Probe {
    /// Something accepts connections.
    Answers,
    /// No socket file.
    Missing,
    /// A socket file (or host) where nothing accepts connections.
    Refused,
    /// There, but this user may not connect.
    Denied,
    /// Not a scheme devboot can probe (`ssh://`, `npipe://`).
    Unsupported,
    Failed(String),
}

impl Probe {
    fn is_dead(&self) -> bool {
        matches!(self, Self::Missing | Self::Refused | Self::Failed(_))
    }

    fn describe(&self) -> &str {
        match self {
            Self::Answers => "answers",
            Self::Missing => "no socket exists there",
            Self::Refused => "nothing accepts connections there",
            Self::Denied => "permission denied",
            Self::Unsupported => "not probed",
            Self::Failed(reason) => reason,
        }
    }
}

/// Whether something accepts connections at a Docker endpoint (`unix://…`, `tcp://…`).
fn probe(host: &str) -> Probe {
    match host.split_once("://") {
        Some(("unix", path)) => match UnixStream::connect(path) {
            Ok(_) => Probe::Answers,
            Err(e) => match e.kind() {
                io::ErrorKind::NotFound => Probe::Missing,
                io::ErrorKind::ConnectionRefused => Probe::Refused,
                io::ErrorKind::PermissionDenied => Probe::Denied,
                _ => Probe::Failed(e.to_string()),
            },
        },
        Some(("tcp" | "http" | "https", address)) => {
            let address = address.trim_end_matches('/');
            let Some(target) = address.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
                return Probe::Failed(format!("`{address}` does not resolve"));
            };
            match TcpStream::connect_timeout(&target, TCP_PROBE) {
                Ok(_) => Probe::Answers,
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Probe::Refused,
                Err(e) => Probe::Failed(e.to_string()),
            }
        }
        _ => Probe::Unsupported,
    }
}

/// The part of the CLI's `config.json` naming the current context.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CurrentContext {
    current_context: Option<String>,
}

/// A context's `meta.json`.
#[derive(Debug, Deserialize)]
struct ContextMeta {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Endpoints", default)]
    endpoints: BTreeMap<String, EndpointMeta>,
}

#[derive(Debug, Deserialize)]
struct EndpointMeta {
    #[serde(rename = "Host")]
    host: Option<String>,
}

/// Every context under `<config dir>/contexts/meta`, with its Docker endpoint.
fn contexts(config_dir: &Path) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = std::fs::read_dir(config_dir.join("contexts/meta"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let bytes = std::fs::read(entry.path().join("meta.json")).ok()?;
            let meta: ContextMeta = serde_json::from_slice(&bytes).ok()?;
            let host = meta.endpoints.get("docker")?.host.clone()?;
            Some((meta.name, host))
        })
        .collect();
    found.sort();
    found
}

fn context(facts: &Facts) -> Result<Outcome, Outcome> {
    let config_dir = endpoint::config_dir(&facts.env);
    let from_var = facts.var("DOCKER_CONTEXT").map(str::to_owned);
    let from_config = match &config_dir {
        Some(dir) => endpoint::read_cli_config::<CurrentContext>(dir)
            .map_err(|error| {
                let outcome = Outcome::error(error.to_string());
                match error.hint() {
                    Some(hint) => outcome.fix(hint),
                    None => outcome,
                }
            })?
            .current_context
            .filter(|c| !c.is_empty()),
        None => None,
    };
    let (name, source) = match (&from_var, &from_config) {
        (Some(name), _) => (name.clone(), EndpointSource::DockerContextVar(name.clone())),
        (None, Some(name)) => (name.clone(), EndpointSource::ConfigContext(name.clone())),
        (None, None) => ("default".to_owned(), EndpointSource::Default),
    };
    // The endpoint the context names (DOCKER_HOST aside).
    let resolved = endpoint::resolve_with(None, from_var.as_deref(), config_dir.as_deref());

    if let Some(docker_host) = facts.var("DOCKER_HOST") {
        return Ok(docker_host_outcome(
            docker_host,
            &name,
            resolved.ok().map(|e| e.host),
        ));
    }
    let others = || {
        let mut live: Vec<(String, String)> = config_dir
            .as_deref()
            .map(contexts)
            .unwrap_or_default()
            .into_iter()
            .filter(|(other, host)| *other != name && probe(host) == Probe::Answers)
            .collect();
        if name != "default" && probe(DEFAULT_HOST) == Probe::Answers {
            live.insert(0, ("default".to_owned(), DEFAULT_HOST.to_owned()));
        }
        live
    };
    // The context does not exist, or its metadata names no endpoint.
    let endpoint = resolved.map_err(|error| {
        context_fixes(Outcome::error(error.to_string()), &source, &name, &others())
    })?;
    if name == "default" {
        return Ok(Outcome::ok(format!(
            "the default context ({})",
            endpoint.host
        )));
    }
    let state = probe(&endpoint.host);
    if !state.is_dead() {
        return Ok(Outcome::ok(format!(
            "context `{name}` ({source}) → {} ({})",
            endpoint.host,
            state.describe()
        )));
    }
    let outcome = Outcome::error(format!(
        "context `{name}` ({source}) points at {}, but {}",
        endpoint.host,
        state.describe()
    ))
    .detail("docker and devboot talk to the engine through it, so neither reaches one; the runtime it belonged to (Docker Desktop, Colima, OrbStack, ...) is stopped or uninstalled");
    Ok(context_fixes(outcome, &source, &name, &others()))
}

/// The fixes of a broken context: leave it, for `default` or a context that answers.
fn context_fixes(
    mut outcome: Outcome,
    source: &EndpointSource,
    name: &str,
    live: &[(String, String)],
) -> Outcome {
    if live.is_empty() {
        outcome = outcome.detail("no other context answers either; start the runtime first");
    } else {
        outcome = outcome.detail(format!(
            "contexts that answer: {}",
            live.iter()
                .map(|(name, host)| format!("`{name}` ({host})"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let EndpointSource::DockerContextVar(_) = source {
        outcome = outcome.fix_with(
            "DOCKER_CONTEXT overrides the CLI's choice: unset it in this shell and remove it from your shell's rc file",
            "unset DOCKER_CONTEXT",
        );
    } else {
        outcome = outcome.fix_with(
            "switch back to the default context (`devboot doctor --fix` does this)",
            "docker context use default",
        );
        if let Some((other, _)) = live.iter().find(|(other, _)| other != "default") {
            outcome = outcome.fix_with(
                "or use a context that answers",
                format!("docker context use {other}"),
            );
        }
    }
    outcome.fix(format!(
        "or start the runtime `{name}` belongs to (`colima start`, `orb start`, Docker Desktop)"
    ))
}

/// `DOCKER_HOST` overrides every context: fine while it answers; when it does not but the
/// context (or the default socket) would, the variable is the problem.
fn docker_host_outcome(docker_host: &str, context: &str, context_host: Option<String>) -> Outcome {
    let state = probe(docker_host);
    let overridden = if context == "default" {
        String::new()
    } else {
        format!("; it overrides context `{context}`")
    };
    if !state.is_dead() {
        return Outcome::ok(format!(
            "DOCKER_HOST={docker_host} is used{overridden} ({})",
            state.describe()
        ));
    }
    let alternative = context_host
        .filter(|host| probe(host) == Probe::Answers)
        .map(|host| (context.to_owned(), host));
    match alternative {
        Some((name, host)) => Outcome::warn(format!(
            "DOCKER_HOST={docker_host} is dead ({}), while context `{name}` ({host}) answers",
            state.describe()
        ))
        .detail("DOCKER_HOST overrides `docker context use`; an `export DOCKER_HOST=...` left in a shell rc file is the usual cause")
        .fix_with(
            "unset it in this shell and remove the export from your shell's rc file",
            "unset DOCKER_HOST",
        ),
        None => Outcome::ok(format!(
            "DOCKER_HOST={docker_host} is used{overridden} (it does not answer: see `docker.daemon`)"
        )),
    }
}

/// The safe fix: `currentContext` = `default` in the CLI's `config.json`, written atomically
/// with every other setting kept.
fn use_default_context(facts: &Facts) -> Result<(), String> {
    if facts.var("DOCKER_CONTEXT").is_some() {
        return Err(
            "DOCKER_CONTEXT is set, and overrides config.json: unset it (`unset DOCKER_CONTEXT`) and remove it from your shell's rc file"
                .to_owned(),
        );
    }
    let config_dir = endpoint::config_dir(&facts.env)
        .ok_or_else(|| "there is no HOME or DOCKER_CONFIG".to_owned())?;
    set_current_context(&config_dir.join("config.json"), "default")
}

fn set_current_context(path: &Path, name: &str) -> Result<(), String> {
    // Replace the file a symlink points at, not the symlink (dotfile managers link it).
    let path: PathBuf = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut config: serde_json::Map<String, serde_json::Value> = match std::fs::read(&path) {
        Ok(bytes) if bytes.trim_ascii().is_empty() => serde_json::Map::new(),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not a JSON object: {e}", path.display()))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => serde_json::Map::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    config.insert("currentContext".to_owned(), serde_json::Value::from(name));
    // Indented with tabs, as the Docker CLI writes it.
    let mut text = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut serializer = serde_json::Serializer::with_formatter(&mut text, formatter);
    serde::Serialize::serialize(&config, &mut serializer).map_err(|e| e.to_string())?;
    text.push(b'\n');
    crate::fsio::write_atomic(&path, &text).map_err(|e| e.to_string())
}

fn default_socket(facts: &Facts) -> Result<Outcome, Outcome> {
    let endpoint = endpoint::resolve(&facts.env)
        .map_err(|error| Outcome::skipped(format!("{error} (see `docker.context`)")))?;
    let default = Path::new(DEFAULT_SOCKET_PATH);
    let state = probe(&format!("unix://{DEFAULT_SOCKET_PATH}"));
    Ok(default_socket_outcome(
        &endpoint.host,
        &endpoint.source,
        default,
        &state,
    ))
}

/// Judges the default socket (`default`, in state `state`) for an engine that answers at
/// `host` (chosen by `source`). The default path is a parameter so tests can point it anywhere.
fn default_socket_outcome(
    host: &str,
    source: &EndpointSource,
    default: &Path,
    state: &Probe,
) -> Outcome {
    let default_host = format!("unix://{}", default.display());
    if host == default_host {
        return Outcome::ok(format!("the engine answers at {default_host} itself"));
    }
    match state {
        Probe::Answers => {
            return Outcome::ok(format!(
                "the engine answers at {host} ({source}); {} answers too",
                default.display()
            ));
        }
        Probe::Denied => {
            return Outcome::ok(format!(
                "the engine answers at {host} ({source}); {} exists, but this user may not open it",
                default.display()
            ));
        }
        Probe::Missing | Probe::Refused | Probe::Unsupported | Probe::Failed(_) => {}
    }
    let why = match state {
        Probe::Missing => "does not exist".to_owned(),
        Probe::Refused => "is a dead socket (a runtime that is stopped or gone)".to_owned(),
        other => format!("does not answer ({})", other.describe()),
    };
    let mut outcome = Outcome::warn(format!(
        "the engine answers at {host} ({source}), but {} {why}",
        default.display()
    ))
    .detail(format!(
        "docker and devboot find the engine, but tools that hard-code {} (IDEs, testcontainers, `act`, some Compose plugins) fail with `dial unix {}: connect: no such file or directory`",
        default.display(),
        default.display()
    ));
    if let Some(socket) = host.strip_prefix("unix://") {
        let flag = if matches!(state, Probe::Missing) {
            "-s"
        } else {
            "-sf"
        };
        outcome = outcome.fix_with(
            format!(
                "link the engine's socket to the default path (Colima, OrbStack and rootless Docker do not create {})",
                default.display()
            ),
            format!("sudo ln {flag} {socket} {}", default.display()),
        );
    }
    outcome
        .fix_with(
            "or tell those tools where the engine is, in your shell's rc file",
            format!("export DOCKER_HOST={host}"),
        )
        .fix_with(
            "testcontainers also needs the socket path it mounts into its helper container",
            "export TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE=/var/run/docker.sock",
        )
}

/// Who may open a socket file, and who this process is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Access {
    path: String,
    owner: String,
    group: String,
    mode: u32,
    /// This process's user name, when known.
    user: Option<String>,
    /// Whether `/etc/group` lists the user in the socket's group.
    listed_in_group: bool,
    /// Whether this process runs with the socket's group.
    has_group: bool,
}

fn socket_permission(facts: &Facts) -> Result<Outcome, Outcome> {
    let endpoint = endpoint::resolve(&facts.env)
        .map_err(|_| Outcome::skipped("the endpoint does not resolve (see `docker.context`)"))?;
    let path = endpoint.host.strip_prefix("unix://").ok_or_else(|| {
        Outcome::skipped(format!(
            "the engine is reached at {}, not through a socket file",
            endpoint.host
        ))
    })?;
    let metadata = std::fs::metadata(path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Outcome::skipped(format!("no socket at {path} (see `docker.daemon`)"))
        } else {
            Outcome::error(format!("cannot look at {path}: {e}"))
        }
    })?;
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let status = std::fs::read_to_string(facts.proc_root.join("self/status")).unwrap_or_default();
    let uid = status_ids(&status, "Uid:").and_then(|ids| ids.first().copied());
    let process_groups = status_ids(&status, "Groups:").unwrap_or_default();
    let gid = metadata.gid();
    let user = uid
        .and_then(|uid| name_of(&passwd, uid))
        .or_else(|| facts.var("USER").map(str::to_owned));
    let group = name_of(&groups, gid).unwrap_or_else(|| gid.to_string());
    let access = Access {
        path: path.to_owned(),
        owner: name_of(&passwd, metadata.uid()).unwrap_or_else(|| metadata.uid().to_string()),
        listed_in_group: user
            .as_deref()
            .is_some_and(|user| group_members(&groups, &group).iter().any(|m| m == user)),
        group,
        mode: metadata.permissions().mode() & 0o7777,
        user,
        has_group: process_groups.contains(&gid)
            || status_ids(&status, "Gid:").is_some_and(|ids| ids.contains(&gid)),
    };
    Ok(match UnixStream::connect(path) {
        Ok(_) => Outcome::ok(format!(
            "you may open {path} ({}:{}, mode {:04o})",
            access.owner, access.group, access.mode
        )),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => denied(&access),
        Err(e) => Outcome::ok(format!(
            "the permissions of {path} let you in ({}:{}, mode {:04o}); connecting fails for another reason: {e} (see `docker.daemon`)",
            access.owner, access.group, access.mode
        )),
    })
}

fn denied(access: &Access) -> Outcome {
    let who = access
        .user
        .as_deref()
        .map_or_else(|| "this user".to_owned(), |u| format!("user `{u}`"));
    let path = &access.path;
    let group = &access.group;
    let outcome = Outcome::error(format!(
        "permission denied on {path} ({}:{group}, mode {:04o}): {who} is not in group `{group}`",
        access.owner, access.mode
    ));
    if access.listed_in_group && !access.has_group {
        return outcome
            .detail(format!(
                "/etc/group lists {who} in `{group}`, but this login session started before that"
            ))
            .fix_with(
                "log out and in again (or reboot); meanwhile, a shell with the group",
                format!("newgrp {group}"),
            );
    }
    let target_group = if group == "root" {
        "docker"
    } else {
        group.as_str()
    };
    let mut outcome = outcome
        .detail(format!(
            "members of `{target_group}` control the engine, which is as good as root on this machine"
        ))
        .fix_with(
            format!("add yourself to `{target_group}`, then log out and in (or run `newgrp {target_group}`)"),
            format!("sudo usermod -aG {target_group} $USER"),
        );
    if group == "root" {
        outcome = outcome.fix_with(
            "the socket belongs to group `root`: give it to `docker` (until the engine restarts; for good, `\"group\": \"docker\"` in /etc/docker/daemon.json)",
            format!("sudo chgrp docker {path}"),
        );
    }
    outcome.fix("or run Docker rootless (`dockerd-rootless-setuptool.sh install`), where the socket is your own")
}

/// The numbers of a `Key:\t1\t2` line of `/proc/self/status`.
fn status_ids(status: &str, key: &str) -> Option<Vec<u32>> {
    let line = status.lines().find_map(|line| line.strip_prefix(key))?;
    Some(
        line.split_whitespace()
            .filter_map(|id| id.parse().ok())
            .collect(),
    )
}

/// The name of id `id` in an `/etc/passwd` or `/etc/group` text (`name:x:id:...`).
fn name_of(table: &str, id: u32) -> Option<String> {
    table.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let found: u32 = fields.nth(1)?.parse().ok()?;
        (found == id).then(|| name.to_owned())
    })
}

/// The members `/etc/group` lists for `group`.
fn group_members(table: &str, group: &str) -> Vec<String> {
    table
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() >= 4 && fields[0] == group).then(|| {
                fields[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;

    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{Sandbox, reported, write};

    /// Writes a context as `docker context create NAME --docker host=HOST` does.
    fn create_context(sandbox: &Sandbox, name: &str, host: &str) {
        endpoint::write_test_context(&sandbox.home().join(".docker"), name, host);
    }

    fn use_context(sandbox: &Sandbox, name: &str) {
        let config =
            serde_json::json!({ "auths": { "registry.example": {} }, "currentContext": name });
        write(
            &sandbox.home().join(".docker/config.json"),
            &config.to_string(),
        );
    }

    #[test]
    fn a_context_whose_socket_is_gone_is_an_error_and_the_fix_switches_to_default() {
        let mut sandbox = Sandbox::new();
        // No engine at the default socket for this sandbox: point "default" nowhere by
        // checking only what this context says.
        let dead = sandbox.dir.path().join("colima.sock");
        let live = sandbox.dir.path().join("live.sock");
        let _listener = UnixListener::bind(&live).unwrap();
        create_context(&sandbox, "colima", &format!("unix://{}", dead.display()));
        create_context(&sandbox, "orbstack", &format!("unix://{}", live.display()));
        use_context(&sandbox, "colima");
        let outcome = reported(context(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            format!(
                "context `colima` (context `colima` from config.json) points at unix://{}, but no socket exists there",
                dead.display()
            )
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("docker context use default")
        );
        assert!(
            outcome
                .fixes
                .iter()
                .any(|f| f.command.as_deref() == Some("docker context use orbstack")),
            "{:?}",
            outcome.fixes
        );
        assert!(
            outcome.details.iter().any(|d| d.contains("`orbstack`")),
            "{:?}",
            outcome.details
        );

        // A socket file nobody listens on: refused.
        drop(UnixListener::bind(&dead).unwrap());
        let outcome = reported(context(&sandbox.facts()));
        assert!(
            outcome
                .summary
                .ends_with("nothing accepts connections there"),
            "{}",
            outcome.summary
        );

        use_default_context(&sandbox.facts()).unwrap();
        let config: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(sandbox.home().join(".docker/config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(config["currentContext"], "default");
        assert!(
            config["auths"]["registry.example"].is_object(),
            "other settings are kept"
        );
        assert_eq!(reported(context(&sandbox.facts())).status, Status::Ok);

        // DOCKER_CONTEXT overrides config.json: the fix cannot help, and says so.
        sandbox.var("DOCKER_CONTEXT", "colima");
        let outcome = reported(context(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("unset DOCKER_CONTEXT")
        );
        let refused = use_default_context(&sandbox.facts()).unwrap_err();
        assert!(refused.contains("unset DOCKER_CONTEXT"), "{refused}");

        sandbox.var("DOCKER_CONTEXT", "nonexistent");
        let outcome = reported(context(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error);
        assert!(
            outcome.summary.contains("does not exist"),
            "{}",
            outcome.summary
        );
    }

    #[test]
    fn a_context_that_answers_is_fine() {
        let sandbox = Sandbox::new();
        let live = sandbox.dir.path().join("live.sock");
        let _listener = UnixListener::bind(&live).unwrap();
        create_context(&sandbox, "orbstack", &format!("unix://{}", live.display()));
        use_context(&sandbox, "orbstack");
        let outcome = reported(context(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(outcome.summary.ends_with("(answers)"));

        let sandbox = Sandbox::new();
        assert_eq!(
            reported(context(&sandbox.facts())).summary,
            "the default context (unix:///var/run/docker.sock)"
        );
    }

    #[test]
    fn a_dead_docker_host_is_blamed_when_the_context_answers() {
        let mut sandbox = Sandbox::new();
        let live = sandbox.dir.path().join("live.sock");
        let _listener = UnixListener::bind(&live).unwrap();
        create_context(&sandbox, "orbstack", &format!("unix://{}", live.display()));
        use_context(&sandbox, "orbstack");
        sandbox.var("DOCKER_HOST", "unix:///nonexistent/docker.sock");
        let outcome = reported(context(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("unset DOCKER_HOST")
        );

        sandbox.var("DOCKER_HOST", format!("unix://{}", live.display()));
        let outcome = reported(context(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(
            outcome.summary.contains("overrides context `orbstack`"),
            "{}",
            outcome.summary
        );
    }

    #[test]
    fn socket_permissions_are_read_from_the_socket_and_the_user_tables() {
        let mut sandbox = Sandbox::new();
        let socket = sandbox.dir.path().join("docker.sock");
        sandbox.var("DOCKER_HOST", format!("unix://{}", socket.display()));
        assert_eq!(
            reported(socket_permission(&sandbox.facts())).status,
            Status::Skipped
        );
        let _listener = UnixListener::bind(&socket).unwrap();
        let outcome = reported(socket_permission(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(
            outcome.summary.starts_with("you may open"),
            "{}",
            outcome.summary
        );

        sandbox.var("DOCKER_HOST", "tcp://127.0.0.1:2375");
        assert_eq!(
            reported(socket_permission(&sandbox.facts())).status,
            Status::Skipped
        );
    }

    #[test]
    fn a_missing_default_socket_warns_while_the_context_socket_answers() {
        let sandbox = Sandbox::new();
        let live = sandbox.dir.path().join("colima.sock");
        let _listener = UnixListener::bind(&live).unwrap();
        let host = format!("unix://{}", live.display());
        let source = EndpointSource::ConfigContext("colima".into());
        let default = sandbox.dir.path().join("run/docker.sock");
        let judged = |state: &Probe| default_socket_outcome(&host, &source, &default, state);

        let missing = probe(&format!("unix://{}", default.display()));
        assert_eq!(missing, Probe::Missing);
        let outcome = judged(&missing);
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            format!(
                "the engine answers at {host} (context `colima` from config.json), but {} does not exist",
                default.display()
            )
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some(format!("sudo ln -s {} {}", live.display(), default.display()).as_str())
        );
        assert_eq!(
            outcome.fixes[1].command.as_deref(),
            Some(format!("export DOCKER_HOST={host}").as_str())
        );

        // A socket left by a runtime that is gone: replaced by the link.
        std::fs::create_dir_all(default.parent().unwrap()).unwrap();
        drop(UnixListener::bind(&default).unwrap());
        let refused = probe(&format!("unix://{}", default.display()));
        assert_eq!(refused, Probe::Refused);
        let outcome = judged(&refused);
        assert_eq!(outcome.status, Status::Warn);
        assert!(
            outcome
                .summary
                .ends_with("is a dead socket (a runtime that is stopped or gone)")
        );
        assert!(
            outcome.fixes[0]
                .command
                .as_deref()
                .unwrap()
                .starts_with("sudo ln -sf "),
            "{:?}",
            outcome.fixes
        );

        // The fix applied: the default path links to the live socket.
        std::fs::remove_file(&default).unwrap();
        std::os::unix::fs::symlink(&live, &default).unwrap();
        let linked = probe(&format!("unix://{}", default.display()));
        assert_eq!(judged(&linked).status, Status::Ok);

        // The engine is at the default path itself; a TCP engine gets only the export.
        let at_default = format!("unix://{}", default.display());
        let outcome = default_socket_outcome(
            &at_default,
            &EndpointSource::Default,
            &default,
            &Probe::Answers,
        );
        assert_eq!(outcome.status, Status::Ok);
        let outcome = default_socket_outcome(
            "tcp://127.0.0.1:2375",
            &EndpointSource::DockerHostVar,
            &default,
            &Probe::Missing,
        );
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("export DOCKER_HOST=tcp://127.0.0.1:2375")
        );
    }

    #[test]
    fn a_denied_socket_names_the_group_to_join() {
        let access = Access {
            path: "/var/run/docker.sock".into(),
            owner: "root".into(),
            group: "docker".into(),
            mode: 0o660,
            user: Some("ana".into()),
            listed_in_group: false,
            has_group: false,
        };
        let outcome = denied(&access);
        assert_eq!(
            outcome.summary,
            "permission denied on /var/run/docker.sock (root:docker, mode 0660): user `ana` is not in group `docker`"
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("sudo usermod -aG docker $USER")
        );

        let stale_session = denied(&Access {
            listed_in_group: true,
            ..access.clone()
        });
        assert_eq!(
            stale_session.fixes[0].command.as_deref(),
            Some("newgrp docker")
        );

        let root_group = denied(&Access {
            group: "root".into(),
            ..access
        });
        assert_eq!(
            root_group.fixes[0].command.as_deref(),
            Some("sudo usermod -aG docker $USER")
        );
        assert_eq!(
            root_group.fixes[1].command.as_deref(),
            Some("sudo chgrp docker /var/run/docker.sock")
        );
    }

    #[test]
    fn user_tables_parse() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nana:x:1000:1000::/home/ana:/bin/sh\n";
        let group = "root:x:0:\ndocker:x:106:ana,bo\n";
        assert_eq!(name_of(passwd, 1000).as_deref(), Some("ana"));
        assert_eq!(name_of(group, 106).as_deref(), Some("docker"));
        assert_eq!(name_of(group, 7), None);
        assert_eq!(group_members(group, "docker"), ["ana", "bo"]);
        assert!(group_members(group, "root").is_empty());
        let status = "Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 106 \n";
        assert_eq!(
            status_ids(status, "Uid:"),
            Some(vec![1000, 1000, 1000, 1000])
        );
        assert_eq!(status_ids(status, "Groups:"), Some(vec![4, 24, 106]));
    }
}
