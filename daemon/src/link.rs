//! The link to the hub: connects, says Hello, relays hub commands to the
//! [`Host`] and session output to the hub, and reconnects with backoff.
//!
//! One task owns the connection and does every emit, so output frames leave
//! in order and an exit is always sent after its session's last frame. While
//! disconnected, output events are dropped: each session's ring is the source
//! of truth and is resent from the hub's offset after the next Hello.
//!
//! Nothing slow runs on the link's loop: a spawn returns at once and the
//! session reports its start or failure as its first event, which the link
//! sends then (a start while disconnected reaches the hub through the next
//! Hello, a failure is sent after it, as exits are).
//!
//! Usage totals are coalesced: once per [`USAGE_EVERY`] the link sends a
//! `SessionUsageReport` for each session whose totals changed, a session's
//! changed totals just before its exit, and every session's totals after
//! each Hello. Reports carry full totals, so a repeat is harmless.

pub mod backoff;
pub mod socket;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64_STANDARD;
use flotilla_protocol::cursor::{Advance, StreamCursor};
use flotilla_protocol::daemon_to_hub::{
    DaemonAuth, Hello, HelloAck, InventoryChanged, SessionExited, SessionOutput, SessionOutputText,
    SessionSnapshot, SessionSpawnFailed, TEXT_OUTPUT_MAX,
};
use flotilla_protocol::frame::{OutputFrame, SnapshotFrame};
use flotilla_protocol::{ConnectRefusal, Reply, SessionId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use self::backoff::backoff_delay;
use self::socket::{HubSocket, Incoming};
use crate::host::{Host, HubCommand};
use crate::session::SessionEvent;

/// Capacity of the queue of messages from the hub.
const INCOMING_CAPACITY: usize = 256;

/// Largest frame the link builds when resending retained output.
const RESEND_CHUNK: usize = 64 * 1024;

/// How often changed usage totals are sent, at most, per session.
pub const USAGE_EVERY: Duration = Duration::from_secs(1);

/// Settings of the link.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// The hub's base URL.
    pub hub_url: String,
    /// The handshake payload (carries the token).
    pub auth: DaemonAuth,
    /// The file the token came from, if one: while the hub refuses the
    /// token and sessions run, it is read again every second and a new
    /// token in it is tried at once.
    pub token_file: Option<PathBuf>,
    /// How long to wait for the hub to accept a connection.
    pub connect_timeout: Duration,
    /// How long to wait for the Hello acknowledgement.
    pub hello_timeout: Duration,
    /// How often to rescan projects; `None` disables it.
    pub rescan_every: Option<Duration>,
    /// Project discovery depth for rescans.
    pub scan_depth: usize,
    /// At shutdown, how long the link stays connected to report the
    /// sessions' exits (they stop at the same time) before it disconnects.
    pub drain_timeout: Duration,
}

/// Why the link stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkExit {
    /// The daemon is shutting down.
    Shutdown,
    /// The hub refused us for a reason retrying cannot fix.
    Refused(ConnectRefusal),
}

/// How one connection ended.
enum ConnectionEnd {
    Shutdown,
    Refused(ConnectRefusal),
    /// The connection failed or was lost; `acked` says whether Hello was
    /// acknowledged (which resets the backoff).
    Lost {
        acked: bool,
        reason: String,
    },
}

