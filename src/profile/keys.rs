//! Unknown keys and values of the wrong type, every one of them. Serde stops at the first; this
//! walks a parsed layer against the profile's JSON Schema (the one `devboot profile schema`
//! prints, so the known keys and their types have one source: the document types) and finds each
//! key no table accepts and each value whose TOML type (or, for a choice of words, whose word) no
//! form of its key accepts. Finer rules (ranges, formats) are the model's validation.

use std::ops::Range;
use std::sync::LazyLock;

use serde_json::Value;
use toml::Spanned;
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

/// A value whose type (or word) its key does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongValue {
    /// The value's byte range in the layer's text.
    pub span: Range<usize>,
    /// Worded like serde's: "invalid type: integer `1`, expected a string or an array".
    pub message: String,
}

/// Every unknown key and wrong value in a parsed layer, in no particular order.
pub fn check(root: &DeTable<'_>) -> (Vec<UnknownKey>, Vec<WrongValue>) {
    static SCHEMA: LazyLock<Value> = LazyLock::new(|| super::schema::schema().to_value());
    let mut walk = Walk {
        root: &SCHEMA,
        found: Vec::new(),
        wrong: Vec::new(),
    };
    walk.table(root, &SCHEMA);
    (walk.found, walk.wrong)
}

struct Walk<'s> {
    /// The root schema, which holds the `$defs` that `$ref`s point into.
    root: &'s Value,
    found: Vec<UnknownKey>,
    wrong: Vec<WrongValue>,
}

/// The JSON Schema type of a TOML value (a datetime has none in the profile's schema).
fn type_of(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "string",
        DeValue::Integer(_) => "integer",
        DeValue::Float(_) => "number",
        DeValue::Boolean(_) => "boolean",
        DeValue::Datetime(_) => "datetime",
        DeValue::Array(_) => "array",
        DeValue::Table(_) => "object",
    }
}

/// The types a schema form accepts; `None` when it says nothing (anything goes).
fn types_of(schema: &Value) -> Option<Vec<&str>> {
    if let Some(types) = schema.get("type") {
        let types = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => return None,
        };
        return Some(types);
    }
    if schema.get("enum").is_some() || schema.get("const").is_some() {
        return Some(vec!["string"]);
    }
    if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() {
        return Some(vec!["object"]);
    }
    None
}

/// The words a string form accepts, when it names them (`enum` or `const`).
fn words_of(schema: &Value) -> Option<Vec<&str>> {
    match (schema.get("enum"), schema.get("const")) {
        (Some(Value::Array(words)), _) => Some(words.iter().filter_map(Value::as_str).collect()),
        (_, Some(Value::String(word))) => Some(vec![word.as_str()]),
        _ => None,
    }
}

fn with_article(kind: &str) -> String {
    match kind {
        "string" => "a string".to_owned(),
        "integer" => "an integer".to_owned(),
        "number" => "a number".to_owned(),
        "boolean" => "a boolean".to_owned(),
        "array" => "an array".to_owned(),
        "object" => "a table".to_owned(),
        other => other.to_owned(),
    }
}

impl<'s> Walk<'s> {
    /// Whether `value` has a type (and, for words, a word) one form of `schema` accepts;
    /// records it when not.
    fn accepted(&mut self, value: &Spanned<DeValue<'_>>, schema: &'s Value) -> bool {
        let forms = self.alternatives(schema);
        let kind = type_of(value.get_ref());
        let mut expected: Vec<&str> = Vec::new();
        let mut words: Vec<&str> = Vec::new();
        for form in &forms {
            let Some(types) = types_of(form) else {
                return true;
            };
            // An integer is a number too.
            let matches = types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
            if !matches {
                expected.extend(types.into_iter().filter(|t| *t != "null"));
                continue;
            }
            match (value.get_ref(), words_of(form)) {
                (DeValue::String(text), Some(allowed)) if !allowed.contains(&text.as_ref()) => {
                    words.extend(allowed);
                }
                _ => return true,
            }
        }
        let message = if words.is_empty() {
            expected.dedup();
            let found = match value.get_ref() {
                DeValue::String(text) => format!("string {text:?}"),
                DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => {
                    let text = match value.get_ref() {
                        DeValue::Boolean(b) => b.to_string(),
                        DeValue::Integer(i) => i.as_str().to_owned(),
                        DeValue::Float(f) => f.as_str().to_owned(),
                        _ => String::new(),
                    };
                    format!("{kind} `{text}`")
                }
                other => with_article(type_of(other)),
            };
            let mut expected: Vec<String> = expected.iter().map(|t| with_article(t)).collect();
            let last = expected.pop().unwrap_or_default();
            let expected = if expected.is_empty() {
                last
            } else {
                format!("{} or {last}", expected.join(", "))
            };
            format!("invalid type: {found}, expected {expected}")
        } else {
            let DeValue::String(text) = value.get_ref() else {
                unreachable!("words are only checked on strings")
            };
            let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
            format!(
                "unknown variant `{text}`, expected one of {}",
                quoted.join(", ")
            )
        };
        self.wrong.push(WrongValue {
            span: value.span(),
            message,
        });
        false
    }

    fn value(&mut self, spanned: &Spanned<DeValue<'_>>, schema: &'s Value) {
        if !self.accepted(spanned, schema) {
            return;
        }
        match spanned.get_ref() {
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
                        self.value(element, items);
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
                self.value(value, schema);
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
                Some(schema @ Value::Object(_)) => self.value(value, schema),
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
        let mut found: Vec<(String, String)> = check(table.get_ref())
            .0
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
            let table = DeTable::parse(profile.text).unwrap();
            assert_eq!(check(table.get_ref()), (vec![], vec![]), "{}", profile.name);
        }
    }

    #[test]
    fn finds_every_wrong_value_at_every_depth() {
        let text = "[app]\nsetup = 1\n[services.web]\nimage = 5\nports = [{ container = \"x\" }, 3000, \"80:80\"]\n\
                    depends_on = { db = \"ready\" }\ncommand = [\"a\", 2]\n[services.web.environment]\nN = 1\nF = 1.5\nB = true\nD = 1979-05-27\n\
                    [aws]\nmode = \"env\"\nregion = [\"x\"]\n";
        let table = DeTable::parse(text).unwrap();
        let mut found: Vec<(&str, String)> = check(table.get_ref())
            .1
            .into_iter()
            .map(|value| (&text[value.span], value.message))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                (
                    "\"ready\"",
                    "unknown variant `ready`, expected one of `started`, `healthy`, `completed`"
                        .to_owned()
                ),
                (
                    "\"x\"",
                    "invalid type: string \"x\", expected an integer".to_owned()
                ),
                (
                    "1",
                    "invalid type: integer `1`, expected an array".to_owned()
                ),
                (
                    "1979-05-27",
                    "invalid type: datetime, expected a string, a number or a boolean".to_owned()
                ),
                (
                    "2",
                    "invalid type: integer `2`, expected a string".to_owned()
                ),
                (
                    "5",
                    "invalid type: integer `5`, expected a string".to_owned()
                ),
                (
                    "[\"x\"]",
                    "invalid type: an array, expected a string".to_owned()
                ),
            ]
        );
    }
}
