//! Turns SIGINT/SIGTERM into cancellation of the root token.

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::info;

/// Cancels `root` on the first SIGINT or SIGTERM. Returns when the signal
/// arrived or `root` was cancelled elsewhere.
pub async fn cancel_on_signal(root: CancellationToken) -> anyhow::Result<()> {
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::select! {
        _ = terminate.recv() => info!("SIGTERM received; shutting down"),
        _ = interrupt.recv() => info!("SIGINT received; shutting down"),
        () = root.cancelled() => return Ok(()),
    }
    root.cancel();
    Ok(())
}
