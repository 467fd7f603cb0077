//! The `spawn_settings` section: keys merged into an agent's own config
//! files before it starts (e.g. Codex reads its OTel exporter from
//! `~/.codex/config.toml`). The merge only adds what is missing: a key the
//! user already set is never changed, whatever its value.
//!
//! What a merge added is recorded ([`Added`]) and taken out again when the
//! last session that needed it ends ([`undo`]): a key goes only if it still
//! holds the value the merge wrote (a key the user changed meanwhile stays),
//! a mapping the merge created goes once it is empty, and a file the merge
//! created goes once nothing is left in it. `host::settings` keeps the
//! records, on disk too, so a daemon that was killed undoes them at its next
//! start.

use std::collections::BTreeMap;
use std::path::Path;

use super::placeholder::{Placeholder, Values, substitute};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
    Ok(merge_with_added(path, format, existing, patch)?.map(|(text, _)| text))
}

/// [`merge_text`], with what the merge added, from one parse. Pure.
fn merge_with_added(
    path: &str,
    format: SettingsFormat,
    existing: Option<&str>,
    patch: &serde_json::Value,
) -> Result<Option<(String, Added)>, SpawnSettingsError> {
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
            let added = added_json(&target, patch);
            if !merge_json(&mut target, patch) {
                return Ok(None);
            }
            let mut text = serde_json::to_string_pretty(&target)
                .expect("a serde_json::Value always serializes");
            text.push('\n');
            Ok(Some((text, added)))
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
            let added = added_toml(&target, &patch);
            if !merge_toml(&mut target, &patch) {
                return Ok(None);
            }
            toml::to_string(&target)
                .map(|text| Some((text, added)))
                .map_err(|error| unrepresentable(error.to_string()))
        }
    }
}

/// What one or more merges added to a file, as a tree: `whole` keys were
/// missing and were written with these values; `nested` keys were mappings
/// already there that got keys of their own added.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Added {
    /// Keys written whole, with the value written (as JSON).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub whole: BTreeMap<String, serde_json::Value>,
    /// Mappings that were there, with what was added inside them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nested: BTreeMap<String, Added>,
}

impl Added {
    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.whole.is_empty() && self.nested.is_empty()
    }

    /// Adds what a later merge added.
    pub fn extend(&mut self, other: Added) {
        self.whole.extend(other.whole);
        for (key, nested) in other.nested {
            if self.whole.contains_key(&key) {
                continue;
            }
            self.nested.entry(key).or_default().extend(nested);
        }
    }
}

/// What [`merge_json`] would add to `target`. Pure.
fn added_json(target: &serde_json::Value, patch: &serde_json::Value) -> Added {
    let mut added = Added::default();
    let (Some(target), Some(patch)) = (target.as_object(), patch.as_object()) else {
        return added;
    };
    for (key, value) in patch {
        match target.get(key) {
            None => {
                added.whole.insert(key.clone(), value.clone());
            }
            Some(existing) => {
                let nested = added_json(existing, value);
                if !nested.is_empty() {
                    added.nested.insert(key.clone(), nested);
                }
            }
        }
    }
    added
}

/// Takes `added` out of `target` (see the module comment). Returns whether
/// `target` changed. Pure.
fn undo_json(target: &mut serde_json::Map<String, serde_json::Value>, added: &Added) -> bool {
    let mut changed = false;
    for (key, value) in &added.whole {
        if target.get(key) == Some(value) {
            target.remove(key);
            changed = true;
        } else if let (Some(serde_json::Value::Object(inner)), Some(written)) =
            (target.get_mut(key), value.as_object())
        {
            // The user added keys of their own inside: take out ours only,
            // and the mapping once it is empty.
            let ours = Added {
                whole: written.clone().into_iter().collect(),
                nested: BTreeMap::new(),
            };
            changed |= undo_json(inner, &ours);
            if inner.is_empty() {
                target.remove(key);
            }
        }
    }
    for (key, nested) in &added.nested {
        if let Some(serde_json::Value::Object(inner)) = target.get_mut(key) {
            changed |= undo_json(inner, nested);
        }
    }
    changed
}

/// [`added_json`] for TOML. Pure.
fn added_toml(target: &toml::Table, patch: &toml::Table) -> Added {
    let mut added = Added::default();
    for (key, value) in patch {
        match target.get(key) {
            None => {
                added.whole.insert(key.clone(), toml_to_json(value));
            }
            Some(toml::Value::Table(existing)) => {
                if let toml::Value::Table(value) = value {
                    let nested = added_toml(existing, value);
                    if !nested.is_empty() {
                        added.nested.insert(key.clone(), nested);
                    }
                }
            }
            Some(_) => {}
        }
    }
    added
}

