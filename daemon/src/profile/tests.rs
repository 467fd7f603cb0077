//! Tests for `crate::profile`: parsing, diagnostics, substitution, and every
//! shipped profile.

use std::path::Path;

use super::*;

const VALID: &str = r##"
name: demo
display_name: Demo
color: "#123456"
binary: demo
commands:
  new: ["demo", "--dir={project_dir}", "{prompt}"]
  resume: ["demo", "--resume", "{session_id}"]
env:
  DEMO_MODE: "1"
"##;

#[test]
fn valid_profile_parses() {
    let profile = parse("demo.yaml", VALID).unwrap();
    assert_eq!(profile.name, "demo");
    assert!(!profile.always_available);
    assert_eq!(profile.env.get("DEMO_MODE").map(String::as_str), Some("1"));
    assert!(profile.info().supports_resume);
}

#[test]
fn unknown_field_reports_file_line_column_and_path() {
    let text = VALID.replace("  resume:", "  resumee:");
    let error = parse("demo.yaml", &text).unwrap_err();
    let ProfileError::Invalid {
        file,
        line,
        column,
        path,
        message,
    } = &error
    else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(file, "demo.yaml");
    assert_eq!(*line, 8, "{error}");
    assert!(*column > 0, "{error}");
    assert!(path.starts_with("commands"), "{error}");
    assert!(message.contains("resumee"), "{error}");
    assert!(error.to_string().starts_with("demo.yaml:8:"), "{error}");
}

#[test]
fn wrong_type_names_the_field() {
    let text = VALID.replace(
        r#"new: ["demo", "--dir={project_dir}", "{prompt}"]"#,
        "new: 3",
    );
    let error = parse("demo.yaml", &text).unwrap_err();
    let ProfileError::Invalid { path, line, .. } = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(path, "commands.new", "{error}");
    assert_eq!(*line, 7, "{error}");
}

#[test]
fn name_must_match_file_stem() {
    let error = parse("other.yaml", VALID).unwrap_err();
    assert!(
        matches!(error, ProfileError::NameMismatch { .. }),
        "{error}"
    );
}

#[test]
fn empty_command_is_refused() {
    let text = VALID.replace(r#"["demo", "--dir={project_dir}", "{prompt}"]"#, "[]");
    let error = parse("demo.yaml", &text).unwrap_err();
    assert!(
        matches!(&error, ProfileError::Rule { path, .. } if path == "commands.new"),
        "{error}"
    );
}

#[test]
fn placeholders_are_substituted_and_absent_ones_dropped() {
    let profile = parse("demo.yaml", VALID).unwrap();
    let full = Placeholders {
        prompt: Some("fix it"),
        session_id: Some("s1"),
        project_dir: Some("/p"),
    };
    assert_eq!(
        profile.command(&full, false),
        ["demo", "--dir=/p", "fix it"]
    );
    assert_eq!(profile.command(&full, true), ["demo", "--resume", "s1"]);
    let no_prompt = Placeholders {
        prompt: None,
        ..full
    };
    assert_eq!(profile.command(&no_prompt, false), ["demo", "--dir=/p"]);
}

#[test]
fn availability_checks_path_or_flag() {
    let mut profile = parse("demo.yaml", VALID).unwrap();
    assert!(!profile.is_available(Some("/nonexistent")));
    assert!(profile.is_available(None) == profile.always_available);
    profile.binary = "sh".to_owned();
    assert!(profile.is_available(Some("/usr/bin:/bin")));
    profile.binary = "surely-not-installed".to_owned();
    profile.always_available = true;
    assert!(profile.is_available(Some("/bin")));
}

#[test]
fn every_shipped_profile_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles");
    let loaded = load_dir(&dir).unwrap();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let names: Vec<&str> = loaded.profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["bash", "claude", "codex", "gemini", "opencode"]);
    let bash = &loaded.profiles[0];
    assert!(bash.always_available);
    let prompt = Placeholders {
        prompt: Some("hi"),
        ..Placeholders::default()
    };
    assert_eq!(bash.command(&prompt, false), ["bash", "-l"]);
    let claude = &loaded.profiles[1];
    assert_eq!(claude.command(&prompt, false), ["claude", "hi"]);
    assert_eq!(claude.command(&Placeholders::default(), false), ["claude"]);
}

#[test]
fn a_broken_file_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("demo.yaml"), VALID).unwrap();
    std::fs::write(dir.path().join("broken.yaml"), "name: [").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let loaded = load_dir(dir.path()).unwrap();
    assert_eq!(loaded.profiles.len(), 1);
    assert_eq!(loaded.errors.len(), 1);
    assert!(
        loaded.errors[0].to_string().starts_with("broken.yaml:1:"),
        "{}",
        loaded.errors[0]
    );
}
