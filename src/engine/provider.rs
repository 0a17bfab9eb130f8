//! Which product runs the engine, from what its `/version` says (Podman lists a `Podman Engine`
//! component) and its `/info` (its operating system and host name), and whether that engine
//! lives in a VM rather than on this host's kernel. Pure: `doctor`'s `docker.provider`, the disk
//! measurement of `requirements` and the AWS relay's route to the host all read the same answer.

use bollard::models::{SystemInfo, SystemVersion};

/// The product behind the Docker API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    DockerDesktop,
    OrbStack,
    Colima,
    RancherDesktop,
    /// Podman's Docker-compatible API service (on this host's kernel on Linux; in `podman
    /// machine`'s VM elsewhere).
    Podman,
    /// Anything else: Docker Engine (or another engine) on the machine it reports.
    Other,
}

impl Provider {
    /// From `/info`'s `OperatingSystem` (`Docker Desktop`, `OrbStack`, `Rancher Desktop WSL
    /// Distribution`) and `Name` (the VM's host name: `colima`, `colima-<profile>`,
    /// `lima-rancher-desktop`).
    pub fn detect(operating_system: Option<&str>, name: Option<&str>) -> Self {
        let os = operating_system.unwrap_or_default().to_ascii_lowercase();
        let name = name.unwrap_or_default().to_ascii_lowercase();
        if os.contains("docker desktop") {
            Self::DockerDesktop
        } else if os.contains("orbstack") {
            Self::OrbStack
        } else if os.contains("rancher desktop") || name == "lima-rancher-desktop" {
            Self::RancherDesktop
        } else if name == "colima" || name.starts_with("colima-") {
            Self::Colima
        } else {
            Self::Other
        }
    }

    pub fn of(info: &SystemInfo) -> Self {
        Self::detect(info.operating_system.as_deref(), info.name.as_deref())
    }

    /// From `/version` first (only there does Podman say it is Podman: its `/info` reads like
    /// any Linux host's), then from `/info`.
    pub fn of_engine(version: &SystemVersion, info: Option<&SystemInfo>) -> Self {
        if podman_version(version).is_some() {
            Self::Podman
        } else {
            info.map_or(Self::Other, Self::of)
        }
    }

    /// The product's name; `None` for [`Provider::Other`].
    pub fn name(self) -> Option<&'static str> {
        match self {
            Self::DockerDesktop => Some("Docker Desktop"),
            Self::OrbStack => Some("OrbStack"),
            Self::Colima => Some("Colima"),
            Self::RancherDesktop => Some("Rancher Desktop"),
            Self::Podman => Some("Podman"),
            Self::Other => None,
        }
    }

    /// Whether the engine runs in a VM: its containers cannot reach this host's addresses
    /// directly, nor this host theirs. Off Linux every engine does.
    pub fn runs_in_vm(self) -> bool {
        !matches!(self, Self::Other | Self::Podman) || !cfg!(target_os = "linux")
    }
}

/// Podman's version when Podman answers behind the Docker API: its `Podman Engine` component
/// (Podman 4 and 5), or a platform or OS naming Podman.
pub fn podman_version(version: &SystemVersion) -> Option<String> {
    let components = version.components.as_deref().unwrap_or_default();
    components
        .iter()
        .find(|c| c.name.to_ascii_lowercase().contains("podman"))
        .map(|c| c.version.clone())
        .or_else(|| {
            let platform = version.platform.as_ref().map(|p| p.name.as_str());
            [platform, version.os.as_deref()]
                .into_iter()
                .flatten()
                .any(|text| text.to_ascii_lowercase().contains("podman"))
                .then(|| version.version.clone().unwrap_or_else(|| "?".to_owned()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_engines_are_told_apart_from_an_engine_on_this_kernel() {
        let cases = [
            (
                Some("Docker Desktop"),
                Some("docker-desktop"),
                Provider::DockerDesktop,
            ),
            (Some("OrbStack"), Some("orbstack"), Provider::OrbStack),
            (Some("Ubuntu 24.04 LTS"), Some("colima"), Provider::Colima),
            (
                Some("Ubuntu 24.04 LTS"),
                Some("colima-work"),
                Provider::Colima,
            ),
            (
                Some("Alpine Linux v3.20"),
                Some("lima-rancher-desktop"),
                Provider::RancherDesktop,
            ),
            (
                Some("Rancher Desktop WSL Distribution"),
                Some("host"),
                Provider::RancherDesktop,
            ),
            (
                Some("Debian GNU/Linux 12 (bookworm)"),
                Some("ci-runner"),
                Provider::Other,
            ),
            (None, None, Provider::Other),
        ];
        for (os, name, want) in cases {
            let provider = Provider::detect(os, name);
            assert_eq!(provider, want, "{os:?} {name:?}");
            assert_eq!(provider.runs_in_vm(), want != Provider::Other, "{os:?}");
        }
    }

    /// `/version` as Podman 4.3.1 (Debian 12) answers it through its Docker-compatible API.
    const PODMAN_VERSION: &str = r#"{"Platform":{"Name":"linux/amd64/debian-12"},"Components":[{"Name":"Podman Engine","Version":"4.3.1","Details":{"APIVersion":"4.3.1","Arch":"amd64","MinAPIVersion":"4.0.0","Os":"linux"}},{"Name":"Conmon","Version":"conmon version 2.1.6, commit: unknown","Details":{}}],"Version":"4.3.1","ApiVersion":"1.41","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64"}"#;

    /// `/version` as Docker Engine 20.10 answers it.
    const DOCKER_VERSION: &str = r#"{"Platform":{"Name":""},"Components":[{"Name":"Engine","Version":"20.10.24+dfsg1","Details":{"ApiVersion":"1.41"}}],"Version":"20.10.24+dfsg1","ApiVersion":"1.41","Os":"linux","Arch":"amd64"}"#;

    #[test]
    fn podman_is_named_from_its_version_answer_and_runs_on_this_kernel_on_linux() {
        let podman: SystemVersion = serde_json::from_str(PODMAN_VERSION).unwrap();
        let docker: SystemVersion = serde_json::from_str(DOCKER_VERSION).unwrap();
        // Podman's /info reads like any Debian host's.
        let info = SystemInfo {
            operating_system: Some("debian".into()),
            name: Some("ci-runner".into()),
            ..SystemInfo::default()
        };
        assert_eq!(podman_version(&podman).as_deref(), Some("4.3.1"));
        assert_eq!(podman_version(&docker), None);
        let provider = Provider::of_engine(&podman, Some(&info));
        assert_eq!(provider, Provider::Podman);
        assert_eq!(provider.name(), Some("Podman"));
        assert_eq!(provider.runs_in_vm(), !cfg!(target_os = "linux"));
        assert_eq!(Provider::of_engine(&docker, Some(&info)), Provider::Other);
        let desktop = SystemInfo {
            operating_system: Some("Docker Desktop".into()),
            ..SystemInfo::default()
        };
        assert_eq!(
            Provider::of_engine(&docker, Some(&desktop)),
            Provider::DockerDesktop
        );
    }
}
