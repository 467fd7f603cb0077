//! Turns SIGINT and SIGTERM into cancelling the root token.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Waits for SIGINT or SIGTERM (or for the token to be cancelled elsewhere)
/// and cancels `token`.
pub async fn cancel_on_signal(token: CancellationToken) -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = terminate.recv() => tracing::info!("received SIGTERM, shutting down"),
        _ = interrupt.recv() => tracing::info!("received SIGINT, shutting down"),
        () = token.cancelled() => {}
    }
    token.cancel();
    Ok(())
}
