//! What an agent can learn about the daemon that runs it: its environment
//! is an allow-list (no hub admin password, no stray credentials, no host
//! token), and the host token is out of reach through the daemon's
//! environment, argv, memory and, with `--user`, its token file.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use flotilla_integration::process::DaemonOptions;
use flotilla_integration::{
    Api, DaemonProcess, HubProcess, LogTail, UiSocket, Workspace, wait_until,
};
use flotilla_protocol::{HostId, SessionId};
use serde_json::json;

/// Spawns bash on `host`, types `command` followed by an end marker, and
/// returns everything the session printed up to the marker.
async fn run_in_bash(
    hub: &HubProcess,
    api: &Api,
    host: HostId,
    project: &Path,
    command: &str,
    logs: &[&dyn LogTail],
) -> String {
    let session: SessionId = api
        .spawn_ok(host, "bash", &project.to_string_lossy())
        .await
        .id;
    let viewer = UiSocket::viewer(hub, api).await;
    let reply = viewer
        .emit_with_ack("session:attach", &json!({"sessionId": session}))
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
    // The marker's arithmetic only appears in the output, never in the echo.
    let line = format!("{command}; echo probe-end-$((40+2))\r");
    let reply = viewer
        .emit_with_ack(
            "session:input",
            &json!({"sessionId": session, "data": line}),
        )
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
    wait_until("the probe's end marker", logs, || {
        let text = viewer.stream(session).text();
        async move {
            if text.contains("probe-end-42") {
                Ok(text)
            } else {
                Err(text
                    .chars()
                    .rev()
                    .take(400)
                    .collect::<String>()
                    .chars()
                    .rev()
                    .collect())
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_get_an_allow_listed_environment_without_the_hubs_secrets() {
    let workspace = Workspace::new();
    let hub = HubProcess::start(&workspace);
    let api = Api::login(&hub.url()).await;
    let host = api.create_host("laptop").await;
    // Started from one shell with the hub, as scripts/up once did.
    let mut daemon = DaemonProcess::spawn_with_env(
        &workspace,
        DaemonOptions {
            hub_url: &hub.url(),
            token: &host.token,
            extra_args: &["--pass-env", "MY_TOOL_SETTING"],
            profiles_dir: None,
        },
        &[
            ("FLOTILLA_ADMIN_PASSWORD", "hub-admin-password-value"),
            ("HUB_METRICS_TOKEN_FILE", "/hub/metrics-token-path"),
            ("AWS_SECRET_ACCESS_KEY", "cloud-secret-value"),
            ("MY_TOOL_SETTING", "passed-on-value"),
            ("LC_MESSAGES", "C.UTF-8"),
        ],
    );
    daemon.process.wait_announcement("connected");
    let logs: [&dyn LogTail; 2] = [&hub, &daemon];
    let text = run_in_bash(
        &hub,
        &api,
        host.host.id,
        &workspace.project(),
        "env | sort",
        &logs,
    )
    .await;
    for secret in [
        "hub-admin-password-value",
        "/hub/metrics-token-path",
        "cloud-secret-value",
        host.token.as_str(),
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} reached the agent:\n{text}"
        );
    }
    for expected in [
        "MY_TOOL_SETTING=passed-on-value",
        "LC_MESSAGES=C.UTF-8",
        "TERM=xterm-256color",
        "COLORTERM=truecolor",
        "FLOTILLA_SESSION_ID=",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
}

/// As root (CI), the daemon reads a root-only token file and runs as
/// `nobody` (`--user`), so the file is out of reach too; as another user,
/// the environment, argv and memory routes are checked and the file route
/// is what the README says protects it (run the daemon with `--user`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_agent_cannot_read_the_host_token() {
    let workspace = Workspace::new();
    let hub = HubProcess::start(&workspace);
    let api = Api::login(&hub.url()).await;
    let host = api.create_host("laptop").await;
    let as_root = nix::unistd::geteuid().is_root();

    let secret_dir = workspace.path().join("secret");
    std::fs::create_dir(&secret_dir).unwrap();
    let token_file = secret_dir.join("host-token");
    std::fs::write(&token_file, format!("{}\n", host.token)).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    if as_root {
        // Everything but the secret directory belongs to the agents' user.
        let nobody = nix::unistd::User::from_name("nobody")
            .unwrap()
            .expect("user nobody");
        for entry in walk(workspace.path()) {
            if !entry.starts_with(&secret_dir) && !entry.starts_with(workspace.data_dir()) {
                std::os::unix::fs::chown(
                    &entry,
                    Some(nobody.uid.as_raw()),
                    Some(nobody.gid.as_raw()),
                )
                .unwrap();
            }
        }
        std::fs::set_permissions(&secret_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let token_file_text = token_file.display().to_string();
    let mut args = vec!["--token-file", token_file_text.as_str()];
    if as_root {
        args.extend(["--user", "nobody"]);
    }
    // The token is also in the environment the daemon starts with.
    let mut daemon = DaemonProcess::spawn(
        &workspace,
        DaemonOptions {
            hub_url: &hub.url(),
            token: &host.token,
            extra_args: &args,
            profiles_dir: None,
        },
    );
    daemon.process.wait_announcement("connected");
    let pid = daemon.process.pid().expect("daemon pid");

    // What anyone may read: argv has neither the token nor the file's path.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(cmdline.contains("--token-stdin"), "{cmdline}");
    assert!(!cmdline.contains(&token_file_text), "{cmdline}");
    assert!(!cmdline.contains(&host.token), "{cmdline}");
    // The daemon's own environment no longer holds the token (read as the
    // test's user; root may read any process's).
    if let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) {
        let environ = String::from_utf8_lossy(&environ);
        assert!(
            !environ.contains(&host.token),
            "token in the daemon's environment"
        );
        assert!(!environ.contains("FLOTILLA_HOST_TOKEN"), "{environ}");
    }

    let logs: [&dyn LogTail; 2] = [&hub, &daemon];
    let mut probe = "id -un; tr '\\0' ' ' < /proc/$PPID/environ; echo; tr '\\0' ' ' < /proc/$PPID/cmdline; echo; \
         head -c 4096 /proc/$PPID/mem | wc -c; grep -a -c flt_ /proc/$PPID/mem"
        .to_owned();
    if as_root {
        probe.push_str(&format!("; cat {token_file_text}"));
    }
    let project = workspace.project();
    let text = run_in_bash(&hub, &api, host.host.id, &project, &probe, &logs).await;
    assert!(
        !text.contains(&host.token),
        "the agent read the host token:\n{text}"
    );
    // The daemon is non-dumpable: its environment and memory are closed to
    // the agent (same user), not merely empty.
    let refusals = text.matches("Permission denied").count();
    let expected = if as_root { 4 } else { 3 };
    assert!(
        refusals >= expected,
        "environ, mem (twice) and, as root, the token file should be refused:\n{text}"
    );
    if as_root {
        assert!(
            text.contains("nobody"),
            "the agent should run as nobody:\n{text}"
        );
    }
}

fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![root.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(root) {
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}
