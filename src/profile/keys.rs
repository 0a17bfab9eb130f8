//! Unknown keys, every one of them. Serde's `deny_unknown_fields` stops at the first; this walks
//! a parsed layer against the profile's JSON Schema (the one `devboot profile schema` prints, so
//! the known keys have one source: the document types) and finds each key no table accepts.

use std::ops::Range;
use std::sync::LazyLock;

use serde_json::Value;
use toml::de::{DeTable, DeValue};

/// A key the schema does not allow where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub name: String,
    /// The key's byte range in the layer's text.
    pub span: Range<usize>,
    /// The keys that table accepts.
    pub expected: Vec<String>,
}

impl UnknownKey {
    /// Worded like serde's own message: "unknown field `x`, expected one of `a`, `b`".
    pub fn message(&self) -> String {
        let quoted: Vec<String> = self.expected.iter().map(|n| format!("`{n}`")).collect();
        let expected = match quoted.as_slice() {
            [] => "there are no fields".to_owned(),
            [one] => format!("expected {one}"),
            [a, b] => format!("expected {a} or {b}"),
            all => format!("expected one of {}", all.join(", ")),
        };
        format!("unknown field `{}`, {expected}", self.name)
    }
}

/// Every unknown key in a parsed layer, in no particular order.
pub fn unknown_keys(root: &DeTable<'_>) -> Vec<UnknownKey> {
    static SCHEMA: LazyLock<Value> = LazyLock::new(|| super::schema::schema().to_value());
    let mut walk = Walk {
        root: &SCHEMA,
        found: Vec::new(),
    };
    walk.table(root, &SCHEMA);
    walk.found
}

struct Walk<'s> {
    /// The root schema, which holds the `$defs` that `$ref`s point into.
    root: &'s Value,
    found: Vec<UnknownKey>,
}

impl<'s> Walk<'s> {
    fn value(&mut self, value: &DeValue<'_>, schema: &'s Value) {
        match value {
            DeValue::Table(table) => {
                let object = self.alternatives(schema).into_iter().find(|s| {
                    s.get("properties").is_some() || s.get("additionalProperties").is_some()
                });
                if let Some(object) = object {
                    self.table(table, object);
                }
            }
            DeValue::Array(array) => {
                let items = self
                    .alternatives(schema)
                    .into_iter()
                    .find_map(|s| s.get("items"));
                if let Some(items) = items {
                    for element in array {
                        self.value(element.get_ref(), items);
                    }
                }
            }
            _ => {}
        }
    }

    fn table(&mut self, table: &DeTable<'_>, object: &'s Value) {
        let properties = object.get("properties").and_then(Value::as_object);
        for (key, value) in table {
            if let Some(schema) = properties.and_then(|p| p.get(key.get_ref().as_ref())) {
                self.value(value.get_ref(), schema);
                continue;
            }
            match object.get("additionalProperties") {
                Some(Value::Bool(false)) => self.found.push(UnknownKey {
                    name: key.get_ref().to_string(),
                    span: key.span(),
                    expected: properties
                        .map(|p| p.keys().cloned().collect())
                        .unwrap_or_default(),
                }),
                Some(schema @ Value::Object(_)) => self.value(value.get_ref(), schema),
                _ => {}
            }
        }
    }

    /// The forms `schema` allows, `$ref`s followed: each `anyOf`/`oneOf` member, or itself.
    fn alternatives(&self, schema: &'s Value) -> Vec<&'s Value> {
        let schema = self.resolve(schema);
        let members: Vec<&'s Value> = ["anyOf", "oneOf"]
            .into_iter()
            .filter_map(|key| schema.get(key).and_then(Value::as_array))
            .flatten()
            .collect();
        if members.is_empty() {
            return vec![schema];
        }
        members
            .into_iter()
            .flat_map(|member| self.alternatives(member))
            .collect()
    }

    /// Follows a local `$ref` (`#/$defs/Name`).
    fn resolve(&self, schema: &'s Value) -> &'s Value {
        schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|pointer| pointer.strip_prefix('#'))
            .and_then(|pointer| self.root.pointer(pointer))
            .map_or(schema, |target| self.resolve(target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(text: &str) -> Vec<(String, String)> {
        let table = DeTable::parse(text).unwrap();
        let mut found: Vec<(String, String)> = unknown_keys(table.get_ref())
            .into_iter()
            .map(|key| (text[key.span.clone()].to_owned(), key.message()))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn finds_every_unknown_key_at_every_depth() {
        let found = unknown(
            "scheme = 1\n[project]\nnmae = \"x\"\n[services.web]\nimage = \"x\"\nhelthcheck = {}\n\
             ports = [{ container = 1, hots = 2 }]\nbuild = { context = \".\", dokerfile = \"D\" }\n\
             [services.web.healthcheck]\ntest = \"true\"\nretry = 3\n[services.web.environment]\nANY = 1\n\
             [requires.tools]\ngit = \"*\"\n[files.\"a\"]\ncontents = \"x\"\n",
        );
        let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "contents",
                "dokerfile",
                "helthcheck",
                "hots",
                "nmae",
                "retry",
                "scheme"
            ]
        );
        let project = &found.iter().find(|(k, _)| k == "nmae").unwrap().1;
        assert_eq!(project, "unknown field `nmae`, expected `name`");
    }

    #[test]
    fn a_valid_profile_has_none() {
        for profile in super::super::source::BUILTIN_PROFILES {
            assert_eq!(unknown(profile.text), [], "{}", profile.name);
        }
    }
}
