//! The `mcp` section: where an agent keeps its MCP server configuration, so
//! the UI can show which configurations exist on the host.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use super::auth::expand_home;

/// MCP configuration locations of an agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mcp {
    /// Paths relative to a project directory, e.g. `.mcp.json`.
    #[serde(default)]
    pub project_files: Vec<String>,
    /// Paths in the user's home, e.g. `~/.claude.json`.
    #[serde(default)]
    pub user_files: Vec<String>,
}

impl Mcp {
    /// The configurations that exist: user files as written in the profile,
    /// and project files with the number of projects that have them.
    pub fn detect(&self, home: Option<&Path>, projects: &[PathBuf]) -> Vec<String> {
        let mut found: Vec<String> = self
            .user_files
            .iter()
            .filter(|file| expand_home(file, home).is_some_and(|path| path.is_file()))
            .cloned()
            .collect();
        for file in &self.project_files {
            let n_projects = projects
                .iter()
                .filter(|project| project.join(file).is_file())
                .count();
            if n_projects > 0 {
                let noun = if n_projects == 1 {
                    "project"
                } else {
                    "projects"
                };
                found.push(format!("{file} (in {n_projects} {noun})"));
            }
        }
        found
    }
}
