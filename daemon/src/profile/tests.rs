//! Tests for `crate::profile`.
