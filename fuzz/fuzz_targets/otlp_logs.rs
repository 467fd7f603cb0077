//! Fuzzes the OTLP/HTTP logs pipeline: JSON or protobuf, identity or gzip,
//! decoded with the receiver's limits and ingested for a known session.

#![no_main]

mod common;

use flotilla_daemon::telemetry::receiver::Logs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::run::<Logs>(data));
