//! Admission of Socket.IO connections that have not authenticated yet.
//!
//! Every new Engine.IO session (a `/socket.io/` request without a `sid`)
//! takes a slot before anything is buffered for it: at most
//! [`MAX_PENDING`] in all and [`MAX_PENDING_PER_ADDRESS`] per client
//! address; beyond that the handshake gets a 503. The slot travels in the
//! request's extensions, which socketioxide keeps with the socket, and is
//! released when a namespace accepts the socket's credentials
//! ([`authenticated`]) or when the socket closes, which happens at the
//! latest after [`CONNECT_TIMEOUT`] without a namespace connection.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use flotilla_protocol::{ErrorBody, ErrorCode};
use socketioxide::extract::SocketRef;

use crate::{App, lock};

/// Unauthenticated Socket.IO connections the hub holds at once.
pub const MAX_PENDING: usize = 256;

/// Unauthenticated Socket.IO connections one client address may hold.
pub const MAX_PENDING_PER_ADDRESS: usize = 16;

/// How long a connection may stay without joining a namespace (that is,
/// without authenticating) before the hub closes it, unless
/// `--handshake-timeout-ms` says otherwise.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The counts of pending connections.
#[derive(Default)]
pub struct Admission {
    /// Short counter updates only; never held across an `.await`.
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One pending connection's slot; dropping it frees the slot.
pub struct PendingSlot {
    admission: Arc<Admission>,
    address: Option<IpAddr>,
}

impl Drop for PendingSlot {
    fn drop(&mut self) {
        let mut counts = lock(&self.admission.counts);
        counts.total = counts.total.saturating_sub(1);
        if let Some(address) = self.address
            && let Some(n) = counts.by_address.get_mut(&address)
        {
            *n -= 1;
            if *n == 0 {
                counts.by_address.remove(&address);
            }
        }
    }
}

/// The slot as kept in a socket's request extensions (which must be
/// `Clone`); [`authenticated`] takes it out.
#[derive(Clone)]
pub struct PendingConnection(Arc<Mutex<Option<PendingSlot>>>);

impl Admission {
    /// A slot for a new connection from `address`, or `None` when the
    /// limits are reached.
    pub fn admit(self: &Arc<Self>, address: Option<IpAddr>) -> Option<PendingSlot> {
        let mut counts = lock(&self.counts);
        if counts.total >= MAX_PENDING {
            return None;
        }
        if let Some(address) = address {
            let n = counts.by_address.entry(address).or_default();
            if *n >= MAX_PENDING_PER_ADDRESS {
                return None;
            }
            *n += 1;
        }
        counts.total += 1;
        Some(PendingSlot {
            admission: self.clone(),
            address,
        })
    }

    /// How many connections are pending.
    pub fn pending(&self) -> usize {
        lock(&self.counts).total
    }
}

/// Releases the socket's pending slot: a namespace accepted it.
pub fn authenticated(socket: &SocketRef) {
    if let Some(PendingConnection(slot)) = socket.req_parts().extensions.get::<PendingConnection>()
    {
        lock(slot).take();
    }
}

/// Middleware in front of the Socket.IO layer: a new Engine.IO session
/// needs a slot, or it is refused with 503 before any of it is read.
pub async fn admit(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let new_session = request.uri().path().starts_with("/socket.io/")
        && !request
            .uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .any(|pair| pair.starts_with("sid="));
    if !new_session {
        return next.run(request).await;
    }
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let Some(slot) = app.admission.admit(address) else {
        tracing::warn!(
            ?address,
            "socket.io handshake refused: too many unauthenticated connections"
        );
        let body = ErrorBody::new(
            ErrorCode::Unavailable,
            "too many unauthenticated connections; try again shortly",
        );
        return crate::error::ApiError::from(body).into_response();
    };
    request
        .extensions_mut()
        .insert(PendingConnection(Arc::new(Mutex::new(Some(slot)))));
    next.run(request).await
}
