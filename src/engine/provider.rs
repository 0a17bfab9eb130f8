//! Which product runs the engine, from what its `/info` says (its operating system and host
//! name), and whether that engine lives in a VM rather than on this host's kernel. Pure:
//! `doctor`'s `docker.provider`, the disk measurement of `requirements` and the AWS relay's
//! route to the host all read the same answer.

use bollard::models::SystemInfo;

/// The product behind the Docker API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    DockerDesktop,
    OrbStack,
    Colima,
    RancherDesktop,
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

    /// The product's name; `None` for [`Provider::Other`].
    pub fn name(self) -> Option<&'static str> {
        match self {
            Self::DockerDesktop => Some("Docker Desktop"),
            Self::OrbStack => Some("OrbStack"),
            Self::Colima => Some("Colima"),
            Self::RancherDesktop => Some("Rancher Desktop"),
            Self::Other => None,
        }
    }

    /// Whether the engine runs in a VM: its containers cannot reach this host's addresses
    /// directly, nor this host theirs. Off Linux every engine does.
    pub fn runs_in_vm(self) -> bool {
        self != Self::Other || !cfg!(target_os = "linux")
    }
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
}
