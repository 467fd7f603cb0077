//! Tests for `crate::session`.
