//! Tests of the hub-side project path check.

use super::*;

fn check(project: &str, expect: Result<(), ErrorCode>) {
    let roots = vec!["/srv/src".to_owned(), "/home/dev/work".to_owned()];
    assert_eq!(
        check_project(project, &roots).map_err(|e| e.code),
        expect,
        "{project}"
    );
}

#[test]
fn projects_must_be_plain_absolute_paths_under_a_root() {
    check("/srv/src/app", Ok(()));
    check("/srv/src", Ok(()));
    check("/home/dev/work/a/b", Ok(()));
    check("relative/app", Err(ErrorCode::InvalidInput));
    check("/etc", Err(ErrorCode::OutsideProjectRoot));
    check("/srv/srcX", Err(ErrorCode::OutsideProjectRoot));
    check("/srv/src/../../etc", Err(ErrorCode::OutsideProjectRoot));
    // `.` components are normalised away by `Path::components`.
    check("/srv/src/./app", Ok(()));
}

// ---- use cases, in process on a real SQLite file ----

mod as_actor {
    use flotilla_protocol::daemon_to_hub::{SessionExited, SessionStarted};
    use flotilla_protocol::rest::SpawnRequest;
    use flotilla_protocol::ui_to_hub::SendInput;

    use super::*;
    use crate::test_app::{app_in, host, session, user};

    async fn state(app: &App, id: SessionId) -> SessionState {
        app.store.get_session(id).await.unwrap().unwrap().state
    }

    #[tokio::test]
    async fn a_daemon_reports_only_for_its_own_hosts_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let app = app_in(dir.path()).await;
        let (own, other) = (host(&app, "own").await, host(&app, "other").await);
        let id = session(&app, own, "bash", "/srv").await;

        let intruder = Actor::Daemon(other);
        started(
            &app,
            &intruder,
            SessionStarted {
                session_id: id,
                pid: None,
                worktree: None,
            },
        )
        .await
        .unwrap();
        let exit = || SessionExited {
            session_id: id,
            exit_code: Some(0),
            signal: None,
            output_offset: 0,
        };
        exited(&app, &intruder, exit()).await.unwrap();
        assert_eq!(state(&app, id).await, SessionState::Starting);

        let owner = Actor::Daemon(own);
        started(
            &app,
            &owner,
            SessionStarted {
                session_id: id,
                pid: None,
                worktree: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(state(&app, id).await, SessionState::Running);
        exited(&app, &owner, exit()).await.unwrap();
        assert_eq!(state(&app, id).await, SessionState::Exited);
    }

    #[tokio::test]
    async fn users_cannot_report_for_daemons_nor_daemons_act_for_users() {
        let dir = tempfile::tempdir().unwrap();
        let app = app_in(dir.path()).await;
        let host_id = host(&app, "box").await;
        let id = session(&app, host_id, "bash", "/srv").await;
        let daemon = Actor::Daemon(host_id);
        let code = |error: ApiError| error.into_body().code;

        let report = started(
            &app,
            &user(),
            SessionStarted {
                session_id: id,
                pid: None,
                worktree: None,
            },
        )
        .await;
        assert_eq!(report.map_err(code), Err(ErrorCode::Forbidden));
        assert_eq!(state(&app, id).await, SessionState::Starting);

        let request = SpawnRequest {
            host_id,
            profile: "bash".into(),
            project: "/srv".into(),
            prompt: None,
            size: None,
            worktree: None,
            base: None,
            id: None,
        };
        let spawned = spawn(&app, &daemon, request).await;
        assert_eq!(spawned.map(|_| ()).map_err(code), Err(ErrorCode::Forbidden));
        let stopped = stop(&app, &daemon, id).await;
        assert_eq!(stopped.map(|_| ()).map_err(code), Err(ErrorCode::Forbidden));
        let listed = list(&app, &daemon, None).await;
        assert_eq!(listed.map(|_| ()).map_err(code), Err(ErrorCode::Forbidden));
        let typed = crate::terminal::input(
            &app,
            &daemon,
            &"viewer".to_owned(),
            SendInput {
                session_id: id,
                data: "x".into(),
            },
        );
        assert_eq!(typed.map(|_| ()).map_err(code), Err(ErrorCode::Forbidden));
        let hosts = crate::hosts::list(&app, &daemon).await;
        assert_eq!(hosts.map(|_| ()).map_err(code), Err(ErrorCode::Forbidden));
    }
}
