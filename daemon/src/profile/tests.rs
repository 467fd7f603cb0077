//! Tests for `crate::profile`: parsing, diagnostics (invalid fixtures are
//! snapshotted), substitution, the sections' pure functions, the catalog,
//! `profiles check`, the JSON Schema, and every shipped profile.

use std::path::{Path, PathBuf};

use super::catalog::Catalog;
use super::spawn_settings::{SettingsFormat, merge_text};
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
  DEMO_OTLP: "{otlp_endpoint}/v1/metrics"
  DEMO_ID: "{agent_id}"
"##;

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles")
}

fn invalid_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/profiles/invalid")
}

fn diagnostics(file_name: &str, text: &str) -> Vec<String> {
    parse(file_name, text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn valid_profile_parses() {
    let profile = parse("demo.yaml", VALID).unwrap();
    assert_eq!(profile.name, "demo");
    assert!(!profile.always_available);
    assert_eq!(profile.commands.prompt.mode, PromptMode::Argument);
    let env = profile.env(&EnvPlaceholders {
        otlp_endpoint: "http://127.0.0.1:4318",
        session_id: "s1",
        agent_id: "a1",
    });
    assert_eq!(env["DEMO_MODE"], "1");
    assert_eq!(env["DEMO_OTLP"], "http://127.0.0.1:4318/v1/metrics");
    assert_eq!(env["DEMO_ID"], "a1");
}

#[test]
fn unknown_field_reports_the_key_position_and_path() {
    let text = VALID.replace("  resume:", "  resumee:");
    let found = diagnostics("demo.yaml", &text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("demo.yaml:8:3: commands.resumee: "),
        "{found:?}"
    );
}

#[test]
fn wrong_type_names_the_field() {
    let text = VALID.replace(
        r#"new: ["demo", "--dir={project_dir}", "{prompt}"]"#,
        "new: 3",
    );
    let found = parse("demo.yaml", &text).unwrap_err();
    assert_eq!(found[0].path, "commands.new", "{found:?}");
    assert_eq!(found[0].line, 7, "{found:?}");
}

#[test]
fn semantic_rules_are_located_at_their_field() {
    let found = parse("other.yaml", VALID).unwrap_err();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].line, found[0].column, found[0].path.as_str()),
        (2, 1, "name")
    );
    let text = VALID.replace(r#"["demo", "--dir={project_dir}", "{prompt}"]"#, "[]");
    let found = parse("demo.yaml", &text).unwrap_err();
    assert_eq!(found[0].path, "commands.new", "{found:?}");
    assert_eq!((found[0].line, found[0].column), (7, 3), "{found:?}");
}

#[test]
fn invalid_fixtures_report_every_problem_with_position_and_path() {
    let mut files = profile_files(&invalid_dir()).unwrap();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let error = load_file(&file).unwrap_err();
        let report = error.lines().join("\n");
        for line in error.lines() {
            let mut parts = line.splitn(4, ':');
            let (_, line_no, column) = (parts.next(), parts.next(), parts.next());
            assert!(
                line_no.unwrap().parse::<u64>().unwrap() > 0
                    && column.unwrap().parse::<u64>().unwrap() > 0,
                "{line}"
            );
        }
        insta::assert_snapshot!(format!("invalid_{name}"), report);
    }
}

