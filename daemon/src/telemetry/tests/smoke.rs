//! A bounded, deterministic stand-in for the fuzz targets that runs in the
//! normal suite: seeded byte flips, truncations, insertions and splices of
//! the fixtures (as JSON, protobuf and gzip) go through the real receiver,
//! which must answer every one with 200, 400 or 413 and keep serving.

use super::{
    JSON, PROTOBUF, SESSION_A, SESSION_B, Server, as_protobuf, fixture, gzip, id, shipped,
};
use crate::telemetry::registry::Registry;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// How many mutated bodies are sent.
const CASES: usize = 2000;

/// xorshift64*: deterministic and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to the decoders: JSON punctuation and digits,
/// protobuf varint continuation and wire-type bits, gzip's magic.
const INTERESTING: &[u8] =
    b"{}[]\":,-0123456789eE.\\ntuflsa \x00\x01\x7f\x80\xff\x1f\x8b\x08\x0a\x12\x22";

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut body = seed.to_vec();
    for _ in 0..=rng.below(2) {
        let at = rng.below(body.len());
        match rng.below(6) {
            0 => {
                if let Some(byte) = body.get_mut(at) {
                    *byte ^= 1 << rng.below(8);
                }
            }
            1 => body.truncate(at),
            2 => {
                let byte = INTERESTING[rng.below(INTERESTING.len())];
                body.insert(at.min(body.len()), byte);
            }
            3 => {
                if let Some(byte) = body.get_mut(at) {
                    *byte = INTERESTING[rng.below(INTERESTING.len())];
                }
            }
            4 => {
                // Duplicate a range (repeated fields, nesting).
                let end = (at + rng.below(64)).min(body.len());
                let copy = body[at.min(end)..end].to_vec();
                let to = rng.below(body.len());
                body.splice(to..to, copy);
            }
            _ => {
                let end = (at + rng.below(16)).min(body.len());
                body.drain(at.min(end)..end);
            }
        }
    }
    body
}

#[tokio::test]
async fn seeded_mutations_of_the_fixtures_get_200_400_or_413() {
    let registry = Registry::default();
    registry.register(id(SESSION_A), shipped("claude"));
    registry.register(id(SESSION_B), shipped("gemini"));
    let server = Server::start(registry).await;
    let session_path = format!("/s/{SESSION_B}");

    // (path, content type, gzip?, seed body)
    let mut seeds: Vec<(String, &str, bool, Vec<u8>)> = Vec::new();
    for (name, signal) in [
        ("claude_delta_1.json", "metrics"),
        ("claude_delta_2.json", "metrics"),
        ("mixed_sessions.json", "metrics"),
        ("gemini_cumulative_1.json", "metrics"),
        ("gemini_cumulative_reset.json", "metrics"),
        ("claude_logs.json", "logs"),
        ("claude_traces.json", "traces"),
    ] {
        let json = fixture(name);
        let protobuf = match signal {
            "metrics" => as_protobuf::<ExportMetricsServiceRequest>(name),
            "logs" => as_protobuf::<ExportLogsServiceRequest>(name),
            _ => as_protobuf::<ExportTraceServiceRequest>(name),
        };
        let prefix = if name.starts_with("gemini") {
            session_path.as_str()
        } else {
            ""
        };
        let path = format!("{prefix}/v1/{signal}");
        seeds.push((path.clone(), JSON, false, json.clone()));
        seeds.push((path.clone(), PROTOBUF, false, protobuf.clone()));
        seeds.push((path.clone(), JSON, true, json));
        seeds.push((path, PROTOBUF, true, protobuf));
    }

    let mut rng = Rng(0x5eed_f1e7_0a11_u64);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for case in 0..CASES {
        let (path, content_type, gzipped, seed) = &seeds[case % seeds.len()];
        // Gzip bodies are mutated either before compression (valid gzip of
        // a broken message) or after (a broken gzip stream).
        let body = match (gzipped, rng.below(2)) {
            (false, _) => mutate(&mut rng, seed),
            (true, 0) => gzip(&mutate(&mut rng, seed)),
            (true, _) => mutate(&mut rng, &gzip(seed)),
        };
        let encoding = gzipped.then_some("gzip");
        let answer = server
            .post(path, Some(content_type), encoding, body.clone())
            .await;
        assert!(
            matches!(answer.status, 200 | 400 | 413),
            "case {case}: {path} {content_type} gzip={gzipped}: {answer:?} for {body:?}"
        );
        *statuses.entry(answer.status).or_default() += 1;
    }
    // Both outcomes must be exercised, or the mutations are too weak or
    // too strong to test anything.
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > CASES / 10,
        "{statuses:?}"
    );
    assert!(
        statuses.get(&400).copied().unwrap_or(0) > CASES / 10,
        "{statuses:?}"
    );
    // Still serving, and the counters saw every request.
    let clean = server
        .post(
            "/v1/metrics",
            Some(JSON),
            None,
            fixture("claude_delta_1.json"),
        )
        .await;
    assert_eq!(clean.status, 200);
    assert_eq!(server.registry.counters().requests, CASES as u64 + 1);
}
