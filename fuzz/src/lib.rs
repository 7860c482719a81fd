//! The checks behind the fuzz targets, kept apart from libFuzzer so that
//! `tests/fuzz_smoke.rs` runs them on stable Rust with a seeded generator
//! (`#[path]`-included there) and `fuzz_targets/*.rs` under cargo-fuzz.
//!
//! - [`check_codec`]: `RespCodec::decode` over arbitrary bytes fed in
//!   arbitrary pieces never panics, gives the same commands and error
//!   whatever the pieces, and every command it returns is what the bytes
//!   it consumed say: a multibulk re-encodes to exactly those bytes (but
//!   for the line-end and trailer bytes Redis skips unread), an unquoted
//!   inline line splits into exactly those words.
//! - [`CommandHarness`]: decoded commands executed in process against a
//!   real engine in a temporary directory (no network, no runtime): no
//!   panic; every reply is one well-formed RESP2/RESP3 frame; unknown
//!   names and wrong arities get the table's errors.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use slowpoke::engine::{Engine, Options};
use slowpoke::server::cmd;
use slowpoke::server::codec::RespCodec;
use slowpoke::server::config::Config;
use slowpoke::server::db::Db;
use slowpoke::server::state::{ConnState, ServerState};
use tokio_util::codec::Decoder;

/// One decoded command and the end offset (in the whole input) of the
/// bytes consumed when it was returned.
type Decoded = (Vec<Bytes>, usize);

/// Feeds `input` in pieces ending at `cuts` (sorted), draining after each.
fn decode_pieces(input: &[u8], cuts: &[usize]) -> (Vec<Decoded>, Option<String>) {
    let mut codec = RespCodec::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(fed, input.len());
        buf.extend_from_slice(&input[fed..cut]);
        fed = cut;
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(argv)) => out.push((argv, fed - buf.len())),
                Ok(None) => break,
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }
    (out, None)
}

/// Splits fuzz data into read boundaries and the input: the first byte
/// gives the number of cuts (0..8), each then taken from two bytes.
fn split_input(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let n = usize::from(n % 8).min(rest.len() / 2);
    let (head, input) = rest.split_at(n * 2);
    let mut cuts: Vec<usize> = head
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (input.len() + 1))
        .collect();
    cuts.sort_unstable();
    (cuts, input)
}

/// The codec property; panics with a description on failure.
pub fn check_codec(data: &[u8]) {
    let (cuts, input) = split_input(data);
    let (whole, whole_err) = decode_pieces(input, &[]);
    let (split, split_err) = decode_pieces(input, &cuts);
    assert_eq!(whole, split, "read boundaries changed the commands");
    assert_eq!(whole_err, split_err, "read boundaries changed the error");
    let mut start = 0;
    for (argv, end) in &whole {
        assert!(*end > start, "a command consumed no bytes");
        check_consumed(&input[start..*end], argv);
        start = *end;
    }
}

/// C's `isspace`.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `consumed` holds empty requests (`*0`, `*-N`, blank lines), then the
/// bytes of `argv`'s request, and nothing else.
fn check_consumed(consumed: &[u8], argv: &[Bytes]) {
    assert!(!argv.is_empty(), "an empty argv was returned");
    let mut p = 0;
    loop {
        assert!(p < consumed.len(), "consumed bytes hold no request");
        let rest = &consumed[p..];
        if rest[0] == b'*' {
            let cr = rest
                .iter()
                .position(|&b| b == b'\r')
                .expect("count line has no \\r");
            let count: i64 = std::str::from_utf8(&rest[1..cr])
                .ok()
                .and_then(|t| t.parse().ok())
                .expect("count is a number");
            if count <= 0 {
                p += cr + 2;
                continue;
            }
            check_multibulk(rest, argv);
            return;
        }
        let lf = rest
            .iter()
            .position(|&b| b == b'\n')
            .expect("inline line has no \\n");
        let mut line = &rest[..lf];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if let Some(nul) = line.iter().position(|&b| b == 0) {
            line = &line[..nul];
        }
        if line.iter().all(|&b| is_c_space(b)) {
            p += lf + 1;
            continue;
        }
        assert_eq!(lf + 1, rest.len(), "bytes consumed after the inline line");
        check_inline(line, argv);
        return;
    }
}

