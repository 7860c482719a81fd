//! Placeholder: the keys command family (being written).
use super::CommandSpec;

/// The keys commands.
pub const COMMANDS: &[CommandSpec] = &[];
