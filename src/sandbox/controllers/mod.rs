//! Simulated controllers, each a client of the API server.
