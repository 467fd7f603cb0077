//! Our small interface over the Socket.IO client (rust_socketio), so the
//! library can be swapped: connect with auth, emit JSON or binary, ask with an
//! acknowledgement, and receive [`Incoming`] messages on a channel.
//!
//! rust_socketio quirks handled here: `connect()` returns before the hub has
//! accepted; acceptance arrives as [`Event::Connect`] and refusal only as an
//! error event whose text embeds the `connect_error` packet. Its own
//! reconnect is neutralized: when its stream ends we only learn about it
//! through the `on_reconnect` hook, which we turn into [`Incoming::Closed`]
//! and answer with an unusable address so it never connects on its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use flotilla_protocol::daemon_to_hub::DaemonAuth;
use flotilla_protocol::hub_to_daemon::{
    RequestSnapshot, ResizePty, SpawnSession, StopSession, WorktreeCommand, WriteInput,
};
use flotilla_protocol::{ConnectRefusal, DAEMON_NAMESPACE, Event as WireEvent};
use futures_util::FutureExt as _;
use rust_socketio::asynchronous::{Client, ClientBuilder, ReconnectSettings};
use rust_socketio::{Event, Payload, TransportType};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::host::HubCommand;

/// The prefix rust_socketio puts before a `connect_error` packet's data.
const CONNECT_ERROR_PREFIX: &str = "Received an ConnectError frame: ";

/// What the hub connection reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// The hub accepted the namespace connection.
    Connected,
    /// The hub refused the connection with a typed reason.
    Refused(ConnectRefusal),
    /// A transport or protocol error; the connection is unusable.
    Error(String),
    /// The connection ended.
    Closed,
    /// A command from the hub.
    Command(HubCommand),
    /// A hub command that could not be decoded.
    Malformed {
        /// The event name.
        event: String,
        /// What was wrong.
        error: String,
    },
}

/// One connection attempt to the hub's daemon namespace.
pub struct HubSocket {
    client: Client,
}

impl HubSocket {
    /// Opens the transport (websocket only) and sends the namespace connect
    /// with `auth`. Returns before the hub answers: wait for
    /// [`Incoming::Connected`] or [`Incoming::Refused`] on `incoming`, which
    /// is bounded and awaited by the socket's receive task when full (so a
    /// slow consumer pauses reading from the hub).
    pub async fn connect(
        hub_url: &str,
        auth: &DaemonAuth,
        incoming: mpsc::Sender<Incoming>,
    ) -> anyhow::Result<HubSocket> {
        let auth = serde_json::to_value(auth).context("encoding the handshake")?;
        let mut builder = ClientBuilder::new(hub_url)
            .namespace(DAEMON_NAMESPACE)
            .transport_type(TransportType::Websocket)
            .auth(auth)
            .reconnect(true)
            .reconnect_on_disconnect(true)
            .max_reconnect_attempts(1)
            .reconnect_delay(1000, 1000);

        builder = builder.on(Event::Connect, forward(&incoming, |_| Incoming::Connected));
        builder = builder.on(Event::Close, forward(&incoming, |_| Incoming::Closed));
        builder = builder.on(Event::Error, forward(&incoming, error_to_incoming));
        builder = builder.on(
            SpawnSession::NAME,
            forward(&incoming, |payload| {
                command(SpawnSession::NAME, payload, HubCommand::Spawn)
            }),
        );
        builder = builder.on(
            StopSession::NAME,
            forward(&incoming, |payload| {
                command(StopSession::NAME, payload, HubCommand::Stop)
            }),
        );
        builder = builder.on(
            WriteInput::NAME,
            forward(&incoming, |payload| {
                command(WriteInput::NAME, payload, HubCommand::Input)
            }),
        );
        builder = builder.on(
            ResizePty::NAME,
            forward(&incoming, |payload| {
                command(ResizePty::NAME, payload, HubCommand::Resize)
            }),
        );
        builder = builder.on(
            RequestSnapshot::NAME,
            forward(&incoming, |payload| {
                command(RequestSnapshot::NAME, payload, HubCommand::Snapshot)
            }),
        );
        builder = builder.on(
            WorktreeCommand::NAME,
            forward(&incoming, |payload| {
                command(WorktreeCommand::NAME, payload, HubCommand::Worktree)
            }),
        );
        let closed = incoming.clone();
        builder = builder.on_reconnect(move || {
            let closed = closed.clone();
            async move {
                let _ = closed.send(Incoming::Closed).await;
                // An address that cannot parse makes the library's own
                // reconnect fail at once; we reconnect with our own policy.
                let mut settings = ReconnectSettings::new();
                settings.address("");
                settings
            }
            .boxed()
        });

        let client = builder.connect().await.context("connecting to the hub")?;
        Ok(HubSocket { client })
    }

    /// Emits a JSON event.
    pub async fn emit_json<E: WireEvent + Serialize>(&self, message: &E) -> anyhow::Result<()> {
        let value = serde_json::to_value(message).context("encoding an event")?;
        self.client
            .emit(E::NAME, Payload::Text(vec![value]))
            .await
            .with_context(|| format!("sending {}", E::NAME))
    }

