//! Placeholder: the connection command family (being written).
use super::CommandSpec;

/// The connection commands.
pub const COMMANDS: &[CommandSpec] = &[];
