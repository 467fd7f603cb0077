//! The `provisioning` section of a profile: what the daemon's container image
//! must contain for the agent (packages with pinned versions, seeded config
//! files, a verify step) and what the container needs at run time (host
//! mounts, passed-through environment). The Containerfile and the run
//! configurations are generated from it.

use schemars::JsonSchema;
use serde::Deserialize;

/// How to provision an agent in the daemon's image and container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provisioning {
    /// Debian packages.
    #[serde(default)]
    pub apt: Vec<Package>,
    /// npm packages installed globally (`npm install -g name@version`).
    #[serde(default)]
    pub npm: Vec<Package>,
    /// Python packages (`pip install name==version`).
    #[serde(default)]
    pub pip: Vec<Package>,
    /// Files written into the image.
    #[serde(default)]
    pub config_files: Vec<ConfigFile>,
    /// Commands that must succeed in the built image, e.g. `claude --version`.
    #[serde(default)]
    pub verify: Vec<String>,
    /// Host paths the container mounts (credentials, caches).
    #[serde(default)]
    pub mounts: Vec<Mount>,
    /// Environment variables passed from the host into the container.
    #[serde(default)]
    pub passthrough_env: Vec<String>,
}

/// A package pinned to an exact version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// The package name, e.g. `@anthropic-ai/claude-code`.
    pub name: String,
    /// The exact version, e.g. `2.1.3`.
    pub version: String,
}

/// A file written into the image.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Absolute path in the image; `~/` means the agent user's home.
    pub path: String,
    /// The file's content.
    pub content: String,
    /// Octal mode, e.g. `"0600"`; `0644` when absent.
    #[serde(default)]
    pub mode: Option<String>,
}

/// A host path mounted into the daemon's container.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    /// Path on the host; `~/` means the invoking user's home.
    pub host: String,
    /// Path in the container; `~/` means the agent user's home.
    pub container: String,
    /// Read-only or read-write.
    #[serde(default)]
    pub mode: MountMode,
    /// Skip the mount when the host path does not exist.
    #[serde(default)]
    pub optional: bool,
}

/// Whether a mount is writable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MountMode {
    /// Read-only (the default: credentials are read, not written).
    #[default]
    Ro,
    /// Read-write.
    Rw,
}