    /// Emits an event with one binary attachment.
    pub async fn emit_binary<E: WireEvent>(&self, data: Vec<u8>) -> anyhow::Result<()> {
        self.client
            .emit(E::NAME, Payload::Binary(data.into()))
            .await
            .with_context(|| format!("sending {}", E::NAME))
    }

    /// Emits a JSON event and waits up to `timeout` for its acknowledgement.
    pub async fn request<E, A>(&self, message: &E, timeout: Duration) -> anyhow::Result<A>
    where
        E: WireEvent<Ack = A> + Serialize,
        A: DeserializeOwned,
    {
        let value = serde_json::to_value(message).context("encoding an event")?;
        let (ack_tx, ack_rx) = oneshot::channel::<Payload>();
        // The callback type is `FnMut`, so the one-shot sender sits in an
        // `Option` behind a short-lived std mutex.
        let ack_tx = Arc::new(Mutex::new(Some(ack_tx)));
        self.client
            .emit_with_ack(
                E::NAME,
                Payload::Text(vec![value]),
                timeout,
                move |payload, _| {
                    let sender = ack_tx
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .take();
                    if let Some(sender) = sender {
                        let _ = sender.send(payload);
                    }
                    async {}.boxed()
                },
            )
            .await
            .with_context(|| format!("sending {}", E::NAME))?;
        let payload = tokio::time::timeout(timeout, ack_rx)
            .await
            .with_context(|| format!("no acknowledgement for {} within {timeout:?}", E::NAME))?
            .with_context(|| format!("connection closed before {} was acknowledged", E::NAME))?;
        let value = first_value(payload)
            .with_context(|| format!("empty acknowledgement for {}", E::NAME))?;
        serde_json::from_value(value)
            .with_context(|| format!("decoding the acknowledgement of {}", E::NAME))
    }

    /// Closes the connection and stops the library's background task.
    pub async fn disconnect(&self) {
        let _ = self.client.disconnect().await;
    }
}

/// Turns a callback payload into an [`Incoming`] and forwards it. The
/// callback awaits when `incoming` is full.
fn forward(
    incoming: &mpsc::Sender<Incoming>,
    convert: fn(Payload) -> Incoming,
) -> impl for<'a> FnMut(Payload, Client) -> futures_util::future::BoxFuture<'static, ()>
+ Send
+ Sync
+ 'static {
    let incoming = incoming.clone();
    move |payload, _client| {
        let incoming = incoming.clone();
        async move {
            let _ = incoming.send(convert(payload)).await;
        }
        .boxed()
    }
}

/// The first JSON value of a payload; an ack of `[value]` arrives as one
/// nested array.
fn first_value(payload: Payload) -> Option<Value> {
    match payload {
        Payload::Text(values) => {
            let mut values = values.into_iter();
            match values.next()? {
                Value::Array(inner) if values.len() == 0 && inner.len() == 1 => {
                    inner.into_iter().next()
                }
                value => Some(value),
            }
        }
        #[allow(deprecated)]
        Payload::String(text) => serde_json::from_str(&text).ok(),
        Payload::Binary(_) => None,
    }
}

/// Decodes a hub command's payload.
pub fn command<T: DeserializeOwned>(
    event: &str,
    payload: Payload,
    wrap: fn(T) -> HubCommand,
) -> Incoming {
    let malformed = |error: String| Incoming::Malformed {
        event: event.to_owned(),
        error,
    };
    match first_value(payload) {
        Some(value) => match serde_json::from_value::<T>(value) {
            Ok(message) => Incoming::Command(wrap(message)),
            Err(error) => malformed(error.to_string()),
        },
        None => malformed("expected one JSON argument".to_owned()),
    }
}

/// Classifies an error event: a `connect_error` carrying a
/// [`ConnectRefusal`] becomes [`Incoming::Refused`].
pub fn error_to_incoming(payload: Payload) -> Incoming {
    let text = match payload {
        Payload::Text(values) => match values.into_iter().next() {
            Some(Value::String(text)) => text,
            Some(other) => other.to_string(),
            None => String::new(),
        },
        #[allow(deprecated)]
        Payload::String(text) => text,
        Payload::Binary(_) => "binary error payload".to_owned(),
    };
    match text.strip_prefix(CONNECT_ERROR_PREFIX) {
        Some(data) => match parse_refusal(data) {
            Some(refusal) => Incoming::Refused(refusal),
            None => Incoming::Error(format!("connection refused: {data}")),
        },
        None => Incoming::Error(text),
    }
}

/// Finds a [`ConnectRefusal`] in `connect_error` data, which is either
/// `{"message": "<refusal json>"}` (Socket.IO v5) or the refusal itself.
pub fn parse_refusal(data: &str) -> Option<ConnectRefusal> {
    match serde_json::from_str::<Value>(data).ok()? {
        Value::Object(object) => match object.get("message") {
            Some(Value::String(message)) => ConnectRefusal::from_wire(message),
            _ => ConnectRefusal::from_wire(data),
        },
        Value::String(message) => ConnectRefusal::from_wire(&message),
        _ => None,
    }
}
