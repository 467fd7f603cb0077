//! The `status` section: screen patterns that say what a session of this
//! profile is waiting for. They apply to this profile's sessions only, never
//! to other profiles' (no global union of patterns).

use schemars::JsonSchema;
use serde::Deserialize;

/// Regular expressions (Rust `regex` syntax) matched against the screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusPatterns {
    /// The agent asks for permission to run a tool.
    #[serde(default)]
    pub permission: Vec<String>,
    /// The agent asks a structured question.
    #[serde(default)]
    pub question: Vec<String>,
    /// The agent finished its turn and waits for input.
    #[serde(default)]
    pub idle: Vec<String>,
}

impl StatusPatterns {
    /// Every pattern with its field path relative to `status`.
    pub fn all(&self) -> impl Iterator<Item = (String, &str)> {
        let lists = [
            ("permission", &self.permission),
            ("question", &self.question),
            ("idle", &self.idle),
        ];
        lists.into_iter().flat_map(|(name, list)| {
            list.iter()
                .enumerate()
                .map(move |(index, pattern)| (format!("{name}[{index}]"), pattern.as_str()))
        })
    }
}
