//! One rulebook for what a stack requires of the machine: the engine's API version, its memory
//! and disk, the tools the profile names ([`tools`]), the host ports it publishes, and an
//! engine on this machine for its bind mounts ([`bind_mounts`]). The
//! judgements are pure functions of measured facts; the gate before `up` and `doctor` both
//! apply them, so they never disagree. Measuring the engine is [`EngineResources::measure`]
//! (its only I/O: `statvfs` of the data directory, when that directory is on this host).

use bollard::models::SystemInfo;

use crate::error::{Error, Problem};
use crate::model::units::format_bytes;
use crate::model::{Mount, Stack};

pub use crate::host::tools::check as tools;

/// What the engine has, as far as it can be measured from here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineResources {
    pub memory: Option<u64>,
    pub cpus: Option<i64>,
    /// Free bytes in the engine's data directory; `None` when it is not on this host (a
    /// remote engine, or Docker Desktop's VM).
    pub disk_free: Option<u64>,
    pub data_root: Option<String>,
}

impl EngineResources {
    /// Reads `info` of the engine reached at `endpoint` (`unix:///…`, `tcp://…`). The data
    /// directory is measured only when the engine runs on this machine: reached over a unix
    /// socket, and not in a VM (Docker Desktop's `/var/lib/docker` is inside its VM).
    pub fn measure(info: &SystemInfo, endpoint: &str) -> Self {
        let local = endpoint.starts_with("unix://")
            && !crate::engine::provider::Provider::of(info).runs_in_vm();
        let data_root = info.docker_root_dir.clone();
        let disk_free = data_root
            .as_deref()
            .filter(|_| local)
            .and_then(|root| rustix::fs::statvfs(root).ok())
            .map(|stat| stat.f_bavail.saturating_mul(stat.f_frsize));
        Self {
            memory: info.mem_total.and_then(|m| u64::try_from(m).ok()),
            cpus: info.ncpu,
            disk_free,
            data_root,
        }
    }

    /// The data directory, for messages.
    pub fn data_root(&self) -> &str {
        self.data_root.as_deref().unwrap_or("the data directory")
    }
}

/// The negotiated API version `have` against the profile's minimum `need`.
pub fn api_version(have: &str, need: Option<(u32, u32)>) -> Result<(), Error> {
    crate::engine::connect::check_api_version(have, need)
}

/// The engine's memory below the profile's `requires.memory`.
pub fn memory(have: &EngineResources, need: Option<u64>) -> Option<Problem> {
    let (need, memory) = (need?, have.memory?);
    (memory < need).then(|| Problem {
        message: format!(
            "the engine has {} of memory; the profile needs {}",
            format_bytes(memory),
            format_bytes(need)
        ),
        fix: Some(
            "give the engine more memory (Docker Desktop: Settings → Resources; Colima: `colima start --memory 6`), or lower `requires.memory` in devboot.local.toml"
                .into(),
        ),
    })
}

/// How to give the engine back disk space, without touching volumes.
pub const FREE_ENGINE_DISK: &str = "free disk space where the engine keeps its data: `docker system df` shows what uses it, `docker system prune` removes stopped containers, unused images and build cache (volumes are kept)";

/// Free space in the engine's data directory below the profile's `requires.disk`. Nothing
/// when the directory cannot be measured from here.
pub fn disk(have: &EngineResources, need: Option<u64>) -> Option<Problem> {
    let (need, free) = (need?, have.disk_free?);
    (free < need).then(|| Problem {
        message: format!(
            "the engine's data directory `{}` has {} free; the profile needs {}",
            have.data_root(),
            format_bytes(free),
            format_bytes(need)
        ),
        fix: Some(FREE_ENGINE_DISK.into()),
    })
}

/// Whether a host port may be published: free, or already published by the project's own
/// containers (which the next `up` replaces).
pub fn port_available(published_by_project: bool, free_now: bool) -> bool {
    published_by_project || free_now
}

/// The variable that says the project's files are at the same path on the remote engine's
/// host (synced there, or a checkout there), so its bind mounts are meant.
pub const REMOTE_BIND_MOUNTS_VAR: &str = "DEVBOOT_REMOTE_BIND_MOUNTS";

