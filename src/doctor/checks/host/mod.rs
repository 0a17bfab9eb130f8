//! `host.*`: the machine itself — platform, free disk, memory, WSL, and the Docker Desktop
//! settings file on macOS and Windows. Reads files only.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};

use crate::doctor::check::{Check, Outcome, QUICK, Run, Status};
use crate::doctor::facts::{Facts, is_wsl};
use crate::model::units::{GIB, format_bytes};

/// The family's checks, in report order.
pub(super) const CHECKS: &[Check] = &[OS, DISK, MEMORY, WSL, DOCKER_DESKTOP_SETTINGS];

const OS: Check = Check {
    id: "host.os",
    title: "Operating system",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(os),
    safe_fix: None,
};

const DISK: Check = Check {
    id: "host.disk",
    title: "Free disk space for the project and home directory",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(disk),
    safe_fix: None,
};

const MEMORY: Check = Check {
    id: "host.memory",
    title: "Host memory",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(memory),
    safe_fix: None,
};

const WSL: Check = Check {
    id: "host.wsl",
    title: "WSL: project on the Linux filesystem",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(wsl),
    safe_fix: None,
};

const DOCKER_DESKTOP_SETTINGS: Check = Check {
    id: "host.docker_desktop_settings",
    title: "Docker Desktop memory and file sharing",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(docker_desktop_settings),
    safe_fix: None,
};

#[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
fn os(facts: &Facts) -> Result<Outcome, Outcome> {
    let arch = std::env::consts::ARCH;
    let family = std::env::consts::OS;
    let kernel = std::fs::read_to_string(facts.proc_root.join("sys/kernel/osrelease"))
        .ok()
        .map(|release| release.trim().to_owned());
    let name = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                line.strip_prefix("PRETTY_NAME=")
                    .map(|value| value.trim_matches('"').to_owned())
            })
        });
    let platform = match kernel {
        Some(kernel) => format!("{family} {kernel}, {arch}"),
        None => format!("{family}, {arch}"),
    };
    Ok(Outcome::ok(match name {
        Some(name) => format!("{name} ({platform})"),
        None => platform,
    }))
}

/// The nearest existing ancestor of `path` (statvfs needs an existing path).
fn existing(path: &Path) -> Option<&Path> {
    path.ancestors().find(|p| p.exists())
}

#[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
fn disk(facts: &Facts) -> Result<Outcome, Outcome> {
    Ok(disk_with(facts, 5 * GIB, GIB))
}

/// [`disk`] with its thresholds: warn below `warn_below` free bytes, error below `error_below`.
fn disk_with(facts: &Facts, warn_below: u64, error_below: u64) -> Outcome {
    let mut places: Vec<PathBuf> = vec![facts.app_dir().to_path_buf()];
    places.extend(facts.home().map(Path::to_path_buf));
    let mut devices = Vec::new();
    let mut measured = Vec::new();
    let mut unreadable = Vec::new();
    for place in places {
        let Some(path) = existing(&place) else {
            continue;
        };
        let device = std::fs::metadata(path).map(|m| m.dev()).ok();
        if device.is_some() && devices.contains(&device) {
            continue;
        }
        devices.push(device);
        match rustix::fs::statvfs(path) {
            Ok(stat) => measured.push((place, stat.f_bavail.saturating_mul(stat.f_frsize))),
            Err(error) => {
                unreadable.push(format!("cannot measure {}: {error}", facts.display(&place)));
            }
        }
    }
    let Some(&(_, least)) = measured.iter().min_by_key(|(_, free)| *free) else {
        return Outcome::warn("could not measure free disk space").details(unreadable);
    };
    let summary = measured
        .iter()
        .map(|(place, free)| format!("{} free in {}", format_bytes(*free), facts.display(place)))
        .collect::<Vec<_>>()
        .join("; ");
    let outcome = if least < error_below {
        Outcome::error(summary)
    } else if least < warn_below {
        Outcome::warn(summary)
    } else {
        return Outcome::ok(summary).details(unreadable);
    };
    outcome
        .detail(format!(
            "bundle install, image builds and the database need space; below {} they fail with `no space left on device`",
            format_bytes(warn_below)
        ))
        .details(unreadable)
        .fix_with(
            "remove stopped containers, unused images and build cache (volumes are kept)",
            "docker system prune",
        )
        .fix_with("find what is large in your home directory", "du -sh ~/* | sort -h | tail")
}

