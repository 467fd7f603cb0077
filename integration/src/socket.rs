//! A small Socket.IO v4 client over a WebSocket that behaves like the
//! browser's `socket.io-client`: it sends the login cookie and an `Origin`,
//! answers pings, matches acks, and reassembles binary `session:output`
//! frames by offset, exactly as the frontend does.
//!
//! It is written against the Engine.IO v4 / Socket.IO v5 wire format rather
//! than reusing the daemon's client so that tests can set browser headers
//! and see binary frames as a browser sees them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use flotilla_daemon::session::screen::Screen;
use flotilla_protocol::SessionId;
use flotilla_protocol::cursor::{Advance, StreamCursor};
use flotilla_protocol::frame::{OutputFrame, SnapshotFrame};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Why a connection was not established.
#[derive(Debug)]
pub enum ConnectError {
    /// The WebSocket upgrade or transport failed.
    Transport(String),
    /// The namespace refused the connection; the server's message.
    Refused(Value),
}

/// Output of one session as this client reassembled it.
#[derive(Debug, Default, Clone)]
pub struct StreamState {
    /// Offset of `bytes[0]`.
    pub start: Option<u64>,
    /// Bytes received, each once; after a gap the frame's bytes follow
    /// directly.
    pub bytes: Vec<u8>,
    /// Just past the last byte; at the first frame's offset before it.
    pub cursor: StreamCursor,
    /// Frames received.
    pub frames: u64,
    /// Frames that started past the cursor.
    pub gaps: u64,
    /// Frames that were entirely duplicates.
    pub duplicates: u64,
    /// Frames ending past 2^64, which the hub never relays.
    pub refused: u64,
    /// Screen snapshots received; each one's bytes are appended to
    /// `bytes` (they hold the screen's text) and the cursor moves to its
    /// offset.
    pub snapshots: u64,
    /// The last snapshot's (offset, size, bytes).
    pub last_snapshot: Option<(u64, flotilla_protocol::TermSize, Vec<u8>)>,
    /// What a terminal showing this stream shows: reset to each snapshot,
    /// fed each new byte (not kept by `count_only` sockets).
    pub screen: ViewerScreen,
    /// Stream bytes that snapshots after the stream's start stood for: how
    /// far each moved the cursor forward (a resynced viewer skipped them).
    pub snapshot_skipped: u64,
}

/// A viewer's terminal, as the browser's xterm.js would hold it: the
/// daemon's screen model type, fed what the viewer received (its answers
/// to queries are dropped: a viewer never answers).
#[derive(Clone, Default)]
pub struct ViewerScreen(Option<Arc<Mutex<Screen>>>);

impl std::fmt::Debug for ViewerScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ViewerScreen").field(&self.text()).finish()
    }
}

impl ViewerScreen {
    /// The size a viewer starts at before it learns the session's.
    pub const INITIAL: flotilla_protocol::TermSize =
        flotilla_protocol::TermSize { cols: 80, rows: 24 };

    fn reset(&mut self, size: flotilla_protocol::TermSize) {
        self.0 = Some(Arc::new(Mutex::new(Screen::new(size, 1000))));
    }

    fn feed(&mut self, data: &[u8]) {
        if self.0.is_none() {
            self.reset(Self::INITIAL);
        }
        if let Some(screen) = &self.0 {
            let _ = screen.lock().expect("screen lock").feed(data);
        }
    }

    fn resize(&mut self, size: flotilla_protocol::TermSize) {
        match &self.0 {
            Some(screen) => screen.lock().expect("screen lock").resize(size),
            None => self.reset(size),
        }
    }

    /// The visible rows' text (empty before any output).
    pub fn text(&self) -> Vec<String> {
        self.0
            .as_ref()
            .map(|screen| screen.lock().expect("screen lock").text())
            .unwrap_or_default()
    }

    /// The screen's size, if it has one yet.
    pub fn size(&self) -> Option<flotilla_protocol::TermSize> {
        self.0
            .as_ref()
            .map(|screen| screen.lock().expect("screen lock").size())
    }
}

impl StreamState {
    /// Applies a frame with the frontend's dedupe rules
    /// ([`StreamCursor::advance`]) and feeds its new bytes to the screen.
    pub fn apply(&mut self, offset: u64, data: &[u8]) {
        let before = self.bytes.len();
        self.apply_counted(offset, data);
        let new = self.bytes[before..].to_vec();
        self.screen.feed(&new);
    }

