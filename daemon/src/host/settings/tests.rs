//! Leases over real files in a temp dir.

use super::*;

fn patch() -> serde_json::Value {
    serde_json::json!({"otel": {"exporter": "otlp", "endpoint": "http://h:1"}})
}

#[test]
fn the_last_session_to_end_undoes_the_merge_and_a_created_file_goes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent/config.json");
    let leases = Leases::open(Some(dir.path().join("journal.json")));
    let (one, two) = (SessionId::new(), SessionId::new());
    leases.merge(one, &path, SettingsFormat::Json, &patch());
    leases.merge(two, &path, SettingsFormat::Json, &patch());
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("http://h:1")
    );
    leases.release(one);
    assert!(path.exists(), "another session still uses the keys");
    leases.release(two);
    assert!(
        !path.exists(),
        "the merge created the file and nothing else is in it"
    );
    assert!(leases.files().is_empty());
    assert!(!dir.path().join("journal.json").exists());
}

#[test]
fn the_users_own_keys_and_changes_survive_the_undo() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "model = \"mine\"\n[otel]\nexporter = \"none\"\n").unwrap();
    let leases = Leases::open(None);
    let session = SessionId::new();
    leases.merge(session, &path, SettingsFormat::Toml, &patch());
    let merged: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    assert_eq!(merged["otel"]["endpoint"].as_str(), Some("http://h:1"));
    assert_eq!(merged["otel"]["exporter"].as_str(), Some("none"));
    leases.release(session);
    let after: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let before: toml::Table = "model = \"mine\"\n[otel]\nexporter = \"none\"\n"
        .parse()
        .unwrap();
    assert_eq!(after, before);
}

#[test]
fn a_key_the_user_changed_meanwhile_stays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, "{\"theme\": \"dark\"}").unwrap();
    let leases = Leases::open(None);
    let session = SessionId::new();
    leases.merge(session, &path, SettingsFormat::Json, &patch());
    let mut edited: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edited["otel"]["endpoint"] = "http://elsewhere".into();
    edited["otel"]["mine"] = true.into();
    std::fs::write(&path, edited.to_string()).unwrap();
    leases.release(session);
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        after,
        serde_json::json!({"theme": "dark", "otel": {"endpoint": "http://elsewhere", "mine": true}})
    );
}

#[test]
fn a_killed_daemons_leftovers_are_undone_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("state/journal.json");
    let path = dir.path().join("config.json");
    std::fs::write(&path, "{\"theme\": \"dark\"}\n").unwrap();
    let killed = Leases::open(Some(journal.clone()));
    killed.merge(SessionId::new(), &path, SettingsFormat::Json, &patch());
    assert!(journal.exists());
    drop(killed); // as if SIGKILLed: nothing released
    let next = Leases::open(Some(journal.clone()));
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(after, serde_json::json!({"theme": "dark"}));
    assert!(!journal.exists());
    assert!(next.files().is_empty());
}

#[test]
fn a_file_with_every_key_already_set_gets_no_lease() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let text = "{\"otel\": {\"exporter\": \"x\", \"endpoint\": \"y\"}}";
    std::fs::write(&path, text).unwrap();
    let leases = Leases::open(None);
    let session = SessionId::new();
    leases.merge(session, &path, SettingsFormat::Json, &patch());
    assert!(leases.files().is_empty());
    leases.release(session);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}
