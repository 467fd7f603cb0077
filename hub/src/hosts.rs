//! Host use cases: list, create, rotate a token, delete; and what a
//! daemon reports of its host (it connected, its inventory changed, it
//! left). Called by REST, `/ui` and `/daemon` alike.

use flotilla_protocol::daemon_to_hub::HostInventory;
use flotilla_protocol::hub_to_ui::{HostRemoved, HostUpdated};
use flotilla_protocol::rest::{HostSummary, HostWithToken};
use flotilla_protocol::{ErrorCode, HostId, SessionId};

use crate::App;
use crate::actor::Actor;
use crate::auth;
use crate::error::ApiError;
use crate::store::Host;

/// The wire summary of a host record.
pub fn summary(app: &App, host: &Host) -> HostSummary {
    HostSummary {
        id: host.id,
        name: host.name.clone(),
        online: app.daemons.is_online(host.id),
        last_seen_at: host.last_seen_at,
        created_at: host.created_at,
        inventory: host.inventory.clone(),
    }
}

/// Checks a host name: 1-64 letters, digits, `.`, `_` or `-`.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidInput,
            format!("host name {name:?} must be 1-64 letters, digits, '.', '_' or '-'"),
        ))
    }
}

fn not_found(id: HostId) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("host {id} does not exist"))
}

/// Every host with its status and inventory, by name.
pub async fn list(app: &App, actor: &Actor) -> Result<Vec<HostSummary>, ApiError> {
    actor.user()?;
    let hosts = app.store.list_hosts().await?;
    Ok(hosts.iter().map(|host| summary(app, host)).collect())
}

/// One host, or 404.
pub async fn get(app: &App, actor: &Actor, id: HostId) -> Result<HostSummary, ApiError> {
    actor.user()?;
    let host = app.store.get_host(id).await?.ok_or_else(|| not_found(id))?;
    Ok(summary(app, &host))
}

/// Creates a host and returns its token, once.
pub async fn create(app: &App, actor: &Actor, name: &str) -> Result<HostWithToken, ApiError> {
    let user = actor.user()?;
    validate_name(name)?;
    let token = auth::new_token("flt_");
    let Some(host) = app
        .store
        .create_host(name, &auth::token_hash(&token))
        .await?
    else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("a host named {name:?} already exists"),
        ));
    };
    tracing::info!(host = %host.name, user = %user.username, "host created");
    let host = summary(app, &host);
    publish_summary(app, host.clone()).await;
    Ok(HostWithToken { host, token })
}

/// Issues a new token; the old one stops working and its daemon is
/// disconnected.
pub async fn rotate_token(app: &App, actor: &Actor, id: HostId) -> Result<HostWithToken, ApiError> {
    let user = actor.user()?;
    let token = auth::new_token("flt_");
    if !app
        .store
        .set_host_token(id, &auth::token_hash(&token))
        .await?
    {
        return Err(not_found(id));
    }
    app.daemons.disconnect(id);
    tracing::info!(host_id = %id, user = %user.username, "host token rotated");
    let host = app.store.get_host(id).await?.ok_or_else(|| not_found(id))?;
    let host = summary(app, &host);
    publish_summary(app, host.clone()).await;
    Ok(HostWithToken { host, token })
}

/// Deletes a host and its session records, disconnecting its daemon.
pub async fn delete(app: &App, actor: &Actor, id: HostId) -> Result<(), ApiError> {
    let user = actor.user()?;
    let sessions = app.store.list_sessions(Some(id)).await?;
    if !app.store.delete_host(id).await? {
        return Err(not_found(id));
    }
    app.daemons.disconnect(id);
    let session_ids: Vec<SessionId> = sessions.iter().map(|session| session.id).collect();
    for session_id in &session_ids {
        app.relay.remove(*session_id);
    }
    app.usage.forget(&session_ids);
    tracing::info!(host_id = %id, user = %user.username, "host deleted");
    app.broadcast_ui(&HostRemoved { host_id: id }).await;
    Ok(())
}

/// The host a daemon's token names, if any: how a daemon becomes
/// [`Actor::Daemon`].
pub async fn authenticate_daemon(app: &App, token: &str) -> anyhow::Result<Option<Host>> {
    app.store.find_host_by_token(&auth::token_hash(token)).await
}

/// Records the inventory a daemon advertised (in its `Hello` or later).
pub async fn inventory_changed(
    app: &App,
    actor: &Actor,
    inventory: &HostInventory,
) -> Result<(), ApiError> {
    let host = actor.daemon()?;
    app.store.record_host_seen(host, Some(inventory)).await?;
    publish(app, host).await;
    Ok(())
}

/// Records that a daemon left ("last seen" is when it left, not when it
/// arrived) and tells the browsers.
pub async fn daemon_left(app: &App, actor: &Actor) -> Result<(), ApiError> {
    let host = actor.daemon()?;
    if let Err(error) = app.store.record_host_seen(host, None).await {
        // The host is offline either way; only its "last seen" is stale.
        tracing::warn!(host_id = %host, "recording when the daemon left: {error:#}");
    }
    publish(app, host).await;
    Ok(())
}

/// Tells every browser the host's current state. A failure is logged: a
/// browser then misses one update and gets it on its next reload.
pub async fn publish(app: &App, id: HostId) {
    match app.store.get_host(id).await {
        Ok(Some(host)) => publish_summary(app, summary(app, &host)).await,
        Ok(None) => {}
        Err(error) => tracing::error!("publishing host {id}: {error:#}"),
    }
}

async fn publish_summary(app: &App, host: HostSummary) {
    app.broadcast_ui(&HostUpdated { host }).await;
}