    /// Like [`Self::apply`] without the screen.
    fn apply_counted(&mut self, offset: u64, data: &[u8]) {
        self.frames += 1;
        if self.start.is_none() {
            // A late viewer starts at the retained tail: not a gap.
            self.start = Some(offset);
            self.cursor = StreamCursor::at(offset);
        }
        match self.cursor.advance(offset, data.len()) {
            Advance::Append { skip } => self.bytes.extend_from_slice(&data[skip..]),
            Advance::Gap { .. } => {
                self.gaps += 1;
                self.bytes.extend_from_slice(data);
            }
            Advance::Duplicate => self.duplicates += 1,
            Advance::OffsetOverflow => self.refused += 1,
        }
    }

    /// Applies a screen snapshot as the frontend does: the terminal is
    /// reset to it, and output continues at its offset.
    pub fn apply_snapshot(&mut self, snapshot: &SnapshotFrame<'_>) {
        self.snapshots += 1;
        if self.start.is_none() {
            self.start = Some(snapshot.offset);
        } else {
            self.snapshot_skipped += snapshot.offset.saturating_sub(self.cursor.offset());
        }
        self.cursor = StreamCursor::at(snapshot.offset);
        self.bytes.extend_from_slice(snapshot.data);
        self.screen.reset(snapshot.size);
        self.screen.feed(snapshot.data);
        self.last_snapshot = Some((snapshot.offset, snapshot.size, snapshot.data.to_vec()));
    }

    /// The offset just past the last byte received.
    pub fn next_offset(&self) -> u64 {
        self.cursor.offset()
    }

    /// The received bytes as lossy UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

#[derive(Default)]
struct Shared {
    acks: Mutex<HashMap<u64, oneshot::Sender<Value>>>,
    events: Mutex<Vec<(String, Value)>>,
    streams: Mutex<HashMap<SessionId, StreamState>>,
    changed: Notify,
    closed: std::sync::atomic::AtomicBool,
}

/// A connected browser-like client on one namespace.
pub struct UiSocket {
    namespace: String,
    outgoing: mpsc::Sender<Message>,
    shared: Arc<Shared>,
    next_ack: AtomicU64,
    /// Keeps counting output without storing it (benchmarks).
    pub count_only: Arc<std::sync::atomic::AtomicBool>,
    /// Acknowledges each frame and snapshot as parsed once received, as
    /// the browser does after xterm.js parsed it (on by default; off for a
    /// viewer that stops reading).
    pub auto_ack: Arc<std::sync::atomic::AtomicBool>,
}

/// Headers and auth for a connection.
#[derive(Default)]
pub struct ConnectOptions<'a> {
    /// The `Cookie` header.
    pub cookie: Option<&'a str>,
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The Socket.IO auth payload.
    pub auth: Option<Value>,
}

impl UiSocket {
    /// A browser-like `/ui` socket of `api`'s login, same-origin with `hub`.
    pub async fn viewer(hub: &crate::HubProcess, api: &crate::Api) -> UiSocket {
        let origin = hub.url();
        UiSocket::connect(
            &hub.addr,
            flotilla_protocol::UI_NAMESPACE,
            ConnectOptions {
                cookie: api.cookie(),
                origin: Some(&origin),
                auth: None,
            },
        )
        .await
        .expect("ui socket connects")
    }

