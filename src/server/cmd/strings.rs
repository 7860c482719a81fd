//! Placeholder: the strings command family (being written).
use super::CommandSpec;

/// The strings commands.
pub const COMMANDS: &[CommandSpec] = &[];
