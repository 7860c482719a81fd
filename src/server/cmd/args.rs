//! Argument parsing shared by all commands: integers and floats with
//! Redis's rules, case-insensitive keywords, and expiry options.

use bytes::Bytes;

pub use crate::server::error::parse_i64;
use crate::server::error::CommandError;

/// True when `arg` equals `keyword` ignoring ASCII case.
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// Parses a Redis float (as `strtold` accepts it; no NaN; `inf` allowed
/// where Redis allows it), else `ERR value is not a valid float`.
pub fn parse_f64(arg: &[u8]) -> Result<f64, CommandError> {
    let s = std::str::from_utf8(arg).map_err(|_| CommandError::NotFloat)?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Err(CommandError::NotFloat);
    }
    let lower = s.to_ascii_lowercase();
    let v = match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        _ => s.parse::<f64>().map_err(|_| CommandError::NotFloat)?,
    };
    if v.is_nan() {
        return Err(CommandError::NotFloat);
    }
    Ok(v)
}

/// Formats a float the way INCRBYFLOAT replies (`%.17Lg`, then trailing
/// zeros of a fractional part removed).
pub fn format_float(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == v.trunc() && v.abs() < 1e17 {
        return format!("{}", v as i128);
    }
    // Shortest representation that round-trips, like %.17g trimmed.
    let s = format!("{v}");
    if s.contains('e') {
        let p = format!("{v:.17e}");
        return p;
    }
    s
}

/// Lowercase copy of a command name, for error texts.
pub fn name_of(args: &[Bytes]) -> String {
    args.first()
        .map(|n| String::from_utf8_lossy(n).to_lowercase())
        .unwrap_or_default()
}

/// Returns a UTF-8 view of an argument for texts (lossy).
pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}
