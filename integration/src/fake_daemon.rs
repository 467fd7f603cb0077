//! A daemon played by a test: the harness's Socket.IO client on the
//! `/daemon` namespace, authenticated with a host token. It says hello with
//! a `bash` and a `claude` profile and confirms the spawns the hub sends it, so tests can
//! make the hub relay, end and forget sessions without a real PTY.

use flotilla_protocol::daemon_to_hub::{Hello, SessionExited, SessionOutputText, SessionStarted};
use flotilla_protocol::hub_to_daemon::SpawnSession;
use flotilla_protocol::rest::{HostWithToken, SessionSummary};
use flotilla_protocol::usage::SessionUsageReport;
use flotilla_protocol::{DAEMON_NAMESPACE, Event, HostId, PROTOCOL_VERSION, SessionId};
use serde_json::{Value, json};

use crate::socket::{ConnectError, ConnectOptions};
use crate::{Api, UiSocket, wait_until};

/// A connected fake daemon.
pub struct FakeDaemon {
    /// Its socket, for sending anything else.
    pub socket: UiSocket,
    /// Its one project root, `/srv/<host name>`.
    pub root: String,
    host_name: String,
}

impl FakeDaemon {
    /// Connects as `host` and says hello, reporting `running` sessions.
    pub async fn connect(
        addr: &str,
        host: &HostWithToken,
        running: &[SessionId],
    ) -> Result<FakeDaemon, ConnectError> {
        let socket = UiSocket::connect(
            addr,
            DAEMON_NAMESPACE,
            ConnectOptions {
                auth: Some(json!({
                    "token": host.token,
                    "protocolVersion": PROTOCOL_VERSION,
                    "daemonVersion": "fake"
                })),
                ..Default::default()
            },
        )
        .await?;
        let daemon = FakeDaemon {
            socket,
            root: format!("/srv/{}", host.host.name),
            host_name: host.host.name.clone(),
        };
        let ack = daemon.hello(running).await;
        assert_eq!(ack["type"], "ok", "{ack}");
        Ok(daemon)
    }

    /// Sends `daemon:hello` and returns its ack (waiting at most the test
    /// timeout, then panicking).
    pub async fn hello(&self, running: &[SessionId]) -> Value {
        let sessions: Vec<Value> = running
            .iter()
            .map(|id| json!({"sessionId": id, "pid": 1, "outputOffset": 0}))
            .collect();
        self.socket
            .emit_with_ack(
                Hello::NAME,
                &json!({
                    "inventory": {
                        "hostname": self.host_name, "daemonVersion": "fake",
                        "projectRoots": [self.root],
                        "profiles": [
                            {"name": "bash", "displayName": "Bash", "color": "#fff", "supportsResume": false},
                            {"name": "claude", "displayName": "Claude", "color": "#f80", "supportsResume": true}
                        ],
                        "projects": []
                    },
                    "sessions": sessions
                }),
            )
            .await
    }

    /// Spawns `bash` in `<root>/app` through the REST API, playing the
    /// daemon's side of it.
    pub async fn spawn(&self, api: &Api, host: HostId) -> SessionSummary {
        self.spawn_in(api, host, "bash", "app").await
    }

    /// Spawns `profile` in `<root>/<project>` through the REST API, playing
    /// the daemon's side of it.
    pub async fn spawn_in(
        &self,
        api: &Api,
        host: HostId,
        profile: &str,
        project: &str,
    ) -> SessionSummary {
        let path = format!("{}/{project}", self.root);
        let seen = self.socket.events(SpawnSession::NAME).len();
        let confirm = async {
            let spawn = wait_until("a session:spawn command", &[], || {
                let events = self.socket.events(SpawnSession::NAME);
                async move {
                    events
                        .get(seen)
                        .cloned()
                        .ok_or(format!("{} spawns", events.len()))
                }
            })
            .await;
            self.socket
                .emit(
                    SessionStarted::NAME,
                    &json!({"sessionId": spawn["sessionId"], "pid": 42}),
                )
                .await;
        };
        let (summary, ()) = tokio::join!(api.spawn_ok(host, profile, &path), confirm);
        summary
    }

    /// Reports a session's usage totals (`session:usage`).
    pub async fn report(&self, session: SessionId, usage: &Value) {
        self.socket
            .emit(
                SessionUsageReport::NAME,
                &json!({"sessionId": session, "usage": usage}),
            )
            .await;
    }

    /// Sends output as a text message (base64 data) at `offset`.
    pub async fn output(&self, session: SessionId, offset: u64, data: &[u8]) {
        let encoded = base64(data);
        self.socket
            .emit(
                SessionOutputText::NAME,
                &json!({"sessionId": session, "offset": offset, "data": encoded}),
            )
            .await;
    }

    /// Reports that the session's process exited with `code`.
    pub async fn exited(&self, session: SessionId, code: i32, output_offset: u64) {
        self.socket
            .emit(
                SessionExited::NAME,
                &json!({"sessionId": session, "exitCode": code, "outputOffset": output_offset}),
            )
            .await;
    }
}

/// Standard base64 with padding, as `session:output_text` carries it (the
/// harness has no base64 dependency of its own for this one use).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, byte)| n | u32::from(*byte) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"\xff\xfe\xfd\x00"), "//79AA==");
    }
}
