//! The simulated API server.

pub mod auth;
pub mod cluster;
pub mod defaults;
pub mod discovery;
pub mod error;
pub mod events_v1;
pub mod eviction;
pub mod faults;
pub mod http;
pub mod http_tls;
pub mod openapi;
pub mod persist;
pub mod protobuf;
pub mod rbac;
pub mod selectors;
pub mod store;
pub mod strategic;
pub mod table;
pub mod validation;
pub mod watch;
pub mod writelog;
