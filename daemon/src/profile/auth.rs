//! The `auth` section: how to tell whether an agent can authenticate on this
//! host. A profile whose auth is not satisfied is still advertised, with a
//! problem the UI shows.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::Deserialize;

/// Ways an agent can authenticate. Each non-empty list is one way; auth is
/// satisfied when at least one way is (or when no way is declared).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// Satisfied when at least one of these variables is set and non-empty
    /// in the daemon's environment.
    #[serde(default)]
    pub env_any: Vec<String>,
    /// Satisfied when all of these variables are set and non-empty.
    #[serde(default)]
    pub env_all: Vec<String>,
    /// Satisfied when all of these files exist; `~/` is the daemon user's
    /// home directory.
    #[serde(default)]
    pub files: Vec<String>,
}

impl Auth {
    /// `None` when auth is satisfied, otherwise a sentence naming what is
    /// needed, e.g. "ANTHROPIC_API_KEY or ~/.claude/.credentials.json needed".
    pub fn problem(&self, env: &BTreeMap<String, String>, home: Option<&Path>) -> Option<String> {
        let set = |name: &String| env.get(name).is_some_and(|value| !value.is_empty());
        let mut ways = Vec::new();
        if !self.env_any.is_empty() {
            if self.env_any.iter().any(set) {
                return None;
            }
            ways.push(self.env_any.join(" or "));
        }
        if !self.env_all.is_empty() {
            if self.env_all.iter().all(set) {
                return None;
            }
            ways.push(group(&self.env_all));
        }
        if !self.files.is_empty() {
            if self
                .files
                .iter()
                .all(|file| expand_home(file, home).is_some_and(|path| path.exists()))
            {
                return None;
            }
            ways.push(group(&self.files));
        }
        if ways.is_empty() {
            return None;
        }
        Some(format!("{} needed", ways.join(" or ")))
    }
}

/// `a and b`, in parentheses when there is more than one item.
fn group(items: &[String]) -> String {
    match items {
        [one] => one.clone(),
        _ => format!("({})", items.join(" and ")),
    }
}

/// Expands a leading `~/` with `home`; other paths are returned as they are.
/// `None` when the path needs a home directory and there is none.
pub fn expand_home(path: &str, home: Option<&Path>) -> Option<std::path::PathBuf> {
    match path.strip_prefix("~/") {
        Some(rest) => home.map(|home| home.join(rest)),
        None => Some(std::path::PathBuf::from(path)),
    }
}
