//! Tests for `crate::project`.