/// Runs the link until shutdown or a fatal refusal. `events` is the shared,
/// bounded channel of session events (see [`crate::session::start`]).
pub async fn run(
    config: LinkConfig,
    host: Host,
    mut events: mpsc::Receiver<SessionEvent>,
    cancel: CancellationToken,
) -> anyhow::Result<LinkExit> {
    let mut link = Link {
        config,
        host,
        pending_exits: Vec::new(),
        pending_failures: Vec::new(),
        sent: HashMap::new(),
    };
    let mut attempt: u32 = 0;
    loop {
        let mut token_refused = false;
        match link.connection(&mut events, &cancel).await {
            ConnectionEnd::Shutdown => return Ok(LinkExit::Shutdown),
            // A refused (say, rotated) token never ends running agents:
            // the daemon keeps them and retries until a token is accepted
            // or the last of them ends.
            ConnectionEnd::Refused(ConnectRefusal::BadToken) if link.live_sessions() > 0 => {
                warn!(
                    sessions = link.live_sessions(),
                    "the hub refused the host token; the sessions keep running and the daemon retries until a token is accepted (put the new one in the token file) or they end"
                );
                token_refused = true;
            }
            ConnectionEnd::Refused(
                refusal @ (ConnectRefusal::BadToken | ConnectRefusal::VersionMismatch { .. }),
            ) => return Ok(LinkExit::Refused(refusal)),
            ConnectionEnd::Refused(refusal) => {
                warn!(%refusal, "hub refused the connection; retrying");
            }
            ConnectionEnd::Lost { acked, reason } => {
                if acked {
                    attempt = 0;
                }
                warn!(%reason, "hub connection lost");
            }
        }
        let delay = backoff_delay(attempt, rand::random::<f64>());
        attempt = attempt.saturating_add(1);
        info!(?delay, attempt, "reconnecting after delay");
        let wake = tokio::time::Instant::now() + delay;
        let watch_token = token_refused && link.config.token_file.is_some();
        let mut token_check = tokio::time::interval_at(
            tokio::time::Instant::now() + TOKEN_FILE_CHECK,
            TOKEN_FILE_CHECK,
        );
        loop {
            tokio::select! {
                () = cancel.cancelled() => return Ok(LinkExit::Shutdown),
                () = tokio::time::sleep_until(wake) => break,
                _ = token_check.tick(), if watch_token => {
                    if link.reload_token() {
                        break;
                    }
                }
                event = events.recv() => match event {
                    Some(event) => link.offline(event),
                    None => return Ok(LinkExit::Shutdown),
                },
            }
            if token_refused && link.live_sessions() == 0 {
                warn!("the last session ended while the hub refused the host token");
                return Ok(LinkExit::Refused(ConnectRefusal::BadToken));
            }
        }
    }
}

/// How often the token file is read while the hub refuses the token.
const TOKEN_FILE_CHECK: Duration = Duration::from_secs(1);

struct Link {
    config: LinkConfig,
    host: Host,
    /// Exits that happened while disconnected, reported after the next Hello.
    pending_exits: Vec<SessionExited>,
    /// Spawns that failed while disconnected, reported after the next Hello.
    pending_failures: Vec<SessionSpawnFailed>,
    /// Per session, the offset up to which output was sent on the current
    /// connection: a [`StreamCursor`]'s offset.
    sent: HashMap<SessionId, u64>,
}

impl Link {
    /// Sessions whose end the hub has not been told of and that have not
    /// ended meanwhile (their exit waits in `pending_exits`).
    fn live_sessions(&self) -> usize {
        self.host
            .session_count()
            .saturating_sub(self.pending_exits.len() + self.pending_failures.len())
    }

    /// Reads the token file again; true when it holds a token other than
    /// the one refused, which then replaces it.
    fn reload_token(&mut self) -> bool {
        let Some(path) = &self.config.token_file else {
            return false;
        };
        match crate::config::read_token_file(path) {
            Ok(token) if token.expose() != self.config.auth.token => {
                info!(file = %path.display(), "read a new host token from the token file");
                self.config.auth.token = token.expose().to_owned();
                true
            }
            Ok(_) => false,
            Err(problem) => {
                debug!(%problem, "the token file could not be read again");
                false
            }
        }
    }

    /// Handles a session event while no hub is listening.
    fn offline(&mut self, event: SessionEvent) {
        match event {
            // The ring keeps the bytes; they are resent after the next Hello.
            // A snapshot is asked for again by the hub when it needs one.
            SessionEvent::Output { .. } | SessionEvent::Snapshot { .. } => {}
            // The next Hello lists the session as running.
            SessionEvent::Started(_) => {}
            // The hub dropped the request when the link went.
            SessionEvent::Answer(_) => {}
            // Forgotten once reported, as an exit is.
            SessionEvent::SpawnFailed(failed) => self.pending_failures.push(failed),
            SessionEvent::Exited(exited) => {
                self.host.session_exited(exited.session_id);
                self.pending_exits.push(exited);
            }
        }
    }

