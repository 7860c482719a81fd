//! Connection commands as clients use them: the connect handshakes of
//! redis-py, ioredis and node-redis replayed as one pipelined write (as
//! those clients send them), HELLO's map in RESP2 and RESP3, the AUTH flow
//! with a password, SELECT, CLIENT subcommands, QUIT and RESET. Replies are
//! compared byte for byte with what Redis 7.0 sends.

mod common;

use common::{encode, Raw, Server};

/// Encodes several commands into one buffer, to send in a single write.
fn pipeline(cmds: &[&[&[u8]]]) -> Vec<u8> {
    cmds.iter().flat_map(|c| encode(c)).collect()
}

/// HELLO's reply as Redis 7.0.15 renders it.
fn hello_reply(proto: u8, id: i64) -> Vec<u8> {
    let head = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
         $5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
         $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
    .into_bytes()
}

fn client_id(r: &mut Raw) -> i64 {
    let reply = r.cmd(&[b"CLIENT", b"ID"]);
    let text = String::from_utf8(reply).expect("utf8");
    text.trim_start_matches(':')
        .trim_end()
        .parse()
        .expect("integer id")
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn redis_py_resp2_handshake() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(&pipeline(&[
        &[b"CLIENT", b"SETINFO", b"LIB-NAME", b"redis-py"],
        &[b"CLIENT", b"SETINFO", b"LIB-VER", b"5.0.8"],
        &[b"PING"],
    ]));
    assert_eq!(r.reply(), b"+OK\r\n");
    assert_eq!(r.reply(), b"+OK\r\n");
    assert_eq!(r.reply(), b"+PONG\r\n");
    let info = text(r.cmd(&[b"CLIENT", b"INFO"]));
    assert!(info.contains(" lib-name=redis-py "), "{info}");
    assert!(info.contains(" lib-ver=5.0.8"), "{info}");
    assert!(info.contains(" resp=2 "), "{info}");
}

#[test]
fn redis_py_resp3_handshake() {
    let s = Server::start();
    let mut r = s.raw();
    let id = client_id(&mut r);
    r.send(&pipeline(&[
        &[b"HELLO", b"3"],
        &[b"CLIENT", b"SETINFO", b"LIB-NAME", b"redis-py"],
        &[b"CLIENT", b"SETINFO", b"LIB-VER", b"5.0.8"],
        &[b"GET", b"missing"],
    ]));
    assert_eq!(r.reply(), hello_reply(3, id));
    assert_eq!(r.reply(), b"+OK\r\n");
    assert_eq!(r.reply(), b"+OK\r\n");
    assert_eq!(r.reply(), b"_\r\n");
}

#[test]
fn ioredis_handshake() {
    let s = Server::start();
    let mut r = s.raw();
    let id = client_id(&mut r);
    r.send(&pipeline(&[
        &[b"hello", b"3"],
        &[b"client", b"setname", b"my-app"],
        &[b"client", b"SETINFO", b"LIB-VER", b"6.0.0"],
        &[b"client", b"SETINFO", b"LIB-NAME", b"ioredis"],
        &[b"info"],
    ]));
    assert_eq!(r.reply(), hello_reply(3, id));
    assert_eq!(r.reply(), b"+OK\r\n");
    assert_eq!(r.reply(), b"+OK\r\n");
    assert_eq!(r.reply(), b"+OK\r\n");
    let info = text(r.reply());
    assert!(
        info.starts_with('='),
        "INFO is verbatim text in RESP3: {info}"
    );
    assert!(info.contains("\r\ntxt:# Server\r\n"), "{info}");
    assert!(info.contains("\r\nloading:0\r\n"), "{info}");
    assert_eq!(
        r.cmd(&[b"CLIENT", b"GETNAME"]),
        b"$6\r\nmy-app\r\n".to_vec()
    );
}

#[test]
fn node_redis_handshake_survives_unknown_subcommand() {
    let s = Server::start();
    let mut r = s.raw();
    let id = client_id(&mut r);
    r.send(&pipeline(&[
        &[b"HELLO", b"3", b"SETNAME", b"node-app"],
        &[b"CLIENT", b"SETINFO", b"LIB-NAME", b"node-redis"],
        &[b"CLIENT", b"SETINFO", b"LIB-VER", b"6.3.1"],
        &[
            b"CLIENT",
            b"MAINT_NOTIFICATIONS",
            b"ON",
            b"moving-endpoint-type",
            b"external-ip",
        ],
        &[b"PING"],
    ]));
    assert_eq!(r.reply(), hello_reply(3, id));
    assert_eq!(r.reply(), b"+OK\r\n");
    assert_eq!(r.reply(), b"+OK\r\n");
    assert_eq!(
        r.reply(),
        b"-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n"
    );
    assert_eq!(r.reply(), b"+PONG\r\n");
    assert_eq!(
        r.cmd(&[b"CLIENT", b"GETNAME"]),
        b"$8\r\nnode-app\r\n".to_vec()
    );
}

