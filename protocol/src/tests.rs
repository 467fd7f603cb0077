//! Golden JSON tests for every message, the frame codec and the freshness of
//! the generated TypeScript.

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::daemon_to_hub::*;
use crate::frame::{FrameError, OutputFrame, SnapshotFrame};
use crate::hub_to_daemon::*;
use crate::hub_to_ui::*;
use crate::rest::*;
use crate::ui_to_hub::*;
use crate::*;

fn session() -> SessionId {
    SessionId(Uuid::from_u128(0x1111_2222_3333_4444_5555_6666_7777_8888))
}

fn host() -> HostId {
    HostId(Uuid::from_u128(0xaaaa_bbbb_cccc_dddd_eeee_ffff_0000_1111))
}

fn when() -> ::time::OffsetDateTime {
    ::time::OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap()
}

/// Serializes `value`, checks it against the golden JSON and checks that it
/// parses back to the same value.
fn check<T>(value: &T, expect: serde_json::Value)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_value(value).unwrap();
    assert_eq!(json, expect, "golden JSON differs");
    let back: T = serde_json::from_value(json).unwrap();
    assert_eq!(&back, value, "round trip differs");
}

fn inventory() -> HostInventory {
    HostInventory {
        hostname: "box".into(),
        daemon_version: "0.0.0".into(),
        project_roots: vec!["/src".into()],
        profiles: vec![ProfileInfo {
            name: "bash".into(),
            display_name: "Bash".into(),
            color: "#4eaa25".into(),
            supports_resume: false,
            problems: vec!["ANTHROPIC_API_KEY needed".into()],
            mcp_configs: vec!["~/.claude.json".into()],
        }],
        projects: vec![ProjectInfo {
            path: "/src/app".into(),
            name: "app".into(),
        }],
        profile_errors: vec!["broken.yaml:3:1: commands: unknown field `x`".into()],
    }
}

fn summary() -> SessionSummary {
    SessionSummary {
        id: session(),
        host_id: host(),
        profile: "bash".into(),
        project: "/src/app".into(),
        state: SessionState::Exited,
        exit_code: Some(0),
        exit_signal: None,
        error: None,
        size: TermSize { cols: 80, rows: 24 },
        created_by: "admin".into(),
        created_at: when(),
        ended_at: Some(when()),
        usage: Some(usage()),
        archived_at: None,
        worktree: Some(worktree()),
    }
}

fn worktree() -> crate::worktree::WorktreeInfo {
    crate::worktree::WorktreeInfo {
        path: "/src/app/.flotilla/worktrees/c92bd108-bash".into(),
        branch: "flotilla/c92bd108-bash".into(),
        base_ref: "main".into(),
        base_commit: "0123456789abcdef0123456789abcdef01234567".into(),
        removed: None,
    }
}

fn worktree_json() -> serde_json::Value {
    serde_json::json!({
        "path": "/src/app/.flotilla/worktrees/c92bd108-bash",
        "branch": "flotilla/c92bd108-bash",
        "baseRef": "main",
        "baseCommit": "0123456789abcdef0123456789abcdef01234567"
    })
}

fn usage() -> crate::usage::SessionUsage {
    use crate::usage::{Activity, ContextUsage, CostSource, ModelUsage, SessionUsage, TokenCounts};
    let tokens = TokenCounts {
        input: 1200,
        output: 340,
        cache_read: 5000,
        cache_write: 800,
        ..TokenCounts::default()
    };
    SessionUsage {
        tokens,
        cost_nano_usd: 21_450_000,
        unpriced_models: vec![],
        models: vec![ModelUsage {
            model: "claude-sonnet-4-5".into(),
            tokens,
            cost_nano_usd: Some(21_450_000),
            cost_source: CostSource::Reported,
        }],
        context: Some(ContextUsage {
            model: "claude-sonnet-4-5".into(),
            used_tokens: 7000,
            window_tokens: Some(200_000),
        }),
        activity: Some(Activity {
            name: "Edit accept".into(),
            at_unix_ms: 1_700_000_000_000,
        }),
        active_ms: 42_000,
        requests: 7,
        updated_at_unix_ms: 1_700_000_001_000,
    }
}

fn host_summary() -> HostSummary {
    HostSummary {
        id: host(),
        name: "laptop".into(),
        online: true,
        last_seen_at: Some(when()),
        created_at: when(),
        inventory: Some(inventory()),
    }
}

