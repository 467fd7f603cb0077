//! A hub with one connected daemon and a logged-in API client: the starting
//! point of most integration scenarios and of the benchmark.

use std::path::Path;

use flotilla_protocol::rest::{HostWithToken, SessionState, SessionSummary};
use flotilla_protocol::{HostId, SessionId};

use crate::process::DaemonOptions;
use crate::{Api, DaemonProcess, Database, HubProcess, LogTail, UiSocket, Workspace, wait_until};

/// Real hub and daemon processes sharing a workspace.
pub struct Stack {
    /// Temp dirs: data dir and projects root.
    pub workspace: Workspace,
    /// The hub.
    pub hub: HubProcess,
    /// The daemon, connected as [`Stack::host`].
    pub daemon: DaemonProcess,
    /// Logged in as admin.
    pub api: Api,
    /// The daemon's host and token.
    pub host: HostWithToken,
}

impl Stack {
    /// Starts everything with the repository's profiles and waits until the
    /// host is online with its profiles advertised.
    pub async fn start() -> Stack {
        Self::start_on(Database::Sqlite).await
    }

    /// Like [`Stack::start`] with the hub on `database`.
    pub async fn start_on(database: Database) -> Stack {
        Self::start_in(Workspace::on(database), None).await
    }

    /// Like [`Stack::start`] in a given workspace, optionally with another
    /// profiles directory.
    pub async fn start_in(workspace: Workspace, profiles_dir: Option<&Path>) -> Stack {
        let hub = HubProcess::start(&workspace);
        let api = Api::login(&hub.url()).await;
        let host = api.create_host("laptop").await;
        let daemon = DaemonProcess::start(
            &workspace,
            DaemonOptions {
                hub_url: &hub.url(),
                token: &host.token,
                extra_args: &[],
                profiles_dir,
            },
        );
        let stack = Stack {
            workspace,
            hub,
            daemon,
            api,
            host,
        };
        stack.wait_online(true).await;
        stack
    }

    /// Both processes, for failure reports.
    pub fn logs(&self) -> [&dyn LogTail; 2] {
        [&self.hub, &self.daemon]
    }

    /// The daemon's host id.
    pub fn host_id(&self) -> HostId {
        self.host.host.id
    }

    /// Waits until the hub lists the host as online (with profiles) or offline.
    pub async fn wait_online(&self, online: bool) {
        let api = self.api.clone();
        let id = self.host_id();
        wait_until(&format!("host online = {online}"), &self.logs(), || {
            let api = api.clone();
            async move {
                match api.host(id).await {
                    Some(host)
                        if host.online == online && (!online || !host.profiles().is_empty()) =>
                    {
                        Ok(())
                    }
                    other => Err(format!("{other:?}")),
                }
            }
        })
        .await;
    }

    /// A logged-in, same-origin browser-like socket.
    pub async fn viewer(&self) -> UiSocket {
        UiSocket::viewer(&self.hub, &self.api).await
    }

    /// Spawns a session of `profile` in the workspace's project.
    pub async fn spawn(&self, profile: &str) -> SessionId {
        let project = self.workspace.project();
        let session = self
            .api
            .spawn_ok(self.host_id(), profile, &project.to_string_lossy())
            .await;
        assert_eq!(session.state, SessionState::Running);
        session.id
    }

    /// Spawns a bash session.
    pub async fn spawn_bash(&self) -> SessionId {
        self.spawn("bash").await
    }

    /// Waits until the viewer has received output containing `needle`.
    pub async fn wait_output(&self, viewer: &UiSocket, session: SessionId, needle: &str) {
        wait_until(
            &format!("output containing {needle:?}"),
            &self.logs(),
            || {
                let text = viewer.stream(session).text();
                async move {
                    if text.contains(needle) {
                        Ok(())
                    } else {
                        let chars: Vec<char> = text.chars().collect();
                        Err(chars[chars.len().saturating_sub(300)..].iter().collect())
                    }
                }
            },
        )
        .await;
    }

    /// Stops a session through the REST API and waits until it exited.
    pub async fn stop(&self, session: SessionId) -> SessionSummary {
        let (status, body) = self
            .api
            .request("POST", &format!("/api/sessions/{session}/stop"), None)
            .await;
        assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
        self.wait_state(session, SessionState::Exited).await
    }

    /// Waits until the session reaches `state`.
    pub async fn wait_state(&self, session: SessionId, state: SessionState) -> SessionSummary {
        let api = self.api.clone();
        wait_until(&format!("session {state:?}"), &self.logs(), || {
            let api = api.clone();
            async move {
                let summary = api.session(session).await;
                if summary.state == state {
                    Ok(summary)
                } else {
                    Err(format!("{summary:?}"))
                }
            }
        })
        .await
    }
}
