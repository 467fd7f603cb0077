//! The cases of hello reconciliation.

use uuid::Uuid;

use super::*;

fn id(n: u128) -> SessionId {
    SessionId(Uuid::from_u128(n))
}

fn record(n: u128, state: SessionState) -> LiveRecord {
    LiveRecord { id: id(n), state }
}

fn runs(ns: &[u128]) -> Vec<RunningSession> {
    ns.iter()
        .map(|n| RunningSession {
            session_id: id(*n),
            pid: Some(100),
            output_offset: 0,
        })
        .collect()
}

fn check(records: &[LiveRecord], running: &[u128], expect: Plan) {
    assert_eq!(reconcile(records, &runs(running)), expect);
}

#[test]
fn a_running_record_the_daemon_runs_is_adopted() {
    check(
        &[record(1, SessionState::Running)],
        &[1],
        Plan {
            adopt: vec![id(1)],
            ..Plan::default()
        },
    );
}

#[test]
fn a_starting_record_the_daemon_runs_is_confirmed() {
    check(
        &[record(1, SessionState::Starting)],
        &[1],
        Plan {
            adopt: vec![id(1)],
            confirm_started: vec![id(1)],
            ..Plan::default()
        },
    );
}

#[test]
fn records_the_daemon_does_not_run_are_lost_starting_or_running() {
    check(
        &[
            record(1, SessionState::Running),
            record(2, SessionState::Starting),
        ],
        &[],
        Plan {
            lost: vec![id(1), id(2)],
            ..Plan::default()
        },
    );
}

#[test]
fn sessions_without_a_record_are_only_reported() {
    check(
        &[],
        &[3, 1],
        Plan {
            unknown: vec![id(1), id(3)],
            ..Plan::default()
        },
    );
}

#[test]
fn a_mixed_hello_sorts_every_case_and_ignores_repeats() {
    check(
        &[
            record(4, SessionState::Running),
            record(2, SessionState::Starting),
            record(1, SessionState::Running),
            record(4, SessionState::Running),
        ],
        &[4, 2, 5, 2],
        Plan {
            adopt: vec![id(2), id(4)],
            confirm_started: vec![id(2)],
            lost: vec![id(1)],
            unknown: vec![id(5)],
        },
    );
}

#[test]
fn an_empty_hello_for_an_empty_host_does_nothing() {
    check(&[], &[], Plan::default());
}
