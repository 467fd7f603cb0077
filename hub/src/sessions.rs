//! Session and host use cases shared by the REST API and the Socket.IO
//! handlers: spawn, stop, and turning records into wire summaries.

use std::path::{Component, Path};

use anyhow::Context;
use flotilla_protocol::daemon_to_hub::HostInventory;
use flotilla_protocol::hub_to_daemon::{SpawnSession, StopSession};
use flotilla_protocol::hub_to_ui::SessionUpdated;
use flotilla_protocol::rest::{HostSummary, SessionState, SessionSummary, SpawnRequest};
use flotilla_protocol::{ErrorBody, ErrorCode, Event, HostId, SessionId, TermSize};

use crate::App;
use crate::api::ApiError;
use crate::auth::CurrentUser;
use crate::daemons::SpawnOutcome;
use crate::store::{self, HostRow, NewSession, SessionEnd, SessionRow};

/// Longest initial prompt accepted, in bytes.
pub const MAX_PROMPT_BYTES: usize = 32 * 1024;

/// The wire summary of a host record.
pub fn host_summary(app: &App, row: &HostRow) -> anyhow::Result<HostSummary> {
    let id: HostId = row.id.parse().context("stored host id is not a UUID")?;
    let inventory = row
        .inventory
        .as_deref()
        .map(serde_json::from_str::<HostInventory>)
        .transpose()
        .context("stored host inventory is not valid JSON")?;
    Ok(HostSummary {
        id,
        name: row.name.clone(),
        online: app.daemons.is_online(id),
        last_seen_at: row.last_seen_at.map(store::from_ms),
        created_at: store::from_ms(row.created_at),
        inventory,
    })
}

/// The wire summary of a session record, without its usage (see
/// [`summary_with_usage`]).
pub fn session_summary(row: &SessionRow) -> anyhow::Result<SessionSummary> {
    let dimension = |n: i32| u16::try_from(n).unwrap_or(u16::MAX);
    Ok(SessionSummary {
        id: row.id.parse().context("stored session id is not a UUID")?,
        host_id: row
            .host_id
            .parse()
            .context("stored host id is not a UUID")?,
        profile: row.profile.clone(),
        project: row.project.clone(),
        state: SessionState::parse(&row.state)
            .with_context(|| format!("stored session state {:?} is unknown", row.state))?,
        exit_code: row.exit_code,
        exit_signal: row.exit_signal.clone(),
        error: row.error.clone(),
        size: TermSize {
            cols: dimension(row.cols),
            rows: dimension(row.rows),
        },
        created_by: row.created_by.clone(),
        created_at: store::from_ms(row.created_at),
        ended_at: row.ended_at.map(store::from_ms),
        usage: None,
        archived_at: row.archived_at.map(store::from_ms),
    })
}

/// The wire summary of a session record with its latest usage.
pub async fn summary_with_usage(app: &App, row: &SessionRow) -> anyhow::Result<SessionSummary> {
    let mut summary = session_summary(row)?;
    summary.usage = app.usage.of_session(&app.store, summary.id).await?;
    Ok(summary)
}

/// Every session (optionally of one host), newest first, with its usage:
/// two queries, whatever the number of sessions.
pub async fn list(app: &App, host: Option<HostId>) -> anyhow::Result<Vec<SessionSummary>> {
    let rows = app.store.list_sessions(host).await?;
    let mut usage = app.usage.of_sessions(&app.store, host).await?;
    rows.iter()
        .map(|row| {
            let mut summary = session_summary(row)?;
            summary.usage = usage.remove(&summary.id);
            Ok(summary)
        })
        .collect()
}

/// One session's summary, or 404.
pub async fn get(app: &App, id: SessionId) -> Result<SessionSummary, ApiError> {
    let row = app.store.get_session(id).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::NotFound, format!("session {id} does not exist"))
    })?;
    Ok(summary_with_usage(app, &row).await?)
}

/// Reads a session back and tells every browser about it.
pub async fn publish(app: &App, id: SessionId) -> anyhow::Result<Option<SessionSummary>> {
    let Some(row) = app.store.get_session(id).await? else {
        return Ok(None);
    };
    let session = summary_with_usage(app, &row).await?;
    app.broadcast_ui(
        SessionUpdated::NAME,
        &SessionUpdated {
            session: session.clone(),
        },
    )
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
pub async fn spawn(
    app: &App,
    user: &CurrentUser,
    request: SpawnRequest,
) -> Result<SessionSummary, ApiError> {
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
    let host_row = app.store.get_host(request.host_id).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("host {} does not exist", request.host_id),
        )
    })?;
    let host = host_summary(app, &host_row)?;
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

    let id = SessionId::new();
    app.store
        .insert_session(NewSession {
            id,
            host_id: request.host_id,
            profile: request.profile.clone(),
            project: request.project.clone(),
            size,
            created_by: user.username.clone(),
        })
        .await?;
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
    };
    if let Err(error) = link.emit(SpawnSession::NAME, &command) {
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
        Ok(Ok(SpawnOutcome::Started)) => get(app, id).await,
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

/// Asks the session's daemon to stop it.
pub async fn stop(
    app: &App,
    user: &CurrentUser,
    id: SessionId,
) -> Result<SessionSummary, ApiError> {
    let summary = get(app, id).await?;
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
    link.emit(StopSession::NAME, &StopSession { session_id: id })
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
    user: &CurrentUser,
    id: SessionId,
    archive: bool,
) -> Result<SessionSummary, ApiError> {
    let summary = get(app, id).await?;
    if !summary.state.is_final() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "session {id} is {}; only ended sessions can be archived (stop it first)",
                summary.state.as_str()
            ),
        ));
    }
    let archived_at = archive.then(store::now_ms);
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
    user: &CurrentUser,
    host: Option<HostId>,
) -> Result<Vec<SessionId>, ApiError> {
    if let Some(host) = host
        && app.store.get_host(host).await?.is_none()
    {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("host {host} does not exist"),
        ));
    }
    let ids = app
        .store
        .archive_ended_sessions(host, store::now_ms())
        .await?;
    for id in &ids {
        publish(app, *id).await?;
    }
    tracing::info!(user = %user.username, count = ids.len(), "ended sessions archived");
    Ok(ids)
}

/// Records how a session ended and tells the browsers.
pub async fn end_session(
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

#[cfg(test)]
mod tests;
