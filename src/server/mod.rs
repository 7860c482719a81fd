//! The RESP server: a thin layer over the engine. `listener` accepts,
//! `connection` decodes, executes and replies, `cmd` holds the commands.

pub mod cmd;
pub mod codec;
pub mod config;
pub mod connection;
pub mod cursors;
pub mod db;
pub mod durability;
pub mod error;
pub mod glob;
pub mod listener;
pub mod reply;
pub mod state;

pub use listener::run;
