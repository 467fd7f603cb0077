//! Tests of file modes and URL parsing, on real files.

use std::os::unix::fs::PermissionsExt as _;

use super::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn sqlite_urls_name_their_file() {
    let check = |url: &str, expect: Option<&str>| {
        assert_eq!(sqlite_path(url), expect.map(PathBuf::from), "{url}");
    };
    check(
        "sqlite:///var/lib/f/flotilla.db?mode=rwc",
        Some("/var/lib/f/flotilla.db"),
    );
    check(
        "sqlite://.flotilla/hub/flotilla.db?mode=rwc",
        Some(".flotilla/hub/flotilla.db"),
    );
    check("sqlite:hub.db", Some("hub.db"));
    check("sqlite::memory:", None);
    check("postgres://u@h/db", None);
}

#[test]
fn a_new_data_dir_is_owner_only_and_an_existing_one_is_tightened() {
    let root = tempfile::tempdir().unwrap();
    let fresh = root.path().join("a/b");
    prepare_data_dir(&fresh).unwrap();
    assert_eq!(mode(&fresh), 0o700);
    let existing = root.path().join("old");
    std::fs::create_dir(&existing).unwrap();
    std::fs::set_permissions(&existing, Permissions::from_mode(0o755)).unwrap();
    prepare_data_dir(&existing).unwrap();
    assert_eq!(mode(&existing), 0o700);
}

fn config_in(data_dir: &Path) -> HubConfig {
    use clap::Parser as _;
    let args = crate::config::HubArgs::try_parse_from([
        "flotilla-hub".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
    ])
    .unwrap();
    HubConfig::from_args(args, None).unwrap()
}

#[tokio::test]
async fn the_database_its_journal_and_lock_are_owner_only() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("hub");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, Permissions::from_mode(0o755)).unwrap();
    let store = open_store(&config_in(&data)).await.unwrap();
    store.create_user("someone", "hash").await.unwrap();
    assert_eq!(mode(&data), 0o700, "the existing data dir is tightened");
    for name in [
        "flotilla.db",
        "flotilla.db-wal",
        "flotilla.db-shm",
        "flotilla.db.lock",
    ] {
        let path = data.join(name);
        assert!(path.exists(), "{name} exists");
        assert_eq!(mode(&path), 0o600, "{name}");
    }
}

#[tokio::test]
async fn an_existing_readable_database_is_tightened() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("hub");
    std::fs::create_dir(&data).unwrap();
    let db = data.join("flotilla.db");
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, Permissions::from_mode(0o644)).unwrap();
    open_store(&config_in(&data)).await.unwrap();
    assert_eq!(mode(&db), 0o600);
}