/// [`undo_json`] for TOML. Pure.
fn undo_toml(target: &mut toml::Table, added: &Added) -> bool {
    let mut changed = false;
    for (key, value) in &added.whole {
        let current = target.get(key).map(toml_to_json);
        if current.as_ref() == Some(value) {
            target.remove(key);
            changed = true;
        } else if let (Some(toml::Value::Table(inner)), Some(written)) =
            (target.get_mut(key), value.as_object())
        {
            let ours = Added {
                whole: written.clone().into_iter().collect(),
                nested: BTreeMap::new(),
            };
            changed |= undo_toml(inner, &ours);
            if inner.is_empty() {
                target.remove(key);
            }
        }
    }
    for (key, nested) in &added.nested {
        if let Some(toml::Value::Table(inner)) = target.get_mut(key) {
            changed |= undo_toml(inner, nested);
        }
    }
    changed
}

/// A TOML value as JSON, for comparing with what was written. Datetimes
/// become their text; a merge never writes one (merge values are JSON).
fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(text) => serde_json::Value::String(text.clone()),
        toml::Value::Integer(n) => serde_json::Value::from(*n),
        toml::Value::Float(x) => serde_json::Value::from(*x),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(when) => serde_json::Value::String(when.to_string()),
        toml::Value::Array(items) => items.iter().map(toml_to_json).collect(),
        toml::Value::Table(table) => serde_json::Value::Object(
            table
                .iter()
                .map(|(key, item)| (key.clone(), toml_to_json(item)))
                .collect(),
        ),
    }
}

/// What undoing leaves of a file's text.
#[derive(Debug, PartialEq, Eq)]
pub enum Undone {
    /// Nothing of ours was left in it (or it is gone or unreadable as its
    /// format): it stays as it is.
    Unchanged,
    /// The new text.
    Text(String),
    /// Nothing at all is left: remove the file (only offered when the merge
    /// created it).
    Empty,
}

/// Takes `added` out of the text of a file. Pure: `path` is used in errors
/// only. A file that no longer parses is left alone (an error).
pub fn undo_text(
    path: &str,
    format: SettingsFormat,
    existing: &str,
    added: &Added,
    created_file: bool,
) -> Result<Undone, SpawnSettingsError> {
    let unparseable = |message: String| SpawnSettingsError::Unparseable {
        path: path.to_owned(),
        format,
        message,
    };
    match format {
        SettingsFormat::Json => {
            let mut target: serde_json::Value =
                serde_json::from_str(existing).map_err(|error| unparseable(error.to_string()))?;
            let Some(map) = target.as_object_mut() else {
                return Ok(Undone::Unchanged);
            };
            if !undo_json(map, added) {
                return Ok(Undone::Unchanged);
            }
            if map.is_empty() && created_file {
                return Ok(Undone::Empty);
            }
            let mut text = serde_json::to_string_pretty(&target)
                .expect("a serde_json::Value always serializes");
            text.push('\n');
            Ok(Undone::Text(text))
        }
        SettingsFormat::Toml => {
            let mut target: toml::Table = existing
                .parse()
                .map_err(|error: toml::de::Error| unparseable(error.message().to_owned()))?;
            if !undo_toml(&mut target, added) {
                return Ok(Undone::Unchanged);
            }
            if target.is_empty() && created_file {
                return Ok(Undone::Empty);
            }
            toml::to_string(&target).map(Undone::Text).map_err(|error| {
                SpawnSettingsError::Unrepresentable {
                    path: path.to_owned(),
                    format,
                    message: error.to_string(),
                }
            })
        }
    }
}

/// Substitutes `{otlp_endpoint}` in every string of a merge value.
pub fn substitute_value(value: &serde_json::Value, otlp_endpoint: &str) -> serde_json::Value {
    match value {
        serde_json::Value::String(text) => {
            let values = Values::new().with(Placeholder::OtlpEndpoint, otlp_endpoint);
            // Validation admits only `{otlp_endpoint}` here.
            serde_json::Value::String(substitute(text, &values).unwrap_or_else(|_| text.clone()))
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

/// What [`apply`] did to a file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// What it added; empty when the file already had every key.
    pub added: Added,
    /// Whether the file did not exist before.
    pub created_file: bool,
}

/// Applies one merge to the file at `path`: creates it (and its parent
/// directory) when missing, rewrites it only when a key was added. Returns
/// what it added.
pub fn apply(
    path: &Path,
    format: SettingsFormat,
    patch: &serde_json::Value,
) -> Result<Applied, SpawnSettingsError> {
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
    let Some((text, added)) = merge_with_added(&display, format, existing.as_deref(), patch)?
    else {
        return Ok(Applied::default());
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)?;
    Ok(Applied {
        added,
        created_file: existing.is_none(),
    })
}

/// Takes what merges added out of the file at `path` again; removes the
/// file when the merge created it and nothing else is left. Returns whether
/// the file changed.
pub fn undo(
    path: &Path,
    format: SettingsFormat,
    added: &Added,
    created_file: bool,
) -> Result<bool, SpawnSettingsError> {
    let display = path.display().to_string();
    let io = |source: std::io::Error| SpawnSettingsError::Io {
        path: display.clone(),
        source,
    };
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(io(error)),
    };
    match undo_text(&display, format, &existing, added, created_file)? {
        Undone::Unchanged => Ok(false),
        Undone::Text(text) => std::fs::write(path, text).map(|()| true).map_err(io),
        Undone::Empty => std::fs::remove_file(path).map(|()| true).map_err(io),
    }
}
