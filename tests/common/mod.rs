//! Test harness: starts the real `slowpoke` binary on an ephemeral
//! loopback port with a temporary data directory, and offers a `redis`
//! crate connection or raw-bytes access for exact reply checks.
#![allow(dead_code)]

pub mod files;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Called by a test that cannot run here (no root for a tmpfs mount, no
/// redis-server to compare with). Fails the test, so a check never goes
/// missing unnoticed, unless `SLOWPOKE_ALLOW_SKIP=1` says skipping is
/// allowed (CI does not set it); then it prints `SKIPPED: why` and returns,
/// and the caller skips what it cannot do.
pub fn skip_or_fail(why: &str) {
    if std::env::var("SLOWPOKE_ALLOW_SKIP").as_deref() == Ok("1") {
        println!("SKIPPED: {why}");
        return;
    }
    panic!("{why}; this test must run here (set SLOWPOKE_ALLOW_SKIP=1 to let it skip)");
}

/// A running server process.
pub struct Server {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    /// Its data directory.
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    args: Vec<String>,
    /// Everything it wrote to stderr so far.
    pub log: Arc<Mutex<String>>,
    /// RLIMIT_NOFILE (soft and hard) set in the child before exec, if any.
    nofile: Option<u64>,
}

impl Server {
    /// Starts a server with default flags in a fresh directory.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts a server with extra flags in a fresh directory.
    pub fn start_with(args: &[&str]) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let mut s = Server {
            child: None,
            port: 0,
            dir,
            _tmp: Some(tmp),
            args: args.iter().map(|s| s.to_string()).collect(),
            log: Arc::new(Mutex::new(String::new())),
            nofile: None,
        };
        s.spawn(0);
        s
    }

    /// Starts a server on an existing directory.
    pub fn start_in(dir: &Path, args: &[&str]) -> Server {
        let mut s = Server {
            child: None,
            port: 0,
            dir: dir.to_path_buf(),
            _tmp: None,
            args: args.iter().map(|s| s.to_string()).collect(),
            log: Arc::new(Mutex::new(String::new())),
            nofile: None,
        };
        s.spawn(0);
        s
    }

    /// Starts a server with extra flags in a fresh directory, its
    /// RLIMIT_NOFILE (soft and hard) lowered to `nofile` before exec, as
    /// `prlimit --nofile=N` would.
    pub fn start_with_nofile(args: &[&str], nofile: u64) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let mut s = Server {
            child: None,
            port: 0,
            dir,
            _tmp: Some(tmp),
            args: args.iter().map(|s| s.to_string()).collect(),
            log: Arc::new(Mutex::new(String::new())),
            nofile: Some(nofile),
        };
        s.spawn(0);
        s
    }

    fn spawn(&mut self, port: u16) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slowpoke"));
        if let Some(n) = self.nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe and touches only the
            // child between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command
            .arg("--port")
            .arg(port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start slowpoke");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::clone(&self.log);
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    if let Some(at) = line.find("addr=127.0.0.1:") {
                        let digits: String = line[at + 15..]
                            .chars()
                            .take_while(|c| c.is_ascii_digit())
                            .collect();
                        if let Ok(p) = digits.parse::<u16>() {
                            let _ = tx.send(p);
                            sent = true;
                        }
                    }
                }
                if let Ok(mut l) = log.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "server did not start; log:\n{}",
                    self.log.lock().map(|l| l.clone()).unwrap_or_default()
                )
            });
        self.port = port;
        self.child = Some(child);
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A `redis` crate client.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("client")
    }

    /// A connected `redis` crate connection.
    pub fn conn(&self) -> redis::Connection {
        let c = self.client().get_connection().expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        c
    }

    /// A raw TCP connection for exact bytes.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// SIGTERM and wait; returns the exit status code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("server did not stop within 30 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL and wait.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for the process to exit on its own (e.g. after SHUTDOWN).
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops (SIGTERM) and starts again on the same directory and flags.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn(0);
    }

    /// Starts again after a kill.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "still running");
        self.spawn(0);
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Raw RESP over TCP, for byte-exact checks.
pub struct Raw {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects to 127.0.0.1:port.
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends a command as a RESP array of bulk strings.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&encode(args));
        self.reply()
    }

    /// Sends a command given as text words and returns the reply as text.
    pub fn cmd_str(&mut self, line: &str) -> String {
        let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
        String::from_utf8_lossy(&self.cmd(&words)).into_owned()
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Reads exactly one complete reply and returns its raw bytes.
    pub fn reply(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = reply_len(&self.buf) {
                return self.buf.drain(..n).collect();
            }
            if !self.fill() {
                panic!(
                    "connection closed before a full reply; got {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
        }
    }

    /// True when the server closed the connection (reads EOF within 5 s).
    pub fn closed(&mut self) -> bool {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut b = [0u8; 1024];
        loop {
            match self.stream.read(&mut b) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        }
    }
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

/// Length of the first complete RESP2/RESP3 reply in `buf`, if complete.
pub fn reply_len(buf: &[u8]) -> Option<usize> {
    fn at(buf: &[u8], pos: usize) -> Option<usize> {
        let kind = *buf.get(pos)?;
        let end = line_end(buf, pos)?;
        let head = std::str::from_utf8(&buf[pos + 1..end]).ok()?;
        let after = end + 2;
        match kind {
            b'+' | b'-' | b':' | b',' | b'#' | b'_' | b'(' => Some(after),
            b'$' | b'=' | b'!' => {
                let n: i64 = head.parse().ok()?;
                if n < 0 {
                    return Some(after);
                }
                let total = after + n as usize + 2;
                (buf.len() >= total).then_some(total)
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n: i64 = head.parse().ok()?;
                let items = if n < 0 {
                    0
                } else if kind == b'%' || kind == b'|' {
                    2 * n
                } else {
                    n
                };
                let mut p = after;
                for _ in 0..items {
                    p = at(buf, p)?;
                }
                Some(p)
            }
            _ => None,
        }
    }
    at(buf, 0)
}
