//! One client connection: read bytes, decode every complete command in the
//! buffer, execute them in order, and send all their replies in one write
//! (pipelining). Under `appendfsync always` replies go out only once every
//! write they could reveal is durable (`durability::hold_until_durable`;
//! the fsync wait runs on a waiter thread, shared with other clients by
//! group commit); if that fsync fails each reply of the batch becomes the
//! error and the connection stays open. Limits: a protocol error is replied
//! and closes the connection; replies are flushed every `FLUSH_AT` bytes so
//! a batch never buffers unbounded output; a client that stops reading is
//! disconnected after `STALLED_WRITE`; an idle client after `timeout`.
//! Memory: a connection that has sent nothing holds no read buffer (it is
//! allocated once the socket is readable), and once empty, a read buffer
//! that received more than `KEEP_IDLE` bytes or a reply buffer grown past
//! it is freed, so an idle client never keeps the memory of its largest
//! value.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::codec::Decoder;

use crate::engine::{Error, SyncTicket};
use crate::server::cmd;
use crate::server::codec::RespCodec;
use crate::server::durability::DurabilityWaiter;
use crate::server::error::CommandError;
use crate::server::reply::Reply;
use crate::server::state::{ClientInfo, ConnState, ServerState};

/// Pending output is written out once it passes this size.
const FLUSH_AT: usize = 1 << 20;
/// A write that makes no progress for this long disconnects the client.
const STALLED_WRITE: Duration = Duration::from_secs(30);
/// Most writes grouped into one engine transaction.
const PIPELINE_GROUP: usize = 64;
/// Read buffer growth step.
const READ_CHUNK: usize = 64 * 1024;
/// Between batches, a reply buffer grown past this, or an empty read buffer
/// that received more than this since it was allocated, is freed.
const KEEP_IDLE: usize = 4 * READ_CHUNK;

/// Why the connection ended (for the log).
#[derive(Debug)]
enum End {
    Closed,
    Quit,
    Protocol,
    Idle,
    Shutdown,
    Io,
    Stalled,
}

/// Rendered replies not yet sent, and how many there are (each one is
/// replaced by an error if the writes they could reveal are not durable).
#[derive(Default)]
struct Output {
    bytes: BytesMut,
    replies: usize,
}

/// Serves one client until it leaves, errs, idles out or the server stops.
pub async fn serve(
    mut stream: TcpStream,
    server: Arc<ServerState>,
    info: Arc<ClientInfo>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let config = server.config();
    let mut codec = RespCodec::new(config.proto_max_bulk_len);
    let mut conn = ConnState::new(Arc::clone(&info), config.requirepass.is_none());
    let mut input = BytesMut::new();
    // Bytes read into `input` since it was allocated.
    let mut input_bytes = 0usize;
    let mut output = Output::default();
    let end = loop {
        // Execute every complete command already buffered. Consecutive
        // small-reply writes are grouped (one engine transaction for up to
        // `PIPELINE_GROUP`); anything else runs alone, with the output
        // checked after each command so big replies never pile up.
        let mut end: Option<End>;
        let mut group: Vec<Vec<Bytes>> = Vec::new();
        loop {
            let (argv, error, done) = match codec.decode(&mut input) {
                Ok(Some(argv)) => (Some(argv), None, false),
                Ok(None) => (None, None, true),
                Err(e) => (None, Some(e), true),
            };
            if let Some(argv) = argv {
                let joins = cmd::groupable(&server, &conn, &argv).is_some();
                if joins && group.len() < PIPELINE_GROUP {
                    group.push(argv);
                } else {
                    end = run(&mut stream, &server, &mut conn, &mut output, &group).await;
                    group.clear();
                    if end.is_some() {
                        break;
                    }
                    if joins {
                        group.push(argv);
                    } else {
                        end = run(&mut stream, &server, &mut conn, &mut output, &[argv]).await;
                        if end.is_some() {
                            break;
                        }
                    }
                }
            }
            if done {
                end = run(&mut stream, &server, &mut conn, &mut output, &group).await;
                // Arguments share the read buffer: drop them before waiting
                // for more input, or an idle client keeps its biggest value.
                group = Vec::new();
                if end.is_none() {
                    if let Some(e) = error {
                        tracing::debug!(client = info.id, error = %e, "protocol error");
                        // The replies before it go out first, after their
                        // durability wait, which cannot turn this into one.
                        end = Some(
                            match flush(&mut stream, &server, &mut conn, &mut output).await {
                                Ok(()) => End::Protocol,
                                Err(e) => e,
                            },
                        );
                        output.bytes.extend_from_slice(b"-");
                        output.bytes.extend_from_slice(e.to_string().as_bytes());
                        output.bytes.extend_from_slice(b"\r\n");
                    }
                }
                break;
            }
        }
        // After a failed flush mid-batch, never retry the output: a stalled
        // client would wait `STALLED_WRITE` twice.
        let flush_failed = matches!(end, Some(End::Stalled | End::Io));
        if !flush_failed {
            if let Err(e) = flush(&mut stream, &server, &mut conn, &mut output).await {
                break e;
            }
        }
        if let Some(e) = end {
            break e;
        }
        if *shutdown.borrow() {
            break End::Shutdown;
        }
        codec.set_max_bulk_len(
            server
                .config
                .read()
                .map(|c| c.proto_max_bulk_len)
                .unwrap_or(usize::MAX),
        );
        let timeout = server.config.read().map(|c| c.timeout).unwrap_or(0);
        // Arguments are split off `input`, so its capacity no longer shows
        // the allocation a big value grew: count what it received instead.
        if input.is_empty() && input_bytes > KEEP_IDLE {
            input = BytesMut::new();
            input_bytes = 0;
        }
        if output.bytes.capacity() > KEEP_IDLE {
            output = Output::default();
        }
        // Wait for data before reserving, so idle clients hold no buffer.
        let read = async {
            loop {
                stream.readable().await?;
                if input.capacity() - input.len() < READ_CHUNK / 4 {
                    input.reserve(READ_CHUNK);
                }
                match stream.try_read_buf(&mut input) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    r => return r,
                }
            }
        };
        let idle = async {
            if timeout == 0 {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(Duration::from_secs(timeout)).await
            }
        };
        tokio::select! {
            r = read => match r {
                Ok(0) => break End::Closed,
                Ok(n) => {
                    input_bytes += n;
                    server.stats.net_in.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(_) => break End::Io,
            },
            _ = idle => break End::Idle,
            _ = shutdown.changed() => break End::Shutdown,
        }
    };
    tracing::debug!(client = info.id, reason = ?end, "client gone");
    let _ = stream.shutdown().await;
}

