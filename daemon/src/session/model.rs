//! The task that owns a session's screen model ([`Screen`]), beside the
//! session's actor: the actor reads the PTY, keeps the ring and reports
//! output at once, and hands each chunk here in stream order; this task
//! parses it, writes the model's answers to terminal queries back to the
//! program and renders snapshots. Parsing is the costliest step of a
//! session's output, and off the actor it runs on another core while the
//! actor forwards the next chunk.
//!
//! Commands are applied in the order sent, so a snapshot stands for exactly
//! the chunks fed before it was asked for: its offset is the count of bytes
//! fed. The channel is bounded ([`MODEL_QUEUE`]), so a model that falls
//! behind slows the actor's reading of the PTY rather than growing memory.

use bytes::Bytes;
use flotilla_protocol::frame::MAX_SNAPSHOT_DATA;
use flotilla_protocol::{SessionId, TermSize};
use tokio::sync::mpsc;
use tracing::warn;

use super::SessionEvent;
use super::screen::{self, Screen};

/// Chunks (each at most [`super::FLUSH_BYTES`]) the model may be behind.
pub const MODEL_QUEUE: usize = 8;

/// What the actor asks of the model task.
#[derive(Debug)]
pub enum ModelCommand {
    /// The next output, in stream order.
    Feed(Bytes),
    /// The PTY was resized.
    Resize(TermSize),
    /// Report a [`SessionEvent::Snapshot`] of the screen after everything
    /// fed so far.
    Snapshot,
}

/// Runs the model until `commands` closes. Answers go to `input` (the
/// PTY's writer), snapshots to `events`.
pub async fn run(
    id: SessionId,
    mut screen: Screen,
    mut commands: mpsc::Receiver<ModelCommand>,
    input: mpsc::Sender<Bytes>,
    events: mpsc::Sender<SessionEvent>,
) {
    let mut fed: u64 = 0;
    while let Some(command) = commands.recv().await {
        match command {
            ModelCommand::Feed(data) => {
                fed += data.len() as u64;
                let replies = screen.feed(&data);
                if !replies.is_empty() && input.try_send(Bytes::from(replies)).is_err() {
                    warn!("terminal query answer dropped: the terminal is not reading");
                }
            }
            ModelCommand::Resize(size) => screen.resize(size),
            ModelCommand::Snapshot => {
                // The receiver is gone only during shutdown.
                let _ = events.send(snapshot(id, &screen, fed)).await;
            }
        }
    }
}

/// Renders `screen`, which stands for the stream up to `offset`.
fn snapshot(id: SessionId, screen: &Screen, offset: u64) -> SessionEvent {
    let mut data = screen.snapshot(screen::SNAPSHOT_SCROLLBACK_BUDGET);
    if data.len() > MAX_SNAPSHOT_DATA {
        // A screen so large (the biggest sizes, every cell styled) that it
        // and its history exceed the frame: the screen alone.
        data = screen.snapshot(0);
    }
    if data.len() > MAX_SNAPSHOT_DATA {
        warn!(
            len = data.len(),
            "the screen does not fit a snapshot; viewers get its text"
        );
        data = screen.snapshot_text();
    }
    SessionEvent::Snapshot {
        session_id: id,
        offset,
        size: screen.size(),
        data: Bytes::from(data),
    }
}
