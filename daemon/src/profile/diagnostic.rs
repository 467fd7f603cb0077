//! Profile diagnostics: one problem, with the file, line, column and YAML
//! field path, plus the small index that maps a field path back to where it
//! is written in the YAML source (for rules checked after deserialization).

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};
use thiserror::Error;

/// One problem in a profile file. Displays as `file:line:column: path: message`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{line}:{column}: {path}: {message}")]
pub struct Diagnostic {
    /// The file name, e.g. `claude.yaml`.
    pub file: String,
    /// 1-based line; 0 when the position is unknown.
    pub line: u64,
    /// 1-based column; 0 when the position is unknown.
    pub column: u64,
    /// The YAML field path, e.g. `telemetry.pricing[0].match.regex`, or
    /// `<root>` for the document itself.
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at `path` whose position is not known yet (see
    /// [`Positions::locate`]).
    pub fn at(file: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_owned(),
            line: 0,
            column: 0,
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Where each field path of a YAML document is written: the key's position
/// for mapping entries, the item's position for sequence items.
#[derive(Debug, Default)]
pub struct Positions {
    by_path: HashMap<String, (u64, u64)>,
}

/// One open collection while walking the event stream.
enum Frame {
    /// A mapping; `key` is the pending key's path once read, `None` while a
    /// key is expected.
    Mapping { path: String, key: Option<String> },
    /// A sequence and the index of its next item.
    Sequence { path: String, next: usize },
}

impl Positions {
    /// Indexes `text`. A YAML syntax error stops the walk; what was indexed
    /// until then is kept (the syntax error is reported by deserialization).
    pub fn index(text: &str) -> Self {
        let mut positions = Positions::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        while let Some(Ok((event, span))) = parser.next_event() {
            let position = (span.start.line() as u64, span.start.col() as u64 + 1);
            match event {
                Event::Scalar(value, ..) => {
                    if let Some(Frame::Mapping { path, key }) = stack.last_mut()
                        && key.is_none()
                    {
                        let child = join_key(path, &value);
                        positions.by_path.entry(child.clone()).or_insert(position);
                        *key = Some(child);
                    } else {
                        positions.node(&mut stack, position);
                    }
                }
                Event::Alias(..) => {
                    positions.node(&mut stack, position);
                }
                Event::MappingStart(..) => {
                    let path = positions.node(&mut stack, position);
                    stack.push(Frame::Mapping { path, key: None });
                }
                Event::SequenceStart(..) => {
                    let path = positions.node(&mut stack, position);
                    stack.push(Frame::Sequence { path, next: 0 });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        positions
    }

    /// The position of `path`, or of its closest indexed ancestor.
    pub fn find(&self, path: &str) -> Option<(u64, u64)> {
        let mut path = path;
        loop {
            if let Some(position) = self.by_path.get(path) {
                return Some(*position);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }

    /// Fills in the position of every diagnostic that has none.
    pub fn locate(&self, diagnostics: &mut [Diagnostic]) {
        for diagnostic in diagnostics.iter_mut().filter(|d| d.line == 0) {
            if let Some((line, column)) = self.find(&diagnostic.path) {
                diagnostic.line = line;
                diagnostic.column = column;
            } else {
                diagnostic.line = 1;
                diagnostic.column = 1;
            }
        }
    }

    /// Records a value node and returns its path: the pending key of the
    /// enclosing mapping, or the next index of the enclosing sequence.
    fn node(&mut self, stack: &mut [Frame], position: (u64, u64)) -> String {
        match stack.last_mut() {
            None => String::new(),
            Some(Frame::Mapping { key, .. }) => key.take().unwrap_or_default(),
            Some(Frame::Sequence { path, next }) => {
                let child = format!("{path}[{next}]");
                *next += 1;
                self.by_path.entry(child.clone()).or_insert(position);
                child
            }
        }
    }
}

/// `parent.key`, or `key` at the root.
pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}
