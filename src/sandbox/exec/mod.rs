//! Exec into simulated containers.