const SID: &str = "11112222-3333-4444-5555-666677778888";
const HID: &str = "aaaabbbb-cccc-dddd-eeee-ffff00001111";
const WHEN: &str = "2026-09-21T14:13:20Z";

fn inventory_json() -> serde_json::Value {
    serde_json::json!({
        "hostname": "box", "daemonVersion": "0.0.0", "projectRoots": ["/src"],
        "profiles": [{
            "name": "bash", "displayName": "Bash", "color": "#4eaa25", "supportsResume": false,
            "problems": ["ANTHROPIC_API_KEY needed"], "mcpConfigs": ["~/.claude.json"]
        }],
        "projects": [{"path": "/src/app", "name": "app"}],
        "profileErrors": ["broken.yaml:3:1: commands: unknown field `x`"]
    })
}

#[test]
fn inventory_from_an_older_daemon_still_parses() {
    let old = serde_json::json!({
        "hostname": "box", "daemonVersion": "0.0.0", "projectRoots": [],
        "profiles": [{"name": "bash", "displayName": "Bash", "color": "#fff", "supportsResume": false}],
        "projects": []
    });
    let inventory: HostInventory = serde_json::from_value(old).unwrap();
    assert!(inventory.profile_errors.is_empty());
    assert!(inventory.profiles[0].problems.is_empty());
    assert!(inventory.profiles[0].mcp_configs.is_empty());
}

fn summary_json() -> serde_json::Value {
    serde_json::json!({
        "id": SID, "hostId": HID, "profile": "bash", "project": "/src/app",
        "state": "exited", "exitCode": 0, "exitSignal": null, "error": null,
        "size": {"cols": 80, "rows": 24}, "createdBy": "admin",
        "createdAt": WHEN, "endedAt": WHEN, "usage": usage_json(), "archivedAt": null,
        "worktree": worktree_json()
    })
}

fn usage_json() -> serde_json::Value {
    let tokens = serde_json::json!({
        "input": 1200, "output": 340, "cacheRead": 5000, "cacheWrite": 800,
        "reasoning": 0, "tool": 0, "other": 0
    });
    serde_json::json!({
        "tokens": tokens, "costNanoUsd": 21450000, "unpricedModels": [],
        "models": [{"model": "claude-sonnet-4-5", "tokens": tokens,
                    "costNanoUsd": 21450000, "costSource": "reported"}],
        "context": {"model": "claude-sonnet-4-5", "usedTokens": 7000, "windowTokens": 200000},
        "activity": {"name": "Edit accept", "atUnixMs": 1700000000000u64},
        "activeMs": 42000, "requests": 7, "updatedAtUnixMs": 1700000001000u64
    })
}

#[test]
fn daemon_to_hub_goldens() {
    check(
        &DaemonAuth {
            token: "flt_x".into(),
            protocol_version: PROTOCOL_VERSION,
            daemon_version: "0.0.0".into(),
        },
        serde_json::json!({"token": "flt_x", "protocolVersion": 3, "daemonVersion": "0.0.0"}),
    );
    check(
        &Hello {
            inventory: inventory(),
            sessions: vec![RunningSession {
                session_id: session(),
                pid: Some(42),
                output_offset: 7,
            }],
        },
        serde_json::json!({
            "inventory": inventory_json(),
            "sessions": [{"sessionId": SID, "pid": 42, "outputOffset": 7}]
        }),
    );
    check(
        &Reply::Ok {
            value: HelloAck {
                host_id: host(),
                host_name: "laptop".into(),
                resume: vec![SessionOffset {
                    session_id: session(),
                    offset: 3,
                }],
            },
        },
        serde_json::json!({"type": "ok", "value": {"hostId": HID, "hostName": "laptop", "resume": [{"sessionId": SID, "offset": 3}]}}),
    );
    check(
        &InventoryChanged {
            inventory: inventory(),
        },
        serde_json::json!({"inventory": inventory_json()}),
    );
    check(
        &SessionStarted {
            session_id: session(),
            pid: Some(9),
            worktree: Some(worktree()),
        },
        serde_json::json!({"sessionId": SID, "pid": 9, "worktree": worktree_json()}),
    );
    check(
        &SessionSpawnFailed {
            session_id: session(),
            error: ErrorBody::new(ErrorCode::OutsideProjectRoot, "nope"),
        },
        serde_json::json!({"sessionId": SID, "error": {"code": "outside_project_root", "message": "nope"}}),
    );
    check(
        &SessionExited {
            session_id: session(),
            exit_code: None,
            signal: Some("SIGKILL".into()),
            output_offset: 1 << 40,
        },
        serde_json::json!({"sessionId": SID, "exitCode": null, "signal": "SIGKILL", "outputOffset": 1_099_511_627_776_u64}),
    );
}

