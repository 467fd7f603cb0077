//! The per-request log event (`events.api_request`): which records are it
//! (by event name, `event.name` attribute or body, then the profile's
//! filter), the context-window figure from the latest main-model request,
//! and, for profiles without token metrics, the event tokens and cost. A
//! record an exporter sends again is recognised and counted once.

use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash as _, Hasher as _};

use flotilla_protocol::usage::{ContextUsage, TokenCounts};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use regex::Regex;

use super::attributes::{clip, encode_set, number, text};
use super::units::{NANO_USD, count_mut, to_units};
use super::{Ingested, MAX_NAME_BYTES, RECENT_EVENTS, SessionTelemetry, subtract_included};
use crate::profile::telemetry::ApiRequestEvent;

/// The event's attribute matchers, compiled once per session.
#[derive(Debug, Default)]
pub(super) struct EventMatchers {
    /// Attribute and anchored pattern (`None` if it does not compile, which
    /// validation reports; it then never matches).
    filter: Vec<(String, Option<Regex>)>,
    main_request: Vec<(String, Option<Regex>)>,
}

impl EventMatchers {
    /// Compiles `event`'s `filter` and `main_request` patterns, anchored to
    /// the whole value.
    pub(super) fn new(event: Option<&ApiRequestEvent>) -> Self {
        let compile = |matchers: &BTreeMap<String, String>| {
            matchers
                .iter()
                .map(|(attribute, pattern)| {
                    (
                        attribute.clone(),
                        Regex::new(&format!("^(?:{pattern})$")).ok(),
                    )
                })
                .collect()
        };
        event
            .map(|event| EventMatchers {
                filter: compile(&event.filter),
                main_request: compile(&event.main_request),
            })
            .unwrap_or_default()
    }
}

impl SessionTelemetry {
    pub(super) fn ingest_record(
        &mut self,
        event: &ApiRequestEvent,
        record: &LogRecord,
        now_unix_ms: u64,
        ingested: &mut Ingested,
    ) {
        let attributes = record.attributes.as_slice();
        if !is_event(record, &event.name) || !self.passes_filter(attributes) {
            ingested.ignored += 1;
            return;
        }
        let fingerprint = fingerprint(record);
        if fingerprint.is_some_and(|fingerprint| self.recent_events.contains(&fingerprint)) {
            ingested.ignored += 1;
            return;
        }
        match self.apply_record(event, record, now_unix_ms) {
            Ok(()) => {
                ingested.accepted += 1;
                if let Some(fingerprint) = fingerprint {
                    self.remember_event(fingerprint);
                }
                self.mark_changed(now_unix_ms);
            }
            Err(message) => ingested.reject(1, || format!("{:?}: {message}", clip(&event.name))),
        }
    }

    fn apply_record(
        &mut self,
        event: &ApiRequestEvent,
        record: &LogRecord,
        now_unix_ms: u64,
    ) -> Result<(), String> {
        let attributes = record.attributes.as_slice();
        let model = event
            .model
            .as_deref()
            .and_then(|attribute| text(attributes, attribute))
            .unwrap_or_default();
        if model.len() > MAX_NAME_BYTES {
            return Err(format!(
                "model name longer than {MAX_NAME_BYTES} bytes: {:?}",
                clip(&model)
            ));
        }
        let mut reported = TokenCounts::default();
        for (token_type, attribute) in event.token_attributes() {
            let Some(attribute) = attribute else { continue };
            if let Some(amount) = number(attributes, attribute)? {
                *count_mut(&mut reported, token_type) = to_units(amount.into(), 1)
                    .map_err(|message| format!("attribute {attribute}: {message}"))?;
            }
        }
        let tokens = subtract_included(&reported, &event.includes);
        let events_are_source = self.events_are_token_source();
        let cost_nano = match event.cost.as_deref().filter(|_| events_are_source) {
            Some(attribute) => match number(attributes, attribute)? {
                Some(amount) => Some(
                    to_units(amount.into(), NANO_USD)
                        .map_err(|message| format!("attribute {attribute}: {message}"))?,
                ),
                None => None,
            },
            None => None,
        };

        if events_are_source {
            self.register_model(&model)?;
            let state = self
                .models
                .get_mut(model.as_ref())
                .expect("the model was registered above");
            state.event_tokens.add(&tokens);
            if let Some(nano) = cost_nano {
                state.event_cost_nano =
                    Some(state.event_cost_nano.unwrap_or(0).saturating_add(nano));
            }
        }

        if self.is_main_request(attributes) {
            let time = [record.time_unix_nano, record.observed_time_unix_nano]
                .into_iter()
                .find(|time| *time != 0)
                .unwrap_or_else(|| now_unix_ms.saturating_mul(1_000_000));
            if self
                .context
                .as_ref()
                .is_none_or(|(latest, _)| time >= *latest)
            {
                let window_tokens = match self.models.get(model.as_ref()) {
                    Some(state) => state.price.as_ref(),
                    None => self.mapping.price_for(&model),
                }
                .and_then(|price| price.context_window);
                let context = ContextUsage {
                    model: model.into_owned(),
                    used_tokens: tokens
                        .input
                        .saturating_add(tokens.cache_read)
                        .saturating_add(tokens.cache_write),
                    window_tokens,
                };
                self.context = Some((time, context));
            }
        }
        Ok(())
    }

    fn passes_filter(&self, attributes: &[KeyValue]) -> bool {
        self.event_matchers
            .filter
            .iter()
            .all(|(attribute, pattern)| {
                text(attributes, attribute).is_some_and(|value| {
                    pattern
                        .as_ref()
                        .is_some_and(|pattern| pattern.is_match(&value))
                })
            })
    }

    fn is_main_request(&self, attributes: &[KeyValue]) -> bool {
        self.event_matchers
            .main_request
            .iter()
            .all(|(attribute, pattern)| match text(attributes, attribute) {
                None => true,
                Some(value) => pattern
                    .as_ref()
                    .is_some_and(|pattern| pattern.is_match(&value)),
            })
    }

    fn remember_event(&mut self, fingerprint: u64) {
        if self.recent_event_order.len() >= RECENT_EVENTS
            && let Some(oldest) = self.recent_event_order.pop_front()
        {
            self.recent_events.remove(&oldest);
        }
        self.recent_events.insert(fingerprint);
        self.recent_event_order.push_back(fingerprint);
    }
}

/// Whether `record` is the event `name`: by its event name field, its
/// `event.name` attribute (Claude Code puts a short name there and the full
/// one in the body) or its body.
fn is_event(record: &LogRecord, name: &str) -> bool {
    record.event_name == name
        || text(&record.attributes, "event.name").is_some_and(|value| value == name)
        || matches!(
            record.body.as_ref().and_then(|body| body.value.as_ref()),
            Some(Value::StringValue(body)) if body == name
        )
}

/// A fingerprint of a record to drop a re-sent copy (an exporter's retry),
/// or `None` for records without any timestamp, which cannot be told apart
/// from a genuinely repeated request.
fn fingerprint(record: &LogRecord) -> Option<u64> {
    if record.time_unix_nano == 0 && record.observed_time_unix_nano == 0 {
        return None;
    }
    let mut encoded = String::new();
    encode_set(&mut encoded, &record.attributes);
    let mut hasher = DefaultHasher::new();
    record.time_unix_nano.hash(&mut hasher);
    record.observed_time_unix_nano.hash(&mut hasher);
    record.event_name.hash(&mut hasher);
    encoded.hash(&mut hasher);
    Some(hasher.finish())
}
