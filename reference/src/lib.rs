//! # reference
//!
//! A compact Aurora, as specified in `shared/AURORA.md`.
