//! Pure tests of the Containerfile rendering: snapshots of fixture profiles,
//! the committed `containerfiles/daemon.Containerfile` freshness check, the
//! conflicts and invalid values, and a real `sh` round trip of a seeded file.

use super::*;
use crate::generated::{self, repo_root};
use crate::profile::provisioning::Provisioning;

/// A profile named `name` whose provisioning is `provisioning_yaml`. The
/// other fields come from the shipped `bash` profile: only provisioning
/// matters here.
pub(crate) fn fixture(name: &str, provisioning_yaml: &str) -> Profile {
    let mut profile =
        crate::profile::parse("bash.yaml", include_str!("../../../profiles/bash.yaml"))
            .expect("the shipped bash profile parses");
    name.clone_into(&mut profile.name);
    profile.provisioning = serde_saphyr::from_str::<Provisioning>(provisioning_yaml)
        .expect("fixture provisioning parses");
    profile
}

/// Two agents with npm, apt and pip packages, seeded files in the home and
/// in /etc (with content that needs quoting), mounts and verify steps.
pub(crate) fn fixtures() -> Vec<Profile> {
    vec![
        fixture(
            "alpha",
            r#"
apt: [{name: ripgrep, version: "14.1.1-1+b4"}]
npm: [{name: "@example/alpha-cli", version: "1.2.3"}]
pip: [{name: alpha-tools, version: "0.4.0"}]
config_files:
  - path: ~/.alpha/settings.json
    content: |
      {"telemetry": "on", "greeting": "it's $HOME and `date`"}
    mode: "0600"
  - path: /etc/alpha/policy.toml
    content: "allow = ['*']\n"
mounts:
  - {host: ~/.alpha, container: ~/.alpha, mode: rw}
  - {host: ~/.config/alpha/credentials.json, container: ~/.config/alpha/credentials.json, optional: true}
passthrough_env: [ALPHA_API_KEY]
verify: ["alpha --version"]
"#,
        ),
        fixture(
            "beta",
            r#"
apt: [{name: ripgrep, version: "14.1.1-1+b4"}, {name: jq, version: "1.7.1-6"}]
npm: [{name: beta, version: "0.9.0"}]
mounts:
  - {host: ~/.alpha, container: ~/.alpha}
passthrough_env: [BETA_TOKEN, ALPHA_API_KEY]
verify: ["beta --version", "test -s ~/.alpha/settings.json"]
"#,
        ),
        fixture("plain", "{}"),
    ]
}

