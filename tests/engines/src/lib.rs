//! Helpers for engine tests.
