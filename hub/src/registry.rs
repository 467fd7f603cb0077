//! The registry of connected daemons, one link per host, and the spawns
//! and worktree commands waiting for their daemon's answer. State shared by the `/daemon`
//! namespace (which attaches and detaches links) and the use cases (which
//! send commands through them); it knows nothing of either.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use flotilla_protocol::worktree::WorktreeOutcome;
use flotilla_protocol::{ErrorBody, Event, HostId, RequestId, SessionId};
use serde::Serialize;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;
use tokio::sync::oneshot;

use crate::lock;

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a daemon reported about a spawn the hub is waiting for.
#[derive(Debug)]
pub enum SpawnOutcome {
    /// The process runs.
    Started,
    /// It could not be started.
    Failed(ErrorBody),
}

/// The socket of one connected daemon.
#[derive(Clone)]
pub struct DaemonLink {
    pub(crate) socket: SocketRef,
    /// Set once its `Hello` was recorded: only then is the host online,
    /// with a known inventory and reconciled sessions.
    ready: bool,
}

impl DaemonLink {
    /// Sends a command. Fails when the socket closed or its buffer is full.
    pub fn emit<E: Event + Serialize>(&self, command: &E) -> Result<(), socketioxide::SendError> {
        self.socket.emit(E::NAME, command)
    }
}

/// Connected daemons by host, and spawns awaiting confirmation.
#[derive(Default)]
pub struct Daemons {
    /// Short lookups and updates only; never held across an `.await`.
    /// Locks here and below recover from poisoning: each critical section
    /// is one map operation, which leaves the map consistent.
    links: RwLock<HashMap<HostId, DaemonLink>>,
    /// Short insert/remove only; never held across an `.await`.
    pending: Mutex<HashMap<SessionId, (HostId, oneshot::Sender<SpawnOutcome>)>>,
    /// Worktree commands awaiting their answer; short insert/remove only.
    requests: Mutex<HashMap<RequestId, (HostId, oneshot::Sender<WorktreeOutcome>)>>,
}

impl Daemons {
    /// The host's daemon, when connected.
    pub fn link(&self, host: HostId) -> Option<DaemonLink> {
        read(&self.links)
            .get(&host)
            .filter(|link| link.ready)
            .cloned()
    }

    /// Whether the host's daemon is connected and said hello.
    pub fn is_online(&self, host: HostId) -> bool {
        self.link(host).is_some()
    }

    /// How many hosts are online.
    pub fn online_count(&self) -> usize {
        read(&self.links).values().filter(|link| link.ready).count()
    }

    /// Marks the host's link ready if it is still this socket.
    pub(crate) fn mark_ready(&self, host: HostId, sid: Sid) {
        let mut links = write(&self.links);
        if let Some(link) = links.get_mut(&host).filter(|link| link.socket.id == sid) {
            link.ready = true;
        }
    }

    /// Disconnects the host's daemon (token rotated or host deleted).
    pub fn disconnect(&self, host: HostId) {
        let link = write(&self.links).remove(&host);
        if let Some(link) = link {
            // An error means it is already gone, which is what we want.
            let _ = link.socket.disconnect();
        }
    }

    /// Registers interest in the daemon's answer to a spawn.
    pub fn expect_spawn(
        &self,
        session: SessionId,
        host: HostId,
    ) -> oneshot::Receiver<SpawnOutcome> {
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(session, (host, tx));
        rx
    }

    /// Drops interest in a spawn (the caller gave up waiting).
    pub fn forget_spawn(&self, session: SessionId) {
        lock(&self.pending).remove(&session);
    }

    pub(crate) fn resolve_spawn(&self, session: SessionId, outcome: SpawnOutcome) {
        let waiter = lock(&self.pending).remove(&session);
        if let Some((_, tx)) = waiter {
            // The waiter may have timed out; then nobody needs the answer.
            let _ = tx.send(outcome);
        }
    }

    /// Registers interest in the answer to a worktree command sent to
    /// `host`.
    pub fn expect_answer(
        &self,
        request: RequestId,
        host: HostId,
    ) -> oneshot::Receiver<WorktreeOutcome> {
        let (tx, rx) = oneshot::channel();
        lock(&self.requests).insert(request, (host, tx));
        rx
    }

    /// Drops interest in an answer (the caller gave up waiting).
    pub fn forget_answer(&self, request: RequestId) {
        lock(&self.requests).remove(&request);
    }

    /// Hands `host`'s answer to its waiter; an answer from another host
    /// than the one asked is ignored (and returns false).
    pub(crate) fn resolve_answer(
        &self,
        host: HostId,
        request: RequestId,
        outcome: WorktreeOutcome,
    ) -> bool {
        let mut requests = lock(&self.requests);
        let std::collections::hash_map::Entry::Occupied(waiter) = requests.entry(request) else {
            return false;
        };
        if waiter.get().0 != host {
            return false;
        }
        // The waiter may have timed out; then nobody needs the answer.
        let _ = waiter.remove().1.send(outcome);
        true
    }

    /// Replaces the host's link; returns the previous one.
    pub(crate) fn attach(&self, host: HostId, socket: SocketRef) -> Option<DaemonLink> {
        write(&self.links).insert(
            host,
            DaemonLink {
                socket,
                ready: false,
            },
        )
    }

    /// Removes the host's link if it is still this socket. Pending spawns of
    /// the host are dropped, which tells their waiters the daemon left.
    pub(crate) fn detach(&self, host: HostId, sid: Sid) -> bool {
        let mut links = write(&self.links);
        if links.get(&host).is_some_and(|link| link.socket.id == sid) {
            links.remove(&host);
            drop(links);
            lock(&self.pending).retain(|_, (pending_host, _)| *pending_host != host);
            lock(&self.requests).retain(|_, (asked, _)| *asked != host);
            true
        } else {
            false
        }
    }
}