#[test]
fn placeholders_are_substituted_and_absent_ones_dropped() {
    let profile = parse("demo.yaml", VALID).unwrap();
    let full = Placeholders {
        prompt: Some("fix it"),
        session_id: Some("s1"),
        project_dir: Some("/p"),
        model: None,
        otlp_session_endpoint: None,
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
fn a_prompt_that_mentions_placeholders_is_passed_as_typed() {
    // Substitution is one pass: the prompt's text is never scanned again,
    // so `{model}` (which has no value) does not drop the argument and
    // `{session_id}` is not filled in.
    let profile = parse("demo.yaml", VALID).unwrap();
    let placeholders = Placeholders {
        prompt: Some("use {model} in {session_id} {project_dir}"),
        session_id: Some("s1"),
        project_dir: Some("/p"),
        ..Placeholders::default()
    };
    assert_eq!(
        profile.command(&placeholders, false),
        [
            "demo",
            "--dir=/p",
            "use {model} in {session_id} {project_dir}"
        ]
    );
}

#[test]
fn typed_prompt_stays_off_the_command_line() {
    let text = VALID
        .replace(r#", "{prompt}"]"#, "]")
        .replace("  resume:", "  prompt:\n    mode: typed\n  resume:");
    let profile = parse("demo.yaml", &text).unwrap();
    let placeholders = Placeholders {
        prompt: Some("hello"),
        ..Placeholders::default()
    };
    assert_eq!(profile.command(&placeholders, false), ["demo"]);
    assert_eq!(profile.typed_prompt(Some("hello")), Some("hello"));
    assert_eq!(profile.typed_prompt(Some("")), None);
    let argument = parse("demo.yaml", VALID).unwrap();
    assert_eq!(argument.typed_prompt(Some("hello")), None);
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
fn auth_problems_and_mcp_configs_are_reported() {
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let text = format!(
        "{VALID}auth:\n  env_any: [DEMO_KEY, DEMO_TOKEN]\n  env_all: [A, B]\n  files: [\"~/.demo/creds\"]\nmcp:\n  project_files: [.mcp.json]\n  user_files: [\"~/.demo.json\"]\n"
    );
    let profile = parse("demo.yaml", &text).unwrap();
    let mut facts = HostFacts::from_env([("HOME".to_owned(), home.path().display().to_string())]);
    let projects = [project.path().to_path_buf()];
    let info = profile.info(&facts, &projects);
    assert_eq!(
        info.problems,
        ["DEMO_KEY or DEMO_TOKEN or (A and B) or ~/.demo/creds needed"]
    );
    assert!(info.mcp_configs.is_empty());
    assert!(info.supports_resume);

    std::fs::create_dir(home.path().join(".demo")).unwrap();
    std::fs::write(home.path().join(".demo/creds"), "x").unwrap();
    std::fs::write(home.path().join(".demo.json"), "{}").unwrap();
    std::fs::write(project.path().join(".mcp.json"), "{}").unwrap();
    let info = profile.info(&facts, &projects);
    assert!(info.problems.is_empty(), "{:?}", info.problems);
    assert_eq!(
        info.mcp_configs,
        ["~/.demo.json", ".mcp.json (in 1 project)"]
    );

    std::fs::remove_file(home.path().join(".demo/creds")).unwrap();
    facts.env.insert("A".to_owned(), "1".to_owned());
    assert_eq!(profile.info(&facts, &projects).problems.len(), 1);
    facts.env.insert("B".to_owned(), "1".to_owned());
    assert!(profile.info(&facts, &projects).problems.is_empty());
}

#[test]
fn price_is_the_longest_prefix_then_the_first_regex() {
    let text = format!(
        "{VALID}telemetry:\n  pricing:\n    - {{ match: {{ prefix: m- }}, input: 1, output: 2 }}\n    - {{ match: {{ prefix: m-large }}, input: 3, output: 4 }}\n    - {{ match: {{ regex: '^x\\d' }}, input: 5, output: 6, context_window: 1000 }}\n"
    );
    let telemetry = parse("demo.yaml", &text).unwrap().telemetry;
    assert_eq!(telemetry.price_for("m-large-2").unwrap().input, 3.0);
    assert_eq!(telemetry.price_for("m-small").unwrap().input, 1.0);
    assert_eq!(
        telemetry.price_for("x9").unwrap().context_window,
        Some(1000)
    );
    assert!(telemetry.price_for("other").is_none());
}

#[test]
fn shipped_claude_prices_tell_opus_generations_apart() {
    let path = shipped_dir().join("claude.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let telemetry = parse("claude.yaml", &text).unwrap().telemetry;
    let input = |model: &str| telemetry.price_for(model).map(|price| price.input);
    assert_eq!(input("claude-opus-4-20250514"), Some(15.0));
    assert_eq!(input("claude-opus-4-0"), Some(15.0));
    assert_eq!(input("claude-opus-4-1-20250805"), Some(15.0));
    assert_eq!(input("claude-opus-4-5-20251101"), Some(5.0));
    assert_eq!(input("claude-opus-4-6"), Some(5.0));
    assert_eq!(input("claude-sonnet-4-5-20250929"), Some(3.0));
    assert_eq!(input("claude-haiku-4-5"), Some(1.0));
    assert_eq!(input("gpt-5"), None);
}

#[test]
fn token_type_mappings_and_their_defaults_parse() {
    let text = format!(
        "{VALID}telemetry:\n  token_metrics:\n    - name: t.tokens\n      type_attribute: kind\n      types: {{ in: input, cached: cache_read, total: ignore, misc: other }}\n      includes: {{ input: [cache_read] }}\n  activity_metrics:\n    - name: t.tools\n      attributes: [tool]\n  pricing:\n    - {{ match: {{ prefix: m }}, input: 1, output: 2 }}\n"
    );
    let telemetry = parse("demo.yaml", &text).unwrap().telemetry;
    let metric = &telemetry.token_metrics[0];
    assert_eq!(metric.types["in"], telemetry::TokenTypeMapping::Input);
    assert_eq!(metric.types["total"], telemetry::TokenTypeMapping::Ignore);
    assert_eq!(
        metric.includes[&telemetry::TokenType::Input],
        [telemetry::TokenType::CacheRead]
    );
    assert_eq!(telemetry.model_attribute, "model");
    assert_eq!(telemetry.activity_metrics[0].attributes, ["tool"]);
    // Reasoning is billed as output and tool tokens as input by default.
    let price = telemetry.price_for("m1").unwrap();
    assert_eq!(
        price.per_million(telemetry::TokenType::Reasoning),
        Some(2.0)
    );
    assert_eq!(price.per_million(telemetry::TokenType::Tool), Some(1.0));
    assert_eq!(price.per_million(telemetry::TokenType::CacheRead), None);
    // A profile without a telemetry section has the same default.
    let bare = parse("demo.yaml", VALID).unwrap().telemetry;
    assert_eq!(bare.model_attribute, "model");
}

#[test]
fn an_unknown_canonical_token_type_names_its_field() {
    let text = format!(
        "{VALID}telemetry:\n  token_metrics:\n    - name: t.tokens\n      type_attribute: kind\n      types:\n        in: input\n        cached: cache_hit\n"
    );
    let found = diagnostics("demo.yaml", &text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(
            "demo.yaml:19:17: telemetry.token_metrics[0].types.cached: unknown variant `cache_hit`"
        ),
        "{found:?}"
    );
    assert!(found[0].contains("cache_read"), "{found:?}");
}

#[test]
fn telemetry_mapping_rules_are_reported_at_their_field() {
    let text = format!(
        r#"{VALID}telemetry:
  model_attribute: " "
  token_metrics:
    - name: t.tokens
      type_attribute: kind
      types: {{ in: input, out: output, cached: cache_read, r: reasoning }}
      includes:
        input: [input, cache_read]
        output: [cache_read]
        reasoning: []
    - name: t.more
      type_attribute: kind
      includes:
        input: [cache_read]
        cache_read: [tool]
  cost_metric: t.tokens
  activity_metrics:
    - name: t.more
      attributes: [tool, ""]
  runtime_metric: {{ name: t.time }}
  events:
    api_request:
      name: t.request
      filter: {{ kind: "done(" }}
      main_request: {{ source: main }}
      input_tokens: ""
      includes: {{ output: [output] }}
  pricing:
    - {{ match: {{ prefix: m }}, input: 1, output: 2, reasoning: -3, tool: .nan }}
"#
    );
    let found = diagnostics("demo.yaml", &text);
    let expected = [
        "telemetry.model_attribute: expected a non-empty string",
        "telemetry.token_metrics[0].includes.input: input cannot include itself",
        "telemetry.token_metrics[0].includes.output: cache_read is already included in input; it would be subtracted twice",
        "telemetry.token_metrics[0].includes.reasoning: expected at least one included type",
        "telemetry.token_metrics[1].types: expected at least one mapping",
        "telemetry.token_metrics[1].includes.cache_read: cache_read includes other types and is itself included in input",
        "telemetry.cost_metric: \"t.tokens\" is already used by telemetry.token_metrics[0].name",
        "telemetry.activity_metrics[0].name: \"t.more\" is already used by telemetry.token_metrics[1].name",
        "telemetry.activity_metrics[0].attributes[1]: expected a non-empty string",
        "telemetry.events.api_request.filter.kind: expected a valid regular expression",
        "telemetry.events.api_request.input_tokens: expected a non-empty string",
        "telemetry.events.api_request.includes.output: output cannot include itself",
        "telemetry.pricing[0].reasoning: expected a non-negative price",
        "telemetry.pricing[0].tool: expected a non-negative price",
    ];
    for message in expected {
        assert!(
            found.iter().any(|line| line.contains(message)),
            "missing {message:?} in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    // Every diagnostic has a real position.
    assert!(
        found.iter().all(|line| !line.starts_with("demo.yaml:0:")),
        "{found:#?}"
    );
}

#[test]
fn json_merge_adds_missing_keys_and_never_overwrites() {
    let patch = serde_json::json!({"a": 1, "nested": {"x": true, "y": "new"}, "scalar": {"z": 1}});
    let existing = r#"{"nested": {"y": "user"}, "scalar": 5, "keep": [1]}"#;
    let merged = merge_text("f.json", SettingsFormat::Json, Some(existing), &patch)
        .unwrap()
        .unwrap();
    let merged: serde_json::Value = serde_json::from_str(&merged).unwrap();
    assert_eq!(
        merged,
        serde_json::json!({"a": 1, "nested": {"x": true, "y": "user"}, "scalar": 5, "keep": [1]})
    );
    let again = merge_text(
        "f.json",
        SettingsFormat::Json,
        Some(&merged.to_string()),
        &patch,
    )
    .unwrap();
    assert_eq!(again, None, "nothing to add means no write");
    let created = merge_text("f.json", SettingsFormat::Json, None, &patch)
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&created).unwrap(),
        patch
    );
    assert!(merge_text("f.json", SettingsFormat::Json, Some("{broken"), &patch).is_err());
    assert!(merge_text("f.json", SettingsFormat::Json, Some("[1]"), &patch).is_err());
}

#[test]
fn toml_merge_adds_missing_keys_and_never_overwrites() {
    let patch =
        serde_json::json!({"otel": {"exporter": "otlp", "environment": "flotilla"}, "model": "m"});
    let existing = "model = \"user-model\"\n\n[otel]\nexporter = \"none\"\n";
    let merged = merge_text("c.toml", SettingsFormat::Toml, Some(existing), &patch)
        .unwrap()
        .unwrap();
    let merged: toml::Table = merged.parse().unwrap();
    assert_eq!(merged["model"].as_str(), Some("user-model"));
    assert_eq!(merged["otel"]["exporter"].as_str(), Some("none"));
    assert_eq!(merged["otel"]["environment"].as_str(), Some("flotilla"));
    assert!(merge_text("c.toml", SettingsFormat::Toml, Some("= broken"), &patch).is_err());
}

#[test]
fn spawn_settings_apply_creates_the_file_and_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/config.toml");
    let patch = spawn_settings::substitute_value(
        &serde_json::json!({"otel": {"endpoint": "{otlp_endpoint}/v1/logs"}}),
        "http://h:1",
    );
    let first = spawn_settings::apply(&path, SettingsFormat::Toml, &patch).unwrap();
    assert!(!first.added.is_empty() && first.created_file);
    let again = spawn_settings::apply(&path, SettingsFormat::Toml, &patch).unwrap();
    assert!(again.added.is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("endpoint = \"http://h:1/v1/logs\""), "{text}");
}

#[test]
fn catalog_keeps_the_last_valid_version_of_a_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::default();
    std::fs::write(dir.path().join("demo.yaml"), VALID).unwrap();
    catalog.reload(dir.path()).unwrap();
    assert_eq!(catalog.profiles().len(), 1);
    assert!(catalog.errors().is_empty());

    std::fs::write(
        dir.path().join("demo.yaml"),
        VALID.replace("binary: demo", "binary: ["),
    )
    .unwrap();
    catalog.reload(dir.path()).unwrap();
    assert_eq!(catalog.profiles()[0].binary, "demo", "last valid version");
    assert_eq!(catalog.error_lines().len(), 1);
    assert!(
        catalog.error_lines()[0].starts_with("demo.yaml:5:"),
        "{:?}",
        catalog.error_lines()
    );

    std::fs::write(
        dir.path().join("demo.yaml"),
        VALID.replace("binary: demo", "binary: demo2"),
    )
    .unwrap();
    catalog.reload(dir.path()).unwrap();
    assert_eq!(catalog.profiles()[0].binary, "demo2");
    assert!(catalog.errors().is_empty());

    std::fs::remove_file(dir.path().join("demo.yaml")).unwrap();
    catalog.reload(dir.path()).unwrap();
    assert!(catalog.profiles().is_empty());

    // A file that was never valid contributes only its error.
    std::fs::write(dir.path().join("new.yaml"), "name: [").unwrap();
    catalog.reload(dir.path()).unwrap();
    assert!(catalog.profiles().is_empty());
    assert_eq!(catalog.errors().len(), 1);
}

#[test]
fn a_broken_file_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("demo.yaml"), VALID).unwrap();
    std::fs::write(dir.path().join("broken.yaml"), "name: [").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    std::fs::write(dir.path().join("TEMPLATE.yaml.example"), "ignored: [").unwrap();
    let loaded = load_dir(dir.path()).unwrap();
    assert_eq!(loaded.profiles.len(), 1);
    assert_eq!(loaded.errors.len(), 1);
    assert!(
        loaded.errors[0].to_string().starts_with("broken.yaml:1:"),
        "{}",
        loaded.errors[0]
    );
}

#[test]
fn check_prints_every_problem_and_sets_the_exit_status() {
    let mut out = Vec::new();
    let mut summary = Vec::new();
    assert_eq!(
        check::check_dir(&shipped_dir(), &mut out, &mut summary),
        check::CHECK_OK
    );
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));

    let mut out = Vec::new();
    let status = check::check_dir(&invalid_dir(), &mut out, &mut summary);
    assert_eq!(status, check::CHECK_FAILED);
    let out = String::from_utf8(out).unwrap();
    for file in ["bad_enum", "rules", "syntax", "unknown_field", "wrong_type"] {
        assert!(
            out.contains(&format!("{file}.yaml:")),
            "{file} missing in:\n{out}"
        );
    }
    assert!(
        out.lines()
            .filter(|line| line.starts_with("rules.yaml:"))
            .count()
            > 10,
        "{out}"
    );

    let mut out = Vec::new();
    let missing = check::check_dir(Path::new("/nonexistent/profiles"), &mut out, &mut summary);
    assert_eq!(missing, check::CHECK_FAILED);
}

