//! The `flotilla-daemon` binary: parses the command line and hands over to
//! [`flotilla_daemon::main_with_exit_code`].

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(flotilla_daemon::main_with_exit_code())
}
