//! Placeholder: the scan command family (being written).
use super::CommandSpec;

/// The scan commands.
pub const COMMANDS: &[CommandSpec] = &[];