#[test]
fn redis_crate_connects_and_pings() {
    let s = Server::start();
    let mut c = s.conn();
    let pong: String = redis::cmd("PING").query(&mut c).expect("ping");
    assert_eq!(pong, "PONG");
    let echo: Vec<u8> = redis::cmd("ECHO")
        .arg(&b"\x00\r\nbin"[..])
        .query(&mut c)
        .expect("echo");
    assert_eq!(echo, b"\x00\r\nbin");
}

#[test]
fn hello_versions_and_errors() {
    let s = Server::start();
    let mut r = s.raw();
    let id = client_id(&mut r);
    // Without a version HELLO reports the current protocol.
    assert_eq!(r.cmd(&[b"HELLO"]), hello_reply(2, id));
    assert_eq!(
        r.cmd(&[b"HELLO", b"4"]),
        b"-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        r.cmd(&[b"HELLO", b"1"]),
        b"-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        r.cmd(&[b"HELLO", b"x"]),
        b"-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        r.cmd(&[b"HELLO", b"3", b"FOO"]),
        b"-ERR Syntax error in HELLO option 'FOO'\r\n"
    );
    assert_eq!(
        r.cmd(&[b"HELLO", b"3", b"AUTH", b"default"]),
        b"-ERR Syntax error in HELLO option 'AUTH'\r\n"
    );
    // Echoed as Redis's printf %s: up to a NUL.
    assert_eq!(
        r.cmd(&[b"HELLO", b"3", b"a\0b"]),
        b"-ERR Syntax error in HELLO option 'a'\r\n"
    );
    // A bad name is refused as it is parsed, before a later bad option.
    assert_eq!(
        r.cmd(&[b"HELLO", b"2", b"SETNAME", b"a b", b"EX"]),
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        r.cmd(&[b"HELLO", b"3", b"SETNAME", b"a b"]),
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    // A failed HELLO leaves the protocol alone.
    assert_eq!(r.cmd(&[b"GET", b"nothing"]), b"$-1\r\n");
    assert_eq!(r.cmd(&[b"HELLO", b"3"]), hello_reply(3, id));
    assert_eq!(r.cmd(&[b"HELLO"]), hello_reply(3, id));
    assert_eq!(r.cmd(&[b"HELLO", b"2"]), hello_reply(2, id));
    assert_eq!(r.cmd(&[b"GET", b"nothing"]), b"$-1\r\n");
}

#[test]
fn resp3_shapes_after_hello() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&[b"HELLO", b"3"]);
    assert_eq!(r.cmd(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(r.cmd(&[b"PING", b"hi"]), b"$2\r\nhi\r\n");
    assert_eq!(r.cmd(&[b"CLIENT", b"GETNAME"]), b"_\r\n");
    assert_eq!(
        r.cmd(&[b"CONFIG", b"GET", b"maxmemory"]),
        b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    let info = text(r.cmd(&[b"CLIENT", b"INFO"]));
    assert!(info.starts_with('='), "{info}");
    assert!(info.contains(" resp=3 "), "{info}");
}

#[test]
fn ping_and_echo() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(r.cmd(&[b"PING", b"hello"]), b"$5\r\nhello\r\n");
    assert_eq!(
        r.cmd(&[b"PING", b"a", b"b"]),
        b"-ERR wrong number of arguments for 'ping' command\r\n"
    );
    assert_eq!(r.cmd(&[b"ECHO", b"a\r\nb"]), b"$4\r\na\r\nb\r\n");
    assert_eq!(
        r.cmd(&[b"ECHO"]),
        b"-ERR wrong number of arguments for 'echo' command\r\n"
    );
}

#[test]
fn auth_flow_with_requirepass() {
    let s = Server::start_with(&["--requirepass", "s3cret"]);
    let mut r = s.raw();
    let noauth = b"-NOAUTH Authentication required.\r\n";
    assert_eq!(r.cmd(&[b"GET", b"a"]), noauth);
    assert_eq!(r.cmd(&[b"PING"]), noauth);
    assert_eq!(r.cmd(&[b"CLIENT", b"ID"]), noauth);
    assert_eq!(
        r.cmd(&[b"HELLO", b"3"]),
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
    );
    let wrongpass = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    assert_eq!(r.cmd(&[b"AUTH", b"wrong"]), wrongpass);
    assert_eq!(r.cmd(&[b"AUTH", b"s3cre"]), wrongpass);
    assert_eq!(r.cmd(&[b"AUTH", b"bob", b"s3cret"]), wrongpass);
    assert_eq!(r.cmd(&[b"AUTH", b"default", b"nope"]), wrongpass);
    assert_eq!(
        r.cmd(&[b"HELLO", b"2", b"AUTH", b"default", b"x"]),
        wrongpass
    );
    assert_eq!(r.cmd(&[b"GET", b"a"]), noauth);
    assert_eq!(r.cmd(&[b"AUTH", b"s3cret"]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"GET", b"a"]), b"$-1\r\n");
    // RESET logs the connection out again.
    assert_eq!(r.cmd(&[b"RESET"]), b"+RESET\r\n");
    assert_eq!(r.cmd(&[b"GET", b"a"]), noauth);
    // HELLO AUTH authenticates and switches protocol in one step.
    let reply = r.cmd(&[b"HELLO", b"3", b"AUTH", b"default", b"s3cret"]);
    assert!(reply.starts_with(b"%7\r\n"), "{}", text(reply));
    assert_eq!(r.cmd(&[b"GET", b"a"]), b"_\r\n");
    assert_eq!(r.cmd(&[b"AUTH", b"default", b"s3cret"]), b"+OK\r\n");

    // The redis crate authenticates through the URL.
    let client =
        redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", s.port)).expect("client");
    let mut c = client.get_connection().expect("connect with password");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut c)
        .expect("set");
    // QUIT is allowed before AUTH.
    let mut other = s.raw();
    assert_eq!(other.cmd(&[b"QUIT"]), b"+OK\r\n");
    assert!(other.closed());
}

