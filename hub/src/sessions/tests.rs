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
