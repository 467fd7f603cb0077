//! Session use cases, the whole lifecycle in one place: what users ask
//! (list, spawn, stop, archive) and what daemons report (hello and its
//! reconciliation, started, spawn failed, exited). REST, `/ui` and
//! `/daemon` call these; each takes the acting [`Actor`].

pub mod reconcile;

use std::path::{Component, Path};

use flotilla_protocol::daemon_to_hub::{
    Hello, HelloAck, SessionExited, SessionOffset, SessionSpawnFailed, SessionStarted,
};
use flotilla_protocol::hub_to_daemon::{SpawnSession, StopSession};
use flotilla_protocol::hub_to_ui::SessionUpdated;
use flotilla_protocol::rest::{SessionState, SessionSummary, SpawnRequest};
use flotilla_protocol::worktree::WorktreeRequest;
use flotilla_protocol::{ErrorBody, ErrorCode, HostId, SessionId};
use time::OffsetDateTime;

use crate::App;
use crate::actor::Actor;
use crate::error::ApiError;
use crate::hosts;
use crate::registry::SpawnOutcome;
use crate::store::{NewSession, Session, SessionEnd};

/// Longest initial prompt accepted, in bytes.
pub const MAX_PROMPT_BYTES: usize = 32 * 1024;

/// The wire summary of a session record, without its usage (see
/// [`summary_with_usage`]).
pub fn summary(session: &Session) -> SessionSummary {
    SessionSummary {
        id: session.id,
        host_id: session.host_id,
        profile: session.profile.clone(),
        project: session.project.clone(),
        state: session.state,
        exit_code: session.exit_code,
        exit_signal: session.exit_signal.clone(),
        error: session.error.clone(),
        size: session.size,
        created_by: session.created_by.clone(),
        created_at: session.created_at,
        ended_at: session.ended_at,
        usage: None,
        archived_at: session.archived_at,
        worktree: session.worktree.clone(),
    }
}

/// The wire summary of a session record with its latest usage.
pub async fn summary_with_usage(app: &App, session: &Session) -> anyhow::Result<SessionSummary> {
    let mut summary = summary(session);
    summary.usage = app.usage.of_session(&app.store, summary.id).await?;
    Ok(summary)
}

/// Every session (optionally of one host), newest first, with its usage:
/// two queries, whatever the number of sessions.
pub async fn list(
    app: &App,
    actor: &Actor,
    host: Option<HostId>,
) -> Result<Vec<SessionSummary>, ApiError> {
    actor.user()?;
    let sessions = app.store.list_sessions(host).await?;
    let mut usage = app.usage.of_sessions(&app.store, host).await?;
    Ok(sessions
        .iter()
        .map(|session| {
            let mut summary = summary(session);
            summary.usage = usage.remove(&summary.id);
            summary
        })
        .collect())
}

/// One session's summary, or 404.
pub async fn get(app: &App, actor: &Actor, id: SessionId) -> Result<SessionSummary, ApiError> {
    actor.user()?;
    let session = app.store.get_session(id).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::NotFound, format!("session {id} does not exist"))
    })?;
    Ok(summary_with_usage(app, &session).await?)
}

/// Reads a session back and tells every browser about it.
pub async fn publish(app: &App, id: SessionId) -> anyhow::Result<Option<SessionSummary>> {
    let Some(session) = app.store.get_session(id).await? else {
        return Ok(None);
    };
    let session = summary_with_usage(app, &session).await?;
    app.broadcast_ui(&SessionUpdated {
        session: session.clone(),
    })
    .await;
    Ok(Some(session))
}

