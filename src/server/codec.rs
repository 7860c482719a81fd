//! RESP request decoding: client bytes in, one argument vector per
//! command out. Executing commands and rendering replies belong to
//! others; the [`Encoder`] half only appends bytes that `reply.rs`
//! already rendered.
//!
//! Two request forms are accepted, as in Redis 7.0
//! (`src/networking.c`, `processMultibulkBuffer` and
//! `processInlineBuffer`): a multibulk (`*N\r\n` then `N` times
//! `$len\r\n<len bytes>\r\n`) and an inline line (`set a "b c"\r\n`),
//! chosen by whether the request's first byte is `*`. Clients speak
//! RESP3 with the same request form, so there is nothing RESP3-specific
//! here.
//!
//! Invariants:
//! - Every limit is checked as soon as the header carrying the number
//!   is complete, and no allocation is ever sized from a client number:
//!   the argument vector's initial capacity is bounded by the bytes
//!   already received, and a bulk's bytes are awaited by letting the
//!   read buffer grow with the data rather than by reserving `len`.
//! - Work per `decode` call is proportional to the new bytes: completed
//!   bulks are split off the buffer as they arrive and kept in the
//!   codec, a pending bulk is awaited by comparing lengths only, and a
//!   header line is never searched twice (`scanned`). So a 100 MB value
//!   arriving in 64 KiB reads costs linear time.
//! - Between calls the caller only appends to the buffer (as
//!   `FramedRead` does).
//! - Arguments are zero-copy slices of the read buffer (`split_to` then
//!   `freeze`): whoever keeps one for long (a key in the index) should
//!   copy it, or it pins the whole read chunk it came from.
//!
//! Why not `redis-protocol` for decoding: its decoder has no limits,
//! so the limit pre-scan would already have to walk every header of
//! the frame; it restarts from the frame's first byte on every partial
//! read (quadratic for a large multibulk arriving in pieces); it builds
//! a `BytesFrame` tree that would then be converted into `Vec<Bytes>`;
//! and it differs from Redis on details clients can observe (it checks
//! the CRLF after a bulk, which Redis skips unread, and accepts frame
//! types other than bulk strings inside the array). The hand-written
//! scanner below is that pre-scan, completed. `redis-protocol` is used
//! in the tests: its encoder produces the frames our decoder must read
//! back, and its decoder must agree with ours.
//!
//! Error texts are the exact Redis replies, kept here rather than in
//! `error.rs` because they belong to the wire protocol, not to a
//! command: the connection replies `-{Display}` and closes.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Largest accepted multibulk count (`*N`).
pub const MAX_MULTIBULK_LEN: usize = 1024 * 1024;
/// Largest header or inline line buffered without its line ending
/// (Redis `PROTO_INLINE_MAX_SIZE`).
pub const MAX_INLINE_LEN: usize = 64 * 1024;
/// Largest incomplete request, counting the parts already split off
/// (Redis `client-query-buffer-limit`).
pub const MAX_QUERY_BUFFER: usize = 1024 * 1024 * 1024;
/// Redis's default `proto-max-bulk-len`.
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;

/// Cap on the argument vector's initial capacity, as Redis caps
/// `argv_len` at 1024; beyond it the vector grows with arriving data.
const MAX_ARGV_PREALLOC: usize = 1024;
/// Wire size of the smallest element, `$0\r\n\r\n`: a buffer of `n`
/// bytes holds at most `n / 6` arguments.
const MIN_ELEMENT_LEN: usize = 6;

/// A client broke the protocol: reply with `-{Display}` then close the
/// connection.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// `*N` where `N` is not a number or exceeds [`MAX_MULTIBULK_LEN`].
    #[error("ERR Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// More than [`MAX_INLINE_LEN`] bytes of a `*` line without `\r`.
    #[error("ERR Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    /// More than [`MAX_INLINE_LEN`] bytes of a `$` line without `\r`.
    #[error("ERR Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// An element of a multibulk does not start with `$`.
    #[error("ERR Protocol error: expected '$', got '{}'", reply_char(*.got))]
    ExpectedDollar {
        /// The byte received instead.
        got: u8,
    },
    /// `$len` where `len` is negative, not a number, or above the
    /// configured `proto-max-bulk-len`.
    #[error("ERR Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// An inline line whose quotes do not close, or a closing quote
    /// followed by something other than a space.
    #[error("ERR Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// More than [`MAX_INLINE_LEN`] bytes of an inline line without `\n`.
    #[error("ERR Protocol error: too big inline request")]
    TooBigInline,
    /// The incomplete request exceeds [`MAX_QUERY_BUFFER`]. Redis closes
    /// such a client without a reply (logging "Closing client that
    /// reached max query buffer length"); this text is ours.
    #[error("ERR Protocol error: query buffer limit exceeded")]
    QueryBufferLimit,
    /// Reading from or writing to the socket failed.
    #[error("ERR I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Renders a byte as Redis's `%c` would, except that `\r` and `\n`
