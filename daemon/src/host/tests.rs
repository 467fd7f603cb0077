//! Tests for `crate::host` with real PTYs: typed prompts, spawn settings,
//! profile replacement and the inventory watch.

use std::time::Duration;

use flotilla_protocol::hub_to_daemon::SpawnSession;
use flotilla_protocol::{SessionId, TermSize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::*;
use crate::profile::parse;

struct Fixture {
    host: Host,
    events: mpsc::Receiver<SessionEvent>,
    project: tempfile::TempDir,
    home: tempfile::TempDir,
    cancel: CancellationToken,
}

fn fixture(profiles: &[(&str, &str)]) -> Fixture {
    let project = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (events_tx, events) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let host = Host::new(
        HostConfig {
            projects_roots: vec![project.path().canonicalize().unwrap()],
            stop_grace: Duration::from_millis(500),
            pass_env: Vec::new(),
            base_env: vec![
                ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
                ("HOME".to_owned(), home.path().display().to_string()),
            ],
            otlp_endpoint: "http://127.0.0.1:9".to_owned(),
            scrollback_lines: 100,
        },
        Vec::new(),
        HostInventory::default(),
        events_tx,
        TaskTracker::new(),
        cancel.clone(),
    );
    let profiles = profiles
        .iter()
        .map(|(file, text)| parse(file, text).unwrap())
        .collect();
    host.set_profiles(profiles, Vec::new());
    Fixture {
        host,
        events,
        project,
        home,
        cancel,
    }
}

impl Fixture {
    fn request(&self, session_id: SessionId, profile: &str, prompt: Option<&str>) -> SpawnSession {
        SpawnSession {
            session_id,
            profile: profile.to_owned(),
            project: self.project.path().display().to_string(),
            prompt: prompt.map(str::to_owned),
            size: TermSize { cols: 80, rows: 24 },
            worktree: None,
        }
    }

    /// Spawns a session and waits for its first event, which must be its
    /// start.
    async fn spawn(&mut self, profile: &str, prompt: Option<&str>) -> SessionId {
        let session_id = SessionId::new();
        let answer = self.host.spawn(self.request(session_id, profile, prompt));
        assert_eq!(answer, None, "a new session answers with its first event");
        let outcome = self.next_event().await;
        assert!(
            matches!(&outcome, SessionEvent::Started(started) if started.session_id == session_id),
            "{outcome:?}"
        );
        session_id
    }

    async fn next_event(&mut self) -> SessionEvent {
        tokio::time::timeout(Duration::from_secs(10), self.events.recv())
            .await
            .expect("no session event")
            .expect("events channel closed")
    }

    /// Collects output until it contains `needle` (deadline 10 s).
    async fn output_until(&mut self, needle: &str) -> String {
        let mut text = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !text.contains(needle) {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(SessionEvent::Output { data, .. })) => {
                    text.push_str(&String::from_utf8_lossy(&data));
                }
                Ok(Some(SessionEvent::Exited(_))) | Ok(None) => break,
                // The final screen comes before the exit.
                Ok(Some(SessionEvent::Snapshot { .. })) => {}
                Ok(Some(other)) => panic!("unexpected {other:?} while reading output"),
                Err(_) => panic!("no {needle:?} in output: {text:?}"),
            }
        }
        text
    }
}

const TYPED: &str = r#"
name: typed
display_name: Typed
color: red
binary: sh
commands:
  new: [sh, -c, 'read line; printf "got:%s:end\n" "$line"']
  prompt:
    mode: typed
"#;

const SETTINGS: &str = r#"
name: settings
display_name: Settings
color: red
binary: sh
commands:
  new: [sh, -c, 'printf "env:%s\n" "$DEMO_ENDPOINT"']
env:
  DEMO_ENDPOINT: "{otlp_endpoint}/v1/metrics"
spawn_settings:
  - path: "{project_dir}/.agent/settings.json"
    format: json
    merge:
      telemetry: { endpoint: "{otlp_endpoint}", enabled: true }
  - path: "~/.agent/config.toml"
    format: toml
    merge:
      otel: { exporter: "{otlp_endpoint}" }
"#;

#[tokio::test]
async fn typed_prompt_is_written_after_start_then_enter() {
    let mut fixture = fixture(&[("typed.yaml", TYPED)]);
    fixture.spawn("typed", Some("hello there")).await;
    let text = fixture.output_until("got:hello there:end").await;
    assert!(text.contains("got:hello there:end"), "{text:?}");
    fixture.cancel.cancel();
}

