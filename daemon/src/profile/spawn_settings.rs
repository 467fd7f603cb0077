//! The `spawn_settings` section: keys merged into an agent's own config
//! files before it starts (e.g. Codex reads its OTel exporter from
//! `~/.codex/config.toml`). The merge only adds what is missing: a key the
//! user already set is never changed, whatever its value.

use std::path::Path;

use schemars::JsonSchema;
use serde::Deserialize;
use thiserror::Error;

/// One config file to merge keys into.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpawnSetting {
    /// The file: `~/...` (the daemon user's home) or `{project_dir}/...`.
    pub path: String,
    /// The file's format.
    pub format: SettingsFormat,
    /// The keys to add when missing (nested mappings are merged key by key).
    /// String values may contain `{otlp_endpoint}`.
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub merge: serde_json::Value,
}

/// The format of a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SettingsFormat {
    /// JSON (`serde_json`).
    Json,
    /// TOML (the `toml` crate). Comments of a rewritten file are not kept.
    Toml,
}

/// Why a settings file was left alone.
#[derive(Debug, Error)]
pub enum SpawnSettingsError {
    /// The existing file is not valid in its format; it is not touched.
    #[error("{path}: existing file is not valid {format:?}: {message}")]
    Unparseable {
        /// The file.
        path: String,
        /// Its format.
        format: SettingsFormat,
        /// The parser's message.
        message: String,
    },
    /// The existing file's top level is not a mapping.
    #[error("{path}: the top level is not a mapping")]
    NotAMapping {
        /// The file.
        path: String,
    },
    /// The merge value cannot be written in this format (e.g. null in TOML).
    #[error("{path}: cannot write the merge value as {format:?}: {message}")]
    Unrepresentable {
        /// The file.
        path: String,
        /// Its format.
        format: SettingsFormat,
        /// Why.
        message: String,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Adds to `target` every key of `patch` it lacks, recursing into mappings
/// present in both. Returns whether `target` changed. Pure.
pub fn merge_json(target: &mut serde_json::Value, patch: &serde_json::Value) -> bool {
    let (Some(target), Some(patch)) = (target.as_object_mut(), patch.as_object()) else {
        return false;
    };
    let mut changed = false;
    for (key, value) in patch {
        match target.get_mut(key) {
            None => {
                target.insert(key.clone(), value.clone());
                changed = true;
            }
            Some(existing) => changed |= merge_json(existing, value),
        }
    }
    changed
}

/// [`merge_json`] for TOML tables. Pure.
pub fn merge_toml(target: &mut toml::Table, patch: &toml::Table) -> bool {
    let mut changed = false;
    for (key, value) in patch {
        match target.get_mut(key) {
            None => {
                target.insert(key.clone(), value.clone());
                changed = true;
            }
            Some(toml::Value::Table(existing)) => {
                if let toml::Value::Table(value) = value {
                    changed |= merge_toml(existing, value);
                }
            }
            Some(_) => {}
        }
    }
    changed
}

/// Merges `patch` into the text of an existing file (`None` when the file
/// does not exist). Returns the new text, or `None` when nothing changed.
/// Pure: `path` is used in errors only.
pub fn merge_text(
    path: &str,
    format: SettingsFormat,
    existing: Option<&str>,
    patch: &serde_json::Value,
) -> Result<Option<String>, SpawnSettingsError> {
    let unparseable = |message: String| SpawnSettingsError::Unparseable {
        path: path.to_owned(),
        format,
        message,
    };
    let existing = existing.filter(|text| !text.trim().is_empty());
    match format {
        SettingsFormat::Json => {
            let mut target = match existing {
                Some(text) => {
                    serde_json::from_str(text).map_err(|error| unparseable(error.to_string()))?
                }
                None => serde_json::Value::Object(serde_json::Map::new()),
            };
            if !target.is_object() {
                return Err(SpawnSettingsError::NotAMapping {
                    path: path.to_owned(),
                });
            }
            if !merge_json(&mut target, patch) {
                return Ok(None);
            }
            let mut text = serde_json::to_string_pretty(&target)
                .expect("a serde_json::Value always serializes");
            text.push('\n');
            Ok(Some(text))
        }
        SettingsFormat::Toml => {
            let mut target: toml::Table = match existing {
                Some(text) => text
                    .parse()
                    .map_err(|error: toml::de::Error| unparseable(error.message().to_owned()))?,
                None => toml::Table::new(),
            };
            let unrepresentable = |message: String| SpawnSettingsError::Unrepresentable {
                path: path.to_owned(),
                format,
                message,
            };
            let patch: toml::Table = serde_json::from_value(patch.clone())
                .map_err(|error| unrepresentable(error.to_string()))?;
            if !merge_toml(&mut target, &patch) {
                return Ok(None);
            }
            toml::to_string(&target)
                .map(Some)
                .map_err(|error| unrepresentable(error.to_string()))
        }
    }
}

/// Substitutes `{otlp_endpoint}` in every string of a merge value.
pub fn substitute_value(value: &serde_json::Value, otlp_endpoint: &str) -> serde_json::Value {
    match value {
        serde_json::Value::String(text) => {
            serde_json::Value::String(text.replace("{otlp_endpoint}", otlp_endpoint))
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|item| substitute_value(item, otlp_endpoint))
                .collect(),
        ),
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), substitute_value(item, otlp_endpoint)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Applies one merge to the file at `path`: creates it (and its parent
/// directory) when missing, rewrites it only when a key was added. Returns
/// whether the file was written.
pub fn apply(
    path: &Path,
    format: SettingsFormat,
    patch: &serde_json::Value,
) -> Result<bool, SpawnSettingsError> {
    let display = path.display().to_string();
    let io = |source: std::io::Error| SpawnSettingsError::Io {
        path: display.clone(),
        source,
    };
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(io(error)),
    };
    let Some(text) = merge_text(&display, format, existing.as_deref(), patch)? else {
        return Ok(false);
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)?;
    Ok(true)
}