#[test]
fn auth_without_password_configured() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(
        r.cmd(&[b"AUTH", b"x"]),
        b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n".to_vec()
    );
    assert_eq!(r.cmd(&[b"AUTH", b"default", b"anything"]), b"+OK\r\n");
    assert_eq!(
        r.cmd(&[b"AUTH", b"bob", b"x"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        r.cmd(&[b"AUTH", b"a", b"b", b"c"]),
        b"-ERR syntax error\r\n"
    );
}

#[test]
fn select_only_database_zero() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd(&[b"SELECT", b"0"]), b"+OK\r\n");
    for db in [&b"1"[..], b"15", b"-1"] {
        assert_eq!(
            r.cmd(&[b"SELECT", db]),
            b"-ERR DB index is out of range\r\n"
        );
    }
    for bad in [&b"x"[..], b"01", b"99999999999999999999"] {
        assert_eq!(
            r.cmd(&[b"SELECT", bad]),
            b"-ERR value is not an integer or out of range\r\n"
        );
    }
    // An integer beyond a C int has Redis's own text.
    for big in [&b"99999999999"[..], b"2147483648", b"-2147483649"] {
        assert_eq!(
            r.cmd(&[b"SELECT", big]),
            b"-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
        );
    }
    // The redis crate's /0 URL selects nothing; a db in the URL selects it.
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/0", s.port)).expect("client");
    let mut c = client.get_connection().expect("db 0");
    let pong: String = redis::cmd("PING").query(&mut c).expect("ping");
    assert_eq!(pong, "PONG");
}

