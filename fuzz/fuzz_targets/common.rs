//! Shared by the fuzz targets: the first input byte picks the encoding
//! (bit 0: JSON or protobuf; bit 1: gzip or identity) and the shipped
//! profile whose mapping aggregates the data (bits 2-3); the rest is the
//! body. The body goes through the receiver's whole pipeline: header
//! parsing, bounded inflation, decoding and, for a session named by the
//! path, attribution and aggregation.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use flotilla_daemon::profile::telemetry::Telemetry;
use flotilla_daemon::telemetry::Registry;
use flotilla_daemon::telemetry::decode::{Body, Compression, Format};
use flotilla_daemon::telemetry::receiver::{Signal, process};
use flotilla_protocol::SessionId;

const PROFILES: [(&str, &str); 4] = [
    ("claude.yaml", include_str!("../../profiles/claude.yaml")),
    ("codex.yaml", include_str!("../../profiles/codex.yaml")),
    ("gemini.yaml", include_str!("../../profiles/gemini.yaml")),
    (
        "opencode.yaml",
        include_str!("../../profiles/opencode.yaml"),
    ),
];

fn mappings() -> &'static [Arc<Telemetry>] {
    static MAPPINGS: OnceLock<Vec<Arc<Telemetry>>> = OnceLock::new();
    MAPPINGS.get_or_init(|| {
        PROFILES
            .iter()
            .map(|(file, text)| {
                let profile = flotilla_daemon::profile::parse(file, text)
                    .unwrap_or_else(|problems| panic!("{file}: {problems:?}"));
                Arc::new(profile.telemetry)
            })
            .collect()
    })
}

/// Runs one fuzz input through the pipeline of signal `S`.
pub fn run<S: Signal>(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = if selector & 1 == 0 {
        "application/x-protobuf"
    } else {
        "application/json"
    };
    let encoding = (selector & 2 != 0).then_some("gzip");
    let mapping = mappings()[usize::from(selector >> 2) % PROFILES.len()].clone();

    let Ok(format) = Format::from_content_type(Some(content_type)) else {
        return;
    };
    let Ok(compression) = Compression::from_content_encoding(encoding) else {
        return;
    };
    let bytes = match Body::start(Bytes::copy_from_slice(body), compression) {
        Ok(body) => match body.finish() {
            Ok(bytes) => bytes,
            Err(error) => {
                assert!(matches!(error.status(), 400 | 413));
                return;
            }
        },
        Err(error) => {
            assert!(matches!(error.status(), 400 | 413));
            return;
        }
    };
    // A fresh registry per input keeps every run reproducible.
    let registry = Registry::default();
    let session = SessionId::new();
    registry.register(session, mapping);
    let reply = process::<S>(&registry, Some(session), format, &bytes);
    assert!(matches!(reply.status, 200 | 400), "{reply:?}");
    let _ = registry.snapshot(session);
    let _ = registry.take_all_changed(std::time::Instant::now());
}
