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

#[test]
fn metrics_and_usage_flags() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "  a-long-enough-metrics-token\n").unwrap();
    let config = parse(
        &[
            "--listen",
            "127.0.0.1:0",
            "--metrics-token-file",
            token_file.to_str().unwrap(),
            "--metrics-listen",
            "127.0.0.1:9464",
            "--usage-flush-ms",
            "250",
        ],
        None,
    )
    .unwrap();
    assert_eq!(
        config.metrics_token.as_ref().map(Secret::expose),
        Some("a-long-enough-metrics-token")
    );
    assert!(!format!("{config:?}").contains("a-long-enough"), "redacted");
    assert_eq!(
        config.metrics_listen,
        Some("127.0.0.1:9464".parse().unwrap())
    );
    assert_eq!(config.usage_flush_interval, Duration::from_millis(250));

    let defaults = parse(&["--listen", "127.0.0.1:0"], None).unwrap();
    assert!(defaults.metrics_token.is_none() && defaults.metrics_listen.is_none());
    assert_eq!(defaults.usage_flush_interval, Duration::from_secs(1));
}

#[test]
fn bad_metrics_and_usage_flags_are_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "tiny\n").unwrap();
    let missing = dir.path().join("missing");
    for (token_file, needle) in [
        (&short, "at least 16 characters"),
        (&missing, "cannot read it"),
    ] {
        let problems = parse(
            &[
                "--listen",
                "127.0.0.1:0",
                "--metrics-token-file",
                token_file.to_str().unwrap(),
                "--metrics-listen",
                "localhost",
                "--usage-flush-ms",
                "0",
            ],
            None,
        )
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains(needle)), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("--metrics-listen")));
        assert!(problems.iter().any(|p| p.contains("--usage-flush-ms")));
    }
}
