//! The manifest's JSON Schema (`vodbuild schema`), generated from the model types in
//! [`super::model`] by their `JsonSchema` derives (which read the same serde attributes as
//! the loader: `deny_unknown_fields`, defaults, renames). Types with a hand-written
//! deserializer get a hand-written schema here that accepts what that deserializer accepts.
//! The committed copy is `schema/vodbuild.schema.json`, which shipped manifests name in a
//! `# yaml-language-server: $schema=...` line for editors.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings, json_schema};

use super::model::{Bitrate, FrameRate, RawManifest, Scalar};

/// The schema of a version-1 manifest, as pretty JSON with a final newline.
pub fn json() -> String {
    let mut schema = SchemaSettings::draft07().into_generator().into_root_schema_for::<RawManifest>();
    schema.insert("title".into(), "vodbuild manifest (version 1)".into());
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema is JSON");
    text.push('\n');
    text
}

/// A YAML scalar read as text: `level: 4.0`, `level: "4.0"` and `preset: 8` are all fine.
pub struct StringLike;

impl JsonSchema for StringLike {
    fn schema_name() -> Cow<'static, str> {
        "StringLike".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["string", "number", "boolean"]})
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        StringLike::json_schema(g)
    }
}

impl JsonSchema for Bitrate {
    fn schema_name() -> Cow<'static, str> {
        "Bitrate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Bits per second: 3000k, 3M, 3.5M or a plain number.",
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": r"^\s*([0-9]+\.?[0-9]*|\.[0-9]+)\s*[kKmM]?\s*$"}
            ]
        })
    }
}

impl JsonSchema for FrameRate {
    fn schema_name() -> Cow<'static, str> {
        "FrameRate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "`source` (keep the source's), a number of frames per second, or a ratio such as 30000/1001.",
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
                {"type": "string", "pattern": r"^\s*(source|[0-9]+\.?[0-9]*|[0-9]+\s*/\s*[0-9]+)\s*$"}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_refuses_unknown_keys_and_knows_the_sections() {
        let v: serde_json::Value = serde_json::from_str(&json()).expect("json");
        assert_eq!(v["additionalProperties"], serde_json::json!(false));
        let props = v["properties"].as_object().expect("properties");
        for key in ["version", "sources", "profiles", "outputs", "storage", "publish"] {
            assert!(props.contains_key(key), "{key} is in the schema");
        }
        assert_eq!(v["required"], serde_json::json!(["version", "sources"]));
    }
}