/// become spaces, as Redis 7 does for every error reply so that the
/// reply stays one line. Bytes above 0x7f become the Latin-1 character
/// of the same value, since the text must be UTF-8.
fn reply_char(b: u8) -> char {
    match b {
        b'\r' | b'\n' => ' ',
        _ => char::from(b),
    }
}

/// Decodes requests: RESP multibulk (`*N\r\n$len\r\narg\r\n...`) and
/// inline commands (`PING\r\n`, `set a "b c"\r\n`).
#[derive(Debug)]
pub struct RespCodec {
    max_bulk_len: usize,
    /// Always [`MAX_QUERY_BUFFER`] outside tests, which lower it.
    max_query_buffer: usize,
    /// How many bytes at the front of the buffer are known to hold no
    /// end of the line being looked for. Reset whenever bytes are
    /// consumed.
    scanned: usize,
    /// The multibulk being received, if its count line has been read.
    request: Option<Multibulk>,
}

/// A multibulk whose count line has been read.
#[derive(Debug)]
struct Multibulk {
    /// Elements still to come, including the one in progress.
    remaining: usize,
    /// Elements already complete and split off the buffer.
    args: Vec<Bytes>,
    /// Length of the element in progress once its `$` line is read.
    bulk_len: Option<usize>,
    /// Bytes of this request already removed from the buffer.
    consumed: usize,
}

/// Outcome of one parsing step.
enum Step {
    Command(Vec<Bytes>),
    /// Bytes were consumed without completing a command: go on.
    Progress,
    NeedMore,
}

impl RespCodec {
    /// `max_bulk_len`: Redis's proto-max-bulk-len (default 512 MiB).
    pub fn new(max_bulk_len: usize) -> Self {
        RespCodec {
            max_bulk_len,
            max_query_buffer: MAX_QUERY_BUFFER,
            scanned: 0,
            request: None,
        }
    }

    /// Changes proto-max-bulk-len for `$` headers read from now on.
    pub fn set_max_bulk_len(&mut self, n: usize) {
        self.max_bulk_len = n;
    }

    /// Starts a request: a `*` count line or an inline line.
    fn decode_start(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        match buf.first() {
            None => Ok(Step::NeedMore),
            Some(b'*') => self.decode_count(buf),
            Some(_) => self.decode_inline(buf),
        }
    }

