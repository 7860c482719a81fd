//! The wire protocol as clients and hostile peers meet it: pipelining,
//! inline commands, and limits enforced before allocation (a 4 GB bulk
//! length or a huge multibulk count is refused at once and the connection
//! closes), while other clients never notice.

mod common;

use std::io::Write;

use common::{encode, Server};

#[test]
fn pipeline_of_ten_thousand_commands_in_one_write() {
    let s = Server::start();
    let mut r = s.raw();
    let mut batch = Vec::new();
    for i in 0..10_000 {
        batch.extend_from_slice(&encode(&[
            b"SET",
            format!("k{i}").as_bytes(),
            format!("v{i}").as_bytes(),
        ]));
    }
    for i in 0..10_000 {
        batch.extend_from_slice(&encode(&[b"GET", format!("k{i}").as_bytes()]));
    }
    r.send(&batch);
    for _ in 0..10_000 {
        assert_eq!(r.reply(), b"+OK\r\n");
    }
    for i in 0..10_000 {
        let v = format!("v{i}");
        assert_eq!(r.reply(), format!("${}\r\n{v}\r\n", v.len()).as_bytes());
    }
}

#[test]
fn inline_commands_work_like_telnet() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(b"PING\r\n");
    assert_eq!(r.reply(), b"+PONG\r\n");
    r.send(b"set greeting \"hello world\"\n");
    assert_eq!(r.reply(), b"+OK\r\n");
    r.send(b"get greeting\r\n");
    assert_eq!(r.reply(), b"$11\r\nhello world\r\n");
}

#[test]
fn four_gigabyte_bulk_length_is_refused_and_closes() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(b"*2\r\n$3\r\nGET\r\n$4294967296\r\n");
    assert_eq!(r.reply(), b"-ERR Protocol error: invalid bulk length\r\n");
    assert!(r.closed());
    // The server is still fine for others.
    let mut other = s.raw();
    assert_eq!(other.cmd(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn huge_multibulk_count_is_refused_and_closes() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(b"*1048577\r\n");
    assert_eq!(
        r.reply(),
        b"-ERR Protocol error: invalid multibulk length\r\n"
    );
    assert!(r.closed());
}

#[test]
fn allowed_but_unsent_counts_do_not_allocate() {
    let s = Server::start();
    // A million-argument header and a 500 MB bulk header, then nothing: the
    // server must not reserve memory for either.
    let mut conns = Vec::new();
    for _ in 0..20 {
        let mut r = s.raw();
        r.send(b"*1048576\r\n$536870000\r\n");
        conns.push(r);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let rss_kb = std::fs::read_to_string(format!("/proc/{}/status", s.pid()))
        .expect("status")
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .map(|v| v.trim().trim_end_matches(" kB").parse::<u64>().expect("kb"))
        })
        .expect("VmRSS");
    assert!(
        rss_kb < 200 * 1024,
        "RSS grew to {rss_kb} kB for headers alone"
    );
    let mut other = s.raw();
    assert_eq!(other.cmd(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn expected_dollar_error_matches_redis() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(b"*1\r\n:5\r\n");
    assert_eq!(r.reply(), b"-ERR Protocol error: expected '$', got ':'\r\n");
    assert!(r.closed());
}

#[test]
fn unbalanced_quotes_in_inline_command() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(b"set a \"b\r\n");
    assert_eq!(
        r.reply(),
        b"-ERR Protocol error: unbalanced quotes in request\r\n"
    );
    assert!(r.closed());
}

#[test]
fn half_sent_command_then_close_leaves_server_serving() {
    let s = Server::start();
    {
        let mut r = s.raw();
        r.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nhal");
        r.stream.flush().expect("flush");
    }
    let mut other = s.raw();
    assert_eq!(other.cmd(&[b"GET", b"k"]), b"$-1\r\n");
}

#[test]
fn binary_safe_arguments_and_empty_value() {
    let s = Server::start();
    let mut r = s.raw();
    let key = b"k\r\n\x00\xff";
    let value = b"\x00\r\n$5\r\nvalue\xff";
    assert_eq!(r.cmd(&[b"SET", key, value]), b"+OK\r\n");
    let mut expect = format!("${}\r\n", value.len()).into_bytes();
    expect.extend_from_slice(value);
    expect.extend_from_slice(b"\r\n");
    assert_eq!(r.cmd(&[b"GET", key]), expect);
    assert_eq!(r.cmd(&[b"SET", b"empty", b""]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"GET", b"empty"]), b"$0\r\n\r\n");
}

#[test]
fn unknown_command_error_text_and_connection_stays_open() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(
        r.cmd(&[b"FOO", b"a", b"b"]),
        b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(r.cmd(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(
        r.cmd(&[b"GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n"
    );
    // Redis prints name and args with %s, which stops at a NUL byte.
    assert_eq!(
        r.cmd(&[b"GE\0T", b"k\0z", b"abc"]),
        b"-ERR unknown command 'GE', with args beginning with: 'k' 'abc' \r\n"
    );
}