/// Spawning a shipped agent never writes into the user's own config files:
/// per-session settings go through the environment (opencode's OTel switch
/// through OPENCODE_CONFIG_CONTENT).
#[test]
fn shipped_profiles_change_no_user_config_file() {
    let loaded = load_dir(&shipped_dir()).unwrap();
    for profile in &loaded.profiles {
        assert!(
            profile.spawn_settings.is_empty(),
            "{} writes into {:?}",
            profile.name,
            profile
                .spawn_settings
                .iter()
                .map(|setting| &setting.path)
                .collect::<Vec<_>>()
        );
    }
    let opencode = loaded
        .profiles
        .iter()
        .find(|profile| profile.name == "opencode")
        .unwrap();
    let env = opencode.env(&EnvPlaceholders {
        otlp_endpoint: "http://127.0.0.1:4318",
        session_id: "s1",
        agent_id: "s1",
    });
    let inline: serde_json::Value = serde_json::from_str(&env["OPENCODE_CONFIG_CONTENT"]).unwrap();
    assert_eq!(inline["experimental"]["openTelemetry"], true);
}

#[test]
fn every_shipped_profile_parses_and_validates() {
    let loaded = load_dir(&shipped_dir()).unwrap();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let names: Vec<&str> = loaded.profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["bash", "claude", "codex", "gemini", "opencode"]);
    for profile in &loaded.profiles {
        insta::assert_debug_snapshot!(format!("shipped_{}", profile.name), profile);
    }
    let bash = &loaded.profiles[0];
    assert!(bash.always_available);
    let prompt = Placeholders {
        prompt: Some("hi"),
        session_id: Some("s1"),
        ..Placeholders::default()
    };
    assert_eq!(bash.command(&prompt, false), ["bash", "-l"]);
    let claude = &loaded.profiles[1];
    assert_eq!(
        claude.command(&prompt, false),
        ["claude", "--session-id", "s1", "hi"]
    );
    for profile in &loaded.profiles[1..] {
        assert!(!profile.provisioning.npm.is_empty(), "{}", profile.name);
        assert!(!profile.provisioning.verify.is_empty(), "{}", profile.name);
    }
}