#[test]
fn worktree_command_and_answer_goldens() {
    use crate::worktree::*;
    let request = RequestId(Uuid::from_u128(7));
    let rid = "00000000-0000-0000-0000-000000000007";
    check(
        &WorktreeCommand {
            request_id: request,
            worktree: worktree(),
            action: WorktreeAction::Remove {
                keep_branch: true,
                confirm: "f00d".into(),
            },
        },
        serde_json::json!({"requestId": rid, "worktree": worktree_json(), "action": {"kind": "remove", "keepBranch": true, "confirm": "f00d"}}),
    );
    check(
        &WorktreeCommand {
            request_id: request,
            worktree: worktree(),
            action: WorktreeAction::Inspect,
        },
        serde_json::json!({"requestId": rid, "worktree": worktree_json(), "action": {"kind": "inspect"}}),
    );
    let status = WorktreeStatus {
        exists: true,
        branch_exists: true,
        head: Some("abc".into()),
        ahead: 1,
        behind: 2,
        changes: vec![FileChange {
            path: "README".into(),
            status: " M".into(),
        }],
        change_count: 1,
        ignored: vec![".env".into()],
        ignored_count: 1,
        unique_commits: vec![CommitSummary {
            commit: "abc".into(),
            summary: "wip".into(),
        }],
        unique_commit_count: 1,
        fingerprint: "f00d".into(),
    };
    check(
        &WorktreeAnswer {
            request_id: request,
            outcome: WorktreeOutcome::Changed { status },
        },
        serde_json::json!({"requestId": rid, "outcome": {"kind": "changed", "status": {
            "exists": true, "branchExists": true, "head": "abc", "ahead": 1, "behind": 2,
            "changes": [{"path": "README", "status": " M"}], "changeCount": 1,
            "ignored": [".env"], "ignoredCount": 1,
            "uniqueCommits": [{"commit": "abc", "summary": "wip"}], "uniqueCommitCount": 1,
            "fingerprint": "f00d"}}}),
    );
    check(
        &WorktreeAnswer {
            request_id: request,
            outcome: WorktreeOutcome::Removed { branch_kept: false },
        },
        serde_json::json!({"requestId": rid, "outcome": {"kind": "removed", "branchKept": false}}),
    );
    let mut removed = worktree();
    removed.removed = Some(WorktreeRemoved {
        at: when(),
        by: "admin".into(),
        branch_kept: true,
    });
    let mut json = worktree_json();
    json["removed"] =
        serde_json::json!({"at": "2026-09-21T14:13:20Z", "by": "admin", "branchKept": true});
    check(&removed, json);
}

#[test]
fn output_text_golden() {
    check(
        &SessionOutputText {
            session_id: session(),
            offset: 12,
            data: "aGk=".into(),
        },
        serde_json::json!({"sessionId": SID, "offset": 12, "data": "aGk="}),
    );
}

#[test]
fn hub_to_daemon_goldens() {
    check(
        &SpawnSession {
            session_id: session(),
            profile: "bash".into(),
            project: "/src/app".into(),
            prompt: Some("hi".into()),
            size: TermSize {
                cols: 100,
                rows: 30,
            },
            worktree: Some(crate::worktree::WorktreeRequest {
                branch: "flotilla/c92bd108-bash".into(),
                base: None,
                optional: true,
            }),
        },
        serde_json::json!({"sessionId": SID, "profile": "bash", "project": "/src/app", "prompt": "hi", "size": {"cols": 100, "rows": 30}, "worktree": {"branch": "flotilla/c92bd108-bash", "base": null, "optional": true}}),
    );
    check(
        &StopSession {
            session_id: session(),
        },
        serde_json::json!({"sessionId": SID}),
    );
    check(
        &WriteInput {
            session_id: session(),
            data: "ls\r".into(),
        },
        serde_json::json!({"sessionId": SID, "data": "ls\r"}),
    );
    check(
        &ResizePty {
            session_id: session(),
            size: TermSize { cols: 1, rows: 2 },
        },
        serde_json::json!({"sessionId": SID, "size": {"cols": 1, "rows": 2}}),
    );
    check(
        &RequestSnapshot {
            session_id: session(),
        },
        serde_json::json!({"sessionId": SID}),
    );
}

