//! The only place with Redis error text. A `CommandError` is replied and
//! the connection stays open; engine failures become texts clients already
//! handle (`MISCONF` for a disk that cannot take writes), with the file and
//! offset going to the log instead of the client.

use std::fmt;

use crate::engine;

/// Why a command failed. `Display` renders the exact reply text (without
/// the leading `-`).
#[derive(Debug)]
pub enum CommandError {
    /// `ERR wrong number of arguments for 'x' command`.
    WrongArity(String),
    /// `ERR syntax error`.
    Syntax,
    /// `ERR value is not an integer or out of range`.
    NotInteger,
    /// `ERR value is out of range, value must between ...` (an integer
    /// argument Redis reads as a C int: DB indexes).
    NotInt32,
    /// `ERR value is not a valid float`.
    NotFloat,
    /// `ERR increment or decrement would overflow`.
    Overflow,
    /// `ERR unknown command ...` (the name and the args to echo, as sent).
    UnknownCommand(Vec<u8>, Vec<Vec<u8>>),
    /// `ERR unknown subcommand 'x'. Try Y HELP.`
    UnknownSubcommand(String, String),
    /// `NOAUTH Authentication required.`
    NoAuth,
    /// `WRONGPASS invalid username-password pair or user is disabled.`
    WrongPass,
    /// `WRONGTYPE ...`
    WrongType,
    /// `ERR invalid expire time in 'x' command`.
    InvalidExpire(String),
    /// `ERR Unsupported option x` (EXPIRE's options; x as sent).
    UnsupportedOption(Vec<u8>),
    /// `ERR DB index is out of range`.
    DbIndexOutOfRange,
    /// `ERR string exceeds maximum allowed size (proto-max-bulk-len)`.
    StringTooLong,
    /// `ERR invalid cursor` (Redis's text for a malformed cursor; also a
    /// cursor this server does not remember).
    InvalidCursor,
    /// A Redis error text that has no variant of its own; must include the
    /// error code prefix (e.g. `ERR`, `EXECABORT`).
    Text(String),
    /// The storage engine failed.
    Engine(engine::Error),
}

impl CommandError {
    /// An error with a fixed text (including its `ERR ` or other prefix).
    pub fn text(s: impl Into<String>) -> Self {
        CommandError::Text(s.into())
    }
}

impl From<engine::Error> for CommandError {
    fn from(e: engine::Error) -> Self {
        CommandError::Engine(e)
    }
}

