//! `Reply`: what a command answers, independent of the protocol version,
//! and its rendering as RESP2 or RESP3 bytes (Redis 7's choices: maps flatten
//! to arrays in RESP2, doubles become bulk strings, nulls become `$-1`/`*-1`).

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};

/// A reply, before it is rendered for the connection's protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`.
    Ok,
    /// A status (simple string) reply.
    Simple(Cow<'static, str>),
    /// An error reply; the text includes its prefix (`ERR ...`).
    Error(Cow<'static, str>),
    /// An integer.
    Int(i64),
    /// A bulk string.
    Bulk(Bytes),
    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// A missing array: `*-1` in RESP2, `_` in RESP3.
    NullArray,
    /// An array.
    Array(Vec<Reply>),
    /// A map: `%` in RESP3, a flat array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// A set: `~` in RESP3, an array in RESP2.
    Set(Vec<Reply>),
    /// A double: `,` in RESP3, a bulk string in RESP2.
    Double(f64),
    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    Bool(bool),
    /// Verbatim text (`=` with `txt:` in RESP3, a bulk string in RESP2).
    Verbatim(String),
    /// No reply at all (SHUTDOWN closes the connection without one).
    Nothing,
    /// A reply in a fixed protocol version, whatever the connection's: an
    /// EXEC whose HELLO switched protocols renders each reply in the
    /// version current when its command ran, as Redis does.
    Proto(u8, Box<Reply>),
}

impl Reply {
    /// A bulk string from anything byte-like.
    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    /// A bulk string copied from a slice.
    pub fn bulk_from(b: &[u8]) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(b))
    }

    /// A status reply.
    pub fn simple(s: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Simple(s.into())
    }

    /// An array of bulk strings.
    pub fn bulks<I, B>(items: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        Reply::Array(items.into_iter().map(|b| Reply::Bulk(b.into())).collect())
    }

    /// True for error replies.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends the reply's bytes for protocol version `proto` (2 or 3).
    pub fn write_to(&self, out: &mut BytesMut, proto: u8) {
        let resp3 = proto >= 3;
        match self {
            Reply::Ok => out.put_slice(b"+OK\r\n"),
            Reply::Simple(s) => line(out, b'+', s.as_bytes()),
            // An error line must stay one line whatever a client sent us
            // (Redis replaces CR and LF with spaces too).
            Reply::Error(e) if e.contains(['\r', '\n']) => {
                line(out, b'-', e.replace(['\r', '\n'], " ").as_bytes())
            }
            Reply::Error(e) => line(out, b'-', e.as_bytes()),
            Reply::Int(i) => {
                let mut buf = itoa_buf();
                line(out, b':', fmt_int(&mut buf, *i));
            }
            Reply::Bulk(b) => bulk(out, b),
            Reply::Null if resp3 => out.put_slice(b"_\r\n"),
            Reply::Null => out.put_slice(b"$-1\r\n"),
            Reply::NullArray if resp3 => out.put_slice(b"_\r\n"),
            Reply::NullArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                header(out, b'*', items.len());
                for item in items {
                    item.write_to(out, proto);
                }
            }
            Reply::Set(items) => {
                header(out, if resp3 { b'~' } else { b'*' }, items.len());
                for item in items {
                    item.write_to(out, proto);
                }
            }
            Reply::Map(pairs) => {
                if resp3 {
                    header(out, b'%', pairs.len());
                } else {
                    header(out, b'*', pairs.len() * 2);
                }
                for (k, v) in pairs {
                    k.write_to(out, proto);
                    v.write_to(out, proto);
                }
            }
            Reply::Double(d) => {
                let text = format_double(*d);
                if resp3 {
                    line(out, b',', text.as_bytes());
                } else {
                    bulk(out, text.as_bytes());
                }
            }
            Reply::Bool(b) if resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Reply::Bool(b) => out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" }),
            Reply::Verbatim(text) if resp3 => {
                header(out, b'=', text.len() + 4);
                out.put_slice(b"txt:");
                out.put_slice(text.as_bytes());
                out.put_slice(b"\r\n");
            }
            Reply::Verbatim(text) => bulk(out, text.as_bytes()),
            Reply::Nothing => {}
            Reply::Proto(fixed, reply) => reply.write_to(out, *fixed),
        }
    }
}

impl From<crate::server::error::CommandError> for Reply {
    fn from(e: crate::server::error::CommandError) -> Reply {
        Reply::Error(e.to_string().into())
    }
}

fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

fn fmt_int(buf: &mut [u8; 20], v: i64) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

fn line(out: &mut BytesMut, kind: u8, body: &[u8]) {
    out.reserve(body.len() + 3);
    out.put_u8(kind);
    out.put_slice(body);
    out.put_slice(b"\r\n");
}

fn header(out: &mut BytesMut, kind: u8, len: usize) {
    let mut buf = itoa_buf();
    line(out, kind, fmt_int(&mut buf, len as i64));
}

fn bulk(out: &mut BytesMut, b: &[u8]) {
    header(out, b'$', b.len());
    out.reserve(b.len() + 2);
    out.put_slice(b);
    out.put_slice(b"\r\n");
}

/// Formats a double as Redis 7 does in RESP3 (`inf`, `-inf`, `nan`, and
/// the shortest representation that round-trips, `%.17g` style).
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(r: &Reply, proto: u8) -> String {
        let mut out = BytesMut::new();
        r.write_to(&mut out, proto);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn resp2_and_resp3_shapes() {
        assert_eq!(render(&Reply::Null, 2), "$-1\r\n");
        assert_eq!(render(&Reply::Null, 3), "_\r\n");
        assert_eq!(render(&Reply::NullArray, 2), "*-1\r\n");
        assert_eq!(render(&Reply::Int(-42), 2), ":-42\r\n");
        assert_eq!(
            render(&Reply::Int(i64::MIN), 2),
            ":-9223372036854775808\r\n"
        );
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]);
        assert_eq!(render(&map, 2), "*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(render(&map, 3), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(render(&Reply::Double(1.5), 2), "$3\r\n1.5\r\n");
        assert_eq!(render(&Reply::Double(1.5), 3), ",1.5\r\n");
        assert_eq!(render(&Reply::Bool(true), 2), ":1\r\n");
        assert_eq!(render(&Reply::Verbatim("hi".into()), 3), "=6\r\ntxt:hi\r\n");
    }
}
