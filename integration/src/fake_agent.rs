//! The fake agent fixture (`integration/fixtures/fake-agent`), shared with
//! the browser tests: a bash script that posts fixed OTLP exports to the
//! endpoints the daemon injected, its profile, and the totals to expect.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The fixture's directory in the repository.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fake-agent")
}

/// Writes the fake agent's profile into `profiles` and returns its name.
pub fn install(profiles: &Path) -> String {
    let dir = dir();
    let template =
        std::fs::read_to_string(dir.join("profile.yaml")).expect("read the fake agent's profile");
    let profile = template.replace("@FIXTURE_DIR@", &dir.display().to_string());
    let expected = expected();
    std::fs::write(profiles.join(format!("{}.yaml", expected.profile)), profile)
        .expect("write the fake agent's profile");
    expected.profile
}

/// What a session of the fake agent must add up to (`expected.json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expected {
    /// The profile's name.
    pub profile: String,
    /// The line the agent prints once it sent every export.
    pub sent_line: String,
    /// Token totals.
    pub tokens: ExpectedTokens,
    /// The total cost.
    pub cost_nano_usd: u64,
    /// The context window use of the latest request.
    pub context: ExpectedContext,
}

/// Token totals of [`Expected`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectedTokens {
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Cache-read tokens.
    pub cache_read: u64,
    /// Every token.
    pub total: u64,
}

/// Context use of [`Expected`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectedContext {
    /// The model of the latest request.
    pub model: String,
    /// Tokens in the context.
    pub used_tokens: u64,
    /// The model's window.
    pub window_tokens: u64,
}

/// The fixture's `expected.json`.
pub fn expected() -> Expected {
    let text = std::fs::read_to_string(dir().join("expected.json"))
        .expect("read the fake agent's expected totals");
    serde_json::from_str(&text).expect("parse the fake agent's expected totals")
}