#[test]
fn shipped_profiles_and_template_point_at_the_schema() {
    let dir = shipped_dir();
    let mut files = profile_files(&dir).unwrap();
    files.push(dir.join("TEMPLATE.yaml.example"));
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=./profile.schema.json\n"),
            "{}",
            file.display()
        );
    }
}

#[test]
fn template_is_a_valid_profile() {
    let text = std::fs::read_to_string(shipped_dir().join("TEMPLATE.yaml.example")).unwrap();
    let profile = parse("template.yaml", &text).unwrap();
    assert_eq!(profile.name, "template");
}

#[test]
fn generated_json_schema_is_fresh() {
    crate::generated::check_fresh(
        &shipped_dir().join(schema::SCHEMA_FILE),
        &schema::json_schema(),
    );
}

#[test]
fn positions_index_keys_and_items() {
    let positions = diagnostic::Positions::index("a:\n  b: [x, y]\n  c:\n    - d: 1\n");
    assert_eq!(positions.find("a"), Some((1, 1)));
    assert_eq!(positions.find("a.b"), Some((2, 3)));
    assert_eq!(positions.find("a.b[1]"), Some((2, 10)));
    assert_eq!(positions.find("a.c[0].d"), Some((4, 7)));
    assert_eq!(positions.find("a.c[0].missing"), Some((4, 7)));
    assert_eq!(positions.find("zzz"), None);
}
