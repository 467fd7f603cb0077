//! Fuzzes the OTLP/HTTP metrics pipeline: JSON or protobuf, identity or gzip,
//! decoded with the receiver's limits and ingested for a known session.

#![no_main]

mod common;

use flotilla_daemon::telemetry::receiver::Metrics;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::run::<Metrics>(data));
