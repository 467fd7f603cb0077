//! Worktree use cases: a session's worktree state, read on the daemon
//! when asked (never polled), and the discard a user confirms. A discard
//! quotes the fingerprint of the state the user was shown; the daemon
//! removes nothing when the state changed since. REST calls these.

use std::time::Duration;

use flotilla_protocol::hub_to_daemon::WorktreeCommand;
use flotilla_protocol::rest::{DiscardWorktreeRequest, SessionSummary};
use flotilla_protocol::worktree::{
    WorktreeAction, WorktreeInfo, WorktreeOutcome, WorktreeRemoved, WorktreeStatus,
};
use flotilla_protocol::{ErrorCode, RequestId, SessionId};
use time::OffsetDateTime;

use crate::App;
use crate::actor::Actor;
use crate::error::ApiError;
use crate::sessions;
use crate::store::Session;

/// How long the hub waits for git on the host (a large repository's
/// status can take seconds).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// The session's worktree state now.
pub async fn status(app: &App, actor: &Actor, id: SessionId) -> Result<WorktreeStatus, ApiError> {
    actor.user()?;
    let (session, worktree) = recorded(app, id).await?;
    match ask(app, &session, worktree, WorktreeAction::Inspect).await? {
        WorktreeOutcome::Status { status } => Ok(status),
        WorktreeOutcome::Failed { error } => Err(error.into()),
        other => Err(unexpected(&other)),
    }
}

/// Removes an ended session's worktree, and its branch unless asked to
/// keep it, when its state is still the one `request.confirm` names.
/// Records who removed it and when on the session.
pub async fn discard(
    app: &App,
    actor: &Actor,
    id: SessionId,
    request: DiscardWorktreeRequest,
) -> Result<SessionSummary, ApiError> {
    let user = actor.user()?;
    let (session, worktree) = recorded(app, id).await?;
    if !session.state.is_final() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "session {id} is {}; stop it before discarding its worktree",
                session.state.as_str()
            ),
        ));
    }
    let live = app.store.live_sessions_of_host(session.host_id).await?;
    if let Some(other) = live.iter().find(|other| uses(other, &worktree.path)) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "session {} still works in {}; stop it first",
                other.id, worktree.path
            ),
        ));
    }
    if request.confirm.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "confirm is empty: read GET /api/sessions/{id}/worktree, show the user what would be lost, and send its fingerprint",
        ));
    }
    let keep_branch = request.keep_branch.unwrap_or(false);
    let action = WorktreeAction::Remove {
        keep_branch,
        confirm: request.confirm,
    };
    match ask(app, &session, worktree.clone(), action).await? {
        WorktreeOutcome::Removed { branch_kept } => {
            let removed = WorktreeInfo {
                removed: Some(WorktreeRemoved {
                    at: OffsetDateTime::now_utc(),
                    by: user.username.clone(),
                    branch_kept,
                }),
                ..worktree
            };
            app.store.set_worktree(id, &removed).await?;
            tracing::info!(
                session_id = %id,
                user = %user.username,
                path = %removed.path,
                branch = %removed.branch,
                branch_kept,
                "worktree discarded"
            );
            sessions::publish(app, id).await?;
            sessions::get(app, actor, id).await
        }
        WorktreeOutcome::Changed { status } => Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "the worktree changed since it was shown ({} changed files, {} ignored entries, {} commits on no other branch now); nothing was removed: look again and confirm what you see",
                status.change_count, status.ignored_count, status.unique_commit_count
            ),
        )),
        WorktreeOutcome::Failed { error } => Err(error.into()),
        other @ WorktreeOutcome::Status { .. } => Err(unexpected(&other)),
    }
}

/// The session and its worktree, which must not be removed yet.
async fn recorded(app: &App, id: SessionId) -> Result<(Session, WorktreeInfo), ApiError> {
    let session = app
        .store
        .get_session(id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no session {id}")))?;
    let Some(worktree) = session.worktree.clone() else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("session {id} was not isolated in a worktree"),
        ));
    };
    if let Some(removed) = &worktree.removed {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "the worktree was already discarded by {} (branch {})",
                removed.by,
                if removed.branch_kept {
                    "kept"
                } else {
                    "deleted"
                }
            ),
        ));
    }
    Ok((session, worktree))
}

/// Whether a live session runs in the worktree at `path`.
fn uses(session: &Session, path: &str) -> bool {
    session
        .worktree
        .as_ref()
        .is_some_and(|worktree| worktree.path == path)
        || std::path::Path::new(&session.project).starts_with(path)
}

/// Sends the command to the session's daemon and waits for its answer.
async fn ask(
    app: &App,
    session: &Session,
    worktree: WorktreeInfo,
    action: WorktreeAction,
) -> Result<WorktreeOutcome, ApiError> {
    let Some(link) = app.daemons.link(session.host_id) else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the session's host is offline; its worktree can be read when it reconnects",
        ));
    };
    let request_id = RequestId::new();
    let answer = app.daemons.expect_answer(request_id, session.host_id);
    let command = WorktreeCommand {
        request_id,
        worktree,
        action,
    };
    if let Err(error) = link.emit(&command) {
        app.daemons.forget_answer(request_id);
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("could not reach the daemon: {error}"),
        ));
    }
    match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(_)) => Err(ApiError::new(
            ErrorCode::Conflict,
            "the host disconnected before answering; try again when it is back",
        )),
        Err(_) => {
            app.daemons.forget_answer(request_id);
            Err(ApiError::new(
                ErrorCode::Timeout,
                format!(
                    "the host did not answer within {} s (git may still be working); try again",
                    ANSWER_TIMEOUT.as_secs()
                ),
            ))
        }
    }
}

fn unexpected(outcome: &WorktreeOutcome) -> ApiError {
    ApiError::from(anyhow::anyhow!(
        "the daemon answered a worktree command with {outcome:?}"
    ))
}