#[test]
fn ui_goldens() {
    check(
        &AttachSession {
            session_id: session(),
            since: None,
        },
        serde_json::json!({"sessionId": SID}),
    );
    check(
        &AttachSession {
            session_id: session(),
            since: Some("18446744073709551615".into()),
        },
        serde_json::json!({"sessionId": SID, "since": "18446744073709551615"}),
    );
    check(
        &AckOutput {
            session_id: session(),
            offset: "42".into(),
        },
        serde_json::json!({"sessionId": SID, "offset": "42"}),
    );
    check(
        &SessionResized {
            session_id: session(),
            size: TermSize { cols: 5, rows: 6 },
            driver: true,
        },
        serde_json::json!({"sessionId": SID, "size": {"cols": 5, "rows": 6}, "driver": true}),
    );
    check(
        &DetachSession {
            session_id: session(),
        },
        serde_json::json!({"sessionId": SID}),
    );
    check(
        &SendInput {
            session_id: session(),
            data: "é".into(),
        },
        serde_json::json!({"sessionId": SID, "data": "é"}),
    );
    check(
        &ResizeTerminal {
            session_id: session(),
            size: TermSize { cols: 3, rows: 4 },
        },
        serde_json::json!({"sessionId": SID, "size": {"cols": 3, "rows": 4}}),
    );
    check(
        &SessionUpdated { session: summary() },
        serde_json::json!({"session": summary_json()}),
    );
    check(
        &HostRemoved { host_id: host() },
        serde_json::json!({"hostId": HID}),
    );
    check(
        &HubError {
            event: "session:input".into(),
            error: ErrorBody::new(ErrorCode::TooLarge, "too big"),
        },
        serde_json::json!({"event": "session:input", "error": {"code": "too_large", "message": "too big"}}),
    );
    check(
        &Reply::<()>::Error {
            error: ErrorBody::new(ErrorCode::NotFound, "no such session"),
        },
        serde_json::json!({"type": "error", "error": {"code": "not_found", "message": "no such session"}}),
    );
}

#[test]
fn rest_goldens() {
    check(
        &LoginRequest {
            username: "admin".into(),
            password: "pw".into(),
        },
        serde_json::json!({"username": "admin", "password": "pw"}),
    );
    check(
        &Me {
            id: UserId(Uuid::nil()),
            username: "admin".into(),
        },
        serde_json::json!({"id": "00000000-0000-0000-0000-000000000000", "username": "admin"}),
    );
    check(
        &HostWithToken {
            host: host_summary(),
            token: "flt_secret".into(),
        },
        serde_json::json!({"host": {
            "id": HID, "name": "laptop", "online": true, "lastSeenAt": WHEN,
            "createdAt": WHEN, "inventory": inventory_json()
        }, "token": "flt_secret"}),
    );
    check(
        &CreateHostRequest {
            name: "laptop".into(),
        },
        serde_json::json!({"name": "laptop"}),
    );
    check(
        &SpawnRequest {
            host_id: host(),
            profile: "bash".into(),
            project: "/src/app".into(),
            prompt: None,
            size: None,
            worktree: Some(true),
            base: Some("main".into()),
            id: Some(session()),
        },
        serde_json::json!({"hostId": HID, "profile": "bash", "project": "/src/app", "prompt": null, "size": null, "worktree": true, "base": "main", "id": SID}),
    );
    // Optional fields may be omitted by clients.
    let parsed: SpawnRequest = serde_json::from_value(
        serde_json::json!({"hostId": HID, "profile": "bash", "project": "/p"}),
    )
    .unwrap();
    assert_eq!(parsed.size, None);
    assert_eq!((parsed.worktree, parsed.base), (None, None));
    check(&summary(), summary_json());
    check(
        &Health {
            status: "ok".into(),
            version: "0.0.0".into(),
            protocol_version: 1,
        },
        serde_json::json!({"status": "ok", "version": "0.0.0", "protocolVersion": 1}),
    );
}