    /// Reads the `*N` line that opens a multibulk.
    fn decode_count(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some(cr) = find_byte(buf, &mut self.scanned, b'\r') else {
            if buf.len() > MAX_INLINE_LEN {
                return Err(ProtocolError::TooBigMultibulkCount);
            }
            return Ok(Step::NeedMore);
        };
        // Like Redis, the byte after `\r` is skipped unread, but it
        // must have arrived.
        if cr + 2 > buf.len() {
            self.scanned = cr;
            return Ok(Step::NeedMore);
        }
        let count = string2ll(&buf[1..cr]).ok_or(ProtocolError::InvalidMultibulkLength)?;
        buf.advance(cr + 2);
        self.scanned = 0;
        // `*0` and `*-1` are no command at all.
        let Ok(count) = usize::try_from(count) else {
            return Ok(Step::Progress);
        };
        if count == 0 {
            return Ok(Step::Progress);
        }
        if count > MAX_MULTIBULK_LEN {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        let capacity = count
            .min(MAX_ARGV_PREALLOC)
            .min(buf.len() / MIN_ELEMENT_LEN);
        self.request = Some(Multibulk {
            remaining: count,
            args: Vec::with_capacity(capacity),
            bulk_len: None,
            consumed: cr + 2,
        });
        Ok(Step::Progress)
    }

    /// Reads as many elements of the current multibulk as have arrived.
    fn decode_elements(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some(mb) = self.request.as_mut() else {
            return Ok(Step::Progress);
        };
        loop {
            let len = match mb.bulk_len {
                Some(len) => len,
                None => {
                    let Some(cr) = find_byte(buf, &mut self.scanned, b'\r') else {
                        if buf.len() > MAX_INLINE_LEN {
                            return Err(ProtocolError::TooBigBulkCount);
                        }
                        return Ok(Step::NeedMore);
                    };
                    if cr + 2 > buf.len() {
                        self.scanned = cr;
                        return Ok(Step::NeedMore);
                    }
                    // Checked only once the line is complete, as Redis does.
                    if buf[0] != b'$' {
                        return Err(ProtocolError::ExpectedDollar { got: buf[0] });
                    }
                    let len = string2ll(&buf[1..cr])
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|&n| n <= self.max_bulk_len)
                        .ok_or(ProtocolError::InvalidBulkLength)?;
                    buf.advance(cr + 2);
                    self.scanned = 0;
                    mb.consumed += cr + 2;
                    mb.bulk_len = Some(len);
                    len
                }
            };
            // Redis skips the two bytes after the data without checking
            // that they are `\r\n`.
            let wire_len = len.saturating_add(2);
            if buf.len() < wire_len {
                return Ok(Step::NeedMore);
            }
            mb.args.push(buf.split_to(len).freeze());
            buf.advance(2);
            mb.consumed += wire_len;
            mb.bulk_len = None;
            mb.remaining -= 1;
            if mb.remaining == 0 {
                let args = std::mem::take(&mut mb.args);
                self.request = None;
                return Ok(Step::Command(args));
            }
        }
    }

    /// Reads an inline command: one line split with `sdssplitargs` rules.
    fn decode_inline(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some(lf) = find_byte(buf, &mut self.scanned, b'\n') else {
            if buf.len() > MAX_INLINE_LEN {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(Step::NeedMore);
        };
        let end = if lf > 0 && buf[lf - 1] == b'\r' {
            lf - 1
        } else {
            lf
        };
        let line = buf.split_to(lf + 1).freeze().slice(..end);
        self.scanned = 0;
        let argv = split_args(&line)?;
        if argv.is_empty() {
            return Ok(Step::Progress);
        }
        Ok(Step::Command(argv))
    }

    /// Bytes held for the incomplete request: the parts already split
    /// off plus everything still buffered.
    fn pending_bytes(&self, buf: &BytesMut) -> usize {
        let consumed = self.request.as_ref().map_or(0, |mb| mb.consumed);
        consumed.saturating_add(buf.len())
    }
}

impl Default for RespCodec {
    fn default() -> Self {
        RespCodec::new(DEFAULT_MAX_BULK_LEN)
    }
}

impl Decoder for RespCodec {
    type Item = Vec<Bytes>;
    type Error = ProtocolError;

