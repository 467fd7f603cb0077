//! `flotilla-daemon profiles check DIR`: every problem of every profile file,
//! one `file:line:column: path: message` line each.

use std::io::Write;
use std::path::Path;

use super::{ProfileError, load_file, profile_files};

/// Exit status when every profile is valid.
pub const CHECK_OK: u8 = 0;
/// Exit status when at least one problem was found (or `dir` is unreadable).
pub const CHECK_FAILED: u8 = 1;

/// Checks every `*.yaml` in `dir`, prints each problem to `out` and a summary
/// to `summary`, and returns the exit status.
pub fn check_dir(dir: &Path, out: &mut dyn Write, summary: &mut dyn Write) -> u8 {
    let files = match profile_files(dir) {
        Ok(files) => files,
        Err(error) => {
            let _ = writeln!(out, "{}: cannot read the directory: {error}", dir.display());
            return CHECK_FAILED;
        }
    };
    let mut n_problems = 0;
    for file in &files {
        if let Err(error) = load_file(file) {
            let lines = ProfileError::lines(&error);
            n_problems += lines.len();
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    let _ = writeln!(
        summary,
        "{} profile file(s) checked, {n_problems} problem(s)",
        files.len()
    );
    if n_problems == 0 {
        CHECK_OK
    } else {
        CHECK_FAILED
    }
}