#[test]
fn usage_goldens() {
    use crate::usage::*;
    check(
        &SessionUsageReport {
            session_id: session(),
            usage: usage(),
        },
        serde_json::json!({"sessionId": SID, "usage": usage_json()}),
    );
    check(
        &SessionUsageUpdated {
            session_id: session(),
            host_id: host(),
            usage: usage(),
        },
        serde_json::json!({"sessionId": SID, "hostId": HID, "usage": usage_json()}),
    );
    check(
        &WatchHost { host_id: host() },
        serde_json::json!({"hostId": HID}),
    );
    check(
        &UnwatchHost { host_id: host() },
        serde_json::json!({"hostId": HID}),
    );
    let row = |key: &str, label: &str, sessions: u64| UsageRow {
        key: key.into(),
        label: label.into(),
        sessions,
        tokens: TokenCounts {
            input: 10,
            reasoning: 2,
            ..TokenCounts::default()
        },
        cost_nano_usd: 1_500_000_000,
        unpriced_sessions: 1,
    };
    let row_json = |key: &str, label: &str, sessions: u64| {
        serde_json::json!({
            "key": key, "label": label, "sessions": sessions,
            "tokens": {"input": 10, "output": 0, "cacheRead": 0, "cacheWrite": 0,
                       "reasoning": 2, "tool": 0, "other": 0},
            "costNanoUsd": 1_500_000_000u64, "unpricedSessions": 1
        })
    };
    check(
        &UsageReport {
            group_by: UsageGroupBy::Host,
            rows: vec![row(HID, "laptop", 2)],
            total: row("total", "Total", 2),
        },
        serde_json::json!({
            "groupBy": "host",
            "rows": [row_json(HID, "laptop", 2)],
            "total": row_json("total", "Total", 2)
        }),
    );
    for (group_by, wire) in [
        (UsageGroupBy::Host, "host"),
        (UsageGroupBy::Project, "project"),
        (UsageGroupBy::Agent, "agent"),
        (UsageGroupBy::Day, "day"),
    ] {
        check(&group_by, serde_json::json!(wire));
    }
    check(
        &Reply::<()>::Ok { value: () },
        serde_json::json!({"type": "ok", "value": null}),
    );
}

#[test]
fn unknown_fields_are_ignored_for_additive_evolution() {
    let parsed: StopSession =
        serde_json::from_value(serde_json::json!({"sessionId": SID, "future": 1})).unwrap();
    assert_eq!(parsed.session_id, session());
}

