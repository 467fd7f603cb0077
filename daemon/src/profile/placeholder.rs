//! Placeholders: the one table of the `{name}`s a profile may write, where
//! each is allowed, and the one substitution that fills them in. Validation
//! ([`super::validate`]) and every substitution (command, `env`, spawn
//! settings) read this table, so a placeholder is added in one place.
//!
//! Substitution is a single pass over the template: a value is copied into
//! the result and never scanned again, so a prompt that mentions
//! `{session_id}` reaches the agent as typed.

use std::fmt;

/// A placeholder a profile may write as `{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Placeholder {
    /// The initial prompt.
    Prompt,
    /// The session id.
    SessionId,
    /// The project directory the session runs in.
    ProjectDir,
    /// The model.
    Model,
    /// The daemon's OTLP receiver URL.
    OtlpEndpoint,
    /// The session's own OTLP endpoint (see [`super::session_endpoint`]).
    OtlpSessionEndpoint,
    /// The agent id (the session id for now).
    AgentId,
    /// The temporary directory.
    Tmpdir,
}

/// A field of a profile that may hold placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// `commands.new` and `commands.resume` arguments.
    Command,
    /// `env` values.
    Env,
    /// Strings in `spawn_settings[].merge`.
    Merge,
    /// `spawn_settings[].path`.
    SettingsPath,
    /// `sidecar.file_pattern`.
    SidecarPattern,
    /// `version_command` arguments (none allowed).
    VersionCommand,
}

/// Every placeholder.
const ALL: [Placeholder; 8] = [
    Placeholder::Prompt,
    Placeholder::SessionId,
    Placeholder::ProjectDir,
    Placeholder::Model,
    Placeholder::OtlpEndpoint,
    Placeholder::OtlpSessionEndpoint,
    Placeholder::AgentId,
    Placeholder::Tmpdir,
];

/// Where each placeholder is allowed: per field, the placeholders it may
/// hold, in the order error messages list them.
const ALLOWED: &[(Field, &[Placeholder])] = &[
    (
        Field::Command,
        &[
            Placeholder::Prompt,
            Placeholder::SessionId,
            Placeholder::ProjectDir,
            Placeholder::Model,
            Placeholder::OtlpSessionEndpoint,
        ],
    ),
    (
        Field::Env,
        &[
            Placeholder::OtlpEndpoint,
            Placeholder::OtlpSessionEndpoint,
            Placeholder::SessionId,
            Placeholder::AgentId,
        ],
    ),
    (Field::Merge, &[Placeholder::OtlpEndpoint]),
    (Field::SettingsPath, &[Placeholder::ProjectDir]),
    (
        Field::SidecarPattern,
        &[Placeholder::AgentId, Placeholder::Tmpdir],
    ),
    (Field::VersionCommand, &[]),
];

impl Placeholder {
    /// Every placeholder.
    pub fn all() -> impl Iterator<Item = Placeholder> {
        ALL.into_iter()
    }

    /// The placeholder written `{name}`.
    pub fn from_name(name: &str) -> Option<Placeholder> {
        ALL.into_iter()
            .find(|placeholder| placeholder.name() == name)
    }

    /// The name, without braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Prompt => "prompt",
            Placeholder::SessionId => "session_id",
            Placeholder::ProjectDir => "project_dir",
            Placeholder::Model => "model",
            Placeholder::OtlpEndpoint => "otlp_endpoint",
            Placeholder::OtlpSessionEndpoint => "otlp_session_endpoint",
            Placeholder::AgentId => "agent_id",
            Placeholder::Tmpdir => "tmpdir",
        }
    }

    /// The placeholder as written in a profile: `{name}`.
    pub fn token(self) -> String {
        format!("{{{}}}", self.name())
    }

    /// Whether the placeholder may be written in `field`.
    pub fn is_allowed_in(self, field: Field) -> bool {
        field.allowed().contains(&self)
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.name())
    }
}

impl Field {
    /// The placeholders allowed in this field, in the table's order.
    pub fn allowed(self) -> &'static [Placeholder] {
        ALLOWED
            .iter()
            .find(|(field, _)| *field == self)
            .map_or(&[], |(_, allowed)| allowed)
    }

    /// The `{name}`s in `text` that are not allowed in this field (unknown
    /// names included), in order of appearance.
    pub fn misplaced(self, text: &str) -> Vec<&str> {
        names(text)
            .filter(|name| !Placeholder::from_name(name).is_some_and(|p| p.is_allowed_in(self)))
            .collect()
    }
}

/// The values to substitute; a placeholder without a value is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values<'a> {
    values: Vec<(Placeholder, &'a str)>,
}

impl<'a> Values<'a> {
    /// No values.
    pub fn new() -> Self {
        Values::default()
    }

    /// Sets `placeholder` to `value`.
    #[must_use]
    pub fn with(mut self, placeholder: Placeholder, value: &'a str) -> Self {
        self.set(placeholder, Some(value));
        self
    }