#[test]
fn fixtures_render() {
    let text = render(&fixtures(), &Templates::builtin()).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn profiles_without_provisioning_render_a_bare_image() {
    let text = render(&[fixture("plain", "{}")], &Templates::builtin()).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn output_does_not_depend_on_profile_order() {
    let mut reversed = fixtures();
    reversed.reverse();
    assert_eq!(
        render(&fixtures(), &Templates::builtin()).unwrap(),
        render(&reversed, &Templates::builtin()).unwrap()
    );
}

#[test]
fn committed_containerfile_is_fresh() {
    let expected = render(&generated::shipped_profiles(), &Templates::builtin()).unwrap();
    generated::check_fresh(
        &repo_root().join("containerfiles/daemon.Containerfile"),
        &expected,
    );
}

/// The builder stage, from its `FROM` to the next `FROM`.
fn builder_stage(text: &str) -> &str {
    let start = text
        .find("FROM ${BUILDER_IMAGE} AS builder")
        .expect("a builder stage");
    let end = text[start + 1..]
        .find("\nFROM ")
        .map_or(text.len(), |offset| start + 1 + offset);
    &text[start..end]
}

#[test]
fn hub_and_daemon_builder_stages_are_identical() {
    // Identical text means identical layers: podman compiles Rust once.
    let hub =
        std::fs::read_to_string(repo_root().join("containerfiles/hub.Containerfile")).unwrap();
    let daemon = render(&fixtures(), &Templates::builtin()).unwrap();
    assert_eq!(builder_stage(&hub), builder_stage(&daemon));
    assert!(
        builder_stage(&hub)
            .contains("cargo build --release --locked -p flotilla-hub -p flotilla-daemon")
    );
}

#[test]
fn every_from_takes_its_image_from_a_build_arg() {
    let hub =
        std::fs::read_to_string(repo_root().join("containerfiles/hub.Containerfile")).unwrap();
    let daemon = render(&fixtures(), &Templates::builtin()).unwrap();
    for text in [&hub, &daemon] {
        for line in text.lines().filter(|line| line.starts_with("FROM ")) {
            let image = line.split_whitespace().nth(1).unwrap();
            assert!(
                image.starts_with("${") && image.ends_with("_IMAGE}"),
                "{line}"
            );
            let arg = &image[2..image.len() - 1];
            assert!(
                text.lines()
                    .any(|line| line.starts_with(&format!("ARG {arg}=docker.io/library/"))),
                "{arg} needs a public default"
            );
        }
        // Extra CA certificates are installed before any network access over TLS.
        let certs = text.find("update-ca-certificates").unwrap();
        for network in ["cargo build", "npm ci", "npm install", "pip install"] {
            if let Some(at) = text.find(network) {
                assert!(certs < at, "{network} runs before update-ca-certificates");
            }
        }
    }
}

#[test]
fn conflicting_pins_are_refused() {
    let profiles = [
        fixture("one", "npm: [{name: tool, version: '1.0.0'}]"),
        fixture("two", "npm: [{name: tool, version: '2.0.0'}]"),
    ];
    let error = render(&profiles, &Templates::builtin()).unwrap_err();
    insta::assert_snapshot!(error.to_string(), @r#"npm package `tool` is pinned to "1.0.0" by profile `one` and to "2.0.0" by profile `two`; one image can hold only one version"#);
}

#[test]
fn conflicting_config_files_are_refused() {
    let profiles = [
        fixture("one", "config_files: [{path: /etc/x, content: a}]"),
        fixture("two", "config_files: [{path: /etc/x, content: b}]"),
    ];
    let error = render(&profiles, &Templates::builtin()).unwrap_err();
    insta::assert_snapshot!(error.to_string(), @r#"config file "/etc/x" is seeded differently by profiles `one` and `two`"#);
}

#[test]
fn values_that_cannot_go_into_a_containerfile_are_refused() {
    let check = |provisioning: &str, expect: &str| {
        let error = render(&[fixture("bad", provisioning)], &Templates::builtin()).unwrap_err();
        assert_eq!(error.to_string(), expect, "{provisioning}");
    };
    check(
        "verify: [\"a\\nb\"]",
        "profile `bad`: at `provisioning.verify[0]`: expected a non-empty one-line shell command (no control characters, no trailing backslash)",
    );
    check(
        "npm: [{name: 'x y', version: '1'}]",
        "profile `bad`: at `provisioning.npm[0].name`: expected a non-empty value without spaces or control characters",
    );
    check(
        "config_files: [{path: relative/file, content: x}]",
        "profile `bad`: at `provisioning.config_files[0].path`: expected an absolute path or one starting with `~/`, without `..`",
    );
    check(
        "config_files: [{path: ~/../etc/passwd, content: x}]",
        "profile `bad`: at `provisioning.config_files[0].path`: expected an absolute path or one starting with `~/`, without `..`",
    );
    check(
        "config_files: [{path: /etc/x, content: x, mode: '999'}]",
        "profile `bad`: at `provisioning.config_files[0].mode`: expected an octal mode such as \"0600\"",
    );
}

#[test]
fn strict_undefined_reports_a_missing_value() {
    let templates = Templates {
        daemon: "{{ no_such_value }}".to_owned(),
    };
    let error = render(&[], &templates).unwrap_err();
    assert!(matches!(error, RenderError::Template(_)), "{error}");
}

#[test]
fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
    assert_eq!(shell_quote("@openai/codex@0.1.0"), "@openai/codex@0.1.0");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote("$HOME"), "'$HOME'");
    assert_eq!(shell_quote(""), "''");
}

#[test]
fn seeded_file_round_trips_through_a_real_shell() {
    // The RUN line as rendered, executed by sh against a temporary root.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("it's here").join("settings.json");
    let content = "line 1\n'quotes' \"double\" $HOME `date` \\ %s\n\u{e9}\n";
    let profile = fixture(
        "roundtrip",
        &format!(
            "config_files: [{{path: {}, content: {}, mode: '0600'}}]",
            serde_json::to_string(&path.display().to_string()).unwrap(),
            serde_json::to_string(content).unwrap()
        ),
    );
    let text = render(&[profile], &Templates::builtin()).unwrap();
    let run = text
        .lines()
        .find(|line| line.starts_with("RUN mkdir -p ") && line.contains("base64 -d"))
        .unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(&run["RUN ".len()..])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