#[test]
fn connect_refusal_round_trips_through_the_wire_text() {
    let cases = [
        (ConnectRefusal::BadToken, r#"{"type":"bad_token"}"#),
        (
            ConnectRefusal::VersionMismatch { hub: 1, daemon: 2 },
            r#"{"type":"version_mismatch","hub":1,"daemon":2}"#,
        ),
        (
            ConnectRefusal::MalformedHandshake {
                message: "x".into(),
            },
            r#"{"type":"malformed_handshake","message":"x"}"#,
        ),
    ];
    for (refusal, wire) in cases {
        assert_eq!(refusal.to_wire(), wire);
        assert_eq!(ConnectRefusal::from_wire(wire), Some(refusal));
    }
    assert_eq!(ConnectRefusal::from_wire("Connection refused"), None);
}

#[test]
fn secrets_are_redacted_in_debug() {
    let auth = DaemonAuth {
        token: "flt_secret".into(),
        protocol_version: 1,
        daemon_version: "v".into(),
    };
    assert!(!format!("{auth:?}").contains("flt_secret"));
    let login = LoginRequest {
        username: "u".into(),
        password: "hunter2".into(),
    };
    assert!(!format!("{login:?}").contains("hunter2"));
    let created = HostWithToken {
        host: host_summary(),
        token: "flt_secret".into(),
    };
    assert!(!format!("{created:?}").contains("flt_secret"));
}

#[test]
fn term_size_validation() {
    assert!(TermSize { cols: 80, rows: 24 }.validate().is_ok());
    assert!(TermSize { cols: 0, rows: 24 }.validate().is_err());
    assert!(
        TermSize {
            cols: 80,
            rows: 1001
        }
        .validate()
        .is_err()
    );
}

#[test]
fn term_size_takes_whole_numbers_in_any_json_spelling() {
    let parse = |text: &str| serde_json::from_str::<TermSize>(text);
    let expected = TermSize { cols: 80, rows: 24 };
    assert_eq!(parse(r#"{"cols": 80, "rows": 24}"#).unwrap(), expected);
    assert_eq!(parse(r#"{"cols": 80.0, "rows": 2.4e1}"#).unwrap(), expected);
    for bad in [
        r#"{"cols": 80.5, "rows": 24}"#,
        r#"{"cols": -1, "rows": 24}"#,
        r#"{"cols": 65536, "rows": 24}"#,
        r#"{"cols": "80", "rows": 24}"#,
        r#"{"cols": 1e300, "rows": 24}"#,
    ] {
        let error = parse(bad).unwrap_err().to_string();
        assert!(
            error.contains("whole number") || error.contains("65535"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn frame_round_trip_and_errors() {
    let data = b"hello\x1e\x00world";
    let frame = OutputFrame {
        session_id: session(),
        offset: 0x0102_0304_0506_0708,
        data,
    };
    let bytes = frame.encode();
    assert_eq!(bytes.len(), frame::FRAME_HEADER_LEN + data.len());
    assert_eq!(bytes[0], frame::FRAME_VERSION);
    assert_eq!(&bytes[17..25], &[1, 2, 3, 4, 5, 6, 7, 8]);
    let back = OutputFrame::decode(&bytes).unwrap();
    assert_eq!(back, frame);
    assert_eq!(back.end_offset(), 0x0102_0304_0506_0708 + data.len() as u64);

    assert_eq!(
        OutputFrame::decode(&bytes[..10]),
        Err(FrameError::TooShort { len: 10 })
    );
    let mut wrong = bytes.clone();
    wrong[0] = 9;
    assert_eq!(
        OutputFrame::decode(&wrong),
        Err(FrameError::UnknownVersion { found: 9 })
    );
    let big = vec![0u8; frame::MAX_FRAME_DATA + 1];
    let encoded = OutputFrame {
        session_id: session(),
        offset: 0,
        data: &big,
    }
    .encode();
    assert_eq!(
        OutputFrame::decode(&encoded),
        Err(FrameError::TooLarge {
            len: frame::MAX_FRAME_DATA + 1
        })
    );
}

#[test]
fn snapshot_frame_round_trip_and_errors() {
    let snapshot = SnapshotFrame {
        session_id: session(),
        offset: u64::MAX,
        size: TermSize {
            cols: 0x0102,
            rows: 0x0304,
        },
        data: b"\x1b[H\x1b[2Jscreen",
    };
    let bytes = snapshot.encode();
    assert_eq!(bytes[0], frame::SNAPSHOT_FRAME_VERSION);
    assert_eq!(&bytes[25..29], &[1, 2, 3, 4]);
    assert_eq!(SnapshotFrame::decode(&bytes), Ok(snapshot));
    // An output frame is never taken for a snapshot, nor the reverse.
    assert_eq!(
        OutputFrame::decode(&bytes),
        Err(FrameError::UnknownVersion {
            found: frame::SNAPSHOT_FRAME_VERSION
        })
    );
    let output = OutputFrame {
        session_id: session(),
        offset: 0,
        data: b"0123456789",
    }
    .encode();
    assert_eq!(
        SnapshotFrame::decode(&output),
        Err(FrameError::UnknownVersion {
            found: frame::FRAME_VERSION
        })
    );
    assert_eq!(
        SnapshotFrame::decode(&bytes[..28]),
        Err(FrameError::TooShort { len: 28 })
    );
    let big = vec![b'x'; frame::MAX_SNAPSHOT_DATA + 1];
    let encoded = SnapshotFrame {
        data: &big,
        ..snapshot
    }
    .encode();
    assert_eq!(
        SnapshotFrame::decode(&encoded),
        Err(FrameError::TooLarge {
            len: frame::MAX_SNAPSHOT_DATA + 1
        })
    );
}

fn generated_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../frontend/src/protocol/generated")
}

/// Fails when the committed TypeScript differs from what the Rust types
/// produce. `FLOTILLA_UPDATE_GENERATED=1` rewrites it instead.
#[test]
fn generated_typescript_is_fresh() {
    let update = std::env::var("FLOTILLA_UPDATE_GENERATED").is_ok_and(|v| v == "1");
    let files = [
        ("protocol.ts", typescript::types()),
        ("constants.ts", typescript::constants()),
    ];
    let dir = generated_dir();
    let mut stale = Vec::new();
    for (name, expected) in files {
        let path = dir.join(name);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != expected {
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, expected).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated TypeScript is stale: {stale:?}; run `FLOTILLA_UPDATE_GENERATED=1 cargo test -p flotilla-protocol`"
    );
}
