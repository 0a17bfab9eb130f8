//! `docker.platform` and `docker.provider`: what kind of engine answers and what it runs — the
//! stack's images are built for the engine's CPU architecture (another one runs emulated, slowly
//! and crash-prone), and the engine is Docker's own rather than Podman behind the Docker API
//! (which behaves differently in ways that break Compose workflows).

use std::sync::Arc;

use bollard::models::SystemVersion;
use futures_util::future::join_all;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::facts::Facts;
use crate::doctor::facts::platform::{engine_arch, oci_arch};
use crate::doctor::facts::project::project_state;
use crate::engine::provider::{Provider, podman_version};

pub(super) const PLATFORM: Check = Check {
    id: "docker.platform",
    title: "The stack's images are built for the engine's CPU architecture",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(platform(facts))),
    safe_fix: None,
};

pub(super) const PROVIDER: Check = Check {
    id: "docker.provider",
    title: "The engine is Docker, not Podman behind the Docker API",
    depends_on: &["docker.daemon"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(provider(facts))),
    safe_fix: None,
};

/// One image of the stack as the engine has it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StackImage {
    service: String,
    image: String,
    /// The image's `Architecture` (and `Variant`), when present.
    arch: Option<String>,
    /// Built from the repository rather than pulled.
    built: bool,
}

async fn platform(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let engine = engine_arch(&facts).await?;
    let state = project_state(&facts).await?;
    let connection = facts
        .connection()
        .await
        .map_err(|_| Outcome::skipped("no engine"))?;
    let docker = &connection.docker;
    let images = join_all(state.stack.services.values().map(|service| async move {
        let image = service.image.to_string();
        let present = state.observed.images.contains_key(&image);
        let arch = if present {
            docker.inspect_image(&image).await.ok().and_then(|i| {
                let arch = i.architecture.filter(|a| !a.is_empty())?;
                Some(match i.variant.filter(|v| !v.is_empty()) {
                    Some(variant) => format!("{arch}/{variant}"),
                    None => arch,
                })
            })
        } else {
            None
        };
        present.then(|| StackImage {
            service: service.name.clone(),
            image,
            arch,
            built: service.build.is_some(),
        })
    }))
    .await;
    let images: Vec<StackImage> = images.into_iter().flatten().collect();
    Ok(platform_outcome(&engine, &images))
}

/// Compares each image's architecture with the engine's (`x86_64`, `aarch64`, ...).
fn platform_outcome(engine: &str, images: &[StackImage]) -> Outcome {
    let want = oci_arch(engine);
    if images.is_empty() {
        return Outcome::skipped(
            "none of the stack's images is on the engine yet (`devboot up` pulls or builds them)",
        );
    }
    let foreign: Vec<&StackImage> = images
        .iter()
        .filter(|i| {
            i.arch
                .as_deref()
                .is_some_and(|arch| oci_arch(arch.split('/').next().unwrap_or(arch)) != want)
        })
        .collect();
    if foreign.is_empty() {
        let what = if images.len() == 1 {
            "the stack's image is".to_owned()
        } else {
            format!("all {} images of the stack are", images.len())
        };
        return Outcome::ok(format!("{what} linux/{want}, like the engine ({engine})"));
    }
    let listed: Vec<String> = foreign
        .iter()
        .map(|i| {
            format!(
                "`{}` ({}) is linux/{}",
                i.service,
                i.image,
                i.arch.as_deref().unwrap_or("?")
            )
        })
        .collect();
    let mut outcome = Outcome::warn(format!(
        "{}, but the engine runs {engine} (linux/{want})",
        listed.join("; ")
    ))
    .detail("such a container runs under emulation (QEMU, or Rosetta on Apple Silicon): several times slower, and crashes such as `qemu: uncaught target signal 11 (Segmentation fault)` or Postgres failing its init; without emulation installed it fails at once with `exec format error`");
    for image in &foreign {
        outcome = if image.built {
            outcome.fix(format!(
                "rebuild `{}` for linux/{want}: check that the Dockerfile does not pin `FROM --platform=...`, then `devboot up` builds it for the engine",
                image.service
            ))
        } else {
            outcome.fix_with(
                format!(
                    "pull the linux/{want} variant of `{}` (official images are multi-arch); if there is none, pick an image published for linux/{want} in devboot.local.toml",
                    image.image
                ),
                format!("docker pull --platform linux/{want} {}", image.image),
            )
        };
    }
    if want == "arm64" {
        outcome = outcome.fix("on Apple Silicon, when an amd64-only image cannot be avoided: Docker Desktop → Settings → General → \"Use Rosetta for x86_64/amd64 emulation\"");
    }
    outcome.fix_with("then recreate the containers from them", "devboot up")
}