/// `wire` is the canonical encoding of `argv`, except for the bytes Redis
/// skips unread: the one after each header's `\r`, and the two after each
/// bulk's data.
fn check_multibulk(wire: &[u8], argv: &[Bytes]) {
    let mut want = Vec::new();
    let mut any = Vec::new();
    let line = |want: &mut Vec<u8>, any: &mut Vec<bool>, text: String| {
        want.extend_from_slice(text.as_bytes());
        any.extend(std::iter::repeat_n(false, text.len()));
        want.extend_from_slice(b"\r\n");
        any.extend([false, true]);
    };
    line(&mut want, &mut any, format!("*{}", argv.len()));
    for a in argv {
        line(&mut want, &mut any, format!("${}", a.len()));
        want.extend_from_slice(a);
        any.extend(std::iter::repeat_n(false, a.len()));
        want.extend_from_slice(b"\r\n");
        any.extend([true, true]);
    }
    assert_eq!(
        wire.len(),
        want.len(),
        "consumed {} bytes for a multibulk that encodes in {}",
        wire.len(),
        want.len()
    );
    for (i, ((&got, &w), &skip)) in wire.iter().zip(&want).zip(&any).enumerate() {
        assert!(
            skip || got == w,
            "byte {i}: consumed {got:#x}, argv re-encodes to {w:#x}"
        );
    }
}

