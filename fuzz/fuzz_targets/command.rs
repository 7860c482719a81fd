//! Decoded commands executed in process against a real engine in a
//! temporary directory, no network: no panic, and every reply is one
//! well-formed RESP2/RESP3 frame that agrees with the command table
//! (see `slowpoke_fuzz::CommandHarness`).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use slowpoke_fuzz::CommandHarness;

static HARNESS: OnceLock<CommandHarness> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    HARNESS.get_or_init(CommandHarness::new).run(data);
});
