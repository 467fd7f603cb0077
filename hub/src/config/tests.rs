//! Tests of configuration validation.

use clap::Parser;

use super::*;

fn parse(args: &[&str], password: Option<&str>) -> Result<HubConfig, Vec<String>> {
    let mut argv = vec!["flotilla-hub"];
    argv.extend_from_slice(args);
    HubConfig::from_args(
        HubArgs::try_parse_from(argv).unwrap(),
        password.map(String::from),
    )
}

#[test]
fn defaults_use_sqlite_in_the_data_dir() {
    let config = parse(&["--listen", "127.0.0.1:0", "--data-dir", "/tmp/x"], None).unwrap();
    assert_eq!(config.database_url, "sqlite:///tmp/x/flotilla.db?mode=rwc");
    assert!(matches!(config.origin, OriginPolicy::SameHost));
    assert!(!config.secure_cookies);
}

#[test]
fn public_url_sets_the_exact_origin_and_secure_cookies() {
    let config = parse(
        &[
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "https://Hub.example.com/app/",
        ],
        None,
    )
    .unwrap();
    match config.origin {
        OriginPolicy::Exact(origin) => assert_eq!(origin, "https://hub.example.com"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(config.secure_cookies);
}

#[test]
fn every_problem_is_reported_together() {
    let problems = parse(
        &[
            "--listen",
            "nonsense",
            "--public-url",
            "ftp://x",
            "--database-url",
            "mysql://x",
        ],
        Some("short"),
    )
    .unwrap_err();
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("--listen")));
    assert!(problems.iter().any(|p| p.contains("--public-url")));
    assert!(problems.iter().any(|p| p.contains("DATABASE_URL")));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("FLOTILLA_ADMIN_PASSWORD"))
    );
}
