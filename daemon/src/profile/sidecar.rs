//! The `sidecar` section: telemetry for shells, which have no OTLP exporter.
//! The shell's `PROMPT_COMMAND` writes a small JSON file after each command;
//! the daemon reads the fields named here from it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// A PROMPT_COMMAND-style telemetry source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    /// A shell command whose standard output (one JSON object) is written to
    /// the sidecar file after every command.
    pub prompt_command: String,
    /// Where the file goes. Placeholders: `{agent_id}` (required, so sessions
    /// never share a file) and `{tmpdir}`.
    pub file_pattern: String,
    /// Telemetry key → key in the JSON object, e.g. `cwd: pwd`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}
