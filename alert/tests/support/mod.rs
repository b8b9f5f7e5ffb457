//! Real peers shared by this crate's integration tests.

pub mod smtp;