    /// Sets `placeholder` to `value`, or removes it when `value` is `None`.
    pub fn set(&mut self, placeholder: Placeholder, value: Option<&'a str>) {
        self.values.retain(|(known, _)| *known != placeholder);
        if let Some(value) = value {
            self.values.push((placeholder, value));
        }
    }

    /// The value of `placeholder`, if any.
    pub fn get(&self, placeholder: Placeholder) -> Option<&'a str> {
        self.values
            .iter()
            .find(|(known, _)| *known == placeholder)
            .map(|(_, value)| *value)
    }
}

/// Why a template could not be filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing(pub Placeholder);

/// Fills in every known placeholder of `template` in one pass. Text that is
/// not a known placeholder (unknown names, JSON or shell braces) is kept as
/// written. Fails with the first known placeholder that has no value.
pub fn substitute(template: &str, values: &Values<'_>) -> Result<String, Missing> {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Name(name) => match Placeholder::from_name(name) {
                Some(placeholder) => {
                    out.push_str(values.get(placeholder).ok_or(Missing(placeholder))?)
                }
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    Ok(out)
}

/// The names of the `{name}` placeholders in `text` (lowercase identifiers
/// and `_` only, so JSON or shell braces are not mistaken for placeholders),
/// known or not.
pub fn names(text: &str) -> impl Iterator<Item = &str> {
    pieces(text).filter_map(|piece| match piece {
        Piece::Name(name) => Some(name),
        Piece::Text(_) => None,
    })
}

/// A template cut into literal text and `{name}`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Name(&'a str),
}

fn pieces(text: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(open) = rest.find('{') else {
            let text = rest;
            rest = "";
            return Some(Piece::Text(text));
        };
        if open > 0 {
            let text = &rest[..open];
            rest = &rest[open..];
            return Some(Piece::Text(text));
        }
        // `rest` starts with `{`.
        let after = &rest[1..];
        if let Some(close) = after.find('}') {
            let name = &after[..close];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                rest = &after[close + 1..];
                return Some(Piece::Name(name));
            }
        }
        // A brace that opens no placeholder is text; scanning goes on after it.
        rest = after;
        Some(Piece::Text("{"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_has_a_unique_name_and_round_trips() {
        let all: Vec<Placeholder> = Placeholder::all().collect();
        assert_eq!(all.len(), 8);
        for placeholder in all {
            assert_eq!(
                Placeholder::from_name(placeholder.name()),
                Some(placeholder)
            );
            assert_eq!(placeholder.to_string(), placeholder.token());
        }
        assert_eq!(Placeholder::from_name("nope"), None);
    }

    #[test]
    fn the_table_says_where_each_placeholder_is_allowed() {
        use Placeholder::*;
        assert_eq!(
            Field::Command.allowed(),
            [Prompt, SessionId, ProjectDir, Model, OtlpSessionEndpoint]
        );
        assert_eq!(
            Field::Env.allowed(),
            [OtlpEndpoint, OtlpSessionEndpoint, SessionId, AgentId]
        );
        assert_eq!(Field::Merge.allowed(), [OtlpEndpoint]);
        assert_eq!(Field::SettingsPath.allowed(), [ProjectDir]);
        assert_eq!(Field::SidecarPattern.allowed(), [AgentId, Tmpdir]);
        assert_eq!(Field::VersionCommand.allowed(), []);
        assert!(ProjectDir.is_allowed_in(Field::SettingsPath));
        assert!(!Prompt.is_allowed_in(Field::Env));
        for (field, _) in ALLOWED {
            assert_eq!(ALLOWED.iter().filter(|(f, _)| f == field).count(), 1);
        }
    }

    #[test]
    fn names_skip_braces_that_are_not_placeholders() {
        let found: Vec<&str> = names(r#"{"a": 1} ${HOME} {{prompt}} {x_y}{} {"#).collect();
        assert_eq!(found, ["prompt", "x_y"]);
        assert_eq!(
            Field::Env.misplaced("{session_id}-{prompt}-{bogus}"),
            ["prompt", "bogus"]
        );
    }

    #[test]
    fn substitution_is_one_pass_and_keeps_what_is_not_a_placeholder() {
        let values = Values::new()
            .with(Placeholder::Prompt, "say {session_id} and {model}")
            .with(Placeholder::SessionId, "s1");
        assert_eq!(
            substitute("--p={prompt}/{session_id}", &values),
            Ok("--p=say {session_id} and {model}/s1".to_owned())
        );
        assert_eq!(
            substitute(r#"{"k": "{bogus}"} ${X}"#, &values),
            Ok(r#"{"k": "{bogus}"} ${X}"#.to_owned())
        );
        assert_eq!(
            substitute("--model={model}", &values),
            Err(Missing(Placeholder::Model))
        );
    }

    #[test]
    fn a_value_can_be_unset() {
        let mut values = Values::new().with(Placeholder::Model, "m");
        values.set(Placeholder::Model, None);
        assert_eq!(values.get(Placeholder::Model), None);
        assert_eq!(values, Values::new());
    }
}
