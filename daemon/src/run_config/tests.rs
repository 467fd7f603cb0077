//! Snapshots of every run-configuration format for the fixture profiles, and
//! the rules they must keep: every declared mount and variable, the token
//! never inline, optional mounts commented out when absent.

use std::collections::BTreeSet;

use super::*;
use crate::containerfile::tests::fixtures;

fn input() -> RunConfigInput {
    RunConfigInput {
        hub_url: "http://hub.example.com:8080".to_owned(),
        token_file: Some("~/.config/flotilla/host-token".to_owned()),
        projects_root: "~/src".to_owned(),
        image: DEFAULT_IMAGE.to_owned(),
        network: None,
        present_optional: BTreeSet::new(),
    }
}

#[test]
fn podman_command() {
    insta::assert_snapshot!(render(Format::Podman, &fixtures(), &input()));
}

#[test]
fn quadlet_unit() {
    insta::assert_snapshot!(render(Format::Quadlet, &fixtures(), &input()));
}

#[test]
fn compose_service() {
    insta::assert_snapshot!(render(Format::Compose, &fixtures(), &input()));
}

#[test]
fn podman_secret_when_no_token_file_and_present_optional_mounts() {
    let mut input = input();
    input.token_file = None;
    input.network = Some("host".to_owned());
    input.projects_root = "/srv/projects with space".to_owned();
    input
        .present_optional
        .insert("~/.config/alpha/credentials.json".to_owned());
    for format in [Format::Podman, Format::Quadlet, Format::Compose] {
        let text = render(format, &fixtures(), &input);
        assert!(!text.contains("optional mount skipped"), "{text}");
        assert!(text.contains(TOKEN_SECRET), "{text}");
        insta::assert_snapshot!(format!("secret_{format:?}").to_lowercase(), text);
    }
}

#[test]
fn every_declared_mount_and_variable_appears_in_every_format() {
    for format in [Format::Podman, Format::Quadlet, Format::Compose] {
        let text = render(format, &fixtures(), &input());
        for needle in [
            "/home/flotilla/.alpha:rw",
            "/home/flotilla/.config/alpha/credentials.json:ro",
            "ALPHA_API_KEY",
            "BETA_TOKEN",
            CONTAINER_TOKEN_PATH,
        ] {
            assert!(text.contains(needle), "{format:?} lacks {needle}:\n{text}");
        }
        assert_eq!(
            text.matches("ALPHA_API_KEY").count(),
            1,
            "{format:?} dedupes variables"
        );
    }
}

#[test]
fn the_podman_command_is_valid_shell_and_keeps_home_symbolic() {
    let mut input = input();
    input
        .present_optional
        .insert("~/.config/alpha/credentials.json".to_owned());
    let text = render(Format::Podman, &fixtures(), &input);
    // Run it through a real shell with `podman` replaced by printing argv.
    let script = format!("podman() {{ printf '%s\\n' \"$@\"; }}\n{text}");
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("HOME", "/home/alice")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let argv: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let after = |flag: &str| -> Vec<&str> {
        argv.windows(2)
            .filter(|pair| pair[0] == flag)
            .map(|pair| pair[1].as_str())
            .collect()
    };
    assert_eq!(
        after("-v"),
        [
            "/home/alice/src:/home/alice/src:rw",
            "/home/alice/.config/flotilla/host-token:/run/secrets/flotilla-host-token:ro",
            "/home/alice/.alpha:/home/flotilla/.alpha:rw",
            "/home/alice/.config/alpha/credentials.json:/home/flotilla/.config/alpha/credentials.json:ro",
        ]
    );
    assert_eq!(after("-e"), ["ALPHA_API_KEY", "BETA_TOKEN"]);
    assert_eq!(after("--token-file"), [CONTAINER_TOKEN_PATH]);
    assert_eq!(after("--projects-root"), ["/home/alice/src"]);
}

#[test]
fn compose_file_for_fixtures() {
    insta::assert_snapshot!(render_compose_file(&fixtures(), COMPOSE_TEMPLATE).unwrap());
}

#[test]
fn committed_compose_file_is_fresh() {
    let profiles = crate::generated::shipped_profiles();
    let expected = render_compose_file(&profiles, COMPOSE_TEMPLATE).unwrap();
    crate::generated::check_fresh(
        &crate::generated::repo_root().join("compose.yml"),
        &expected,
    );
}
