//! Elle integration tests.