    /// Connects to `namespace` on the hub at `addr`.
    pub async fn connect(
        addr: &str,
        namespace: &str,
        options: ConnectOptions<'_>,
    ) -> Result<UiSocket, ConnectError> {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let mut request = url
            .into_client_request()
            .map_err(|e| ConnectError::Transport(e.to_string()))?;
        if let Some(cookie) = options.cookie {
            request.headers_mut().insert(
                "cookie",
                HeaderValue::from_str(cookie).expect("cookie header"),
            );
        }
        if let Some(origin) = options.origin {
            request.headers_mut().insert(
                "origin",
                HeaderValue::from_str(origin).expect("origin header"),
            );
        }
        // Browsers disable Nagle for WebSockets; so does this client.
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .map_err(|e| ConnectError::Transport(e.to_string()))?;
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.starts_with('0') => {}
            other => {
                return Err(ConnectError::Transport(format!(
                    "expected an engine.io open packet, got {other:?}"
                )));
            }
        }
        let auth = options.auth.map(|a| a.to_string()).unwrap_or_default();
        ws.send(Message::text(format!("40{namespace},{auth}")))
            .await
            .map_err(|e| ConnectError::Transport(e.to_string()))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    ws.send(Message::text("3"))
                        .await
                        .map_err(|e| ConnectError::Transport(e.to_string()))?;
                }
                Some(Ok(Message::Text(text))) => {
                    let prefix_ok = format!("40{namespace},");
                    let prefix_err = format!("44{namespace},");
                    if text.starts_with(&prefix_ok) {
                        break;
                    }
                    if let Some(body) = text.strip_prefix(&prefix_err) {
                        return Err(ConnectError::Refused(
                            serde_json::from_str(body).unwrap_or(Value::Null),
                        ));
                    }
                    return Err(ConnectError::Transport(format!("unexpected packet {text}")));
                }
                other => {
                    return Err(ConnectError::Transport(format!(
                        "connection ended: {other:?}"
                    )));
                }
            }
        }
        let (outgoing, mut outgoing_rx) = mpsc::channel::<Message>(1024);
        let shared = Arc::new(Shared::default());
        let count_only = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (mut sink, mut stream) = ws.split();
        tokio::spawn(async move {
            while let Some(message) = outgoing_rx.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let reader_shared = shared.clone();
        let pong = outgoing.clone();
        let reader_count_only = count_only.clone();
        let auto_ack = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let reader_auto_ack = auto_ack.clone();
        let ack_namespace = namespace.to_owned();
        tokio::spawn(async move {
            let mut pending: Option<(String, usize, Vec<Vec<u8>>)> = None;
            while let Some(Ok(message)) = stream.next().await {
                match message {
                    Message::Text(text) if text.as_str() == "2" => {
                        let _ = pong.send(Message::text("3")).await;
                    }
                    Message::Text(text) => {
                        if let Some(packet) = parse_packet(text.as_str()) {
                            match packet.kind {
                                '2' => reader_shared.push_event(&packet.json),
                                '3' => reader_shared.resolve_ack(packet.id, &packet.json),
                                '5' => {
                                    pending = Some((
                                        packet.json.to_string(),
                                        packet.attachments,
                                        Vec::new(),
                                    ))
                                }
                                '1' => break,
                                _ => {}
                            }
                        }
                    }
                    Message::Binary(bytes) => {
                        if let Some((json, needed, mut parts)) = pending.take() {
                            parts.push(bytes.to_vec());
                            if parts.len() < needed {
                                pending = Some((json, needed, parts));
                            } else if let Some((session, offset)) = reader_shared.push_binary(
                                &json,
                                &parts,
                                reader_count_only.load(Ordering::Relaxed),
                            ) && reader_auto_ack.load(Ordering::Relaxed)
                            {
                                let ack = serde_json::json!([
                                    "session:ack",
                                    {"sessionId": session.0, "offset": offset.to_string()}
                                ]);
                                let _ = pong
                                    .send(Message::text(format!("42{ack_namespace},{ack}")))
                                    .await;
                            }
                        }
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            reader_shared.closed.store(true, Ordering::Release);
            reader_shared.changed.notify_waiters();
        });
        Ok(UiSocket {
            namespace: namespace.to_owned(),
            outgoing,
            shared,
            next_ack: AtomicU64::new(1),
            count_only,
            auto_ack,
        })
    }

    /// Sends an event without asking for an ack.
    pub async fn emit(&self, event: &str, data: &Value) {
        let text = format!("42{},{}", self.namespace, serde_json::json!([event, data]));
        self.outgoing
            .send(Message::text(text))
            .await
            .expect("socket writer alive");
    }

    /// Leaves the namespace (a Socket.IO DISCONNECT packet), as a client's
    /// `socket.disconnect()` does.
    pub async fn disconnect(&self) {
        self.send_raw(format!("41{},", self.namespace)).await;
    }

    /// Sends a raw text frame (for malformed-input tests).
    pub async fn send_raw(&self, text: String) {
        self.outgoing
            .send(Message::text(text))
            .await
            .expect("socket writer alive");
    }

    /// Sends an event and waits for its ack (the first ack argument).
    pub async fn emit_with_ack(&self, event: &str, data: &Value) -> Value {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.shared.acks.lock().expect("acks lock").insert(id, tx);
        let text = format!(
            "42{},{id}{}",
            self.namespace,
            serde_json::json!([event, data])
        );
        self.outgoing
            .send(Message::text(text))
            .await
            .expect("socket writer alive");
        tokio::time::timeout(crate::timeout(), rx)
            .await
            .unwrap_or_else(|_| panic!("no ack for {event} within the timeout"))
            .expect("ack sender alive")
    }

    /// JSON events received so far with this name.
    pub fn events(&self, name: &str) -> Vec<Value> {
        self.shared
            .events
            .lock()
            .expect("events lock")
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Continues a stream another socket received, as a browser tab keeps
    /// its terminal across a reconnect.
    pub fn adopt(&self, session: SessionId, state: StreamState) {
        self.shared
            .streams
            .lock()
            .expect("streams lock")
            .insert(session, state);
    }

    /// A session's terminal as this viewer shows it (cheap: no copy of
    /// the received bytes).
    pub fn screen(&self, session: SessionId) -> ViewerScreen {
        self.shared
            .streams
            .lock()
            .expect("streams lock")
            .get(&session)
            .map(|stream| stream.screen.clone())
            .unwrap_or_default()
    }

    /// How many snapshots a session's stream received.
    pub fn snapshots(&self, session: SessionId) -> u64 {
        self.shared
            .streams
            .lock()
            .expect("streams lock")
            .get(&session)
            .map_or(0, |stream| stream.snapshots)
    }

    /// The reassembled output of a session.
    pub fn stream(&self, session: SessionId) -> StreamState {
        self.shared
            .streams
            .lock()
            .expect("streams lock")
            .get(&session)
            .cloned()
            .unwrap_or_default()
    }

    /// The end offset of a session's received output.
    pub fn next_offset(&self, session: SessionId) -> u64 {
        self.shared
            .streams
            .lock()
            .expect("streams lock")
            .get(&session)
            .map_or(0, StreamState::next_offset)
    }

    /// Waits until the session's output reaches `offset`; false if the
    /// connection closed first.
    pub async fn wait_offset(&self, session: SessionId, offset: u64) -> bool {
        loop {
            let notified = self.shared.changed.notified();
            if self.next_offset(session) >= offset {
                return true;
            }
            if self.shared.closed.load(Ordering::Acquire) {
                return false;
            }
            notified.await;
        }
    }

    /// Whether the server closed the connection.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }
}

impl Shared {
    fn push_event(&self, json: &Value) {
        if let Some(name) = json.get(0).and_then(Value::as_str) {
            let data = json.get(1).cloned().unwrap_or(Value::Null);
            if name == "session:resized"
                && let Ok(resized) = serde_json::from_value::<
                    flotilla_protocol::hub_to_ui::SessionResized,
                >(data.clone())
            {
                self.streams
                    .lock()
                    .expect("streams lock")
                    .entry(resized.session_id)
                    .or_default()
                    .screen
                    .resize(resized.size);
            }
            self.events
                .lock()
                .expect("events lock")
                .push((name.to_owned(), data));
            self.changed.notify_waiters();
        }
    }

    fn resolve_ack(&self, id: Option<u64>, json: &Value) {
        let Some(id) = id else { return };
        if let Some(tx) = self.acks.lock().expect("acks lock").remove(&id) {
            let _ = tx.send(json.get(0).cloned().unwrap_or(Value::Null));
        }
    }

    /// Applies a binary event; returns the session and the offset its
    /// stream reached, to acknowledge.
    fn push_binary(
        &self,
        json: &str,
        parts: &[Vec<u8>],
        count_only: bool,
    ) -> Option<(SessionId, u64)> {
        let json: Value = serde_json::from_str(json).unwrap_or(Value::Null);
        let bytes = parts.first()?;
        match json.get(0).and_then(Value::as_str) {
            Some("session:output") => {}
            Some("session:snapshot") => {
                let snapshot = SnapshotFrame::decode(bytes).ok()?;
                let reached = {
                    let mut streams = self.streams.lock().expect("streams lock");
                    let stream = streams.entry(snapshot.session_id).or_default();
                    stream.apply_snapshot(&snapshot);
                    stream.next_offset()
                };
                self.changed.notify_waiters();
                return Some((snapshot.session_id, reached));
            }
            _ => return None,
        }
        let frame = OutputFrame::decode(bytes).ok()?;
        let reached = {
            let mut streams = self.streams.lock().expect("streams lock");
            let stream = streams.entry(frame.session_id).or_default();
            if count_only {
                let before = stream.bytes.len();
                stream.apply_counted(frame.offset, frame.data);
                stream.bytes.truncate(before.min(stream.bytes.len()));
            } else {
                stream.apply(frame.offset, frame.data);
            }
            stream.next_offset()
        };
        self.changed.notify_waiters();
        Some((frame.session_id, reached))
    }
}

struct Packet {
    kind: char,
    attachments: usize,
    id: Option<u64>,
    json: Value,
}

/// Parses `4<type>[<n>-][/ns,][id]<json>`.
fn parse_packet(text: &str) -> Option<Packet> {
    let mut rest = text.strip_prefix('4')?;
    let kind = rest.chars().next()?;
    rest = &rest[1..];
    let mut attachments = 0;
    if matches!(kind, '5' | '6') {
        let (count, tail) = rest.split_once('-')?;
        attachments = count.parse().ok()?;
        rest = tail;
    }
    if rest.starts_with('/') {
        let (_, tail) = rest.split_once(',').unwrap_or((rest, ""));
        rest = tail;
    }
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let id = rest[..digits].parse().ok();
    rest = &rest[digits..];
    let json = if rest.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(rest).ok()?
    };
    Some(Packet {
        kind,
        attachments,
        id,
        json,
    })
}