/// An inline line without quotes splits into its blank-separated words
/// (sdssplitargs: a word ends at space, tab, CR or LF; leading blanks,
/// vertical tab and form feed included, are skipped). With quotes, the
/// argv must survive being re-quoted and decoded again.
fn check_inline(line: &[u8], argv: &[Bytes]) {
    if !line.iter().any(|&b| b == b'"' || b == b'\'') {
        let words: Vec<&[u8]> = line
            .split(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .map(|w| {
                let skip = w.iter().take_while(|&&b| is_c_space(b)).count();
                &w[skip..]
            })
            .filter(|w| !w.is_empty())
            .collect();
        let got: Vec<&[u8]> = argv.iter().map(|a| a.as_ref()).collect();
        assert_eq!(got, words, "inline words");
        return;
    }
    let mut quoted = Vec::new();
    for a in argv {
        quoted.push(b'"');
        for &b in a.iter() {
            quoted.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
        quoted.extend_from_slice(b"\" ");
    }
    quoted.extend_from_slice(b"\r\n");
    let (again, err) = decode_pieces(&quoted, &[]);
    assert!(err.is_none(), "re-quoted argv does not decode: {err:?}");
    assert_eq!(again.len(), 1, "re-quoted argv decodes to several commands");
    assert_eq!(&again[0].0, argv, "re-quoted argv decodes differently");
}

/// Length of the one RESP2/RESP3 reply frame at `buf[pos..]`, checked
/// strictly (lengths, line ends, no CR/LF inside simple lines).
fn frame_end(buf: &[u8], pos: usize) -> Result<usize, String> {
    let kind = *buf.get(pos).ok_or("reply ends before a frame")?;
    let lf = buf[pos..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| pos + i)
        .ok_or("frame line has no CRLF")?;
    let head = &buf[pos + 1..lf];
    let after = lf + 2;
    let number = || -> Result<i64, String> {
        std::str::from_utf8(head)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("bad length {:?}", String::from_utf8_lossy(head)))
    };
    match kind {
        b'+' | b'-' | b':' | b',' | b'(' => {
            if head.contains(&b'\r') || head.contains(&b'\n') {
                return Err("CR or LF inside a simple line".into());
            }
            if kind == b':' {
                number()?;
            }
            Ok(after)
        }
        b'_' if head.is_empty() => Ok(after),
        b'#' if head == b"t" || head == b"f" => Ok(after),
        b'$' | b'=' | b'!' => {
            let n = number()?;
            if n == -1 && kind == b'$' {
                return Ok(after);
            }
            let n = usize::try_from(n).map_err(|_| "negative bulk length")?;
            let end = after + n;
            if buf.get(end..end + 2) != Some(b"\r\n") {
                return Err("bulk data not followed by CRLF".into());
            }
            Ok(end + 2)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = number()?;
            if n == -1 && kind == b'*' {
                return Ok(after);
            }
            let n = usize::try_from(n).map_err(|_| "negative aggregate length")?;
            let items = if matches!(kind, b'%' | b'|') {
                2 * n
            } else {
                n
            };
            let mut p = after;
            for _ in 0..items {
                p = frame_end(buf, p)?;
            }
            Ok(p)
        }
        other => Err(format!("unknown frame type {:?}", char::from(other))),
    }
}

/// A real engine in a temporary directory and the server state around
/// it, for executing commands without a network or a runtime.
pub struct CommandHarness {
    state: Arc<ServerState>,
    runs: std::sync::atomic::AtomicU64,
    _dir: tempfile::TempDir,
}

impl Default for CommandHarness {
    fn default() -> Self {
        CommandHarness::new()
    }
}

/// The keyspace is emptied every this many runs to keep it small.
const FLUSH_EVERY: u64 = 10_000;

impl CommandHarness {
    /// Opens an engine in a fresh temporary directory.
    ///
    /// # Panics
    /// When the directory or the engine cannot be created.
    pub fn new() -> CommandHarness {
        let dir = tempfile::tempdir().expect("temporary directory");
        let engine = Engine::open(dir.path(), Options::default()).expect("open engine");
        let config = Config {
            dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        CommandHarness {
            state: ServerState::new(Db::new(engine), config, 0),
            runs: std::sync::atomic::AtomicU64::new(0),
            _dir: dir,
        }
    }

    /// Decodes `data` (errors end the input, as they end a connection) and
    /// executes each command on one new connection.
    ///
    /// # Panics
    /// When a command panics or a reply breaks the properties above.
    pub fn run(&self, data: &[u8]) {
        let runs = self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 40000));
        let info = self.state.register(addr, addr);
        let mut conn = ConnState::new(Arc::clone(&info), true);
        let (commands, _) = decode_pieces(data, &[]);
        for (argv, _) in &commands {
            self.execute_checked(&mut conn, argv);
            if conn.close_after_reply {
                break;
            }
        }
        self.state.unregister(info.id);
        // What one input changed must not slow the next ones down.
        let mut admin = ConnState::new(Arc::clone(&info), true);
        let reset: &[&[u8]] = &[
            b"CONFIG",
            b"SET",
            b"appendfsync",
            b"everysec",
            b"requirepass",
            b"",
        ];
        let reset: Vec<Bytes> = reset.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        cmd::execute(&self.state, &mut admin, &reset);
        if runs % FLUSH_EVERY == FLUSH_EVERY - 1 {
            cmd::execute(&self.state, &mut admin, &[Bytes::from_static(b"FLUSHALL")]);
        }
    }

    fn execute_checked(&self, conn: &mut ConnState, argv: &[Bytes]) {
        let reply = cmd::execute(&self.state, conn, argv);
        let mut out = BytesMut::new();
        reply.write_to(&mut out, conn.proto);
        let shown = || {
            format!(
                "{:?} -> {:?}",
                argv.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>(),
                String::from_utf8_lossy(&out)
            )
        };
        // SHUTDOWN closes the connection without a reply.
        if out.is_empty() && conn.close_after_reply {
            return;
        }
        match frame_end(&out, 0) {
            Ok(n) if n == out.len() => {}
            Ok(n) => panic!(
                "reply has {} bytes after its frame: {}",
                out.len() - n,
                shown()
            ),
            Err(e) => panic!("malformed reply ({e}): {}", shown()),
        }
        match cmd::lookup(&argv[0]) {
            None => assert!(
                out.starts_with(b"-ERR unknown command '"),
                "unknown name: {}",
                shown()
            ),
            // As in Redis, a refused EXEC answers EXECABORT.
            Some(spec) if !spec.arity_ok(argv.len()) => assert!(
                out.starts_with(b"-ERR wrong number of arguments for '")
                    || (spec.name == "exec"
                        && out.starts_with(
                            b"-EXECABORT Transaction discarded because of: wrong number of arguments"
                        )),
                "wrong arity: {}",
                shown()
            ),
            Some(_) => {}
        }
    }
}