#[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
fn memory(facts: &Facts) -> Result<Outcome, Outcome> {
    Ok(memory_with(facts, 4 * GIB))
}

fn memory_with(facts: &Facts, warn_below: u64) -> Outcome {
    let path = facts.proc_root.join("meminfo");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Outcome::skipped(
            "no /proc/meminfo (not Linux); Docker Desktop's memory is checked by `host.docker_desktop_settings`",
        );
    };
    let Some(total) = meminfo_bytes(&text, "MemTotal") else {
        return Outcome::warn("cannot read the memory size from /proc/meminfo");
    };
    let available = meminfo_bytes(&text, "MemAvailable");
    let mut summary = format!("{} total", format_bytes(total));
    if let Some(available) = available {
        summary.push_str(&format!(", {} available", format_bytes(available)));
    }
    let required = facts
        .stack()
        .and_then(|stack| stack.requirements.memory_bytes);
    if let Some(required) = required.filter(|required| total < *required) {
        return Outcome::error(format!("{summary}; the profile needs {}", format_bytes(required)))
            .fix("run devboot on a machine with more memory, or lower `requires.memory` in devboot.local.toml");
    }
    if total < warn_below {
        return Outcome::warn(summary)
            .detail(format!(
                "below {} the kernel kills `bundle install` and asset builds (exit code 137)",
                format_bytes(warn_below)
            ))
            .fix("close memory-hungry programs, or add swap");
    }
    Outcome::ok(summary)
}

/// A `Key:   1234 kB` line of /proc/meminfo, in bytes.
fn meminfo_bytes(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        let kib: u64 = value.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    })
}

fn wsl(facts: &Facts) -> Result<Outcome, Outcome> {
    let version = std::fs::read_to_string(facts.proc_root.join("version")).unwrap_or_default();
    if !is_wsl(&version) {
        return Err(Outcome::skipped("not running under WSL"));
    }
    let generation = if version.contains("WSL2") {
        "WSL 2"
    } else {
        "WSL"
    };
    let dir = facts.app_dir();
    if let Some(drive) = windows_drive(dir) {
        return Ok(Outcome::warn(format!(
            "{generation}: the project is on the Windows drive {drive}: ({})",
            facts.display(dir)
        ))
        .detail("files under /mnt/ go through a network share: bundle, rails and file watching are many times slower, and permissions and line endings behave oddly")
        .fix("clone the repository inside the Linux filesystem (e.g. under ~/code) and run devboot there"));
    }
    Ok(Outcome::ok(format!(
        "{generation}; the project is on the Linux filesystem"
    )))
}

/// `c` for `/mnt/c/...`: the Windows drive a WSL path lies on.
fn windows_drive(path: &Path) -> Option<char> {
    let mut components = path.components();
    let (Some(Component::RootDir), Some(Component::Normal(mnt)), Some(Component::Normal(drive))) =
        (components.next(), components.next(), components.next())
    else {
        return None;
    };
    let drive = drive.to_str()?;
    let mut chars = drive.chars();
    match (mnt.to_str(), chars.next(), chars.next()) {
        (Some("mnt"), Some(letter), None) if letter.is_ascii_alphabetic() => Some(letter),
        _ => None,
    }
}

/// Docker Desktop's settings files, newest format first: macOS keeps them in a group container,
/// Windows under `%APPDATA%\Docker`.
fn desktop_settings_files(facts: &Facts) -> Vec<(PathBuf, bool)> {
    let mut files = Vec::new();
    if let Some(home) = facts.home() {
        let dir = home.join("Library/Group Containers/group.com.docker");
        files.push((dir.join("settings-store.json"), true));
        files.push((dir.join("settings.json"), true));
    }
    if let Some(appdata) = facts.var("APPDATA") {
        let dir = Path::new(appdata).join("Docker");
        files.push((dir.join("settings-store.json"), false));
        files.push((dir.join("settings.json"), false));
    }
    files
}

const VIRTIOFS: &str = "VirtioFS";