/// Executes `cmds` (one command, or a group of writes), renders their
/// replies, and flushes once the output passes `FLUSH_AT`. Returns why the
/// connection must end, if it must.
async fn run(
    stream: &mut TcpStream,
    server: &Arc<ServerState>,
    conn: &mut ConnState,
    output: &mut Output,
    cmds: &[Vec<Bytes>],
) -> Option<End> {
    if cmds.is_empty() {
        return None;
    }
    for reply in cmd::execute_pipeline(server, conn, cmds) {
        reply.write_to(&mut output.bytes, conn.proto);
        output.replies += 1;
    }
    if conn.close_after_reply {
        return Some(End::Quit);
    }
    if output.bytes.len() >= FLUSH_AT {
        return flush(stream, server, conn, output).await.err();
    }
    None
}

/// Waits until the writes the pending replies could reveal are durable
/// (if the policy asks), then writes the replies, or, if those writes
/// cannot be made durable, the error in place of each of them.
async fn flush(
    stream: &mut TcpStream,
    server: &Arc<ServerState>,
    conn: &mut ConnState,
    out: &mut Output,
) -> Result<(), End> {
    let ticket = std::mem::take(&mut conn.pending_sync);
    if !ticket.is_done() {
        if let Err(e) = wait_durable(server, ticket).await {
            tracing::debug!(client = conn.info.id, error = %e, "replies withheld");
            let error = Reply::Error(CommandError::Engine(e).to_string().into());
            out.bytes.clear();
            for _ in 0..out.replies {
                error.write_to(&mut out.bytes, conn.proto);
            }
        }
    }
    out.replies = 0;
    let output = &mut out.bytes;
    if output.is_empty() {
        return Ok(());
    }
    let mut written = 0;
    while written < output.len() {
        match tokio::time::timeout(STALLED_WRITE, stream.write(&output[written..])).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Err(End::Io),
            Ok(Ok(n)) => written += n,
            Err(_) => return Err(End::Stalled),
        }
    }
    server
        .stats
        .net_out
        .fetch_add(written as u64, Ordering::Relaxed);
    output.clear();
    Ok(())
}

async fn wait_durable(server: &Arc<ServerState>, ticket: SyncTicket) -> Result<(), Error> {
    match server.durability.get() {
        Some(w) => w.wait(ticket).await,
        None => match DurabilityWaiter::start(server) {
            Ok(w) => server.durability.get_or_init(|| w).wait(ticket).await,
            Err(_) => {
                let s = Arc::clone(server);
                tokio::task::spawn_blocking(move || s.db.engine.wait_durable(ticket))
                    .await
                    .unwrap_or(Err(Error::Closed))
            }
        },
    }
}
