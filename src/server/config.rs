//! Configuration: redis-server's names for flags and for the optional
//! redis.conf-style file (`name value` lines; flags override the file), and
//! the runtime copy that CONFIG GET/SET read and change.

use std::path::PathBuf;

use clap::Parser;

use crate::engine::FsyncPolicy;

/// Command-line flags (redis-server's names).
#[derive(Debug, Parser, Default)]
#[command(
    name = "slowpoke",
    version,
    about = "A Redis-compatible server that keeps keys in RAM and values on disk"
)]
pub struct Args {
    /// Optional config file (redis.conf style: `name value` per line).
    pub config_file: Option<PathBuf>,
    /// TCP port (0 = pick a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address(es) to listen on, space separated.
    #[arg(long)]
    pub bind: Option<String>,
    /// Data directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Password clients must AUTH with.
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Maximum number of connected clients.
    #[arg(long)]
    pub maxclients: Option<usize>,
    /// always | everysec | no.
    #[arg(long)]
    pub appendfsync: Option<String>,
    /// Close a client after this many idle seconds (0 = never).
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Largest bulk string a client may send (e.g. 512mb).
    #[arg(long = "proto-max-bulk-len")]
    pub proto_max_bulk_len: Option<String>,
    /// debug | verbose | notice | warning.
    #[arg(long)]
    pub loglevel: Option<String>,
    /// yes | no: refuse non-loopback clients when no password is set.
    #[arg(long = "protected-mode")]
    pub protected_mode: Option<String>,
    /// Data file size at which the active file rotates (e.g. 128mb).
    #[arg(long = "data-file-size")]
    pub data_file_size: Option<String>,
    /// Compact a sealed data file once this percentage of it is dead.
    #[arg(long = "compaction-threshold")]
    pub compaction_threshold: Option<String>,
    /// Compaction I/O limit per second (e.g. 64mb; 0 = unlimited).
    #[arg(long = "compaction-rate")]
    pub compaction_rate: Option<String>,
    /// Benchmarks only: delay every disk read by this many ms (simulates a HDD).
    #[arg(long = "debug-read-latency-ms", hide = true)]
    pub debug_read_latency_ms: Option<u64>,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// TCP port.
    pub port: u16,
    /// Addresses to bind.
    pub bind: Vec<String>,
    /// Data directory.
    pub dir: PathBuf,
    /// Password, if any.
    pub requirepass: Option<String>,
    /// Client limit.
    pub maxclients: usize,
    /// fsync policy.
    pub appendfsync: FsyncPolicy,
    /// Idle timeout in seconds (0 = never).
    pub timeout: u64,
    /// Largest bulk argument.
    pub proto_max_bulk_len: usize,
    /// Log level name (Redis's).
    pub loglevel: String,
    /// Protected mode.
    pub protected_mode: bool,
    /// Data file rotation size.
    pub data_file_size: u64,
    /// The config file, if one was given.
    pub config_file: Option<PathBuf>,
    /// Dead percentage at which a data file is compacted.
    pub compaction_threshold: u8,
    /// Compaction bytes per second (0 = unlimited).
    pub compaction_rate: u64,
    /// Simulated read latency (benchmarks), ms.
    pub debug_read_latency_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            dir: PathBuf::from("./data"),
            requirepass: None,
            maxclients: 10_000,
            appendfsync: FsyncPolicy::EverySec,
            timeout: 0,
            proto_max_bulk_len: 512 * 1024 * 1024,
            loglevel: "notice".into(),
            protected_mode: true,
            data_file_size: 128 * 1024 * 1024,
            config_file: None,
            compaction_threshold: 50,
            compaction_rate: 64 * 1024 * 1024,
            debug_read_latency_ms: 0,
        }
    }
}

/// Parses a Redis memory size: `1024`, `1k` (1000), `1kb` (1024), `mb`, `gb`.
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mul)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// Splits a config-file line into words (double quotes group words).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

