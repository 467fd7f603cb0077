//! The semantic rules of a profile, checked after deserialization. Each rule
//! names the field path and says what was expected; positions are filled in
//! by [`super::parse`] from the YAML source.

use std::collections::BTreeMap;

use super::diagnostic::Diagnostic;
use super::placeholder::{self, Field, Placeholder};
use super::spawn_settings::SettingsFormat;
use super::telemetry::{Includes, PriceMatch, TokenType};
use super::{Profile, PromptMode};
use crate::secret::is_secret;

/// Every broken rule of `profile`, in field order. The diagnostics carry the
/// file `<name>.yaml` and no position yet (line and column 0).
pub fn validate(profile: &Profile) -> Vec<Diagnostic> {
    let mut rules = Rules {
        file: format!("{}.yaml", profile.name),
        found: Vec::new(),
    };
    rules.identity(profile);
    rules.commands(profile);
    rules.env(&profile.env);
    rules.auth(profile);
    rules.mcp(profile);
    rules.telemetry(profile);
    rules.status(profile);
    rules.sidecar(profile);
    rules.spawn_settings(profile);
    rules.provisioning(profile);
    rules.found
}

struct Rules {
    file: String,
    found: Vec<Diagnostic>,
}

impl Rules {
    fn report(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.found.push(Diagnostic::at(&self.file, path, message));
    }