/// Checks that `project` is a plain absolute path under one of `roots`.
/// The daemon confines it again after resolving symlinks; this check gives
/// the browser a fast, specific answer for the obvious cases.
pub fn check_project(project: &str, roots: &[String]) -> Result<(), ErrorBody> {
    let path = Path::new(project);
    if !path.is_absolute() {
        return Err(ErrorBody::new(
            ErrorCode::InvalidInput,
            format!("project {project:?} must be an absolute path"),
        ));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(ErrorBody::new(
            ErrorCode::OutsideProjectRoot,
            format!("project {project:?} must not contain '..' components"),
        ));
    }
    if !roots.iter().any(|root| path.starts_with(root)) {
        return Err(ErrorBody::new(
            ErrorCode::OutsideProjectRoot,
            format!(
                "project {project:?} is outside the host's project roots ({})",
                roots.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Validates a spawn request, records the session, sends it to the daemon
/// and waits for the daemon's answer.
pub async fn spawn(app: &App, actor: &Actor, request: SpawnRequest) -> Result<Spawned, ApiError> {
    let user = actor.user()?;
    // A retry of a spawn that reached the hub: answer with its session.
    if let Some(id) = request.id
        && let Some(existing) = app.store.get_session(id).await?
    {
        return retried(app, actor, &existing, &request, &user.username).await;
    }
    let size = request.size.unwrap_or_default();
    size.validate()?;
    if request
        .prompt
        .as_ref()
        .is_some_and(|p| p.len() > MAX_PROMPT_BYTES)
    {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            format!("the initial prompt is longer than {MAX_PROMPT_BYTES} bytes"),
        ));
    }
    if let Some(base) = &request.base {
        if request.worktree == Some(false) {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "a base is only used with a worktree: drop the base or set worktree to true",
            ));
        }
        flotilla_protocol::worktree::check_base_ref(base)
            .map_err(|message| ApiError::new(ErrorCode::InvalidInput, message))?;
    }
    let host = hosts::get(app, actor, request.host_id).await?;
    let inventory = host.inventory.clone().unwrap_or_default();
    if !inventory.profiles.iter().any(|p| p.name == request.profile) {
        let available: Vec<&str> = inventory.profiles.iter().map(|p| p.name.as_str()).collect();
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!(
                "profile {:?} is not available on host {:?} (available: {})",
                request.profile,
                host.name,
                if available.is_empty() {
                    "none".into()
                } else {
                    available.join(", ")
                }
            ),
        ));
    }
    check_project(&request.project, &inventory.project_roots)?;
    let Some(link) = app.daemons.link(request.host_id) else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("host {:?} is offline", host.name),
        ));
    };

    // A base implies a worktree; without either, isolate when another
    // live session on the host works in the same project.
    let isolate = match request.worktree {
        Some(isolate) => isolate,
        None if request.base.is_some() => true,
        None => app
            .store
            .live_sessions_of_host(request.host_id)
            .await?
            .iter()
            .any(|live| live.project == request.project),
    };
    let id = request.id.unwrap_or_default();
    let worktree = isolate.then(|| WorktreeRequest {
        branch: flotilla_protocol::worktree::branch_name(
            id,
            request
                .prompt
                .as_deref()
                .filter(|prompt| !prompt.trim().is_empty())
                .unwrap_or(&request.profile),
        ),
        base: request.base.clone(),
        optional: request.worktree.is_none() && request.base.is_none(),
    });
    let inserted = app
        .store
        .insert_session(NewSession {
            id,
            host_id: request.host_id,
            profile: request.profile.clone(),
            project: request.project.clone(),
            size,
            created_by: user.username.clone(),
        })
        .await;
    if let Err(error) = inserted {
        // Two tries of one spawn at once: the other one inserted first.
        return match app.store.get_session(id).await? {
            Some(existing) if request.id.is_some() => {
                retried(app, actor, &existing, &request, &user.username).await
            }
            _ => Err(error.into()),
        };
    }
    // Open the relay before the daemon can produce output for it.
    app.relay.open(id, request.host_id);
    let outcome = app.daemons.expect_spawn(id, request.host_id);
    publish(app, id).await?;
    let command = SpawnSession {
        session_id: id,
        profile: request.profile,
        project: request.project,
        prompt: request.prompt,
        size,
        worktree,
    };
    if let Err(error) = link.emit(&command) {
        app.daemons.forget_spawn(id);
        let reason = format!("could not reach the daemon: {error}");
        end_session(
            app,
            id,
            SessionState::Failed,
            None,
            None,
            Some(reason.clone()),
        )
        .await?;
        return Err(ApiError::new(ErrorCode::Conflict, reason));
    }
    tracing::info!(session_id = %id, host = %host.name, user = %user.username, "spawn requested");
    match tokio::time::timeout(app.config.spawn_timeout, outcome).await {
        Ok(Ok(SpawnOutcome::Started)) => Ok(Spawned {
            session: get(app, actor, id).await?,
            created: true,
        }),
        Ok(Ok(SpawnOutcome::Failed(error))) => Err(error.into()),
        Ok(Err(_)) => Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "host {:?} disconnected before confirming the spawn; the session is reconciled when it reconnects",
                host.name
            ),
        )),
        Err(_) => {
            app.daemons.forget_spawn(id);
            Err(ApiError::new(
                ErrorCode::Timeout,
                format!(
                    "host {:?} did not confirm the spawn within {} ms; the session stays 'starting' until it does",
                    host.name,
                    app.config.spawn_timeout.as_millis()
                ),
            ))
        }
    }
}

