//! # workloads
//!
//! Op generators (bank, register, list-append) and the small client trait through which they talk to
//! a system under test. This crate knows nothing of the reference Aurora: the harness implements the
//! client trait for it, and a real database can implement it too.
