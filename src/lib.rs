//! Slowpoke: a Redis-compatible server that keeps keys in RAM and values on
//! disk. `engine` is the embeddable storage engine (no tokio, no network);
//! `server` is the RESP server built on it.
#![deny(clippy::unwrap_used)]

pub mod engine;
pub mod server;