/// What a spawn answers: the session, and whether this request made it
/// (false for a retry of an earlier one with the same id).
#[derive(Debug)]
pub struct Spawned {
    /// The session as it is now.
    pub session: SessionSummary,
    /// Whether this request created it.
    pub created: bool,
}

/// The answer to a spawn whose client-chosen id names `existing`: that
/// session when the request is the same spawn (same user, host, profile
/// and project), otherwise 409. Nothing is started either way.
async fn retried(
    app: &App,
    actor: &Actor,
    existing: &Session,
    request: &SpawnRequest,
    username: &str,
) -> Result<Spawned, ApiError> {
    let same = existing.created_by == username
        && existing.host_id == request.host_id
        && existing.profile == request.profile
        && existing.project == request.project;
    if !same {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "session id {} is already used by another spawn; let the client choose a new id",
                existing.id
            ),
        ));
    }
    tracing::info!(session_id = %existing.id, user = %username, "spawn retried; answered with the existing session");
    Ok(Spawned {
        session: get(app, actor, existing.id).await?,
        created: false,
    })
}

/// Asks the session's daemon to stop it.
pub async fn stop(app: &App, actor: &Actor, id: SessionId) -> Result<SessionSummary, ApiError> {
    let user = actor.user()?;
    let summary = get(app, actor, id).await?;
    if summary.state.is_final() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "session {id} has already ended ({})",
                summary.state.as_str()
            ),
        ));
    }
    let Some(link) = app.daemons.link(summary.host_id) else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the session's host is offline; it can be stopped when it reconnects",
        ));
    };
    link.emit(&StopSession { session_id: id })
        .map_err(|error| {
            ApiError::new(
                ErrorCode::Conflict,
                format!("could not reach the daemon: {error}"),
            )
        })?;
    tracing::info!(session_id = %id, user = %user.username, "stop requested");
    Ok(summary)
}

/// Archives an ended session (`archive`) or restores it; live sessions
/// cannot be archived (409: stop it first).
pub async fn set_archived(
    app: &App,
    actor: &Actor,
    id: SessionId,
    archive: bool,
) -> Result<SessionSummary, ApiError> {
    let user = actor.user()?;
    let summary = get(app, actor, id).await?;
    if !summary.state.is_final() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "session {id} is {}; only ended sessions can be archived (stop it first)",
                summary.state.as_str()
            ),
        ));
    }
    let archived_at = archive.then(OffsetDateTime::now_utc);
    if (summary.archived_at.is_some() != archive)
        && !app.store.set_session_archived(id, archived_at).await?
    {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("session {id} does not exist"),
        ));
    }
    tracing::info!(session_id = %id, user = %user.username, archive, "session archive changed");
    Ok(publish(app, id).await?.unwrap_or(summary))
}

/// Archives every ended session that is not archived yet (of one host, if
/// given) and tells the browsers about each.
pub async fn archive_ended(
    app: &App,
    actor: &Actor,
    host: Option<HostId>,
) -> Result<Vec<SessionId>, ApiError> {
    let user = actor.user()?;
    if let Some(host) = host {
        hosts::get(app, actor, host).await?;
    }
    let ids = app
        .store
        .archive_ended_sessions(host, OffsetDateTime::now_utc())
        .await?;
    for id in &ids {
        publish(app, *id).await?;
    }
    tracing::info!(user = %user.username, count = ids.len(), "ended sessions archived");
    Ok(ids)
}

/// Records how a session ended and tells the browsers.
pub(crate) async fn end_session(
    app: &App,
    id: SessionId,
    state: SessionState,
    exit_code: Option<i32>,
    exit_signal: Option<String>,
    error: Option<String>,
) -> anyhow::Result<()> {
    app.store
        .mark_ended(
            id,
            SessionEnd {
                state,
                exit_code,
                exit_signal,
                error,
            },
        )
        .await?;
    app.relay.end(id);
    app.usage.session_ended(id);
    publish(app, id).await?;
    Ok(())
}