async fn provider(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let connection = facts
        .connection()
        .await
        .map_err(|error| Outcome::skipped(error.to_string()))?;
    let version =
        connection.docker.version().await.map_err(|error| {
            Outcome::error(format!("cannot read the engine's version: {error}"))
        })?;
    let info = facts.engine_info().await.ok().map(|sample| &sample.info);
    let operating_system = info.and_then(|i| i.operating_system.as_deref());
    let engine_name = info.and_then(|i| i.name.as_deref());
    let security: Vec<String> = info
        .and_then(|i| i.security_options.clone())
        .unwrap_or_default();
    Ok(provider_outcome(
        &version,
        operating_system,
        engine_name,
        &security,
    ))
}

/// What answers behind the Docker API, from `/version` (Podman lists a `Podman Engine`
/// component) and `/info` (its operating system and name say Docker Desktop, `OrbStack`,
/// Colima, ...: [`Provider`]).
fn provider_outcome(
    version: &SystemVersion,
    operating_system: Option<&str>,
    engine_name: Option<&str>,
    security_options: &[String],
) -> Outcome {
    let components = version.components.as_deref().unwrap_or_default();
    let podman = podman_version(version).or_else(|| {
        operating_system
            .is_some_and(|os| os.to_ascii_lowercase().contains("podman"))
            .then(|| version.version.clone().unwrap_or_else(|| "?".to_owned()))
    });
    let rootless = security_options.iter().any(|o| o.contains("name=rootless"));
    let platform = format!(
        "{}/{}",
        version.os.as_deref().unwrap_or("?"),
        version.arch.as_deref().unwrap_or("?")
    );
    if let Some(podman_version) = podman {
        let socket = if rootless {
            "unix://$XDG_RUNTIME_DIR/podman/podman.sock"
        } else {
            "unix:///run/podman/podman.sock"
        };
        return Outcome::warn(format!(
            "the engine is Podman {podman_version}{} behind the Docker API (API {})",
            if rootless { ", rootless" } else { "" },
            version.api_version.as_deref().unwrap_or("?")
        ))
        .detail("devboot works with it, with differences: Podman runs healthchecks from systemd timers, and without systemd never on its own (devboot `up` asks it to run each once the service answers; `status` then shows that verdict until the next `up`), `docker compose` needs the Compose binary pointed at Podman's socket, and rootless bind mounts map your user to root inside containers")
        .fix_with(
            "keep Podman's Docker-API socket running, and point Docker tools at it",
            if rootless {
                "systemctl --user enable --now podman.socket"
            } else {
                "sudo systemctl enable --now podman.socket"
            },
        )
        .fix_with(
            "for `docker compose ...` and other Docker tools in this shell",
            format!("export DOCKER_HOST={socket}"),
        )
        .fix("or install Docker Engine (or Docker Desktop, Colima, OrbStack), which devboot is tested with");
    }
    let name = match Provider::detect(operating_system, engine_name).name() {
        Some(product) => product,
        None if components.iter().any(|c| c.name == "Engine") => "Docker Engine",
        None => "an engine",
    };
    let mut outcome = Outcome::ok(format!(
        "{name} {} ({platform}){}",
        version.version.as_deref().unwrap_or("?"),
        if rootless { ", rootless" } else { "" }
    ));
    if let Some(os) = operating_system {
        outcome = outcome.detail(format!("the engine runs on {os}"));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;

    fn image(service: &str, arch: Option<&str>, built: bool) -> StackImage {
        StackImage {
            service: service.to_owned(),
            image: format!("example/{service}:1"),
            arch: arch.map(str::to_owned),
            built,
        }
    }

    #[test]
    fn images_of_another_architecture_warn_with_the_pull_and_rebuild_fixes() {
        let same = platform_outcome(
            "x86_64",
            &[
                image("db", Some("amd64"), false),
                image("web", Some("amd64"), true),
            ],
        );
        assert_eq!(same.status, Status::Ok, "{same:?}");
        assert_eq!(
            same.summary,
            "all 2 images of the stack are linux/amd64, like the engine (x86_64)"
        );
        assert_eq!(platform_outcome("x86_64", &[]).status, Status::Skipped);

        let emulated = platform_outcome(
            "x86_64",
            &[
                image("db", Some("arm64/v8"), false),
                image("web", Some("arm64"), true),
                image("redis", None, false),
            ],
        );
        assert_eq!(emulated.status, Status::Warn, "{emulated:?}");
        assert_eq!(
            emulated.summary,
            "`db` (example/db:1) is linux/arm64/v8; `web` (example/web:1) is linux/arm64, but the engine runs x86_64 (linux/amd64)"
        );
        assert_eq!(
            emulated.fixes[0].command.as_deref(),
            Some("docker pull --platform linux/amd64 example/db:1")
        );
        assert!(emulated.fixes[1].description.starts_with("rebuild `web`"));
        assert_eq!(
            emulated.fixes.last().unwrap().command.as_deref(),
            Some("devboot up")
        );

        // Apple Silicon with an amd64-only image: Rosetta is mentioned.
        let rosetta = platform_outcome("aarch64", &[image("db", Some("amd64"), false)]);
        assert_eq!(rosetta.status, Status::Warn);
        assert!(
            rosetta
                .fixes
                .iter()
                .any(|f| f.description.contains("Rosetta"))
        );
    }

    /// `/version` as Docker Engine 20.10 answers it.
    const DOCKER_VERSION: &str = r#"{"Platform":{"Name":""},"Components":[{"Name":"Engine","Version":"20.10.24+dfsg1","Details":{"ApiVersion":"1.41","Arch":"amd64","Os":"linux"}},{"Name":"containerd","Version":"1.6.20~ds1","Details":{}}],"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0"}"#;

    /// `/version` as Podman 4.9's Docker-compatible API answers it.
    const PODMAN_VERSION: &str = r#"{"Platform":{"Name":"linux/amd64/fedora-39"},"Components":[{"Name":"Podman Engine","Version":"4.9.3","Details":{"APIVersion":"4.9.3","Arch":"amd64","Os":"linux"}},{"Name":"Conmon","Version":"conmon version 2.1.8","Details":{}}],"Version":"4.9.3","ApiVersion":"1.41","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64","KernelVersion":"6.7.5"}"#;

    #[test]
    fn podman_behind_the_docker_api_warns_with_the_socket_to_use() {
        let docker: SystemVersion = serde_json::from_str(DOCKER_VERSION).unwrap();
        let outcome = provider_outcome(&docker, Some("Debian GNU/Linux 12 (bookworm)"), None, &[]);
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "Docker Engine 20.10.24+dfsg1 (linux/amd64)"
        );
        let desktop = provider_outcome(&docker, Some("Docker Desktop"), None, &[]);
        assert!(
            desktop.summary.starts_with("Docker Desktop "),
            "{desktop:?}"
        );

        let podman: SystemVersion = serde_json::from_str(PODMAN_VERSION).unwrap();
        let rootless = [
            "name=seccomp,profile=default".to_owned(),
            "name=rootless".to_owned(),
        ];
        let outcome = provider_outcome(&podman, Some("fedora"), None, &rootless);
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "the engine is Podman 4.9.3, rootless behind the Docker API (API 1.41)"
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("systemctl --user enable --now podman.socket")
        );
        assert_eq!(
            outcome.fixes[1].command.as_deref(),
            Some("export DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock")
        );
        let rootful = provider_outcome(&podman, None, None, &[]);
        assert_eq!(
            rootful.fixes[1].command.as_deref(),
            Some("export DOCKER_HOST=unix:///run/podman/podman.sock")
        );
    }
}