    fn identity(&mut self, profile: &Profile) {
        if profile.name.is_empty()
            || !profile
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            self.report(
                "name",
                "expected lowercase letters, digits, `-` and `_` only",
            );
        }
        self.non_empty("display_name", &profile.display_name);
        self.non_empty("color", &profile.color);
        if profile.binary.is_empty() || profile.binary.contains('/') {
            self.report(
                "binary",
                "expected a program name looked up on PATH (no slashes)",
            );
        }
        if let Some(argv) = &profile.version_command {
            self.argv("version_command", argv, Field::VersionCommand);
        }
    }

    fn commands(&mut self, profile: &Profile) {
        let commands = &profile.commands;
        self.argv("commands.new", &commands.new, Field::Command);
        if let Some(resume) = &commands.resume {
            self.argv("commands.resume", resume, Field::Command);
        }
        if commands.prompt.mode == PromptMode::Typed {
            let templates = [
                ("new", Some(&commands.new)),
                ("resume", commands.resume.as_ref()),
            ];
            for (name, template) in templates {
                let Some(template) = template else { continue };
                for (index, arg) in template.iter().enumerate() {
                    if placeholder::names(arg).any(|name| name == Placeholder::Prompt.name()) {
                        self.report(
                            format!("commands.{name}[{index}]"),
                            "`{prompt}` is not allowed with `prompt.mode: typed` (the prompt is typed after start)",
                        );
                    }
                }
            }
        }
    }

    fn env(&mut self, env: &BTreeMap<String, String>) {
        for (key, value) in env {
            let path = format!("env.{key}");
            self.env_name(&path, key);
            self.placeholders(&path, value, Field::Env);
        }
    }

    fn auth(&mut self, profile: &Profile) {
        let auth = &profile.auth;
        for (list, names) in [("env_any", &auth.env_any), ("env_all", &auth.env_all)] {
            for (index, name) in names.iter().enumerate() {
                let path = format!("auth.{list}[{index}]");
                if !is_env_name(name) {
                    self.report(
                        path,
                        "expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
                    );
                }
            }
        }
        for (index, file) in auth.files.iter().enumerate() {
            self.home_or_absolute(&format!("auth.files[{index}]"), file);
        }
    }

    fn mcp(&mut self, profile: &Profile) {
        for (index, file) in profile.mcp.project_files.iter().enumerate() {
            if file.is_empty() || file.starts_with('/') || file.starts_with('~') || has_dotdot(file)
            {
                self.report(
                    format!("mcp.project_files[{index}]"),
                    "expected a path relative to the project directory, without `..`",
                );
            }
        }
        for (index, file) in profile.mcp.user_files.iter().enumerate() {
            self.home_or_absolute(&format!("mcp.user_files[{index}]"), file);
        }
    }

    fn telemetry(&mut self, profile: &Profile) {
        let telemetry = &profile.telemetry;
        // Every metric name has one role: a data point is counted once.
        let mut roles: BTreeMap<String, String> = BTreeMap::new();
        let mut claim = |rules: &mut Rules, path: String, name: &str| {
            if name.trim().is_empty() {
                return;
            }
            if let Some(first) = roles.get(name) {
                rules.report(path, format!("{name:?} is already used by {first}"));
            } else {
                roles.insert(name.to_owned(), path);
            }
        };
        for (index, metric) in telemetry.token_metrics.iter().enumerate() {
            let base = format!("telemetry.token_metrics[{index}]");
            self.non_empty(&format!("{base}.name"), &metric.name);
            self.non_empty(&format!("{base}.type_attribute"), &metric.type_attribute);
            if telemetry.excluded_metrics.contains(&metric.name) {
                self.report(
                    format!("{base}.name"),
                    format!("{:?} is also in telemetry.excluded_metrics", metric.name),
                );
            }
            claim(self, format!("{base}.name"), &metric.name);
            if metric.types.is_empty() {
                self.report(
                    format!("{base}.types"),
                    "expected at least one mapping from the agent's type value to a canonical \
                     type (input, output, cache_read, cache_write, reasoning, tool, other, ignore)",
                );
            }
            for value in metric.types.keys() {
                if value.trim().is_empty() {
                    self.report(format!("{base}.types"), "expected non-empty type values");
                }
            }
            self.includes(&format!("{base}.includes"), &metric.includes);
        }
        self.non_empty("telemetry.model_attribute", &telemetry.model_attribute);
        if let Some(cost) = &telemetry.cost_metric {
            self.non_empty("telemetry.cost_metric", cost);
            claim(self, "telemetry.cost_metric".to_owned(), cost);
        }
        for (index, metric) in telemetry.activity_metrics.iter().enumerate() {
            let base = format!("telemetry.activity_metrics[{index}]");
            self.non_empty(&format!("{base}.name"), &metric.name);
            claim(self, format!("{base}.name"), &metric.name);
            for (position, attribute) in metric.attributes.iter().enumerate() {
                self.non_empty(&format!("{base}.attributes[{position}]"), attribute);
            }
        }
        if let Some(runtime) = &telemetry.runtime_metric {
            self.non_empty("telemetry.runtime_metric.name", &runtime.name);
            claim(
                self,
                "telemetry.runtime_metric.name".to_owned(),
                &runtime.name,
            );
        }
        for (index, name) in telemetry.excluded_metrics.iter().enumerate() {
            self.non_empty(&format!("telemetry.excluded_metrics[{index}]"), name);
        }
        if let Some(event) = &telemetry.events.api_request {
            let base = "telemetry.events.api_request";
            self.non_empty(&format!("{base}.name"), &event.name);
            for (field, matchers) in [
                ("filter", &event.filter),
                ("main_request", &event.main_request),
            ] {
                for (attribute, pattern) in matchers {
                    let path = format!("{base}.{field}.{attribute}");
                    if attribute.trim().is_empty() {
                        self.report(&path, "expected a non-empty attribute name");
                    }
                    self.regex(&path, pattern);
                }
            }
            let attributes = [
                ("model", event.model.as_ref()),
                ("input_tokens", event.input_tokens.as_ref()),
                ("output_tokens", event.output_tokens.as_ref()),
                ("cache_read_tokens", event.cache_read_tokens.as_ref()),
                (
                    "cache_creation_tokens",
                    event.cache_creation_tokens.as_ref(),
                ),
                ("reasoning_tokens", event.reasoning_tokens.as_ref()),
                ("tool_tokens", event.tool_tokens.as_ref()),
                ("cost", event.cost.as_ref()),
            ];
            for (field, attribute) in attributes {
                if let Some(attribute) = attribute {
                    self.non_empty(&format!("{base}.{field}"), attribute);
                }
            }
            self.includes(&format!("{base}.includes"), &event.includes);
        }
        for (index, price) in telemetry.pricing.iter().enumerate() {
            let base = format!("telemetry.pricing[{index}]");
            match &price.matcher {
                PriceMatch::Prefix(prefix) => {
                    self.non_empty(&format!("{base}.match.prefix"), prefix);
                }
                PriceMatch::Regex(pattern) => self.regex(&format!("{base}.match.regex"), pattern),
            }
            let amounts = [
                ("input", Some(price.input)),
                ("output", Some(price.output)),
                ("cache_read", price.cache_read),
                ("cache_write", price.cache_write),
                ("reasoning", price.reasoning),
                ("tool", price.tool),
            ];
            for (field, amount) in amounts {
                if let Some(amount) = amount
                    && !(amount.is_finite() && amount >= 0.0)
                {
                    self.report(
                        format!("{base}.{field}"),
                        format!(
                            "expected a non-negative price in USD per million tokens, got {amount}"
                        ),
                    );
                }
            }
            if price.context_window == Some(0) {
                self.report(
                    format!("{base}.context_window"),
                    "expected a positive number of tokens",
                );
            }
        }
    }

    /// `includes` subtracts the included types' counts once: a type includes
    /// neither itself nor a type another one already includes, and a type
    /// that includes others is not itself included (no chains or cycles).
    fn includes(&mut self, path: &str, includes: &Includes) {
        let mut included: BTreeMap<TokenType, TokenType> = BTreeMap::new();
        for (outer, inner) in includes {
            let entry = format!("{path}.{}", outer.as_str());
            if inner.is_empty() {
                self.report(&entry, "expected at least one included type");
            }
            for token_type in inner {
                if token_type == outer {
                    self.report(&entry, format!("{} cannot include itself", outer.as_str()));
                } else if let Some(first) = included.insert(*token_type, *outer) {
                    self.report(
                        &entry,
                        format!(
                            "{} is already included in {}; it would be subtracted twice",
                            token_type.as_str(),
                            first.as_str()
                        ),
                    );
                }
            }
        }
        for outer in includes.keys() {
            if let Some(container) = included.get(outer) {
                self.report(
                    format!("{path}.{}", outer.as_str()),
                    format!(
                        "{} includes other types and is itself included in {}; list every type \
                         {} contains there instead",
                        outer.as_str(),
                        container.as_str(),
                        container.as_str()
                    ),
                );
            }
        }
    }

    fn status(&mut self, profile: &Profile) {
        for (path, pattern) in profile.status.all() {
            self.regex(&format!("status.{path}"), pattern);
        }
    }

    fn sidecar(&mut self, profile: &Profile) {
        let Some(sidecar) = &profile.sidecar else {
            return;
        };
        self.non_empty("sidecar.prompt_command", &sidecar.prompt_command);
        self.placeholders(
            "sidecar.file_pattern",
            &sidecar.file_pattern,
            Field::SidecarPattern,
        );
        if !placeholder::names(&sidecar.file_pattern)
            .any(|name| name == Placeholder::AgentId.name())
        {
            self.report(
                "sidecar.file_pattern",
                "expected `{agent_id}` in the pattern so sessions never share a file",
            );
        }
        for (key, value) in &sidecar.fields {
            self.non_empty(&format!("sidecar.fields.{key}"), value);
        }
    }

    fn spawn_settings(&mut self, profile: &Profile) {
        for (index, setting) in profile.spawn_settings.iter().enumerate() {
            let base = format!("spawn_settings[{index}]");
            let path = &setting.path;
            if !(path.starts_with("~/") || path.starts_with("{project_dir}/")) || has_dotdot(path) {
                self.report(
                    format!("{base}.path"),
                    "expected a path starting with `~/` or `{project_dir}/`, without `..`",
                );
            }
            self.placeholders(&format!("{base}.path"), path, Field::SettingsPath);
            match &setting.merge {
                serde_json::Value::Object(map) if !map.is_empty() => {
                    self.merge_value(&format!("{base}.merge"), &setting.merge, setting.format);
                }
                _ => self.report(format!("{base}.merge"), "expected a non-empty mapping"),
            }
        }
    }

    fn merge_value(&mut self, path: &str, value: &serde_json::Value, format: SettingsFormat) {
        match value {
            serde_json::Value::Null if format == SettingsFormat::Toml => {
                self.report(path, "TOML has no null; expected a value");
            }
            serde_json::Value::String(text) => self.placeholders(path, text, Field::Merge),
            serde_json::Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.merge_value(&format!("{path}[{index}]"), item, format);
                }
            }
            serde_json::Value::Object(map) => {
                for (key, item) in map {
                    self.merge_value(&format!("{path}.{key}"), item, format);
                }
            }
            _ => {}
        }
    }

    fn provisioning(&mut self, profile: &Profile) {
        let provisioning = &profile.provisioning;
        for (manager, packages) in [
            ("apt", &provisioning.apt),
            ("npm", &provisioning.npm),
            ("pip", &provisioning.pip),
        ] {
            for (index, package) in packages.iter().enumerate() {
                let base = format!("provisioning.{manager}[{index}]");
                if package.name.is_empty() || package.name.chars().any(char::is_whitespace) {
                    self.report(
                        format!("{base}.name"),
                        "expected a package name without spaces",
                    );
                }
                if !is_pinned(&package.version) {
                    self.report(
                        format!("{base}.version"),
                        format!(
                            "expected an exact pinned version such as 1.2.3, got {:?}",
                            package.version
                        ),
                    );
                }
            }
        }
        for (index, file) in provisioning.config_files.iter().enumerate() {
            let base = format!("provisioning.config_files[{index}]");
            self.home_or_absolute(&format!("{base}.path"), &file.path);
            if let Some(mode) = &file.mode
                && !(matches!(mode.len(), 3 | 4) && mode.chars().all(|c| ('0'..='7').contains(&c)))
            {
                self.report(
                    format!("{base}.mode"),
                    "expected an octal mode such as \"0644\"",
                );
            }
        }
        for (index, command) in provisioning.verify.iter().enumerate() {
            self.non_empty(&format!("provisioning.verify[{index}]"), command);
        }
        for (index, mount) in provisioning.mounts.iter().enumerate() {
            let base = format!("provisioning.mounts[{index}]");
            self.home_or_absolute(&format!("{base}.host"), &mount.host);
            self.home_or_absolute(&format!("{base}.container"), &mount.container);
        }
        for (index, name) in provisioning.passthrough_env.iter().enumerate() {
            self.env_name(&format!("provisioning.passthrough_env[{index}]"), name);
        }
    }

    fn non_empty(&mut self, path: &str, value: &str) {
        if value.trim().is_empty() {
            self.report(path, "expected a non-empty string");
        }
    }

    fn argv(&mut self, path: &str, argv: &[String], field: Field) {
        if argv.first().is_none_or(|program| program.is_empty()) {
            self.report(
                path,
                "expected a non-empty argv list whose first item is the program",
            );
        }
        for (index, arg) in argv.iter().enumerate() {
            self.placeholders(&format!("{path}[{index}]"), arg, field);
        }
    }

    fn env_name(&mut self, path: &str, name: &str) {
        if !is_env_name(name) {
            self.report(
                path,
                "expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
            );
        } else if is_secret(name) {
            self.report(
                path,
                "the daemon's own secrets (FLOTILLA_HOST_TOKEN, DAEMON_*) never reach an agent",
            );
        }
    }

    fn home_or_absolute(&mut self, path: &str, value: &str) {
        if !(value.starts_with('/') || value.starts_with("~/"))
            || value.len() < 2
            || has_dotdot(value)
        {
            self.report(
                path,
                "expected an absolute path or one starting with `~/`, without `..`",
            );
        }
    }

    fn regex(&mut self, path: &str, pattern: &str) {
        if let Err(error) = regex::Regex::new(pattern) {
            let reason = error.to_string();
            let reason = reason.lines().last().unwrap_or_default().trim();
            let reason = reason.strip_prefix("error: ").unwrap_or(reason).to_owned();
            self.report(
                path,
                format!("expected a valid regular expression: {reason}"),
            );
        }
    }

    fn placeholders(&mut self, path: &str, text: &str, field: Field) {
        for name in field.misplaced(text) {
            let allowed: Vec<String> = field.allowed().iter().map(|p| p.token()).collect();
            let allowed = if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            };
            self.report(
                path,
                format!("unknown placeholder {{{name}}}; expected one of: {allowed}"),
            );
        }
    }
}

/// Whether `name` is a portable environment variable name.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether a package version is pinned exactly: it starts with a digit (an
/// apt epoch such as `1:` included) and has no range or wildcard syntax.
pub fn is_pinned(version: &str) -> bool {
    version.starts_with(|c: char| c.is_ascii_digit())
        && !version
            .chars()
            .any(|c| c.is_whitespace() || "^<>=*|,!".contains(c))
        && !version.ends_with(".x")
        && !version.contains(".x.")
}

fn has_dotdot(path: &str) -> bool {
    path.split('/').any(|part| part == "..")
}
