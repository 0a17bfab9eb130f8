//! Which checks a run reports: all of them, or those named on the command line by exact id or
//! by family prefix (`docker`, `docker.`, `docker.daemon`). Dependencies of a selected check
//! still run (the runner adds them) but are not reported.

use std::collections::BTreeSet;

use super::check::Check;
use super::checks::CHECKS;
use crate::error::Error;
use crate::profile::diagnostic::closest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    ids: BTreeSet<&'static str>,
}

impl Selection {
    /// Every registered check.
    pub fn all() -> Self {
        Self::all_in(CHECKS)
    }

    /// The checks `patterns` name (all of them when there is none); an unknown pattern is a
    /// usage error suggesting the closest id.
    pub fn parse(patterns: &[String]) -> Result<Self, Error> {
        Self::parse_in(CHECKS, patterns)
    }

    pub(super) fn all_in(registry: &'static [Check]) -> Self {
        Self {
            ids: registry.iter().map(|check| check.id).collect(),
        }
    }

    pub(super) fn parse_in(registry: &'static [Check], patterns: &[String]) -> Result<Self, Error> {
        if patterns.is_empty() {
            return Ok(Self::all_in(registry));
        }
        let mut ids = BTreeSet::new();
        for pattern in patterns {
            let base = pattern.strip_suffix('.').unwrap_or(pattern);
            let mut matched = false;
            for check in registry {
                if check.id == base
                    || check
                        .id
                        .strip_prefix(base)
                        .is_some_and(|rest| rest.starts_with('.'))
                {
                    matched = true;
                    ids.insert(check.id);
                }
            }
            if !matched {
                let candidates = registry.iter().flat_map(|check| [check.id, check.family()]);
                let hint = match closest(base, candidates) {
                    Some(near) => {
                        format!("did you mean `{near}`? `devboot doctor --list` shows every check")
                    }
                    None => "`devboot doctor --list` shows every check".to_owned(),
                };
                return Err(Error::Usage {
                    message: format!("no doctor check is named `{pattern}`"),
                    hint: Some(hint),
                });
            }
        }
        Ok(Self { ids })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.ids.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(selection: &Selection) -> Vec<&'static str> {
        selection.ids().collect()
    }

    fn parse(patterns: &[&str]) -> Result<Selection, Error> {
        Selection::parse(&patterns.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn no_pattern_selects_every_check() {
        assert_eq!(parse(&[]).unwrap(), Selection::all());
        assert_eq!(ids(&Selection::all()).len(), CHECKS.len());
    }

    #[test]
    fn families_match_with_or_without_the_dot_and_ids_match_exactly() {
        let family = parse(&["host"]).unwrap();
        assert!(ids(&family).iter().all(|id| id.starts_with("host.")));
        assert!(family.contains("host.os") && family.contains("host.disk"));
        assert_eq!(parse(&["host."]).unwrap(), family);
        assert_eq!(ids(&parse(&["host.disk"]).unwrap()), ["host.disk"]);
        let both = parse(&["host.disk", "rails.server_pid"]).unwrap();
        assert_eq!(ids(&both), ["host.disk", "rails.server_pid"]);
    }

    #[test]
    fn unknown_names_are_usage_errors_with_a_suggestion() {
        for (pattern, near) in [
            ("hots.disk", "host.disk"),
            ("rail", "rails"),
            ("host.dis", "host.disk"),
        ] {
            let Err(Error::Usage { message, hint }) = parse(&[pattern]) else {
                panic!("`{pattern}` should not match");
            };
            assert!(message.contains(pattern), "{message}");
            assert!(hint.unwrap().contains(&format!("`{near}`")), "{pattern}");
        }
        assert!(parse(&["."]).is_err());
    }
}
