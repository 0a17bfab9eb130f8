//! The JSON Schema of profile files (`devboot profile schema`), for editor completion through
//! taplo / Even Better TOML and for CI checks. Derived from the document types; the types
//! with more than one written form describe their forms here by hand.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::document::{
    BuildDocument, DependsOnDocument, EnvValue, ExtendsDocument, PortDocument, ProfileDocument,
    Sourced, VolumeDocument,
};

/// The schema of a profile file, as pretty JSON.
pub fn profile_schema() -> String {
    serde_json::to_string_pretty(&schema()).expect("schemas serialize") + "\n"
}

/// The schema of a profile file; `keys` reads the known keys of every table from it.
pub(super) fn schema() -> Schema {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<ProfileDocument>()
}

impl<T: JsonSchema> JsonSchema for Sourced<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
    fn inline_schema() -> bool {
        T::inline_schema()
    }
}

macro_rules! hand_written_schema {
    ($type:ty, $name:literal, $schema:tt) => {
        impl JsonSchema for $type {
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

hand_written_schema!(ExtendsDocument, "Extends", {
    "description": "Base profiles: a built-in name, or a path starting with `./` or ending in `.toml`.",
    "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }]
});

hand_written_schema!(EnvValue, "EnvValue", {
    "anyOf": [{ "type": "string" }, { "type": "number" }, { "type": "boolean" }]
});

hand_written_schema!(BuildDocument, "Build", {
    "description": "A build context path, or a table.",
    "anyOf": [
        { "type": "string" },
        {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "context": { "type": "string", "description": "Relative to the project root (default `.`)." },
                "dockerfile": { "type": "string", "description": "Relative to the context; naming it builds it as it is." },
                "target": { "type": "string", "description": "The stage to build; naming it builds the Dockerfile as it is." },
                "args": { "type": "object", "additionalProperties": { "type": "string" } },
                "source": {
                    "enum": ["auto", "dockerfile", "devcontainer", "devboot"],
                    "description": "Which Dockerfile builds the image: `auto` (default) picks the Dockerfile or target the profile names, else `.devcontainer/Dockerfile`, else the repository's Dockerfile unless it is a production one, in which case devboot's development image."
                },
                "rebuild_on": {
                    "type": "array",
                    "items": { "type": "string" },
                    "description": "Context paths (`.dockerignore` patterns) whose change rebuilds the image, instead of what the Dockerfile copies and the service does not mount."
                }
            }
        }
    ]
});

hand_written_schema!(PortDocument, "Port", {
    "description": "\"CONTAINER\", \"HOST:CONTAINER\", \"IP:HOST:CONTAINER\", a number, or a table.",
    "anyOf": [
        { "type": "string", "pattern": "^([^:]+:)?([0-9]+:)?[0-9]+$" },
        { "type": "integer", "minimum": 1, "maximum": 65535 },
        {
            "type": "object",
            "additionalProperties": false,
            "required": ["container"],
            "properties": {
                "container": { "type": "integer", "minimum": 1, "maximum": 65535 },
                "host": { "type": "integer", "minimum": 1, "maximum": 65535 },
                "host_ip": { "type": "string" },
                "policy": { "enum": ["fixed", "auto"] }
            }
        }
    ]
});

hand_written_schema!(VolumeDocument, "Volume", {
    "description": "\"NAME:/path\" or \"./dir:/path\" with an optional \":ro\", or a table.",
    "anyOf": [
        { "type": "string" },
        {
            "type": "object",
            "additionalProperties": false,
            "required": ["source", "target"],
            "properties": {
                "source": { "type": "string" },
                "target": { "type": "string" },
                "read_only": { "type": "boolean" }
            }
        }
    ]
});

hand_written_schema!(DependsOnDocument, "DependsOn", {
    "anyOf": [
        { "type": "array", "items": { "type": "string" } },
        { "type": "object", "additionalProperties": { "enum": ["started", "healthy", "completed"] } }
    ]
});

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_schema_is_up_to_date() {
        let committed = include_str!("../../docs/profile.schema.json");
        assert!(
            committed == super::profile_schema(),
            "docs/profile.schema.json is stale: run `cargo run -q -- profile schema > docs/profile.schema.json`"
        );
    }
}
