//! RespCodec::decode over arbitrary bytes split at arbitrary points: no
//! panic, the same result whatever the split, and every command decoded
//! is what the bytes it consumed say (see `slowpoke_fuzz::check_codec`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slowpoke_fuzz::check_codec(data);
});
