//! Tests for `crate::config`: validation is a pure function over arguments,
//! an environment map and a working directory.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn setup() -> (tempfile::TempDir, RunArgs) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("profiles")).unwrap();
    let args = RunArgs {
        hub_url: Some("http://127.0.0.1:8080".to_owned()),
        profiles_dir: PathBuf::from("profiles"),
        scan_depth: DEFAULT_SCAN_DEPTH,
        stop_grace_ms: DEFAULT_STOP_GRACE_MS,
        ..RunArgs::default()
    };
    (dir, args)
}

#[test]
fn valid_config_uses_env_token_and_cwd_root() {
    let (dir, args) = setup();
    let config = Config::validate(args, &env(&[(TOKEN_ENV, " tok\n")]), dir.path()).unwrap();
    assert_eq!(config.token.expose(), "tok");
    assert_eq!(
        config.projects_roots,
        vec![dir.path().canonicalize().unwrap()]
    );
    assert_eq!(config.stop_grace, Duration::from_millis(3000));
    assert!(!format!("{config:?}").contains("tok\""));
    assert_eq!(format!("{:?}", config.token), "Secret(<redacted>)");
}

#[test]
fn token_file_wins_over_env() {
    let (dir, mut args) = setup();
    let file = dir.path().join("token");
    std::fs::write(&file, "from-file\n").unwrap();
    args.token_file = Some(file);
    let config = Config::validate(args, &env(&[(TOKEN_ENV, "from-env")]), dir.path()).unwrap();
    assert_eq!(config.token.expose(), "from-file");
}

#[test]
fn all_problems_are_reported_together() {
    let (dir, mut args) = setup();
    args.hub_url = None;
    args.profiles_dir = PathBuf::from("nope");
    args.projects_roots = vec![PathBuf::from("/definitely/missing")];
    args.scan_depth = 1000;
    args.stop_grace_ms = 0;
    let error = Config::validate(args, &env(&[]), dir.path()).unwrap_err();
    let text = error.problems.join("\n");
    assert_eq!(error.problems.len(), 6, "{text}");
    for needle in [
        "--hub-url",
        "no host token",
        "profiles directory",
        "/definitely/missing",
        "--scan-depth",
        "--stop-grace-ms",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
}

#[test]
fn hub_url_must_be_http_without_credentials() {
    for (url, ok) in [
        ("http://127.0.0.1:8080", true),
        ("https://hub.example/", true),
        ("127.0.0.1:8080", false),
        ("ftp://hub", false),
        ("http://user:pw@hub", false),
        ("http://hub/?token=x", false),
        ("http://", false),
    ] {
        assert_eq!(check_hub_url(url).is_ok(), ok, "{url}");
    }
}

#[test]
fn cli_has_no_token_flag_and_splits_roots() {
    let error = Cli::try_parse_from(["flotilla-daemon", "run", "--token", "x"]).unwrap_err();
    assert_eq!(error.kind(), clap::error::ErrorKind::UnknownArgument);
    let cli = Cli::try_parse_from([
        "flotilla-daemon",
        "run",
        "--hub-url",
        "http://h:1",
        "--projects-root",
        "/a:/b",
        "--projects-root",
        "/c",
    ])
    .unwrap();
    let CliCommand::Run(args) = cli.command else {
        panic!("expected the run subcommand");
    };
    assert_eq!(
        args.projects_roots,
        vec![
            PathBuf::from("/a"),
            PathBuf::from("/b"),
            PathBuf::from("/c")
        ]
    );
}

#[test]
fn otlp_receiver_listens_on_loopback_and_the_endpoint_follows_it() {
    let (dir, args) = setup();
    let token = env(&[(TOKEN_ENV, "tok")]);
    let config = Config::validate(args.clone(), &token, dir.path()).unwrap();
    assert_eq!(config.otlp_listen.to_string(), DEFAULT_OTLP_LISTEN);
    assert!(config.otlp_listen_fallback);
    let bound: SocketAddr = "127.0.0.1:40001".parse().unwrap();
    assert_eq!(config.otlp_endpoint_for(bound), "http://127.0.0.1:40001");

    let mut zero = args.clone();
    zero.otlp_listen = Some("[::1]:0".to_owned());
    let config = Config::validate(zero, &token, dir.path()).unwrap();
    assert!(!config.otlp_listen_fallback);
    let bound: SocketAddr = "[::1]:40002".parse().unwrap();
    assert_eq!(config.otlp_endpoint_for(bound), "http://[::1]:40002");

    let mut explicit = args.clone();
    explicit.otlp_endpoint = Some("http://agents.local:4318/".to_owned());
    let config = Config::validate(explicit, &token, dir.path()).unwrap();
    assert!(!config.otlp_listen_fallback);
    assert_eq!(config.otlp_endpoint_for(bound), "http://agents.local:4318");

    for (listen, needle) in [
        ("0.0.0.0:4318", "must be a loopback address"),
        ("192.168.1.2:4318", "must be a loopback address"),
        ("localhost:4318", "is not an IP address and port"),
        ("4318", "is not an IP address and port"),
    ] {
        let mut bad = args.clone();
        bad.otlp_listen = Some(listen.to_owned());
        bad.otlp_endpoint = Some("ftp://x".to_owned());
        let error = Config::validate(bad, &token, dir.path()).unwrap_err();
        assert_eq!(error.problems.len(), 2, "{error}");
        assert!(error.problems[1].contains(needle), "{listen}: {error}");
        assert!(error.problems[0].contains("--otlp-endpoint"), "{error}");
    }
}
