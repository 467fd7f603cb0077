//! A real hub application for in-process tests: built by `crate::build` on
//! a SQLite file in a temp dir, with no listener; tests call its use cases
//! directly.

use std::path::Path;
use std::sync::Arc;

use clap::Parser;
use flotilla_protocol::{HostId, SessionId, TermSize, UserId};
use tokio_util::sync::CancellationToken;

use crate::App;
use crate::actor::Actor;
use crate::auth::CurrentUser;
use crate::config::{HubArgs, HubConfig};
use crate::store::NewSession;

/// Builds the hub on a database in `dir`. Usage is flushed only when a test
/// asks (`--usage-flush-ms` is an hour).
pub async fn app_in(dir: &Path) -> Arc<App> {
    let args = HubArgs::try_parse_from([
        "flotilla-hub",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.to_str().unwrap(),
        "--static-dir",
        dir.join("static").to_str().unwrap(),
        "--usage-flush-ms",
        "3600000",
    ])
    .unwrap();
    let config = HubConfig::from_args(args, Some("admin-password".into())).unwrap();
    let (app, _router) = crate::build(config, CancellationToken::new())
        .await
        .unwrap();
    app
}

/// A user to act as.
pub fn user() -> Actor {
    Actor::User(CurrentUser {
        id: UserId::new(),
        username: "admin".into(),
    })
}

/// Records a host named `name` (its token hash is its name).
pub async fn host(app: &App, name: &str) -> HostId {
    app.store.create_host(name, name).await.unwrap().unwrap().id
}

/// Records a `starting` session of `profile` in `project` on `host`.
pub async fn session(app: &App, host: HostId, profile: &str, project: &str) -> SessionId {
    let id = SessionId::new();
    app.store
        .insert_session(NewSession {
            id,
            host_id: host,
            profile: profile.into(),
            project: project.into(),
            size: TermSize { cols: 80, rows: 24 },
            created_by: "admin".into(),
        })
        .await
        .unwrap();
    id
}
