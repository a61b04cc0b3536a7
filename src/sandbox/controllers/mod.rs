//! Simulated controllers, each a client of the API server.

pub mod events;
pub mod provisioners;
pub mod resync;
pub mod gc;
pub mod revision;
pub mod statefulset;
pub mod volumes;
