//! The `slowpoke` binary (server entry point; filled in with the server).
fn main() {}
