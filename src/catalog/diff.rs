//! What an upgrade changes in the resolved stack: the resolved values before and after, compared
//! key by key and grouped for review (images, environment, ports, setup commands, capabilities,
//! the rest). Environment values are never shown, only that they changed. Pure.

use std::collections::BTreeMap;

use crate::profile::resolve::Entry;

/// The groups a review reads, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Images,
    Environment,
    Ports,
    SetupCommands,
    /// What published layers may do on the developer's machine beyond a plain profile.
    Capabilities,
    Other,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Self::Images => "images",
            Self::Environment => "environment (values redacted)",
            Self::Ports => "ports",
            Self::SetupCommands => "setup commands",
            Self::Capabilities => "capabilities",
            Self::Other => "other values",
        }
    }

    fn of(table: &[String], key: &str) -> Self {
        match (
            table.first().map(String::as_str),
            table.get(2).map(String::as_str),
            key,
        ) {
            (Some("services"), None, "image" | "build") => Self::Images,
            (Some("services"), Some("environment"), _) => Self::Environment,
            (Some("services"), None, "ports") => Self::Ports,
            (Some("app"), _, "setup") => Self::SetupCommands,
            _ => Self::Other,
        }
    }
}

/// One resolved value that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub section: Section,
    /// `services.web.image`.
    pub path: String,
    /// The value before and after, as TOML; `None` when absent. Environment values are
    /// replaced by a placeholder.
    pub before: Option<String>,
    pub after: Option<String>,
}

const HIDDEN: &str = "(redacted)";

/// Every resolved value that differs between `before` and `after`, by section then path.
pub fn changes(before: &[Entry], after: &[Entry]) -> Vec<Change> {
    let index = |entries: &[Entry]| -> BTreeMap<(Section, String), String> {
        entries
            .iter()
            .map(|e| {
                let section = Section::of(&e.table, &e.key);
                let mut path = e.table.join(".");
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&e.key);
                ((section, path), e.value.to_string())
            })
            .collect()
    };
    let (before, after) = (index(before), index(after));
    let mut keys: Vec<&(Section, String)> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|(section, path)| {
            let shown = |value: Option<&String>| {
                value.map(|v| {
                    if *section == Section::Environment {
                        HIDDEN.to_owned()
                    } else {
                        v.clone()
                    }
                })
            };
            let key = &(*section, path.clone());
            Change {
                section: *section,
                path: path.clone(),
                before: shown(before.get(key)),
                after: shown(after.get(key)),
            }
        })
        .collect()
}

/// What published layers gain or lose (`profile::capabilities::changes`) as review lines: a
/// capability gained is one the next `up` asks the developer to approve.
pub fn capability_changes(layers: &[crate::profile::capabilities::Change]) -> Vec<Change> {
    layers
        .iter()
        .flat_map(|layer| {
            let line = move |capability: &crate::profile::capabilities::Capability,
                             gained: bool| {
                let what = format!("{} ({})", capability.meaning(), capability.name());
                Change {
                    section: Section::Capabilities,
                    path: layer.display.clone(),
                    before: (!gained).then(|| what.clone()),
                    after: gained.then_some(what),
                }
            };
            let added = layer.added.iter().map(move |c| line(c, true));
            added.chain(layer.removed.iter().map(move |c| line(c, false)))
        })
        .collect()
}

/// The changes as a review reads them: a heading per section, `+`, `-` and `~` lines.
pub fn render(changes: &[Change]) -> String {
    let mut out = String::new();
    let mut section = None;
    for change in changes {
        if section != Some(change.section) {
            section = Some(change.section);
            out.push_str(&format!("  {}:\n", change.section.title()));
        }
        let line = match (&change.before, &change.after) {
            (None, Some(after)) if change.section == Section::Capabilities => {
                format!("+ {} may {after} (`up` asks you first)", change.path)
            }
            (Some(before), None) if change.section == Section::Capabilities => {
                format!("- {} no longer may {before}", change.path)
            }
            (None, Some(after)) => format!("+ {} = {after}", change.path),
            (Some(before), None) => format!("- {} (was {before})", change.path),
            (Some(before), Some(after)) if before == after => {
                format!("~ {} changed (value redacted)", change.path)
            }
            (Some(before), Some(after)) => format!("~ {}: {before} → {after}", change.path),
            (None, None) => continue,
        };
        out.push_str(&format!("    {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(table: &[&str], key: &str, value: toml::Value) -> Entry {
        Entry {
            table: table.iter().map(|s| (*s).to_owned()).collect(),
            key: key.to_owned(),
            value,
            from: None,
        }
    }

    #[test]
    fn changes_are_grouped_and_environment_values_never_shown() {
        let s = |v: &str| toml::Value::String(v.to_owned());
        let before = vec![
            entry(&["services", "web"], "image", s("ruby:3.2")),
            entry(
                &["services", "web", "environment"],
                "SECRET_KEY",
                s("old-secret"),
            ),
            entry(&["services", "web", "environment"], "KEEP", s("same")),
            entry(
                &["app"],
                "setup",
                toml::Value::Array(vec![s("bin/rails db:prepare")]),
            ),
        ];
        let after = vec![
            entry(&["services", "web"], "image", s("ruby:3.3")),
            entry(
                &["services", "web", "environment"],
                "SECRET_KEY",
                s("new-secret"),
            ),
            entry(
                &["services", "web", "environment"],
                "NEW_TOKEN",
                s("tok-123"),
            ),
            entry(&["services", "web", "environment"], "KEEP", s("same")),
            entry(
                &["services", "web"],
                "ports",
                toml::Value::Array(vec![s("3000:3000")]),
            ),
        ];
        let found = changes(&before, &after);
        let text = render(&found);
        insta::assert_snapshot!(text);
        for secret in ["old-secret", "new-secret", "tok-123"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(!text.contains("KEEP"), "{text}");
        assert!(changes(&before, &before).is_empty());
    }
}
