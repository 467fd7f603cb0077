//! Authentication: password and token hashing, login cookies, the
//! `CurrentUser` extractor and the browser `Origin` policy.
//!
//! Passwords are hashed with Argon2id. Host tokens and login cookies are 256
//! random bits, so a single SHA-256 is enough to store them safely and lets
//! the hub look them up by hash.
//!
//! Browser sockets outlive the request that authenticated them, so every
//! `/ui` socket holds its login's [`LoginGrant`] from [`LiveLogins`]:
//! logging out revokes the grant (and disconnects the login's sockets), and
//! each input, resize and attach checks the grant, which costs an atomic
//! load and a clock read, not a database query.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flotilla_protocol::{ErrorCode, SESSION_COOKIE, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::store::User;
use crate::{App, lock};

/// How long a login lasts by default (`--login-ttl-ms`).
pub const LOGIN_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// The room every `/ui` socket of one login joins, so logging out can
/// disconnect them all at once.
pub fn login_room(token_hash: &str) -> String {
    format!("login:{token_hash}")
}

/// What a browser socket holds of its login: revoked at logout, expiring at
/// its deadline. Shared by every socket of the same login.
#[derive(Debug)]
pub struct LoginGrant {
    token_hash: String,
    /// Epoch milliseconds; `i64::MAX` until the database read sets it.
    expires_at_ms: AtomicI64,
    revoked: AtomicBool,
}

impl LoginGrant {
    /// The login's cookie hash.
    pub fn token_hash(&self) -> &str {
        &self.token_hash
    }

    /// When the login expires, in epoch milliseconds.
    pub fn expires_at_ms(&self) -> i64 {
        self.expires_at_ms.load(Ordering::Acquire)
    }

    /// Records the expiry read from the database.
    pub fn set_expiry(&self, expires_at_ms: i64) {
        self.expires_at_ms.store(expires_at_ms, Ordering::Release);
    }

    /// Whether the login is neither revoked nor expired at `now_ms`.
    pub fn is_live_at(&self, now_ms: i64) -> bool {
        !self.revoked.load(Ordering::Acquire) && now_ms < self.expires_at_ms()
    }

    /// Whether the login is live now.
    pub fn is_live(&self) -> bool {
        self.is_live_at(crate::store::now_ms())
    }
}

/// The logins that have browser sockets open, by cookie hash.
///
/// A socket takes its grant *before* it reads the login from the database:
/// a logout that deletes the login before that read makes the read fail, and
/// one that comes after finds the grant here and revokes it. So no socket
/// keeps a login that was revoked while it connected.
#[derive(Default)]
pub struct LiveLogins {
    /// Short map operations only, never held across an `.await`. Entries
    /// are weak: a grant lives as long as its sockets, and dead entries are
    /// pruned whenever the map doubles, so it stays within twice the number
    /// of logins with open sockets.
    grants: Mutex<LoginMap>,
}

#[derive(Default)]
struct LoginMap {
    by_hash: HashMap<String, Weak<LoginGrant>>,
    prune_at: usize,
}

impl LiveLogins {
    /// The grant of the login whose cookie hashes to `token_hash`, shared
    /// with its other sockets.
    pub fn track(&self, token_hash: &str) -> Arc<LoginGrant> {
        let mut map = lock(&self.grants);
        if let Some(grant) = map.by_hash.get(token_hash).and_then(Weak::upgrade) {
            return grant;
        }
        let grant = Arc::new(LoginGrant {
            token_hash: token_hash.to_owned(),
            expires_at_ms: AtomicI64::new(i64::MAX),
            revoked: AtomicBool::new(false),
        });
        map.by_hash
            .insert(token_hash.to_owned(), Arc::downgrade(&grant));
        if map.by_hash.len() > map.prune_at {
            map.by_hash.retain(|_, grant| grant.strong_count() > 0);
            map.prune_at = (map.by_hash.len() * 2).max(64);
        }
        grant
    }

    /// Revokes the login's grant, if any socket holds it.
    pub fn revoke(&self, token_hash: &str) {
        let grant = lock(&self.grants).by_hash.remove(token_hash);
        if let Some(grant) = grant.and_then(|grant| grant.upgrade()) {
            grant.revoked.store(true, Ordering::Release);
        }
    }

    /// How many logins are tracked (live or not yet pruned).
    pub fn len(&self) -> usize {
        lock(&self.grants).by_hash.len()
    }

    /// Whether no login is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A secret string whose `Debug` never shows the value.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A fresh random token with a recognisable prefix (`flt_` for hosts).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a high-entropy token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hashes a password with Argon2id on a blocking thread.
pub async fn hash_password(password: Secret) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|error| anyhow::anyhow!("{error}"))?;
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("{error}"))
    })
    .await
    .context("password hashing task")?
}

/// Checks a password against a stored hash on a blocking thread.
pub async fn verify_password(password: Secret, stored: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored).map_err(|error| anyhow::anyhow!("{error}"))?;
        Ok(Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .context("password verification task")?
}

/// The login cookie's value from a `Cookie` header, if present.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The user behind the request's login cookie, if it is valid.
pub async fn user_from_headers(app: &App, headers: &HeaderMap) -> anyhow::Result<Option<User>> {
    let Some(cookie) = session_cookie(headers) else {
        return Ok(None);
    };
    app.store.find_login(&token_hash(&cookie)).await
}

/// The logged-in user; rejects the request with 401 otherwise.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user's id.
    pub id: UserId,
    /// The user's name.
    pub username: String,
}

impl From<User> for CurrentUser {
    fn from(user: User) -> Self {
        CurrentUser {
            id: user.id,
            username: user.username,
        }
    }
}

impl FromRequestParts<Arc<App>> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        match user_from_headers(app, &parts.headers).await? {
            Some(user) => Ok(CurrentUser::from(user)),
            None => Err(ApiError::new(ErrorCode::Unauthorized, "log in first")),
        }
    }
}

/// Which `Origin` a browser request may come from.
#[derive(Debug, Clone)]
pub enum OriginPolicy {
    /// Exactly this origin (`scheme://host[:port]`), from the configured public URL.
    Exact(String),
    /// Same origin as the request: the `Origin` host must equal the `Host` header.
    SameHost,
}

impl OriginPolicy {
    /// Whether a request with these headers passes. Requests with no
    /// `Origin` come from non-browser clients, which cannot carry a victim's
    /// cookie, so they pass; browsers always send `Origin` on writes and
    /// WebSocket handshakes.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        match self {
            OriginPolicy::Exact(expected) => origin.eq_ignore_ascii_case(expected),
            OriginPolicy::SameHost => {
                let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
                    return false;
                };
                let origin_host = origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"));
                origin_host.is_some_and(|o| o.eq_ignore_ascii_case(host))
            }
        }
    }
}

/// Revokes a login's grant and disconnects its browser sockets. The login
/// row is already deleted.
pub async fn revoke_login(app: &App, token_hash: &str) {
    app.logins.revoke(token_hash);
    let Some(ns) = app.io.of(flotilla_protocol::UI_NAMESPACE) else {
        return;
    };
    if let Err(error) = ns.to(login_room(token_hash)).disconnect().await {
        tracing::debug!(%error, "disconnecting a revoked login's sockets");
    }
}

#[cfg(test)]
mod tests;
