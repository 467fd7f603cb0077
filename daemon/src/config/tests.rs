//! Tests for `crate::config`.
