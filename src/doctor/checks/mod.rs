//! The registry: every doctor check, in the order reports show them (grouped by family). A
//! check is declared as a [`Check`] value in its family's module and listed here once; ids are
//! stable, since users select checks and mentors quote them by id.

mod app;
mod aws;
mod context;
mod dns;
mod docker;
mod env;
mod host;
mod network;
mod platform;
mod ports;
mod profile;
mod proxy;
mod rails;
mod rails_setup;
mod services;
mod shadowed;
mod stack;
mod tools;

#[cfg(test)]
pub(super) mod testing;

use super::check::Check;

pub(crate) static CHECKS: &[Check] = &[
    host::OS,
    host::DISK,
    host::MEMORY,
    host::WSL,
    host::DOCKER_DESKTOP_SETTINGS,
    tools::GIT,
    tools::DOCKER_CLI,
    tools::REQUIRED,
    tools::COMPOSE,
    tools::LIBPQ,
    profile::VALID,
    profile::LOCAL_IGNORED,
    env::REQUIRED,
    env::PROXY,
    docker::DAEMON,
    context::CONTEXT,
    context::SOCKET_PERMISSION,
    context::DEFAULT_SOCKET,
    docker::API_VERSION,
    docker::RESOURCES,
    docker::CLOCK,
    docker::CREDENTIAL_HELPERS,
    proxy::PROXY,
    platform::PROVIDER,
    platform::PLATFORM,
    network::SUBNETS,
    ports::FREE,
    stack::CONTAINERS,
    stack::CONFIG_DRIFT,
    stack::ORPHANS,
    stack::ORPHAN_VOLUMES,
    stack::HEALTHCHECKS,
    dns::CONTAINER_DNS,
    services::POSTGRES_READY,
    services::POSTGRES_VOLUME_MAJOR,
    services::POSTGRES_CREDENTIALS,
    shadowed::POSTGRES_SHADOWED,
    services::REDIS_READY,
    rails::SERVER_PID,
    rails::MASTER_KEY,
    rails::RUBY_VERSION,
    rails::DATABASE_URL_LOCALHOST,
    app::CONTAINER_ENV,
    app::PENDING_MIGRATIONS,
    rails::LINE_ENDINGS,
    rails_setup::BINDING,
    rails_setup::LOCKFILE_PLATFORMS,
    rails_setup::FILE_OWNERSHIP,
    aws::PROFILE,
    aws::DEFAULT_PROFILE_ENV,
    aws::ENV_KEYS,
    aws::CREDENTIALS_FILE_MODE,
    aws::SSO_SESSION,
    aws::REGION,
    aws::CREDENTIAL_PROCESS,
    aws::MFA,
    aws::CREDENTIALS,
    aws::CLOCK,
    aws::ACCOUNT,
    aws::CONTAINER_ENDPOINT,
    aws::CONTAINER_CREDENTIALS,
    aws::ECR_LOGIN,
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The families ids may start with (PRODUCT.md).
    const FAMILIES: &[&str] = &[
        "host", "tools", "docker", "ports", "stack", "postgres", "redis", "rails", "aws",
        "profile", "env",
    ];

    #[test]
    fn ids_are_unique_dotted_and_in_a_known_family() {
        let mut seen = BTreeSet::new();
        for check in CHECKS {
            assert!(seen.insert(check.id), "`{}` is registered twice", check.id);
            assert!(
                FAMILIES.contains(&check.family()),
                "`{}`: unknown family",
                check.id
            );
            let name = check.id.split_once('.').map_or("", |(_, name)| name);
            assert!(
                !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || b == b'_'
                        || b == b'.'),
                "`{}`: ids are `family.snake_case`",
                check.id
            );
            assert!(!check.title.is_empty());
        }
    }

    #[test]
    fn dependencies_are_registered_and_acyclic() {
        let ids: BTreeSet<&str> = CHECKS.iter().map(|c| c.id).collect();
        for check in CHECKS {
            for dependency in check.depends_on {
                assert!(
                    ids.contains(dependency),
                    "`{}` depends on unknown `{dependency}`",
                    check.id
                );
            }
        }
        // Kahn: repeatedly remove checks whose dependencies are all removed.
        let mut left: Vec<&Check> = CHECKS.iter().collect();
        let mut done = BTreeSet::new();
        while !left.is_empty() {
            let before = left.len();
            left.retain(|check| {
                let ready = check.depends_on.iter().all(|d| done.contains(d));
                if ready {
                    done.insert(check.id);
                }
                !ready
            });
            assert!(left.len() < before, "dependency cycle among {left:?}");
        }
    }

    #[test]
    fn families_are_contiguous_so_reports_group_them() {
        let mut finished = BTreeSet::new();
        let mut current = "";
        for check in CHECKS {
            if check.family() != current {
                assert!(
                    finished.insert(current),
                    "family `{}` is split",
                    check.family()
                );
                assert!(
                    !finished.contains(check.family()),
                    "family `{}` is split",
                    check.family()
                );
                current = check.family();
            }
        }
    }
}
