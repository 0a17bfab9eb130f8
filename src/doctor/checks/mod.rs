//! The registry: every doctor check, in the order reports show them, grouped by family. Each
//! family is a module named after its id prefix (`docker.proxy` is in `docker/`), which
//! declares its checks as [`Check`] values next to their code and lists them, in report order,
//! in its `CHECKS`; this module joins those lists in family order. Ids are stable, since users
//! select checks and mentors quote them by id. Check modules share code only through the facts
//! layer (`crate::doctor::facts`), never by importing one another.

mod aws;
mod docker;
mod env;
mod host;
mod ports;
mod postgres;
mod profile;
mod rails;
mod redis;
mod stack;
mod tools;

use crate::doctor::check::Check;

/// The families, in report order.
const FAMILIES: &[&[Check]] = &[
    host::CHECKS,
    tools::CHECKS,
    profile::CHECKS,
    env::CHECKS,
    docker::CHECKS,
    ports::CHECKS,
    stack::CHECKS,
    postgres::CHECKS,
    redis::CHECKS,
    rails::CHECKS,
    aws::CHECKS,
];

/// Every check, in report order.
pub(crate) static CHECKS: &[Check] = &joined::<{ count(FAMILIES) }>(FAMILIES);

/// How many checks `lists` hold together.
const fn count(lists: &[&[Check]]) -> usize {
    let mut total = 0;
    let mut list = 0;
    while list < lists.len() {
        total += lists[list].len();
        list += 1;
    }
    total
}

/// `lists` one after the other, in one array of their `N` checks.
const fn joined<const N: usize>(lists: &[&[Check]]) -> [Check; N] {
    let mut all = [lists[0][0]; N];
    let mut at = 0;
    let mut list = 0;
    while list < lists.len() {
        let mut index = 0;
        while index < lists[list].len() {
            all[at] = lists[list][index];
            at += 1;
            index += 1;
        }
        list += 1;
    }
    assert!(at == N, "the registry's length is the sum of the families'");
    all
}

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
