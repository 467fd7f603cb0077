//! Profile hot reload through the real binaries: adding, breaking, fixing and
//! removing a profile file while a bash session runs is reflected in the
//! hub's host inventory within 2 s, and the session is never touched.

use std::path::Path;
use std::time::{Duration, Instant};

use flotilla_integration::{Stack, UiSocket, Workspace, wait_until};
use flotilla_protocol::SessionId;
use flotilla_protocol::daemon_to_hub::HostInventory;
use serde_json::json;

use crate::live_loop::{attach, type_text};

/// How fast a change must reach the hub (issue 3).
const RELOAD_BUDGET: Duration = Duration::from_secs(2);

const BASH: &str = "name: bash\ndisplay_name: Bash\ncolor: \"#4eaa25\"\nbinary: bash\nalways_available: true\ncommands:\n  new: [bash, --norc, --noprofile]\n";

fn extra(display_name: &str) -> String {
    format!(
        "name: extra\ndisplay_name: {display_name}\ncolor: \"#123456\"\nbinary: sh\nalways_available: true\ncommands:\n  new: [sh]\n"
    )
}

/// Waits until the host's inventory satisfies `check`, and asserts it took
/// at most [`RELOAD_BUDGET`] from `since`.
async fn wait_inventory(
    stack: &Stack,
    what: &str,
    since: Instant,
    check: impl Fn(&HostInventory) -> bool,
) -> HostInventory {
    let api = stack.api.clone();
    let id = stack.host_id();
    let check = &check;
    let inventory = wait_until(what, &stack.logs(), || {
        let api = api.clone();
        async move {
            let inventory = api.host(id).await.and_then(|host| host.inventory);
            match inventory {
                Some(inventory) if check(&inventory) => Ok(inventory),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    let elapsed = since.elapsed();
    assert!(
        elapsed <= RELOAD_BUDGET,
        "{what}: took {elapsed:?}, more than {RELOAD_BUDGET:?}"
    );
    inventory
}

fn display_name(inventory: &HostInventory, name: &str) -> Option<String> {
    inventory
        .profiles
        .iter()
        .find(|profile| profile.name == name)
        .map(|profile| profile.display_name.clone())
}

/// Types a command whose result only appears in the output, and waits for it.
async fn check_alive(stack: &Stack, viewer: &UiSocket, session: SessionId, step: &str) {
    let reply = viewer
        .emit_with_ack(
            "session:input",
            &json!({"sessionId": session, "data": format!("echo {step}-$((6*7))\r")}),
        )
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
    stack
        .wait_output(viewer, session, &format!("{step}-42"))
        .await;
}

fn write(dir: &Path, name: &str, text: &str) -> Instant {
    std::fs::write(dir.join(name), text).expect("writing a profile");
    Instant::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_reload_while_a_session_runs() {
    let workspace = Workspace::new();
    let profiles = workspace.path().join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    std::fs::write(profiles.join("bash.yaml"), BASH).unwrap();
    let stack = Stack::start_in(workspace, Some(&profiles)).await;

    let session = stack.spawn_bash().await;
    let viewer = stack.viewer().await;
    let reply = viewer
        .emit_with_ack("session:attach", &json!({"sessionId": session}))
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
    check_alive(&stack, &viewer, session, "start").await;

    // Add.
    let since = write(&profiles, "extra.yaml", &extra("Extra One"));
    wait_inventory(&stack, "extra profile added", since, |inventory| {
        display_name(inventory, "extra").as_deref() == Some("Extra One")
    })
    .await;
    check_alive(&stack, &viewer, session, "added").await;

    // Break: reported with file:line, the last valid version stays.
    let since = write(&profiles, "extra.yaml", "name: extra\ndisplay_name: [\n");
    let inventory = wait_inventory(&stack, "broken profile reported", since, |inventory| {
        !inventory.profile_errors.is_empty()
    })
    .await;
    assert!(
        inventory.profile_errors[0].starts_with("extra.yaml:"),
        "{:?}",
        inventory.profile_errors
    );
    assert_eq!(
        display_name(&inventory, "extra").as_deref(),
        Some("Extra One")
    );
    wait_until("the daemon logs the problem", &stack.logs(), || {
        let logged = stack.daemon.process.log_contains("extra.yaml:2:");
        async move {
            if logged {
                Ok(())
            } else {
                Err("not logged yet".to_owned())
            }
        }
    })
    .await;
    check_alive(&stack, &viewer, session, "broken").await;

    // Fix.
    let since = write(&profiles, "extra.yaml", &extra("Extra Two"));
    let inventory = wait_inventory(&stack, "fixed profile updated", since, |inventory| {
        display_name(inventory, "extra").as_deref() == Some("Extra Two")
    })
    .await;
    assert!(
        inventory.profile_errors.is_empty(),
        "{:?}",
        inventory.profile_errors
    );
    check_alive(&stack, &viewer, session, "fixed").await;

    // Remove.
    std::fs::remove_file(profiles.join("extra.yaml")).unwrap();
    let since = Instant::now();
    let inventory = wait_inventory(&stack, "profile removed", since, |inventory| {
        display_name(inventory, "extra").is_none()
    })
    .await;
    assert_eq!(display_name(&inventory, "bash").as_deref(), Some("Bash"));
    check_alive(&stack, &viewer, session, "removed").await;
}

/// Spawn settings are undone when the last session that needed them ends:
/// the user's own keys stay, the keys the merge added go, and a second
/// session keeps them alive until it ends too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_settings_are_undone_when_the_last_session_using_them_ends() {
    let workspace = Workspace::new();
    let profiles = workspace.path().join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    let profile = "name: merging\ndisplay_name: Merging\ncolor: \"#123456\"\nbinary: bash\nalways_available: true\ncommands:\n  new: [bash, --norc, --noprofile]\nspawn_settings:\n  - path: \"~/.agent/config.json\"\n    format: json\n    merge:\n      telemetry:\n        endpoint: \"{otlp_endpoint}\"\n";
    std::fs::write(profiles.join("merging.yaml"), profile).unwrap();
    let config = workspace.home().join(".agent/config.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "{\"theme\": \"dark\"}\n").unwrap();
    let stack = Stack::start_in(workspace, Some(&profiles)).await;
    let read = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap()
    };

    let first = stack.spawn("merging").await;
    let second = stack.spawn("merging").await;
    let merged = read();
    assert_eq!(merged["theme"], "dark", "{merged}");
    assert!(
        merged["telemetry"]["endpoint"]
            .as_str()
            .is_some_and(|url| url.starts_with("http://127.0.0.1:")),
        "{merged}"
    );
    let viewer = stack.viewer().await;
    for session in [first, second] {
        attach(&viewer, session).await;
    }
    type_text(&viewer, first, "exit\r").await;
    stack
        .wait_state(first, flotilla_protocol::rest::SessionState::Exited)
        .await;
    assert_eq!(read(), merged, "the second session still needs the keys");
    type_text(&viewer, second, "exit\r").await;
    stack
        .wait_state(second, flotilla_protocol::rest::SessionState::Exited)
        .await;
    wait_until("spawn settings undone", &stack.logs(), || {
        let now = read();
        async move {
            if now == json!({"theme": "dark"}) {
                Ok(())
            } else {
                Err(format!("config is {now}"))
            }
        }
    })
    .await;
}
