//! The RESP server: a thin layer over the engine.

pub mod codec;
pub mod db;
pub mod error;
pub mod reply;
