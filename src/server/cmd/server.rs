//! Placeholder: the server command family (being written).
use super::CommandSpec;

/// The server commands.
pub const COMMANDS: &[CommandSpec] = &[];
