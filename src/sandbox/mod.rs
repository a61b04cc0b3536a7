//! The sandbox: a local, simulated Kubernetes cluster.
//!
//! `api` is the API server (object store, API semantics, HTTP); `controllers`
//! are clients of it, each mirroring one upstream controller; `node` and `exec`
//! simulate what a kubelet and container runtime would hold on a node.

pub mod api;
pub mod controllers;
pub mod exec;
pub mod node;
pub mod resources;