/// At most `max` bytes of `s` (on a character boundary), for echoing a
/// client's text in an error.
fn preview(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// What C's `printf("%.*s", max, s)` prints of `s`: at most `max` bytes,
/// ending at the first NUL.
fn c_prefix(s: &[u8], max: usize) -> &[u8] {
    let s = &s[..s.len().min(max)];
    s.iter().position(|&b| b == 0).map_or(s, |nul| &s[..nul])
}

/// `c_prefix` as text (invalid UTF-8 shown as U+FFFD).
fn c_string(s: &[u8], max: usize) -> String {
    String::from_utf8_lossy(c_prefix(s, max)).into_owned()
}

/// A client's argument as Redis's error texts show it (printf `%s`: up to
/// the first NUL byte), for the texts built by the command modules.
pub fn c_text(arg: &[u8]) -> String {
    c_string(arg, usize::MAX)
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::WrongArity(cmd) => {
                write!(
                    f,
                    "ERR wrong number of arguments for '{}' command",
                    cmd.to_lowercase()
                )
            }
            CommandError::Syntax => f.write_str("ERR syntax error"),
            CommandError::NotInteger => f.write_str("ERR value is not an integer or out of range"),
            CommandError::NotInt32 => f.write_str(
                "ERR value is out of range, value must between -2147483648 and 2147483647",
            ),
            CommandError::NotFloat => f.write_str("ERR value is not a valid float"),
            CommandError::Overflow => f.write_str("ERR increment or decrement would overflow"),
            CommandError::UnknownCommand(name, args) => {
                // Redis echoes arguments until the list reaches 128 bytes,
                // each cut to what is left of that budget; its `%.*s` also
                // stops at a NUL byte. Budgets count the bytes as sent.
                write!(
                    f,
                    "ERR unknown command '{}', with args beginning with: ",
                    c_string(name, 128)
                )?;
                let mut used = 0;
                for a in args {
                    if used >= 128 {
                        break;
                    }
                    let shown = c_prefix(a, 128 - used);
                    used += shown.len() + 3;
                    write!(f, "'{}' ", String::from_utf8_lossy(shown))?;
                }
                Ok(())
            }
            CommandError::UnknownSubcommand(sub, cmd) => {
                write!(
                    f,
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    preview(sub.split('\0').next().unwrap_or_default(), 128),
                    cmd.to_uppercase()
                )
            }
            CommandError::NoAuth => f.write_str("NOAUTH Authentication required."),
            CommandError::WrongPass => {
                f.write_str("WRONGPASS invalid username-password pair or user is disabled.")
            }
            CommandError::WrongType => {
                f.write_str("WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            CommandError::InvalidExpire(cmd) => {
                write!(
                    f,
                    "ERR invalid expire time in '{}' command",
                    cmd.to_lowercase()
                )
            }
            CommandError::UnsupportedOption(opt) => {
                // addReplyErrorFormat: `%s` stops at a NUL, line breaks at
                // the end are trimmed (the rest become spaces when replied).
                let shown = c_prefix(opt, usize::MAX);
                let end = shown
                    .iter()
                    .rposition(|&b| b != b'\r' && b != b'\n')
                    .map_or(0, |i| i + 1);
                write!(
                    f,
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(&shown[..end])
                )
            }
            CommandError::DbIndexOutOfRange => f.write_str("ERR DB index is out of range"),
            CommandError::StringTooLong => {
                f.write_str("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
            }
            CommandError::InvalidCursor => f.write_str("ERR invalid cursor"),
            CommandError::Text(t) => f.write_str(t),
            CommandError::Engine(e) => engine_error_text(e, f),
        }
    }
}

fn engine_error_text(e: &engine::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use engine::Error as E;
    match e {
        E::TooLarge { .. } => {
            f.write_str("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        }
        E::Io { source, .. } if e.is_disk_full() => write!(
            f,
            "MISCONF Slowpoke cannot write to its data directory ({source}). \
             Commands that may modify the data set are refused until there is space again."
        ),
        E::Io { source, .. } => write!(f, "ERR I/O error in the data directory: {source}"),
        E::Poisoned(why) => write!(
            f,
            "MISCONF Slowpoke refuses writes after a failed write or fsync ({why}). \
             Restart the server once the disk is healthy."
        ),
        E::Corrupt { .. } => {
            f.write_str("ERR data corruption detected in the data directory (see the server log)")
        }
        E::Closed => f.write_str("ERR server is shutting down"),
        E::Locked { .. } | E::BadHeader { .. } => write!(f, "ERR {e}"),
    }
}

/// Parses a Redis integer argument (`ERR value is not an integer or out of range`).
pub fn parse_i64(arg: &[u8]) -> Result<i64, CommandError> {
    std::str::from_utf8(arg)
        .ok()
        .filter(|s| !s.is_empty() && !s.starts_with('+') && s.len() <= 20)
        .filter(|s| !(s.len() > 1 && (s.starts_with('0') || s.starts_with("-0"))))
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or(CommandError::NotInteger)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_parsing_matches_redis_string2ll() {
        assert_eq!(parse_i64(b"42").ok(), Some(42));
        assert_eq!(parse_i64(b"-9223372036854775808").ok(), Some(i64::MIN));
        assert_eq!(parse_i64(b"0").ok(), Some(0));
        for bad in [
            &b""[..],
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1.0",
            b"abc",
        ] {
            assert!(
                parse_i64(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn texts_match_redis() {
        assert_eq!(
            CommandError::WrongArity("GET".into()).to_string(),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(
            CommandError::UnknownCommand("foo".into(), vec!["a".into(), "b".into()]).to_string(),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            CommandError::UnsupportedOption(b"a\r\nb\r\n\0c".to_vec()).to_string(),
            "ERR Unsupported option a\r\nb"
        );
        // printf's %s stops at a NUL byte.
        assert_eq!(
            CommandError::UnknownCommand(b"f\0oo".to_vec(), vec![b"k\0\xff".to_vec()]).to_string(),
            "ERR unknown command 'f', with args beginning with: 'k' "
        );
    }
}