    /// Returns the next command's argv (`argv[0]` is the command name as
    /// sent), or `None` until one is complete. Empty commands (`*0`,
    /// blank inline lines) are consumed silently.
    ///
    /// # Errors
    ///
    /// A [`ProtocolError`] when the client broke the protocol or a limit;
    /// the codec's state is then meaningless and the connection must close.
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            let step = if self.request.is_some() {
                self.decode_elements(buf)?
            } else {
                self.decode_start(buf)?
            };
            match step {
                Step::Command(argv) => return Ok(Some(argv)),
                Step::Progress => {}
                Step::NeedMore => {
                    if self.pending_bytes(buf) > self.max_query_buffer {
                        return Err(ProtocolError::QueryBufferLimit);
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// Like [`decode`](Decoder::decode), but an incomplete request at end
    /// of stream is dropped silently: the client is gone, and Redis frees
    /// it without a reply.
    ///
    /// # Errors
    ///
    /// As for [`decode`](Decoder::decode).
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        self.decode(buf)
    }
}

impl Encoder<Bytes> for RespCodec {
    type Error = ProtocolError;

    /// Appends an already rendered reply.
    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}

/// Position of the first `needle` in `buf`, searching from `*scanned`;
/// on a miss, records that the whole buffer has been searched.
fn find_byte(buf: &[u8], scanned: &mut usize, needle: u8) -> Option<usize> {
    let from = (*scanned).min(buf.len());
    match buf[from..].iter().position(|&b| b == needle) {
        Some(i) => Some(from + i),
        None => {
            *scanned = buf.len();
            None
        }
    }
}

/// Redis's `string2ll`: an optional `-`, then digits without leading
/// zeros (`0` alone is fine, `-0` is not), nothing else, fitting in an
/// `i64`.
fn string2ll(s: &[u8]) -> Option<i64> {
    // Redis's LONG_STR_SIZE (21) bounds the text before parsing.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        i64::try_from(-i128::from(v)).ok()
    } else {
        i64::try_from(v).ok()
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Bytes that end an unquoted token or open a quote (`0` ends the
/// string in C).
fn is_plain_stop(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0 | b'"' | b'\'')
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Splits an inline line as Redis's `sdssplitargs` does: blanks
/// separate arguments; `"..."` understands `\n \r \t \b \a \xHH` and
/// `\<any>`; `'...'` understands only `\'`; a closing quote must be
/// followed by a space or the end. Like the C code, the line ends at
/// its first NUL byte. Unquoted arguments are slices of `line`.
///
/// # Errors
///
/// [`ProtocolError::UnbalancedQuotes`] as Redis reports it.
fn split_args(line: &Bytes) -> Result<Vec<Bytes>, ProtocolError> {
    let s = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => &line[..],
    };
    // The C code reads the string's terminating NUL past the end.
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut argv = Vec::new();
    let mut p = 0;
    loop {
        while p < s.len() && is_c_space(s[p]) {
            p += 1;
        }
        if p == s.len() {
            return Ok(argv);
        }
        let start = p;
        while !is_plain_stop(at(p)) {
            p += 1;
        }
        if !matches!(at(p), b'"' | b'\'') {
            argv.push(line.slice(start..p));
            if p < s.len() {
                p += 1;
            }
            continue;
        }
        // The token has quotes: build it byte by byte.
        let mut current = s[start..p].to_vec();
        let mut quote = 0u8;
        loop {
            let c = at(p);
            match quote {
                b'"' => {
                    if c == b'\\' && at(p + 1) == b'x' {
                        if let (Some(hi), Some(lo)) = (hex_value(at(p + 2)), hex_value(at(p + 3))) {
                            current.push(hi * 16 + lo);
                            p += 4;
                            continue;
                        }
                    }
                    if c == b'\\' && at(p + 1) != 0 {
                        current.push(match at(p + 1) {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        p += 2;
                    } else if c == b'"' {
                        if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        p += 1;
                        break;
                    } else if c == 0 {
                        return Err(ProtocolError::UnbalancedQuotes);
                    } else {
                        current.push(c);
                        p += 1;
                    }
                }
                b'\'' => {
                    if c == b'\\' && at(p + 1) == b'\'' {
                        current.push(b'\'');
                        p += 2;
                    } else if c == b'\'' {
                        if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        p += 1;
                        break;
                    } else if c == 0 {
                        return Err(ProtocolError::UnbalancedQuotes);
                    } else {
                        current.push(c);
                        p += 1;
                    }
                }
                _ => match c {
                    0 => break,
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        p += 1;
                        break;
                    }
                    b'"' | b'\'' => {
                        quote = c;
                        p += 1;
                    }
                    _ => {
                        current.push(c);
                        p += 1;
                    }
                },
            }
        }
        argv.push(Bytes::from(current));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use redis_protocol::resp2::types::{OwnedFrame, Resp2Frame};

    /// Decodes everything available, returning the commands and, if
    /// decoding failed, the error.
    fn drain(
        codec: &mut RespCodec,
        buf: &mut BytesMut,
    ) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
        let mut out = Vec::new();
        loop {
            match codec.decode(buf) {
                Ok(Some(argv)) => out.push(argv),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    /// Decodes `input` fed in one piece.
    fn decode_all(input: &[u8]) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
        decode_chunks(input, &[input.len()])
    }

    /// Decodes `input` fed in pieces ending at the given offsets (then
    /// the rest), draining after each piece.
    fn decode_chunks(input: &[u8], cuts: &[usize]) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
        let mut codec = RespCodec::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            let cut = cut.clamp(from, input.len());
            buf.extend_from_slice(&input[from..cut]);
            from = cut;
            let (cmds, err) = drain(&mut codec, &mut buf);
            out.extend(cmds);
            if err.is_some() {
                return (out, err);
            }
        }
        (out, None)
    }

    fn argv(parts: &[&[u8]]) -> Vec<Bytes> {
        parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
    }

    fn error_text(input: &[u8]) -> String {
        match decode_all(input).1 {
            Some(e) => e.to_string(),
            None => panic!("no error for {:?}", String::from_utf8_lossy(input)),
        }
    }

    fn inline(line: &str) -> Result<Vec<Bytes>, ProtocolError> {
        split_args(&Bytes::copy_from_slice(line.as_bytes()))
    }

    fn encode_command(args: &[Vec<u8>]) -> Vec<u8> {
        let frame = OwnedFrame::Array(args.iter().cloned().map(OwnedFrame::BulkString).collect());
        let mut out = vec![0; frame.encode_len(false)];
        let n = redis_protocol::resp2::encode::encode(&mut out, &frame, false).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn multibulk_command_decodes() {
        let (cmds, err) = decode_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
        assert!(err.is_none());
        assert_eq!(cmds, vec![argv(&[b"SET", b"k", b"hello"])]);
    }

    #[test]
    fn pipelined_commands_come_one_per_call() {
        let mut codec = RespCodec::default();
        let mut buf =
            BytesMut::from(&b"*1\r\n$4\r\nPING\r\nECHO hi\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(argv(&[b"PING"])));
        assert_eq!(&buf[..4], b"ECHO");
        assert_eq!(
            codec.decode(&mut buf).unwrap(),
            Some(argv(&[b"ECHO", b"hi"]))
        );
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(argv(&[b"GET", b"a"])));
        assert!(buf.is_empty());
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
    }

    #[test]
    fn empty_multibulks_and_blank_lines_are_skipped() {
        let (cmds, err) = decode_all(b"*0\r\n*-1\r\n*-7\r\n\r\n\n   \r\n*1\r\n$4\r\nPING\r\n");
        assert!(err.is_none());
        assert_eq!(cmds, vec![argv(&[b"PING"])]);
    }

    #[test]
    fn binary_args_keep_crlf_and_nul() {
        let (cmds, err) = decode_all(b"*2\r\n$3\r\nSET\r\n$6\r\na\r\n\0\rb\r\n");
        assert!(err.is_none());
        assert_eq!(cmds, vec![argv(&[b"SET", b"a\r\n\0\rb"])]);
    }

    #[test]
    fn bulk_trailer_is_skipped_unchecked() {
        let (cmds, err) = decode_all(b"*2\r\n$3\r\nGETxx$1\r\naXY");
        assert!(err.is_none());
        assert_eq!(cmds, vec![argv(&[b"GET", b"a"])]);
    }

    #[test]
    fn split_at_every_byte_gives_same_commands() {
        let input: &[u8] =
            b"*3\r\n$3\r\nSET\r\n$2\r\n\r\n\r\n$0\r\n\r\n*0\r\nset a \"b c\"\r\nPING\n*1\r\n$4\r\nPING\r\n";
        let expected = vec![
            argv(&[b"SET", b"\r\n", b""]),
            argv(&[b"set", b"a", b"b c"]),
            argv(&[b"PING"]),
            argv(&[b"PING"]),
        ];
        let (whole, err) = decode_all(input);
        assert!(err.is_none());
        assert_eq!(whole, expected);
        let every_byte: Vec<usize> = (1..input.len()).collect();
        let (split, err) = decode_chunks(input, &every_byte);
        assert!(err.is_none());
        assert_eq!(split, expected);
    }

    #[test]
    fn invalid_multibulk_length_errors() {
        for input in [
            &b"*abc\r\n"[..],
            b"*1048577\r\n",
            b"*\r\n",
            b"*+1\r\n",
            b"*01\r\n",
            b"*-0\r\n",
        ] {
            assert_eq!(
                error_text(input),
                "ERR Protocol error: invalid multibulk length"
            );
        }
    }

    #[test]
    fn max_multibulk_length_accepted() {
        let mut codec = RespCodec::default();
        let mut buf = BytesMut::from(&b"*1048576\r\n$1\r\na\r\n"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        let mb = codec.request.as_ref().unwrap();
        assert_eq!((mb.remaining, mb.args.len()), (1_048_575, 1));
    }

    #[test]
    fn huge_count_without_data_does_not_allocate() {
        let mut codec = RespCodec::default();
        let mut buf = BytesMut::from(&b"*1000000\r\n"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        let mb = codec.request.as_ref().unwrap();
        assert_eq!(mb.remaining, 1_000_000);
        assert_eq!(mb.args.capacity(), 0);
        assert!(buf.capacity() < 64);
    }

    #[test]
    fn too_big_count_line_errors() {
        let mut line = vec![b'*'];
        line.resize(MAX_INLINE_LEN, b'1');
        assert!(
            decode_all(&line).1.is_none(),
            "exactly the limit is accepted"
        );
        line.push(b'1');
        assert_eq!(
            error_text(&line),
            "ERR Protocol error: too big mbulk count string"
        );
    }

    #[test]
    fn too_big_bulk_count_line_errors() {
        let mut input = b"*1\r\n$".to_vec();
        input.resize(4 + MAX_INLINE_LEN, b'1');
        assert!(
            decode_all(&input).1.is_none(),
            "exactly the limit is accepted"
        );
        input.push(b'1');
        assert_eq!(
            error_text(&input),
            "ERR Protocol error: too big bulk count string"
        );
    }

    #[test]
    fn element_without_dollar_errors() {
        assert_eq!(
            error_text(b"*2\r\n$3\r\nGET\r\n:1\r\n"),
            "ERR Protocol error: expected '$', got ':'"
        );
        assert_eq!(
            error_text(b"*1\r\n\r\n"),
            "ERR Protocol error: expected '$', got ' '"
        );
    }

    #[test]
    fn element_checked_only_once_line_is_complete() {
        let (cmds, err) = decode_all(b"*1\r\nfoo");
        assert!(cmds.is_empty() && err.is_none());
    }

    #[test]
    fn invalid_bulk_length_errors() {
        for input in [
            &b"*1\r\n$-1\r\n"[..],
            b"*1\r\n$x\r\n",
            b"*1\r\n$\r\n",
            b"*1\r\n$ 3\r\n",
            b"*1\r\n$536870913\r\n",
            b"*1\r\n$99999999999999999999\r\n",
        ] {
            assert_eq!(error_text(input), "ERR Protocol error: invalid bulk length");
        }
    }

    #[test]
    fn four_gigabyte_bulk_rejected_at_once() {
        let mut codec = RespCodec::default();
        let mut buf = BytesMut::from(&b"*1\r\n$4294967296\r\n"[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(ProtocolError::InvalidBulkLength)
        ));
    }

    #[test]
    fn max_bulk_len_is_configurable() {
        let mut codec = RespCodec::new(10);
        let mut buf = BytesMut::from(&b"*2\r\n$10\r\n0123456789\r\n"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"$11\r\n");
        assert!(matches!(
            codec.decode(&mut buf),
            Err(ProtocolError::InvalidBulkLength)
        ));
        let mut codec = RespCodec::default();
        codec.set_max_bulk_len(4);
        let mut buf = BytesMut::from(&b"*1\r\n$5\r\n"[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(ProtocolError::InvalidBulkLength)
        ));
    }

    #[test]
    fn large_bulk_waits_without_reserving() {
        let mut codec = RespCodec::default();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$100000000\r\nabc"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        // SET and both headers are already split off; only data is left.
        assert_eq!(&buf[..], b"abc");
        let mb = codec.request.as_ref().unwrap();
        assert_eq!((mb.args.len(), mb.bulk_len), (1, Some(100_000_000)));
        assert!(buf.capacity() < 1024);
    }

    #[test]
    fn query_buffer_limit_counts_split_off_parts() {
        let mut codec = RespCodec {
            max_query_buffer: 100,
            ..RespCodec::default()
        };
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"*3\r\n$50\r\n");
        buf.extend_from_slice(&[b'x'; 52]);
        buf.extend_from_slice(b"$50\r\n");
        buf.extend_from_slice(&[b'y'; 30]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(&[b'y'; 10]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ERR Protocol error: query buffer limit exceeded"
        );
    }

    #[test]
    fn inline_quotes_and_escapes() {
        let (cmds, err) =
            decode_all(b"set \"a b\" 'c d'\r\nset k \"\\x41\\n\\t\\\\\\\"\"\nECHO 'it\\'s'\r\n");
        assert!(err.is_none());
        assert_eq!(
            cmds,
            vec![
                argv(&[b"set", b"a b", b"c d"]),
                argv(&[b"set", b"k", b"A\n\t\\\""]),
                argv(&[b"ECHO", b"it's"]),
            ]
        );
    }

    #[test]
    fn inline_splitting_matches_sdssplitargs() {
        assert_eq!(
            inline("set \"a b\" 'c d'").unwrap(),
            argv(&[b"set", b"a b", b"c d"])
        );
        assert_eq!(inline("\"\\x41\"").unwrap(), argv(&[b"A"]));
        assert_eq!(inline("\"\\xZZ\\q\"").unwrap(), argv(&[b"xZZq"]));
        assert_eq!(inline("'\\n'").unwrap(), argv(&[b"\\n"]));
        assert_eq!(inline("foo\"bar\" x").unwrap(), argv(&[b"foobar", b"x"]));
        assert_eq!(inline("\"\" ''").unwrap(), argv(&[b"", b""]));
        assert_eq!(inline("  a\t\tb  ").unwrap(), argv(&[b"a", b"b"]));
        assert_eq!(inline("a\x0bb").unwrap(), argv(&[b"a\x0bb"]));
        assert_eq!(inline("\"a\"\x0bb").unwrap(), argv(&[b"a", b"b"]));
        assert_eq!(inline("a\0 b").unwrap(), argv(&[b"a"]));
        assert_eq!(inline("").unwrap(), Vec::<Bytes>::new());
        for bad in [
            "\"foo\"bar",
            "'foo'bar",
            "\"foo",
            "'foo",
            "\"a\\",
            "\"a\0\"",
        ] {
            assert!(
                matches!(inline(bad), Err(ProtocolError::UnbalancedQuotes)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn unbalanced_quotes_error() {
        assert_eq!(
            error_text(b"set \"foo\"bar\r\n"),
            "ERR Protocol error: unbalanced quotes in request"
        );
    }

    #[test]
    fn too_big_inline_errors() {
        let line = vec![b'a'; MAX_INLINE_LEN];
        assert!(
            decode_all(&line).1.is_none(),
            "exactly the limit is accepted"
        );
        let line = vec![b'a'; MAX_INLINE_LEN + 1];
        assert_eq!(
            error_text(&line),
            "ERR Protocol error: too big inline request"
        );
    }

    #[test]
    fn partial_request_at_eof_is_dropped() {
        let mut codec = RespCodec::default();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n"[..]);
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    }

    #[test]
    fn encoder_appends_bytes() {
        let mut codec = RespCodec::default();
        let mut dst = BytesMut::from(&b"+OK\r\n"[..]);
        codec
            .encode(Bytes::from_static(b":1\r\n"), &mut dst)
            .unwrap();
        assert_eq!(&dst[..], b"+OK\r\n:1\r\n");
    }

    #[test]
    fn string2ll_follows_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-12"), Some(-12));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"+1",
            b"1 ",
            b"9223372036854775808",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    proptest! {
        /// Commands encoded by redis-protocol decode back, whatever the
        /// read boundaries, and redis-protocol's decoder agrees.
        #[test]
        fn encoded_commands_roundtrip(
            cmds in prop::collection::vec(
                prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6),
                1..5,
            ),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut input = Vec::new();
            for cmd in &cmds {
                let wire = encode_command(cmd);
                let (frame, used) = redis_protocol::resp2::decode::decode(&wire).unwrap().unwrap();
                prop_assert_eq!(used, wire.len());
                prop_assert_eq!(
                    frame,
                    OwnedFrame::Array(cmd.iter().cloned().map(OwnedFrame::BulkString).collect())
                );
                input.extend_from_slice(&wire);
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
            cuts.sort_unstable();
            let (decoded, err) = decode_chunks(&input, &cuts);
            prop_assert!(err.is_none());
            let decoded: Vec<Vec<Vec<u8>>> = decoded
                .into_iter()
                .map(|argv| argv.into_iter().map(|a| a.to_vec()).collect())
                .collect();
            prop_assert_eq!(decoded, cmds);
        }

        /// On any small input, split or whole, the decoder returns the same
        /// commands and the same error.
        #[test]
        fn split_points_do_not_change_results(
            input in prop::collection::vec(
                prop::sample::select(b"*$\r\n01-2 3\"'\\xa".to_vec()),
                0..200,
            ),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
            cuts.sort_unstable();
            let (whole, whole_err) = decode_all(&input);
            let (split, split_err) = decode_chunks(&input, &cuts);
            prop_assert_eq!(whole, split);
            prop_assert_eq!(
                whole_err.map(|e| e.to_string()),
                split_err.map(|e| e.to_string())
            );
        }
    }
}
