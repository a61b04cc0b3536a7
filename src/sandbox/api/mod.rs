//! The simulated API server.

pub mod error;