// ---- what daemons report ----

/// Whether the session exists and `actor` (its daemon) may report for it.
async fn reported_by(app: &App, actor: &Actor, session: SessionId) -> anyhow::Result<bool> {
    let Some(record) = app.store.get_session(session).await? else {
        tracing::warn!(session_id = %session, "daemon reported an unknown session");
        return Ok(false);
    };
    Ok(actor.reports_for(session, record.host_id))
}

/// A daemon's `Hello`: records its inventory and reconciles the host's
/// session records with what the daemon runs (see [`reconcile`]); the ack
/// names the offsets to resume output from.
pub async fn hello(app: &App, actor: &Actor, hello: Hello) -> Result<HelloAck, ApiError> {
    let host_id = actor.daemon()?;
    let host = app
        .store
        .get_host(host_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("host {host_id} vanished"))?;
    app.store
        .record_host_seen(host_id, Some(&hello.inventory))
        .await?;
    let records: Vec<reconcile::LiveRecord> = app
        .store
        .live_sessions_of_host(host_id)
        .await?
        .iter()
        .map(|session| reconcile::LiveRecord {
            id: session.id,
            state: session.state,
        })
        .collect();
    let plan = reconcile::reconcile(&records, &hello.sessions);
    for id in &plan.confirm_started {
        app.store.mark_running(*id).await?;
        app.daemons.resolve_spawn(*id, SpawnOutcome::Started);
        publish(app, *id).await?;
    }
    let resume = plan
        .adopt
        .iter()
        .filter_map(|id| {
            app.relay.open(*id, host_id).map(|relay| SessionOffset {
                session_id: *id,
                offset: relay.range().1,
            })
        })
        .collect();
    for id in &plan.lost {
        tracing::info!(session_id = %id, "daemon reconnected without this session; marking it lost");
        end_session(
            app,
            *id,
            SessionState::Lost,
            None,
            None,
            Some("the daemon reconnected without this session".into()),
        )
        .await?;
    }
    for id in &plan.unknown {
        tracing::warn!(session_id = %id, "daemon runs a session the hub has no live record of");
    }
    tracing::info!(%host_id, sessions = hello.sessions.len(), "daemon said hello");
    Ok(HelloAck {
        host_id,
        host_name: host.name,
        resume,
    })
}

/// A daemon started a session's process.
pub async fn started(app: &App, actor: &Actor, started: SessionStarted) -> Result<(), ApiError> {
    let host_id = actor.daemon()?;
    if reported_by(app, actor, started.session_id).await? {
        if let Some(worktree) = &started.worktree {
            app.store.set_worktree(started.session_id, worktree).await?;
        }
        app.store.mark_running(started.session_id).await?;
        app.relay.open(started.session_id, host_id);
        app.daemons
            .resolve_spawn(started.session_id, SpawnOutcome::Started);
        publish(app, started.session_id).await?;
    }
    Ok(())
}

/// A daemon could not start a session's process.
pub async fn spawn_failed(
    app: &App,
    actor: &Actor,
    failed: SessionSpawnFailed,
) -> Result<(), ApiError> {
    actor.daemon()?;
    if reported_by(app, actor, failed.session_id).await? {
        tracing::info!(session_id = %failed.session_id, error = %failed.error.message, "spawn failed");
        end_session(
            app,
            failed.session_id,
            SessionState::Failed,
            None,
            None,
            Some(failed.error.message.clone()),
        )
        .await?;
        app.daemons
            .resolve_spawn(failed.session_id, SpawnOutcome::Failed(failed.error));
    }
    Ok(())
}

/// A session's process exited.
pub async fn exited(app: &App, actor: &Actor, exited: SessionExited) -> Result<(), ApiError> {
    actor.daemon()?;
    if reported_by(app, actor, exited.session_id).await? {
        tracing::info!(session_id = %exited.session_id, exit_code = ?exited.exit_code, signal = ?exited.signal, "session exited");
        // A process that exits at once still started.
        app.daemons
            .resolve_spawn(exited.session_id, SpawnOutcome::Started);
        end_session(
            app,
            exited.session_id,
            SessionState::Exited,
            exited.exit_code,
            exited.signal,
            None,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