#[test]
fn client_subcommands() {
    let s = Server::start();
    let mut r = s.raw();
    let id = client_id(&mut r);
    assert!(id > 0);
    assert_eq!(r.cmd(&[b"CLIENT", b"GETNAME"]), b"$-1\r\n");
    assert_eq!(r.cmd(&[b"CLIENT", b"SETNAME", b"worker-1"]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"CLIENT", b"GETNAME"]), b"$8\r\nworker-1\r\n");
    let bad_name = b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n";
    assert_eq!(r.cmd(&[b"CLIENT", b"SETNAME", b"a b"]), bad_name);
    assert_eq!(r.cmd(&[b"CLIENT", b"SETNAME", b"a\nb"]), bad_name);
    assert_eq!(r.cmd(&[b"CLIENT", b"SETNAME", "é".as_bytes()]), bad_name);
    assert_eq!(r.cmd(&[b"CLIENT", b"GETNAME"]), b"$8\r\nworker-1\r\n");
    assert_eq!(r.cmd(&[b"CLIENT", b"SETNAME", b""]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"CLIENT", b"GETNAME"]), b"$-1\r\n");

    assert_eq!(
        r.cmd(&[b"CLIENT", b"SETINFO", b"lib-name", b"my lib"]),
        b"-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CLIENT", b"SETINFO", b"LIB-COLOR", b"red"]),
        b"-ERR Unrecognized option 'LIB-COLOR'\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CLIENT", b"SETINFO", b"lib-name"]),
        b"-ERR wrong number of arguments for 'client|setinfo' command\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CLIENT", b"ID", b"x"]),
        b"-ERR wrong number of arguments for 'client|id' command\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CLIENT"]),
        b"-ERR wrong number of arguments for 'client' command\r\n"
    );
    assert_eq!(r.cmd(&[b"CLIENT", b"NO-EVICT", b"on"]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"CLIENT", b"NO-TOUCH", b"OFF"]), b"+OK\r\n");
    assert_eq!(
        r.cmd(&[b"CLIENT", b"NO-EVICT", b"maybe"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CLIENT", b"foo"]),
        b"-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n"
    );
    let help = text(r.cmd(&[b"CLIENT", b"HELP"]));
    assert!(
        help.starts_with(
            "*25\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
        ),
        "{help}"
    );

    // CLIENT LIST shows every connection, this one with its name.
    r.cmd(&[b"CLIENT", b"SETNAME", b"lister"]);
    let mut other = s.raw();
    let other_id = client_id(&mut other);
    let list = text(r.cmd(&[b"CLIENT", b"LIST"]));
    let body: Vec<&str> = list.split("\r\n").nth(1).expect("body").lines().collect();
    assert_eq!(body.len(), 2, "{list}");
    assert!(body[0].starts_with(&format!("id={id} ")), "{list}");
    assert!(body[0].contains(" name=lister "), "{list}");
    assert!(body[0].contains(" cmd=client|list "), "{list}");
    assert!(body[1].starts_with(&format!("id={other_id} ")), "{list}");
    let only = text(r.cmd(&[b"CLIENT", b"LIST", b"ID", other_id.to_string().as_bytes()]));
    assert_eq!(only.matches("id=").count(), 1, "{only}");
    assert!(only.contains(&format!("id={other_id} ")), "{only}");
    assert_eq!(
        r.cmd(&[b"CLIENT", b"LIST", b"TYPE", b"pubsub"]),
        b"$0\r\n\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CLIENT", b"LIST", b"TYPE", b"x"]),
        b"-ERR Unknown client type 'x'\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CLIENT", b"LIST", b"ID", b"x"]),
        b"-ERR Invalid client ID\r\n"
    );
    let info = text(r.cmd(&[b"CLIENT", b"INFO"]));
    assert!(info.contains(&format!("id={id} ")), "{info}");
    assert!(info.ends_with("\n\r\n"), "{info:?}");
}

#[test]
fn quit_replies_then_closes_and_ignores_the_rest() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(&pipeline(&[
        &[b"SET", b"before", b"1"],
        &[b"QUIT"],
        &[b"SET", b"after", b"1"],
    ]));
    assert_eq!(r.reply(), b"+OK\r\n");
    assert_eq!(r.reply(), b"+OK\r\n");
    assert!(r.closed());
    let mut other = s.raw();
    assert_eq!(other.cmd(&[b"EXISTS", b"before"]), b":1\r\n");
    assert_eq!(other.cmd(&[b"EXISTS", b"after"]), b":0\r\n");
    // QUIT inside MULTI is not queued.
    let mut m = s.raw();
    assert_eq!(m.cmd(&[b"MULTI"]), b"+OK\r\n");
    assert_eq!(m.cmd(&[b"QUIT"]), b"+OK\r\n");
    assert!(m.closed());
}

#[test]
fn reset_restores_a_fresh_connection() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&[b"HELLO", b"3", b"SETNAME", b"before-reset"]);
    r.cmd(&[b"WATCH", b"w"]);
    assert_eq!(r.cmd(&[b"MULTI"]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"SET", b"k", b"v"]), b"+QUEUED\r\n");
    assert_eq!(r.cmd(&[b"RESET"]), b"+RESET\r\n");
    // Out of MULTI, back to RESP2, no name, nothing watched.
    assert_eq!(r.cmd(&[b"EXEC"]), b"-ERR EXEC without MULTI\r\n");
    assert_eq!(r.cmd(&[b"GET", b"k"]), b"$-1\r\n");
    assert_eq!(r.cmd(&[b"CLIENT", b"GETNAME"]), b"$-1\r\n");
    let mut other = s.raw();
    other.cmd(&[b"SET", b"w", b"changed"]);
    r.cmd(&[b"MULTI"]);
    r.cmd(&[b"SET", b"k", b"v"]);
    assert_eq!(r.cmd(&[b"EXEC"]), b"*1\r\n+OK\r\n");
}
