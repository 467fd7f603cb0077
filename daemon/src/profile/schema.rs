//! The profile JSON Schema, generated from the Rust types with schemars and
//! committed as `profiles/profile.schema.json` (editors validate profiles
//! with it through the `yaml-language-server` comment at the top of each
//! file). A test fails when the committed file is stale.

use super::Profile;

/// The schema's file name inside the profiles directory.
pub const SCHEMA_FILE: &str = "profile.schema.json";

/// The pretty-printed JSON Schema of a profile, ending with a newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Profile);
    let mut text = serde_json::to_string_pretty(&schema).expect("a JSON Schema always serializes");
    text.push('\n');
    text
}
