//! The `slowpoke` binary: flags -> Config -> server::run. `slowpoke check
//! DIR` verifies a data directory offline.

use std::process::ExitCode;

use clap::Parser;
use slowpoke::server::config::{Args, Config};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("check") {
        return check(&argv[2..]);
    }
    let args = Args::parse();
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("slowpoke: {e}");
            return ExitCode::from(1);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(config.tracing_level()));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("slowpoke: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(slowpoke::server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(1)
        }
    }
}

/// `slowpoke check DIR`: verifies every record and hint of a data directory
/// without changing it; exits 1 when anything is damaged.
fn check(rest: &[String]) -> ExitCode {
    let [dir] = rest else {
        eprintln!("usage: slowpoke check DIR");
        return ExitCode::from(2);
    };
    let now = slowpoke::engine::Clock::now_ms(&slowpoke::engine::SystemClock);
    match slowpoke::engine::check_dir(std::path::Path::new(dir), now) {
        Ok(report) => {
            println!("data files:     {}", report.files);
            println!("good records:   {}", report.records);
            println!("live keys:      {}", report.keys);
            println!(
                "hint files:     {} good, {} bad",
                report.good_hints,
                report.bad_hints.len()
            );
            for d in &report.damage {
                println!(
                    "damaged: file {:010}.data offset {} length {}: {}",
                    d.file, d.offset, d.len, d.reason
                );
            }
            for h in &report.bad_hints {
                println!("bad hint: {h:010}.hint (ignored on open; the data file is read instead)");
            }
            if report.damage.is_empty() && report.bad_hints.is_empty() {
                println!("OK");
                ExitCode::SUCCESS
            } else {
                println!("DAMAGED");
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("slowpoke check: {e}");
            ExitCode::from(2)
        }
    }
}
