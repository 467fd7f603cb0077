//! Tests for `crate::link`.
