//! The fuzz targets' checks (`fuzz/src/lib.rs`) on stable Rust, with a
//! seeded generator and a bounded number of inputs, so that `cargo test`
//! runs them without nightly or cargo-fuzz. The generators are biased
//! towards the protocol (tokens, valid commands, then mutated bytes) to
//! get past the first header; cargo-fuzz explores further.
//!
//! Promise: the codec never panics and never returns a command its
//! consumed bytes do not say; no command panics or replies with a
//! malformed frame. `FUZZ_SEED=N` replays a run; the seed is printed.

#[path = "../fuzz/src/lib.rs"]
mod oracle;

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Upper bounds per test: whichever comes first.
const CODEC_INPUTS: usize = 1_000_000;
const COMMAND_INPUTS: usize = 30_000;
const TIME_BUDGET: Duration = Duration::from_secs(20);

fn seed() -> u64 {
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("FUZZ_SEED={seed}");
    seed
}

const TOKENS: &[&[u8]] = &[
    b"*",
    b"$",
    b"\r\n",
    b"\r",
    b"\n",
    b"-1",
    b"0",
    b"1",
    b"2",
    b"3",
    b"-",
    b"01",
    b"-0",
    b"99999999999999999999",
    b"9223372036854775807",
    b"536870913",
    b"1048577",
    b" ",
    b"\t",
    b"\x0b",
    b"\"",
    b"'",
    b"\\",
    b"\\x4",
    b"\\x41",
    b"\0",
    b"\xff",
    b"PING",
    b"SET",
    b"GET",
    b"*1\r\n$4\r\nPING\r\n",
    b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    b"*0\r\n",
    b"*-1\r\n",
];

/// Encodes a command as a RESP array of bulk strings.
fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn random_arg(rng: &mut StdRng) -> Vec<u8> {
    let n = rng.gen_range(0..12);
    (0..n).map(|_| rng.gen::<u8>()).collect()
}

/// Codec input: split header (see `split_input`), then a mix of tokens,
/// random bytes, valid commands and mutated valid commands.
fn codec_input(rng: &mut StdRng) -> Vec<u8> {
    let mut out = vec![rng.gen::<u8>()];
    for _ in 0..8 {
        out.extend_from_slice(&rng.gen::<u16>().to_le_bytes());
    }
    let parts = rng.gen_range(1..12);
    for _ in 0..parts {
        match rng.gen_range(0..4) {
            0 => out.extend_from_slice(TOKENS[rng.gen_range(0..TOKENS.len())]),
            1 => {
                let n = rng.gen_range(1..16);
                out.extend((0..n).map(|_| rng.gen::<u8>()));
            }
            2 => {
                let args: Vec<Vec<u8>> =
                    (0..rng.gen_range(1..4)).map(|_| random_arg(rng)).collect();
                out.extend_from_slice(&encode(&args));
            }
            _ => {
                let args: Vec<Vec<u8>> =
                    (0..rng.gen_range(1..4)).map(|_| random_arg(rng)).collect();
                let mut wire = encode(&args);
                for _ in 0..rng.gen_range(1..3) {
                    let at = rng.gen_range(0..wire.len());
                    match rng.gen_range(0..3) {
                        0 => wire[at] = rng.gen(),
                        1 => {
                            wire.remove(at);
                        }
                        _ => wire.insert(at, rng.gen()),
                    }
                    if wire.is_empty() {
                        break;
                    }
                }
                out.extend_from_slice(&wire);
            }
        }
    }
    out
}

#[test]
fn codec_fuzz_smoke() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut done = 0;
    while done < CODEC_INPUTS && started.elapsed() < TIME_BUDGET {
        let input = codec_input(&mut rng);
        let result = std::panic::catch_unwind(|| oracle::check_codec(&input));
        if let Err(e) = result {
            panic!(
                "seed {seed}, input {done}: {:?}\ninput bytes: {:?}",
                e.downcast_ref::<String>()
                    .map(String::as_str)
                    .unwrap_or("panic"),
                String::from_utf8_lossy(&input)
            );
        }
        done += 1;
    }
    println!(
        "codec: {done} inputs in {} ms",
        started.elapsed().as_millis()
    );
    assert!(done >= 1_000, "only {done} inputs checked");
}

/// Words that make commands go past argument parsing.
const WORDS: &[&str] = &[
    "k",
    "k2",
    "{k}",
    "*",
    "0",
    "1",
    "-1",
    "10",
    "100",
    "1.5",
    "-0",
    "9223372036854775807",
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "NX",
    "XX",
    "GT",
    "LT",
    "GET",
    "KEEPTTL",
    "PERSIST",
    "COUNT",
    "MATCH",
    "TYPE",
    "string",
    "LIMIT",
    "WITHVALUES",
    "REV",
    "[a",
    "(a",
    "-",
    "+",
    "REPLACE",
    "DB",
    "ABSYNC",
    "SYNC",
    "NOSAVE",
    "3",
    "2",
    "AUTH",
    "default",
    "SETNAME",
    "LIB-NAME",
    "GETKEYS",
    "INFO",
    "DOCS",
    "appendfsync",
    "maxclients",
    "timeout",
    "",
];

fn command_input(rng: &mut StdRng, names: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.gen_range(1..6) {
        let mut args = names[rng.gen_range(0..names.len())].clone();
        for _ in 0..rng.gen_range(0..6) {
            args.push(if rng.gen_bool(0.8) {
                WORDS[rng.gen_range(0..WORDS.len())].as_bytes().to_vec()
            } else {
                random_arg(rng)
            });
        }
        if rng.gen_bool(0.3) {
            // Inline form, as telnet sends it.
            let words: Vec<String> = args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            out.extend_from_slice(words.join(" ").as_bytes());
            out.extend_from_slice(b"\r\n");
        } else {
            out.extend_from_slice(&encode(&args));
        }
    }
    if rng.gen_bool(0.1) {
        let at = rng.gen_range(0..out.len());
        out[at] = rng.gen();
    }
    out
}

#[test]
fn command_fuzz_smoke() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    // Every table name, subcommands as two words; SHUTDOWN only asks a
    // server that is not running here to stop.
    let names: Vec<Vec<Vec<u8>>> = slowpoke::server::cmd::all()
        .map(|c| c.name.split('|').map(|w| w.as_bytes().to_vec()).collect())
        .collect();
    assert!(
        names.len() > 20,
        "command table has {} entries",
        names.len()
    );
    let harness = oracle::CommandHarness::new();
    let started = Instant::now();
    let mut done = 0;
    while done < COMMAND_INPUTS && started.elapsed() < TIME_BUDGET {
        let input = command_input(&mut rng, &names);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| harness.run(&input)));
        if let Err(e) = result {
            panic!(
                "seed {seed}, input {done}: {:?}\ninput bytes: {:?}",
                e.downcast_ref::<String>()
                    .map(String::as_str)
                    .unwrap_or("panic"),
                String::from_utf8_lossy(&input)
            );
        }
        done += 1;
    }
    println!(
        "commands: {done} inputs in {} ms",
        started.elapsed().as_millis()
    );
    assert!(done >= 1_000, "only {done} inputs checked");
}
