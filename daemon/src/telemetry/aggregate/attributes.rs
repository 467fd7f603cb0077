//! Reading OTLP attributes: a canonical, unambiguous encoding of an
//! attribute set (order-independent, type-tagged, length-prefixed) used to
//! key series, lookups of one attribute as text, and numbers from event
//! attributes, which agents send as integers, doubles or decimal strings.

use std::borrow::Cow;
use std::fmt::Write as _;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};

/// Nesting deeper than this is encoded as one marker. The decoders already
/// bound recursion; this keeps the encoder's own stack bounded whatever
/// built the message.
const MAX_DEPTH: usize = 16;

/// Appends the canonical encoding of `attributes` to `out`: sorted by key
/// (stably, so repeated keys keep their order), each key and value tagged
/// and length-prefixed so no two different sets encode alike.
pub fn encode_set(out: &mut String, attributes: &[KeyValue]) {
    encode_set_at(out, attributes, 0);
}

fn encode_set_at(out: &mut String, attributes: &[KeyValue], depth: usize) {
    let mut sorted: Vec<&KeyValue> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let _ = write!(out, "{{{}", sorted.len());
    for attribute in sorted {
        encode_text(out, &attribute.key);
        encode_value(out, attribute.value.as_ref(), depth);
    }
    out.push('}');
}

/// Appends `text` length-prefixed.
pub fn encode_text(out: &mut String, text: &str) {
    let _ = write!(out, "{}:{text}", text.len());
}

fn encode_value(out: &mut String, value: Option<&AnyValue>, depth: usize) {
    if depth >= MAX_DEPTH {
        out.push('~');
        return;
    }
    match value.and_then(|value| value.value.as_ref()) {
        None => out.push('n'),
        Some(Value::StringValue(text)) => {
            out.push('s');
            encode_text(out, text);
        }
        Some(Value::BoolValue(flag)) => out.push(if *flag { 'T' } else { 'F' }),
        Some(Value::IntValue(number)) => {
            let _ = write!(out, "i{number};");
        }
        Some(Value::DoubleValue(number)) => {
            // Bits, so -0.0 and NaN payloads stay distinct and exact.
            let _ = write!(out, "d{:x};", number.to_bits());
        }
        Some(Value::BytesValue(bytes)) => {
            let _ = write!(out, "x{}:", bytes.len());
            for byte in bytes {
                let _ = write!(out, "{byte:02x}");
            }
        }
        Some(Value::ArrayValue(array)) => {
            let _ = write!(out, "a{}[", array.values.len());
            for item in &array.values {
                encode_value(out, Some(item), depth + 1);
            }
            out.push(']');
        }
        Some(Value::KvlistValue(list)) => {
            out.push('k');
            encode_set_at(out, &list.values, depth + 1);
        }
        Some(Value::StringValueStrindex(index)) => {
            let _ = write!(out, "r{index};");
        }
    }
}

/// The value of attribute `key` as text: strings as they are, numbers and
/// booleans formatted; `None` when absent or of another type. The first
/// occurrence wins when a key repeats.
pub fn text<'a>(attributes: &'a [KeyValue], key: &str) -> Option<Cow<'a, str>> {
    let value = attributes
        .iter()
        .find(|attribute| attribute.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?;
    value_text(value)
}

/// A scalar value as text.
pub fn value_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::StringValue(text) => Some(Cow::Borrowed(text.as_str())),
        Value::IntValue(number) => Some(Cow::Owned(number.to_string())),
        Value::DoubleValue(number) => Some(Cow::Owned(number.to_string())),
        Value::BoolValue(flag) => Some(Cow::Owned(flag.to_string())),
        _ => None,
    }
}

/// A non-negative number read from an attribute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Double(f64),
}

/// The number in attribute `key`: `Ok(None)` when absent, an error when it
/// is present but not a number.
pub fn number(attributes: &[KeyValue], key: &str) -> Result<Option<Number>, String> {
    let Some(attribute) = attributes.iter().find(|attribute| attribute.key == key) else {
        return Ok(None);
    };
    match attribute
        .value
        .as_ref()
        .and_then(|value| value.value.as_ref())
    {
        None => Ok(None),
        Some(Value::IntValue(number)) => Ok(Some(Number::Int(*number))),
        Some(Value::DoubleValue(number)) => Ok(Some(Number::Double(*number))),
        Some(Value::StringValue(text)) => {
            let text = text.trim();
            if let Ok(number) = text.parse::<i64>() {
                Ok(Some(Number::Int(number)))
            } else if let Ok(number) = text.parse::<f64>() {
                Ok(Some(Number::Double(number)))
            } else {
                Err(format!("attribute {key} is not a number: {:?}", clip(text)))
            }
        }
        Some(_) => Err(format!("attribute {key} is not a number")),
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` shortened for an error message.
pub fn clip(text: &str) -> &str {
    truncate(text, 64)
}
