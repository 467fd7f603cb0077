//! Drives one bash session on an already running hub the way a browser does,
//! for `scripts/container-test`: logs in, spawns bash on a host through the
//! REST API, attaches over Socket.IO `/ui`, types an `echo` of a random marker
//! and waits for the marker's output, then stops the session.
//!
//! ```text
//! session_probe --base http://127.0.0.1:18080 --password-file F --host ID --project DIR
//! ```
//! Exits non-zero with the last output seen when anything fails.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use flotilla_integration::socket::ConnectOptions;
use flotilla_integration::{Api, UiSocket};
use flotilla_protocol::rest::SessionState;
use flotilla_protocol::{HostId, UI_NAMESPACE};
use serde_json::json;

struct Args {
    base: String,
    password: String,
    host: HostId,
    project: String,
}

fn parse_args() -> Result<Args> {
    let mut base = None;
    let mut password_file = None;
    let mut host = None;
    let mut project = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--base" => base = Some(value),
            "--password-file" => password_file = Some(value),
            "--host" => host = Some(value),
            "--project" => project = Some(value),
            other => bail!("unknown flag {other}"),
        }
    }
    let password_file = password_file.context("--password-file is required")?;
    let password = std::fs::read_to_string(&password_file)
        .with_context(|| format!("reading {password_file}"))?
        .trim()
        .to_owned();
    let host = host.context("--host is required")?;
    Ok(Args {
        base: base.context("--base is required")?,
        password,
        host: serde_json::from_value(json!(host)).context("--host must be a host id")?,
        project: project.context("--project is required")?,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let api = Api::login_as(&args.base, "admin", &args.password).await;
    let session = api.spawn_ok(args.host, "bash", &args.project).await;
    if session.state != SessionState::Running {
        bail!("session {} is {:?}, not running", session.id, session.state);
    }
    println!("session {} running", session.id);

    let addr = args
        .base
        .strip_prefix("http://")
        .context("--base must be an http:// URL")?;
    let viewer = UiSocket::connect(
        addr,
        UI_NAMESPACE,
        ConnectOptions {
            cookie: api.cookie(),
            origin: Some(&args.base),
            auth: None,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("ui socket: {e:?}"))?;
    let reply = viewer
        .emit_with_ack("session:attach", &json!({"sessionId": session.id}))
        .await;
    if reply["type"] != "ok" {
        bail!("attach refused: {reply}");
    }

    let marker = format!("probe-{}", uuid::Uuid::new_v4().simple());
    // The shell prints the marker joined back together, so the echo of the
    // typed line alone never matches.
    let (left, right) = marker.split_at(8);
    let line = format!("echo {left}''{right}\r");
    let reply = viewer
        .emit_with_ack(
            "session:input",
            &json!({"sessionId": session.id, "data": line}),
        )
        .await;
    if reply["type"] != "ok" {
        bail!("input refused: {reply}");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = viewer.stream(session.id).text();
        if text.contains(&marker) {
            println!("read {marker} back from the session");
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            let tail: String = text
                .chars()
                .rev()
                .take(400)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            bail!("no {marker} in the output; last output:\n{tail}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (status, body) = api
        .request("POST", &format!("/api/sessions/{}/stop", session.id), None)
        .await;
    if !status.is_success() {
        bail!("stop failed: {status} {body}");
    }
    Ok(())
}
