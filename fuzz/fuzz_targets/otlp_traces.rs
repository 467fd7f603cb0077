//! Fuzzes the OTLP/HTTP traces pipeline: JSON or protobuf, identity or gzip,
//! decoded with the receiver's limits and ingested for a known session.

#![no_main]

mod common;

use flotilla_daemon::telemetry::receiver::Traces;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::run::<Traces>(data));