impl Config {
    /// Applies one `name value...` setting; `Err` carries Redis's text.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let bad =
            || format!("argument couldn't be parsed into an integer or invalid value for '{name}'");
        match name.to_ascii_lowercase().as_str() {
            "port" => self.port = value.parse().map_err(|_| bad())?,
            "bind" => self.bind = value.split_whitespace().map(str::to_string).collect(),
            "dir" => self.dir = PathBuf::from(value),
            "requirepass" => self.requirepass = (!value.is_empty()).then(|| value.to_string()),
            "maxclients" => {
                self.maxclients = value.parse().ok().filter(|&n: &usize| n >= 1).ok_or_else(bad)?
            }
            "appendfsync" => self.appendfsync = FsyncPolicy::parse(value).ok_or_else(|| "argument(s) must be one of the following: always, everysec, no".to_string())?,
            "timeout" => self.timeout = value.parse().map_err(|_| bad())?,
            "proto-max-bulk-len" => {
                let n = parse_memory(value).filter(|&n| n >= 1024 * 1024).ok_or_else(bad)?;
                self.proto_max_bulk_len = usize::try_from(n).map_err(|_| bad())?
            }
            "loglevel" => match value.to_ascii_lowercase().as_str() {
                "debug" | "verbose" | "notice" | "warning" | "nothing" => self.loglevel = value.to_ascii_lowercase(),
                _ => return Err("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into()),
            },
            "protected-mode" => self.protected_mode = parse_bool(value).ok_or_else(|| "argument must be 'yes' or 'no'".to_string())?,
            "data-file-size" => self.data_file_size = parse_memory(value).filter(|&n| n >= 4096).ok_or_else(bad)?,
                        "compaction-threshold" => {
                self.compaction_threshold = value.parse().ok().filter(|&p: &u8| (1..=100).contains(&p)).ok_or_else(bad)?
            }
            "compaction-rate" => self.compaction_rate = parse_memory(value).ok_or_else(bad)?,
            "debug-read-latency-ms" => self.debug_read_latency_ms = value.parse().map_err(|_| bad())?,
            _ => return Err(format!("Bad directive or wrong number of arguments: {name}")),
        }
        Ok(())
    }

    /// Reads a redis.conf-style file.
    pub fn load_file(&mut self, path: &std::path::Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let w = words(line);
            let Some((name, rest)) = w.split_first() else {
                continue;
            };
            let value = rest.join(" ");
            self.set(name, &value)
                .map_err(|e| format!("config file {} line {}: {e}", path.display(), n + 1))?;
        }
        self.config_file = Some(path.to_path_buf());
        Ok(())
    }

    /// Defaults, then the config file, then the flags.
    pub fn from_args(args: &Args) -> Result<Config, String> {
        let mut c = Config::default();
        if let Some(path) = &args.config_file {
            c.load_file(path)?;
        }
        let flags: [(&str, Option<String>); 14] = [
            ("port", args.port.map(|p| p.to_string())),
            ("bind", args.bind.clone()),
            ("dir", args.dir.as_ref().map(|d| d.display().to_string())),
            ("requirepass", args.requirepass.clone()),
            ("maxclients", args.maxclients.map(|n| n.to_string())),
            ("appendfsync", args.appendfsync.clone()),
            ("timeout", args.timeout.map(|n| n.to_string())),
            ("proto-max-bulk-len", args.proto_max_bulk_len.clone()),
            ("loglevel", args.loglevel.clone()),
            ("protected-mode", args.protected_mode.clone()),
            ("data-file-size", args.data_file_size.clone()),
            ("compaction-threshold", args.compaction_threshold.clone()),
            ("compaction-rate", args.compaction_rate.clone()),
            (
                "debug-read-latency-ms",
                args.debug_read_latency_ms.map(|n| n.to_string()),
            ),
        ];
        for (name, value) in flags {
            if let Some(v) = value {
                c.set(name, &v).map_err(|e| format!("--{name}: {e}"))?;
            }
        }
        Ok(c)
    }

    /// The tracing filter for the Redis log level.
    pub fn tracing_level(&self) -> &'static str {
        match self.loglevel.as_str() {
            "debug" => "debug",
            "verbose" => "info",
            "notice" => "info",
            "warning" => "warn",
            _ => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_as_redis() {
        assert_eq!(parse_memory("512mb"), Some(512 * 1024 * 1024));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("12x"), None);
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("slowpoke.conf");
        std::fs::write(
            &path,
            "# comment\nport 7000\nappendfsync always\nrequirepass \"a b\"\n",
        )
        .expect("write");
        let args = Args {
            config_file: Some(path),
            port: Some(7001),
            ..Default::default()
        };
        let c = Config::from_args(&args).expect("parses");
        assert_eq!(c.port, 7001);
        assert_eq!(c.appendfsync, FsyncPolicy::Always);
        assert_eq!(c.requirepass.as_deref(), Some("a b"));
    }
}