    async fn connection(
        &mut self,
        events: &mut mpsc::Receiver<SessionEvent>,
        cancel: &CancellationToken,
    ) -> ConnectionEnd {
        // Bounded; the socket's receive task awaits when it is full.
        let (incoming_tx, mut incoming) = mpsc::channel(INCOMING_CAPACITY);
        let connect = HubSocket::connect(&self.config.hub_url, &self.config.auth, incoming_tx);
        let socket = tokio::select! {
            () = cancel.cancelled() => return ConnectionEnd::Shutdown,
            socket = connect => match socket {
                Ok(socket) => socket,
                Err(error) => return ConnectionEnd::Lost { acked: false, reason: format!("{error:#}") },
            },
        };
        let end = self.serve(&socket, &mut incoming, events, cancel).await;
        socket.disconnect().await;
        end
    }

    async fn serve(
        &mut self,
        socket: &HubSocket,
        incoming: &mut mpsc::Receiver<Incoming>,
        events: &mut mpsc::Receiver<SessionEvent>,
        cancel: &CancellationToken,
    ) -> ConnectionEnd {
        let lost = |reason: String| ConnectionEnd::Lost {
            acked: false,
            reason,
        };

        // Wait for the hub to accept the namespace connection.
        let deadline = tokio::time::Instant::now() + self.config.connect_timeout;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return ConnectionEnd::Shutdown,
                () = tokio::time::sleep_until(deadline) => return lost("the hub did not accept the connection in time".to_owned()),
                event = events.recv() => match event {
                    Some(event) => self.offline(event),
                    None => return ConnectionEnd::Shutdown,
                },
                message = incoming.recv() => match message {
                    Some(Incoming::Connected) => break,
                    Some(Incoming::Refused(refusal)) => return ConnectionEnd::Refused(refusal),
                    Some(Incoming::Error(error)) => return lost(error),
                    Some(Incoming::Closed) | None => return lost("connection closed".to_owned()),
                    Some(other) => debug!(?other, "message before the connection was accepted"),
                },
            }
        }

        // Hello, acknowledged with the hub's view of our sessions. Changes
        // from here on are sent as `InventoryChanged` once connected.
        let mut inventory_changed = self.host.subscribe_inventory();
        inventory_changed.mark_unchanged();
        let hello = Hello {
            inventory: self.host.inventory(),
            sessions: self.host.running(),
        };
        let request = socket.request::<Hello, Reply<HelloAck>>(&hello, self.config.hello_timeout);
        tokio::pin!(request);
        // The hub may send a command right after its ack, and the client can
        // deliver that event before the ack itself: keep such commands and
        // handle them once connected. Bounded by the incoming channel's size.
        let mut early_commands = Vec::new();
        let ack = loop {
            tokio::select! {
                () = cancel.cancelled() => return ConnectionEnd::Shutdown,
                reply = &mut request => match reply {
                    Ok(Reply::Ok { value }) => break value,
                    Ok(Reply::Error { error }) => return lost(format!("hub rejected hello: {error}")),
                    Err(error) => return lost(format!("{error:#}")),
                },
                event = events.recv() => match event {
                    Some(event) => self.offline(event),
                    None => return ConnectionEnd::Shutdown,
                },
                message = incoming.recv() => match message {
                    Some(Incoming::Refused(refusal)) => return ConnectionEnd::Refused(refusal),
                    Some(Incoming::Error(error)) => return lost(error),
                    Some(Incoming::Closed) | None => return lost("connection closed".to_owned()),
                    Some(Incoming::Command(command)) if early_commands.len() < INCOMING_CAPACITY => {
                        early_commands.push(command);
                    }
                    Some(other) => debug!(?other, "message before hello was acknowledged"),
                },
            }
        };
        info!(host_id = %ack.host_id, host_name = %ack.host_name, "connected to hub");
        announce_connected(&ack);
        let lost = |reason: String| ConnectionEnd::Lost {
            acked: true,
            reason,
        };

        if let Err(error) = self.resume(socket, &ack).await {
            return lost(format!("{error:#}"));
        }
        for command in early_commands {
            if let Err(error) = self.command(socket, command).await {
                return lost(format!("{error:#}"));
            }
        }

        let mut usage =
            tokio::time::interval_at(tokio::time::Instant::now() + USAGE_EVERY, USAGE_EVERY);
        usage.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rescan = self.config.rescan_every.map(|every| {
            let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval
        });
        // At shutdown the sessions stop at the same time as the link is
        // told to; the link stays connected until each has reported its
        // exit (or the drain timeout passes), so the hub records how they
        // ended instead of losing them.
        let mut drain_until: Option<tokio::time::Instant> = None;
        loop {
            if drain_until.is_some() && self.host.session_count() == 0 && events.is_empty() {
                info!("every session's exit reported; disconnecting");
                return ConnectionEnd::Shutdown;
            }
            // Every branch is cancel-safe: mpsc `recv`, interval `tick` and
            // watch `changed` (a usage tick lost to another branch only
            // delays the reports to the next tick).
            tokio::select! {
                () = cancel.cancelled(), if drain_until.is_none() => {
                    info!(sessions = self.host.session_count(), "shutting down; reporting the sessions' exits first");
                    drain_until = Some(tokio::time::Instant::now() + self.config.drain_timeout);
                }
                _ = async { tokio::time::sleep_until(drain_until?).await; Some(()) }, if drain_until.is_some() => {
                    warn!(sessions = self.host.session_count(), "sessions did not all stop in time; disconnecting");
                    return ConnectionEnd::Shutdown;
                }
                message = incoming.recv() => match message {
                    Some(Incoming::Command(command)) => {
                        if let Err(error) = self.command(socket, command).await {
                            return lost(format!("{error:#}"));
                        }
                    }
                    Some(Incoming::Malformed { event, error }) => {
                        warn!(%event, %error, "malformed command from hub; ignored");
                    }
                    Some(Incoming::Connected) => {}
                    Some(Incoming::Refused(refusal)) => return ConnectionEnd::Refused(refusal),
                    Some(Incoming::Error(error)) => return lost(error),
                    Some(Incoming::Closed) | None => return lost("connection closed".to_owned()),
                },
                event = events.recv() => {
                    let Some(event) = event else { return ConnectionEnd::Shutdown };
                    if let Err(error) = self.relay(socket, event).await {
                        return lost(format!("{error:#}"));
                    }
                }
                _ = usage.tick() => {
                    for report in self.host.telemetry().take_all_changed(Instant::now()) {
                        if let Err(error) = socket.emit_json(&report).await {
                            return lost(format!("{error:#}"));
                        }
                    }
                }
                _ = async { rescan.as_mut()?.tick().await; Some(()) }, if rescan.is_some() => {
                    if let Err(error) = self.rescan().await {
                        return lost(format!("{error:#}"));
                    }
                }
                changed = inventory_changed.changed() => {
                    if changed.is_err() {
                        return ConnectionEnd::Shutdown;
                    }
                    let inventory = self.host.inventory();
                    info!(profiles = inventory.profiles.len(), projects = inventory.projects.len(), "inventory changed");
                    if let Err(error) = socket.emit_json(&InventoryChanged { inventory }).await {
                        return lost(format!("{error:#}"));
                    }
                }
            }
        }
    }

    /// Carries out one hub command; only the re-report of a session that
    /// already runs is sent from here (a new session reports its start or
    /// failure as its first event, see [`Self::relay`]).
    async fn command(&mut self, socket: &HubSocket, command: HubCommand) -> anyhow::Result<()> {
        match self.host.handle(command).await {
            Some(started) => socket.emit_json(&started).await,
            None => Ok(()),
        }
    }

    /// After Hello: resend retained output from the offsets the hub has,
    /// then report exits that happened while disconnected.
    async fn resume(&mut self, socket: &HubSocket, ack: &HelloAck) -> anyhow::Result<()> {
        self.sent.clear();
        for running in self.host.running() {
            self.sent.insert(running.session_id, running.output_offset);
        }
        for resume in &ack.resume {
            let Some(handle) = self.host.session(resume.session_id) else {
                continue;
            };
            let mut cursor = StreamCursor::at(resume.offset);
            while let Some((start, data)) = handle.read_retained(cursor.offset(), RESEND_CHUNK) {
                // The ring returns bytes from the cursor on, or from its
                // start when that is newer: never a duplicate.
                let skip = match cursor.advance(start, data.len()) {
                    Advance::Append { skip } => skip,
                    Advance::Gap { missing } => {
                        warn!(session_id = %resume.session_id, lost = missing, "output older than the ring was lost");
                        0
                    }
                    Advance::Duplicate | Advance::OffsetOverflow => break,
                };
                send_frame(
                    socket,
                    resume.session_id,
                    start + skip as u64,
                    &data[skip..],
                )
                .await?;
            }
            self.sent.insert(resume.session_id, cursor.offset());
        }
        for failed in std::mem::take(&mut self.pending_failures) {
            socket.emit_json(&failed).await?;
            self.sent.remove(&failed.session_id);
            self.host.forget(failed.session_id);
        }
        for exited in std::mem::take(&mut self.pending_exits) {
            socket.emit_json(&exited).await?;
            self.sent.remove(&exited.session_id);
            self.host.forget(exited.session_id);
        }
        // The hub may have missed any number of updates: send every
        // session's totals once.
        for report in self.host.telemetry().take_all() {
            socket.emit_json(&report).await?;
        }
        Ok(())
    }

    /// Sends one live session event, skipping bytes already resent.
    async fn relay(&mut self, socket: &HubSocket, event: SessionEvent) -> anyhow::Result<()> {
        match event {
            SessionEvent::Started(started) => {
                self.sent.entry(started.session_id).or_insert(0);
                socket.emit_json(&started).await
            }
            SessionEvent::SpawnFailed(failed) => {
                self.sent.remove(&failed.session_id);
                self.host.forget(failed.session_id);
                socket.emit_json(&failed).await
            }
            SessionEvent::Output {
                session_id,
                offset,
                data,
            } => {
                let sent = self.sent.entry(session_id).or_insert(offset);
                let mut cursor = StreamCursor::at(*sent);
                let skip = match cursor.advance(offset, data.len()) {
                    Advance::Append { skip } => skip,
                    // The hub reports and bridges a gap itself.
                    Advance::Gap { .. } => 0,
                    Advance::Duplicate => return Ok(()),
                    Advance::OffsetOverflow => {
                        warn!(%session_id, offset, "output past 2^64 bytes; not sent");
                        return Ok(());
                    }
                };
                *sent = cursor.offset();
                send_frame(socket, session_id, offset + skip as u64, &data[skip..]).await
            }
            SessionEvent::Snapshot {
                session_id,
                offset,
                size,
                data,
            } => {
                let frame = SnapshotFrame {
                    session_id,
                    offset,
                    size,
                    data: &data,
                };
                socket.emit_binary::<SessionSnapshot>(frame.encode()).await
            }
            SessionEvent::Answer(answer) => socket.emit_json(&answer).await,
            SessionEvent::Exited(exited) => {
                // Totals first, so the hub has them when it records the
                // exit; later data within the grace period follows on the
                // usage tick.
                self.host.session_exited(exited.session_id);
                let telemetry = self.host.telemetry();
                if let Some(report) = telemetry.take_changed(exited.session_id) {
                    socket.emit_json(&report).await?;
                }
                socket.emit_json(&exited).await?;
                self.sent.remove(&exited.session_id);
                self.host.forget(exited.session_id);
                Ok(())
            }
        }
    }

    /// Rescans projects; a change reaches the hub through the inventory
    /// watch.
    async fn rescan(&mut self) -> anyhow::Result<()> {
        let roots = self.host.projects_roots().to_vec();
        let depth = self.config.scan_depth;
        let projects = tokio::task::spawn_blocking(move || crate::project::discover(&roots, depth))
            .await
            .context("project scan failed")?;
        self.host.set_projects(projects);
        Ok(())
    }
}

async fn send_frame(
    socket: &HubSocket,
    session_id: SessionId,
    offset: u64,
    data: &[u8],
) -> anyhow::Result<()> {
    if data.len() <= TEXT_OUTPUT_MAX {
        // One text message instead of two WebSocket frames: see
        // `SessionOutputText` for the Nagle stall this avoids.
        let message = SessionOutputText {
            session_id,
            offset,
            data: BASE64_STANDARD.encode(data),
        };
        return socket.emit_json(&message).await;
    }
    let frame = OutputFrame {
        session_id,
        offset,
        data,
    };
    socket.emit_binary::<SessionOutput>(frame.encode()).await
}

/// Prints the machine-readable `connected` line on stdout.
fn announce_connected(ack: &HelloAck) {
    let line = serde_json::json!({"event": "connected", "hostId": ack.host_id});
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        warn!(%error, "cannot write the connected announcement");
    }
}
