//! Tests for `crate::link`: the backoff schedule and the decoding of what
//! the hub sends.

use std::time::Duration;

use flotilla_protocol::ConnectRefusal;
use rust_socketio::Payload;
use serde_json::json;

use super::backoff::backoff_delay;
use super::socket::{Incoming, command, error_to_incoming, parse_refusal};
use crate::host::HubCommand;

#[test]
fn backoff_doubles_from_one_second_and_caps_at_sixty() {
    let full: Vec<u64> = (0..9).map(|n| backoff_delay(n, 1.0).as_secs()).collect();
    assert_eq!(full, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    assert_eq!(backoff_delay(0, 0.0), Duration::from_millis(500));
    assert_eq!(backoff_delay(3, 0.5), Duration::from_secs(6));
    assert_eq!(backoff_delay(u32::MAX, 1.0), Duration::from_secs(60));
    assert_eq!(backoff_delay(2, f64::NAN), Duration::from_secs(2));
    assert_eq!(backoff_delay(2, 7.0), Duration::from_secs(4));
}

#[test]
fn connect_error_becomes_typed_refusal() {
    let wire = ConnectRefusal::BadToken.to_wire();
    let data = json!({ "message": wire }).to_string();
    let payload = Payload::from(format!("Received an ConnectError frame: {data}"));
    assert_eq!(
        error_to_incoming(payload),
        Incoming::Refused(ConnectRefusal::BadToken)
    );

    let mismatch = ConnectRefusal::VersionMismatch { hub: 2, daemon: 1 };
    assert_eq!(parse_refusal(&mismatch.to_wire()), Some(mismatch));
    assert_eq!(parse_refusal(r#"{"message":"nope"}"#), None);

    let other = error_to_incoming(Payload::from("Network error"));
    assert_eq!(other, Incoming::Error("Network error".to_owned()));
}

#[test]
fn hub_commands_decode_and_malformed_ones_are_reported() {
    let id = flotilla_protocol::SessionId::new();
    let payload = Payload::Text(vec![json!({"sessionId": id, "data": "ls\r"})]);
    match command("session:input", payload, HubCommand::Input) {
        Incoming::Command(HubCommand::Input(input)) => assert_eq!(input.data, "ls\r"),
        other => panic!("unexpected {other:?}"),
    }
    let payload = Payload::Text(vec![json!({"sessionId": "not-a-uuid"})]);
    assert!(matches!(
        command("session:stop", payload, HubCommand::Stop),
        Incoming::Malformed { .. }
    ));
    let payload = Payload::Binary(vec![1u8, 2].into());
    assert!(matches!(
        command("session:stop", payload, HubCommand::Stop),
        Incoming::Malformed { .. }
    ));
}