/// Bind mounts on an engine on another machine (`remote_engine`: its endpoint): the engine
/// mounts *its* host's paths, so the app would see an empty directory the engine made, not
/// this checkout. Fine when the developer says the files are there too (`paths_synced`).
pub fn bind_mounts(
    stack: &Stack,
    remote_engine: Option<&str>,
    paths_synced: bool,
) -> Option<Problem> {
    let engine = remote_engine.filter(|_| !paths_synced)?;
    let mounts: Vec<String> = stack
        .services
        .values()
        .flat_map(|service| {
            service.mounts.iter().filter_map(|mount| match mount {
                Mount::Bind { source, target, .. } => Some(format!(
                    "`{}` → {target} of `{}`",
                    stack.root.join(source).display(),
                    service.name
                )),
                Mount::Volume { .. } => None,
            })
        })
        .collect();
    (!mounts.is_empty()).then(|| Problem {
        message: format!(
            "the engine at `{engine}` runs on another machine, and bind mounts name that machine's files, not this checkout's: {}",
            mounts.join(", ")
        ),
        fix: Some(format!(
            "run devboot where the engine is (a checkout on that machine: `ssh` there, clone, `devboot up`), \
             or keep this checkout synced to the same path there (mutagen, rsync, a shared disk) and set \
             `{REMOTE_BIND_MOUNTS_VAR}=synced`; or use a local engine"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::units::GIB;

    fn resources(memory: u64, disk_free: Option<u64>) -> EngineResources {
        EngineResources {
            memory: Some(memory),
            cpus: Some(2),
            disk_free,
            data_root: Some("/var/lib/docker".into()),
        }
    }

    #[test]
    fn memory_below_the_requirement_is_a_problem_with_the_fix() {
        let problem = memory(&resources(2 * GIB, None), Some(4 * GIB)).unwrap();
        assert!(problem.message.contains("2.0 GiB"), "{}", problem.message);
        assert!(
            problem.message.contains("needs 4.0 GiB"),
            "{}",
            problem.message
        );
        assert!(problem.fix.unwrap().contains("requires.memory"));
        assert_eq!(memory(&resources(8 * GIB, None), Some(4 * GIB)), None);
        assert_eq!(memory(&resources(GIB, None), None), None, "no requirement");
    }

    #[test]
    fn disk_is_judged_only_where_it_was_measured() {
        let problem = disk(&resources(8 * GIB, Some(GIB)), Some(10 * GIB)).unwrap();
        assert!(
            problem.message.contains("/var/lib/docker"),
            "{}",
            problem.message
        );
        assert_eq!(
            disk(&resources(8 * GIB, Some(20 * GIB)), Some(10 * GIB)),
            None
        );
        // A remote engine or Docker Desktop: not measurable from here, so no verdict.
        assert_eq!(disk(&resources(8 * GIB, None), Some(10 * GIB)), None);
    }

    #[test]
    fn a_remote_or_desktop_engines_data_directory_is_not_measured_here() {
        // `/` exists on this host, so a local engine's directory there is measured...
        let info = |os: &str| SystemInfo {
            operating_system: Some(os.into()),
            docker_root_dir: Some("/".into()),
            mem_total: Some(8 << 30),
            ..SystemInfo::default()
        };
        let local =
            EngineResources::measure(&info("Debian GNU/Linux 12"), "unix:///var/run/docker.sock");
        assert!(local.disk_free.is_some());
        // ...but not a remote engine's, nor Docker Desktop's (inside its VM): the gate and
        // doctor then judge memory only, never the host's own disk.
        let remote = EngineResources::measure(&info("Debian GNU/Linux 12"), "tcp://10.0.0.5:2376");
        let desktop =
            EngineResources::measure(&info("Docker Desktop"), "unix:///var/run/docker.sock");
        for engine in [remote, desktop] {
            assert_eq!(engine.disk_free, None);
            assert_eq!(engine.memory, Some(8 << 30));
            assert_eq!(disk(&engine, Some(u64::MAX)), None);
        }
    }

    #[test]
    fn bind_mounts_on_a_remote_engine_are_a_problem_unless_synced() {
        let stack = crate::model::test_stack("extends = \"rails\"\n");
        let problem = bind_mounts(&stack, Some("ssh://me@build-box"), false).unwrap();
        assert!(
            problem
                .message
                .starts_with("the engine at `ssh://me@build-box` runs on another machine"),
            "{}",
            problem.message
        );
        assert!(problem.message.contains("of `web`"), "{}", problem.message);
        assert!(
            problem
                .fix
                .unwrap()
                .contains("DEVBOOT_REMOTE_BIND_MOUNTS=synced")
        );
        assert_eq!(bind_mounts(&stack, Some("ssh://me@build-box"), true), None);
        assert_eq!(bind_mounts(&stack, None, false), None);
    }

    #[test]
    fn the_projects_own_ports_count_as_available() {
        assert!(port_available(true, false));
        assert!(port_available(false, true));
        assert!(!port_available(false, false));
    }
}
