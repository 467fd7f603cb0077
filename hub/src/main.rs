//! Entry point of `flotilla-hub`: configuration, logging, listener, run.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use flotilla_hub::config::{HubArgs, HubCommand, HubConfig};
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let mut args = HubArgs::parse();
    let command = args.command.take();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HUB_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into()),
        )
        .init();
    let admin_password = std::env::var("FLOTILLA_ADMIN_PASSWORD").ok();
    let config = match HubConfig::from_args(args, admin_password) {
        Ok(config) => config,
        Err(problems) => {
            for problem in problems {
                eprintln!("flotilla-hub: {problem}");
            }
            return ExitCode::from(64);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("flotilla-hub: starting the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command {
        Some(HubCommand::IssueHostToken { name, token_file }) => {
            runtime.block_on(flotilla_hub::issue_host_token(&config, &name, &token_file))
        }
        None => runtime.block_on(serve(config)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: HubConfig) -> anyhow::Result<()> {
    use anyhow::Context;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let metrics = match config.metrics_listen {
        Some(metrics_addr) => Some(
            tokio::net::TcpListener::bind(metrics_addr)
                .await
                .with_context(|| format!("binding --metrics-listen {metrics_addr}"))?,
        ),
        None => None,
    };
    // The database is opened and migrated before anything is announced, so
    // whoever waits for `listening` finds the schema in place.
    let shutdown = CancellationToken::new();
    let (app, router) = flotilla_hub::build(config, shutdown.clone()).await?;
    // Tests and scripts wait for these lines instead of sleeping.
    let mut stdout = std::io::stdout().lock();
    if let Some(metrics) = &metrics {
        writeln!(
            stdout,
            "{}",
            serde_json::json!({"event": "metrics_listening", "addr": metrics.local_addr()?.to_string()})
        )?;
    }
    writeln!(
        stdout,
        "{}",
        serde_json::json!({"event": "listening", "addr": addr.to_string()})
    )?;
    stdout.flush()?;
    drop(stdout);
    let signals = tokio::spawn(flotilla_hub::shutdown::cancel_on_signal(shutdown.clone()));
    let listeners = flotilla_hub::Listeners {
        http: listener,
        metrics,
    };
    let result = flotilla_hub::serve(app, router, listeners).await;
    shutdown.cancel();
    signals.await.context("signal task")??;
    result
}