#[tokio::test]
async fn spawn_merges_settings_without_overwriting_and_substitutes_env() {
    let mut fixture = fixture(&[("settings.yaml", SETTINGS)]);
    let settings = fixture.project.path().join(".agent/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, r#"{"telemetry": {"enabled": false}}"#).unwrap();

    fixture.spawn("settings", None).await;
    let text = fixture.output_until("env:").await;
    fixture.output_until("/v1/metrics").await;
    assert!(!text.is_empty());

    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(
        merged,
        serde_json::json!({"telemetry": {"enabled": false, "endpoint": "http://127.0.0.1:9"}})
    );
    let toml = std::fs::read_to_string(fixture.home.path().join(".agent/config.toml")).unwrap();
    assert!(toml.contains("exporter = \"http://127.0.0.1:9\""), "{toml}");
    fixture.cancel.cancel();
}

#[tokio::test]
async fn set_profiles_updates_the_inventory_and_notifies() {
    let fixture = fixture(&[("typed.yaml", TYPED)]);
    let mut changed = fixture.host.subscribe_inventory();
    changed.mark_unchanged();
    assert_eq!(fixture.host.inventory().profiles[0].name, "typed");

    let unavailable = TYPED
        .replace("name: typed", "name: gone")
        .replace("binary: sh", "binary: surely-not-installed");
    let profiles = vec![
        parse("typed.yaml", TYPED).unwrap(),
        parse("gone.yaml", &unavailable).unwrap(),
    ];
    // Same profiles (the unavailable one is filtered): no change.
    assert!(!fixture.host.set_profiles(profiles.clone(), Vec::new()));
    assert!(!changed.has_changed().unwrap());

    assert!(
        fixture
            .host
            .set_profiles(profiles, vec!["x.yaml:1:1: name: bad".to_owned()])
    );
    assert!(changed.has_changed().unwrap());
    let inventory = fixture.host.inventory();
    assert_eq!(inventory.profile_errors, ["x.yaml:1:1: name: bad"]);
    assert_eq!(inventory.profiles.len(), 1);
    assert!(fixture.host.set_profiles(Vec::new(), Vec::new()));
    assert!(fixture.host.inventory().profiles.is_empty());
    fixture.cancel.cancel();
}

const SESSION_ENDPOINT: &str = r#"
name: endpoint
display_name: Endpoint
color: red
binary: sh
commands:
  new: [sh, -c, 'printf "arg:%s env:%s\n" "$0" "$DEMO_OTLP"', "{otlp_session_endpoint}"]
env:
  DEMO_OTLP: "{otlp_session_endpoint}/v1/metrics"
"#;

#[tokio::test]
async fn spawned_sessions_get_their_own_otlp_endpoint_and_are_attributable() {
    let mut fixture = fixture(&[("endpoint.yaml", SESSION_ENDPOINT)]);
    let session_id = fixture.spawn("endpoint", None).await;
    // Registered before the agent started.
    assert!(
        fixture
            .host
            .telemetry()
            .lookup(session_id, std::time::Instant::now())
            .is_some()
    );
    let endpoint = format!("http://127.0.0.1:9/s/{session_id}");
    let output = fixture.output_until("\n").await;
    assert_eq!(
        output.trim_end(),
        format!("arg:{endpoint} env:{endpoint}/v1/metrics")
    );
    fixture.cancel.cancel();
}

#[tokio::test]
async fn a_spawn_that_cannot_start_reports_spawn_failed_as_its_only_event() {
    let mut fixture = fixture(&[("typed.yaml", TYPED)]);
    let session_id = SessionId::new();
    let request = fixture.request(session_id, "not-a-profile", None);
    assert_eq!(fixture.host.spawn(request), None);
    let SessionEvent::SpawnFailed(failed) = fixture.next_event().await else {
        panic!("expected SpawnFailed");
    };
    assert_eq!(failed.session_id, session_id);
    assert_eq!(failed.error.code, flotilla_protocol::ErrorCode::NotFound);
    assert!(
        fixture
            .host
            .telemetry()
            .lookup(session_id, std::time::Instant::now())
            .is_none()
    );
    fixture.cancel.cancel();
}

#[tokio::test]
async fn a_repeated_spawn_re_reports_a_started_session() {
    let mut fixture = fixture(&[("typed.yaml", TYPED)]);
    let session_id = fixture.spawn("typed", Some("x")).await;
    let request = fixture.request(session_id, "typed", Some("x"));
    let answer = fixture.host.spawn(request).expect("re-reported");
    assert_eq!(answer.session_id, session_id);
    assert!(answer.pid.is_some());
    assert_eq!(fixture.host.running().len(), 1);
    fixture.cancel.cancel();
}