/// How Docker Desktop on macOS shares files, when its settings say: `VirtioFS`, else gRPC FUSE,
/// else the legacy osxfs.
fn file_sharing(settings: &serde_json::Value) -> Option<&'static str> {
    let flag = |name| setting(settings, name).and_then(serde_json::Value::as_bool);
    match (
        flag("UseVirtualizationFrameworkVirtioFS"),
        flag("UseGrpcfuse"),
    ) {
        (Some(true), _) => Some(VIRTIOFS),
        (_, Some(true)) => Some("gRPC FUSE"),
        (None, None) => None,
        _ => Some("osxfs (legacy)"),
    }
}

/// A setting under either spelling (`MemoryMiB` in settings-store.json, `memoryMiB` before).
fn setting<'v>(settings: &'v serde_json::Value, name: &str) -> Option<&'v serde_json::Value> {
    let mut camel = name.to_owned();
    if let Some(first) = camel.get_mut(..1) {
        first.make_ascii_lowercase();
    }
    settings.get(name).or_else(|| settings.get(&camel))
}

fn docker_desktop_settings(facts: &Facts) -> Result<Outcome, Outcome> {
    let (path, macos) = desktop_settings_files(facts)
        .into_iter()
        .find(|(path, _)| path.is_file())
        .ok_or_else(|| {
            Outcome::skipped(match std::env::consts::OS {
                "macos" | "windows" => {
                    "no Docker Desktop settings file (Docker Desktop not installed?)"
                }
                _ => "not macOS or Windows, and no Docker Desktop settings file",
            })
        })?;
    let shown = facts.display(&path);
    let settings: serde_json::Value = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
        .map_err(|error| Outcome::warn(format!("cannot read {shown}: {error}")))?;
    let mut problems = Vec::new();
    let mut outcome = Outcome::ok("");
    let mut facts_seen = Vec::new();

    if let Some(mib) = setting(&settings, "MemoryMiB").and_then(serde_json::Value::as_u64) {
        facts_seen.push(format!("{mib} MiB of memory"));
        let required_mib = facts
            .stack()
            .and_then(|stack| stack.requirements.memory_bytes)
            .map_or(4096, |bytes| bytes.div_ceil(1024 * 1024).max(4096));
        if mib < required_mib {
            problems.push(Status::Warn);
            outcome = outcome
                .detail(format!(
                    "Docker Desktop's VM has {mib} MiB of memory; builds and Rails need {required_mib} MiB or more (containers are killed with exit code 137)"
                ))
                .fix(format!(
                    "raise it to {required_mib} MiB or more: Docker Desktop → Settings → Resources → Memory"
                ));
        }
    }

    if macos
        && let Some(shared) =
            setting(&settings, "FilesharingDirectories").and_then(|v| v.as_array())
    {
        {
            let shared: Vec<&str> = shared
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect();
            let dir = facts.app_dir();
            let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
            let is_shared = shared
                .iter()
                .any(|root| dir.starts_with(root) || canonical.starts_with(root));
            facts_seen.push(format!("sharing {}", shared.join(", ")));
            if !is_shared {
                problems.push(Status::Error);
                outcome = outcome
                    .detail(format!(
                        "{} is not under a directory Docker Desktop shares ({}); mounting it fails with `Mounts denied`",
                        facts.display(dir),
                        shared.join(", ")
                    ))
                    .fix("add the project's directory in Docker Desktop → Settings → Resources → File sharing, or move the checkout under your home directory");
            }
        }
    }

    if macos && let Some(implementation) = file_sharing(&settings) {
        facts_seen.push(format!("{implementation} file sharing"));
        if implementation != VIRTIOFS {
            problems.push(Status::Warn);
            outcome = outcome
                .detail(format!(
                    "Docker Desktop shares files with {implementation}, the slow way: a bind-mounted Rails app boots, reloads and runs its tests several times slower than with {VIRTIOFS}"
                ))
                .fix(format!(
                    "choose {VIRTIOFS} in Docker Desktop → Settings → General → Virtual Machine Options (macOS 12.5 or later); keep node_modules and tmp/ on volumes too (the bundle already is: see the profile reference)"
                ));
        }
    }

    let status = problems.into_iter().max().unwrap_or(Status::Ok);
    let summary = if facts_seen.is_empty() {
        format!("{shown} sets neither memory nor file sharing")
    } else {
        format!("Docker Desktop: {}", facts_seen.join("; "))
    };
    Ok(Outcome {
        status,
        summary,
        ..outcome
    }
    .detail(format!("read from {shown}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::testing::{Sandbox, reported, write};

    #[test]
    fn os_names_the_platform() {
        let outcome = reported(os(&Sandbox::new().facts()));
        assert_eq!(outcome.status, Status::Ok);
        assert!(
            outcome.summary.contains(std::env::consts::ARCH),
            "{}",
            outcome.summary
        );
    }

    #[test]
    fn disk_measures_the_real_filesystems_and_applies_the_thresholds() {
        let sandbox = Sandbox::new();
        let facts = sandbox.facts();
        let outcome = disk_with(&facts, 0, 0);
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(outcome.summary.contains("free in ~/") || outcome.summary.contains("free in /"));
        // The same real measurement against thresholds no disk meets.
        let outcome = disk_with(&facts, u64::MAX, 0);
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("docker system prune")
        );
        assert_eq!(disk_with(&facts, u64::MAX, u64::MAX).status, Status::Error);
    }

    #[test]
    fn disk_measures_each_filesystem_once() {
        let sandbox = Sandbox::new();
        // HOME and the project are in the same temporary directory: one filesystem.
        let outcome = disk_with(&sandbox.facts(), 0, 0);
        assert_eq!(
            outcome.summary.matches("free in").count(),
            1,
            "{}",
            outcome.summary
        );
    }

    fn with_proc(sandbox: &Sandbox, start: &Path, files: &[(&str, &str)]) -> Facts {
        let proc_root = sandbox.dir.path().join("proc");
        for (name, content) in files {
            write(&proc_root.join(name), content);
        }
        let mut facts = sandbox.facts_at(start);
        facts.proc_root = proc_root;
        facts
    }

    #[test]
    fn memory_reads_meminfo() {
        let sandbox = Sandbox::new();
        let small = "MemTotal:        2000000 kB\nMemFree: 1 kB\nMemAvailable:    1000000 kB\n";
        let facts = with_proc(&sandbox, &sandbox.project(), &[("meminfo", small)]);
        let outcome = reported(memory(&facts));
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(outcome.summary, "1.9 GiB total, 976.6 MiB available");

        let big = Sandbox::new();
        let facts = with_proc(
            &big,
            &sandbox.project(),
            &[("meminfo", "MemTotal: 16000000 kB\n")],
        );
        assert_eq!(reported(memory(&facts)).status, Status::Ok);
        let other = Sandbox::new();
        let none = with_proc(&other, &sandbox.project(), &[]);
        assert_eq!(reported(memory(&none)).status, Status::Skipped);
    }

    #[test]
    fn memory_below_the_profile_requirement_is_an_error() {
        let sandbox = Sandbox::new();
        sandbox.write(
            "devboot.toml",
            &format!(
                "{}\n[requires]\nmemory = \"32GiB\"\n",
                crate::doctor::testing::PROFILE
            ),
        );
        let facts = with_proc(
            &sandbox,
            &sandbox.project(),
            &[("meminfo", "MemTotal: 16000000 kB\n")],
        );
        let outcome = reported(memory(&facts));
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert!(
            outcome.summary.ends_with("the profile needs 32.0 GiB"),
            "{}",
            outcome.summary
        );
    }

    #[test]
    fn memory_on_this_machine_reads() {
        if Path::new("/proc/meminfo").exists() {
            let outcome = reported(memory(&Sandbox::new().facts()));
            assert_ne!(outcome.status, Status::Skipped);
            assert!(outcome.summary.contains("total"), "{}", outcome.summary);
        }
    }

    #[test]
    fn wsl_warns_about_projects_on_the_windows_drive() {
        let sandbox = Sandbox::new();
        let wsl2 = "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@1) (gcc) #1 SMP";
        let on_c = with_proc(
            &sandbox,
            Path::new("/mnt/c/Users/me/app"),
            &[("version", wsl2)],
        );
        let outcome = reported(wsl(&on_c));
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert!(
            outcome.summary.contains("Windows drive c:"),
            "{}",
            outcome.summary
        );
        assert!(outcome.fixes[0].description.contains("Linux filesystem"));

        let at_home = with_proc(&sandbox, &sandbox.project(), &[("version", wsl2)]);
        assert_eq!(reported(wsl(&at_home)).status, Status::Ok);
        assert_eq!(
            reported(wsl(&at_home)).summary,
            "WSL 2; the project is on the Linux filesystem"
        );

        let plain = Sandbox::new();
        let linux = with_proc(
            &plain,
            Path::new("/mnt/c/x"),
            &[("version", "Linux version 6.1.0-18-amd64 (debian)")],
        );
        assert_eq!(reported(wsl(&linux)).summary, "not running under WSL");
        assert_eq!(windows_drive(Path::new("/mnt/data/x")), None);
        assert_eq!(windows_drive(Path::new("/mnt/d")), Some('d'));
    }

    const DESKTOP: &str = "Library/Group Containers/group.com.docker";

    #[test]
    fn docker_desktop_settings_are_skipped_without_the_file_off_macos() {
        if !matches!(std::env::consts::OS, "macos" | "windows") {
            let outcome = reported(docker_desktop_settings(&Sandbox::new().facts()));
            assert_eq!(outcome.status, Status::Skipped);
            assert!(
                outcome.summary.starts_with("not macOS"),
                "{}",
                outcome.summary
            );
        }
    }

    #[test]
    fn docker_desktop_with_little_memory_and_an_unshared_project_is_reported() {
        let sandbox = Sandbox::new();
        write(
            &sandbox.home().join(DESKTOP).join("settings.json"),
            r#"{"memoryMiB": 2048, "filesharingDirectories": ["/Users", "/Volumes"]}"#,
        );
        let outcome = reported(docker_desktop_settings(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "Docker Desktop: 2048 MiB of memory; sharing /Users, /Volumes"
        );
        assert!(outcome.details[0].contains("2048 MiB"));
        assert!(outcome.details[1].contains("Mounts denied"));
        assert!(outcome.fixes[1].description.contains("File sharing"));
    }

    #[test]
    fn slow_file_sharing_on_macos_is_a_warning_with_the_setting_to_change() {
        let sandbox = Sandbox::new();
        let file = sandbox.home().join(DESKTOP).join("settings.json");
        for (settings, implementation) in [
            (
                r#"{"useVirtualizationFrameworkVirtioFS": false, "useGrpcfuse": true}"#,
                "gRPC FUSE",
            ),
            (
                r#"{"useVirtualizationFrameworkVirtioFS": false, "useGrpcfuse": false}"#,
                "osxfs (legacy)",
            ),
        ] {
            write(&file, settings);
            let outcome = reported(docker_desktop_settings(&sandbox.facts()));
            assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
            assert_eq!(
                outcome.summary,
                format!("Docker Desktop: {implementation} file sharing")
            );
            assert!(
                outcome.details[0].contains("several times slower"),
                "{outcome:?}"
            );
            assert!(
                outcome.fixes[0].description.contains("choose VirtioFS"),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn docker_desktop_settings_store_that_fits_is_ok() {
        let sandbox = Sandbox::new();
        let shared = sandbox.dir.path().display().to_string();
        write(
            &sandbox.home().join(DESKTOP).join("settings-store.json"),
            &serde_json::json!({"MemoryMiB": 8192, "FilesharingDirectories": [shared]}).to_string(),
        );
        // The older file is ignored when the newer one exists.
        write(
            &sandbox.home().join(DESKTOP).join("settings.json"),
            r#"{"memoryMiB": 1}"#,
        );
        let outcome = reported(docker_desktop_settings(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");

        write(
            &sandbox.home().join(DESKTOP).join("settings-store.json"),
            &serde_json::json!({"UseVirtualizationFrameworkVirtioFS": true, "UseGrpcfuse": true})
                .to_string(),
        );
        let outcome = reported(docker_desktop_settings(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(outcome.summary, "Docker Desktop: VirtioFS file sharing");

        write(
            &sandbox.home().join(DESKTOP).join("settings-store.json"),
            "{ not json",
        );
        assert_eq!(
            reported(docker_desktop_settings(&sandbox.facts())).status,
            Status::Warn
        );
    }
}
