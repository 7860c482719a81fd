//! Starting and stopping the server: open the engine, bind, accept with a
//! client limit (above `maxclients` a client reads `-ERR max number of
//! clients reached` and is closed), protected mode, back off on accept
//! errors (e.g. out of file descriptors), and shut down gracefully on
//! SIGTERM, SIGINT or SHUTDOWN: stop accepting, let connections finish the
//! commands in flight, sync the engine.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::engine::{BlockingHook, Engine, Options};
use crate::server::config::Config;
use crate::server::connection;
use crate::server::db::Db;
use crate::server::state::ServerState;

const DENIED: &str = "-DENIED Slowpoke is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Slowpoke you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Slowpoke from the same host the server is running, however MAKE SURE Slowpoke is not publicly accessible from internet if you do so. 2) Alternatively you can just disable the protected mode by editing the configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Opens the data directory and serves until shutdown.
///
/// # Errors
/// A text for the log when the directory cannot be opened or the address
/// cannot be bound.
pub async fn run(config: Config) -> Result<(), String> {
    let started = Instant::now();
    let opts = Options {
        fsync: config.appendfsync,
        max_file_size: config.data_file_size,
        compaction_threshold: f64::from(config.compaction_threshold) / 100.0,
        compaction_rate: config.compaction_rate,
        // A read that must wait for the disk hands this worker's other
        // connections to another thread first, so one slow read never
        // stalls PINGs or page-cache hits of other clients.
        blocking_read: Some(BlockingHook(Arc::new(|read: &mut dyn FnMut()| {
            if tokio::runtime::Handle::try_current().is_ok() {
                tokio::task::block_in_place(read)
            } else {
                read()
            }
        }))),
        simulated_read_latency: Duration::from_millis(config.debug_read_latency_ms),
        ..Options::default()
    };
    let dir = config.dir.clone();
    let engine = tokio::task::spawn_blocking(move || Engine::open(&dir, opts))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let report = engine.recovery_report().clone();
    if !report.damage.is_empty() {
        tracing::warn!(
            damaged = report.damage.len(),
            "data directory had damaged records; see the errors above"
        );
    }
    let keys = engine.len();
    let mut listeners = Vec::new();
    for addr in &config.bind {
        let listener = bind(addr, config.port)
            .await
            .map_err(|e| format!("cannot bind {addr}:{}: {e}", config.port))?;
        listeners.push(listener);
    }
    let port = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map_or(config.port, |a| a.port());
    let state = ServerState::new(Db::new(engine), config.clone(), port);
    for l in &listeners {
        if let Ok(addr) = l.local_addr() {
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                dir = %config.dir.display(),
                keys,
                open_ms = started.elapsed().as_millis() as u64,
                "Ready to accept connections tcp addr={addr}"
            );
        }
    }
    let mut tasks = Vec::new();
    for listener in listeners {
        tasks.push(tokio::spawn(accept_loop(listener, Arc::clone(&state))));
    }
    tasks.push(tokio::spawn(trim_after_bursts(Arc::clone(&state))));
    wait_for_shutdown(&state).await;
    tracing::info!("shutting down: no new connections, finishing commands in flight");
    for t in &tasks {
        t.abort();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while state.connected.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let s = Arc::clone(&state);
    tokio::task::spawn_blocking(move || s.db.engine.close())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("final sync failed: {e}"))?;
    tracing::info!("Slowpoke is now ready to exit, bye bye...");
    Ok(())
}

/// Redis's default `tcp-backlog`. `TcpListener::bind` uses 128, and a
/// burst of connections past the accept queue waits out a SYN
/// retransmission (1 s) per dropped connect.
const TCP_BACKLOG: u32 = 511;

/// Binds and listens like `TcpListener::bind` (SO_REUSEADDR, first
/// resolved address that works), with a `TCP_BACKLOG` accept queue.
async fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(TCP_BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

async fn wait_for_shutdown(state: &Arc<ServerState>) {
    let mut rx = state.shutdown.subscribe();
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => tracing::info!("Received SIGTERM scheduling shutdown..."),
        _ = tokio::signal::ctrl_c() => tracing::info!("Received SIGINT scheduling shutdown..."),
        _ = rx.wait_for(|v| *v) => tracing::info!("SHUTDOWN requested by a client"),
    }
    state.request_shutdown();
}

fn is_loopback(addr: &SocketAddr) -> bool {
    match addr {
        SocketAddr::V4(a) => a.ip().is_loopback(),
        SocketAddr::V6(a) => {
            a.ip().is_loopback() || a.ip().to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<ServerState>) {
    let mut backoff = Duration::from_millis(5);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => {
                backoff = Duration::from_millis(5);
                x
            }
            Err(e) => {
                // EMFILE/ENFILE and friends: wait instead of spinning.
                tracing::warn!(error = %e, retry_ms = backoff.as_millis() as u64, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        state.stats.connections.fetch_add(1, Ordering::Relaxed);
        let config = state.config();
        if config.protected_mode && config.requirepass.is_none() && !is_loopback(&peer) {
            tokio::spawn(refuse(stream, DENIED));
            continue;
        }
        let connected = state.connected.fetch_add(1, Ordering::AcqRel) + 1;
        PEAK_CLIENTS.fetch_max(connected, Ordering::Relaxed);
        if connected > config.maxclients {
            state.connected.fetch_sub(1, Ordering::AcqRel);
            state.stats.rejected.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(refuse(stream, "-ERR max number of clients reached\r\n"));
            continue;
        }
        let laddr = stream.local_addr().unwrap_or(peer);
        let info = state.register(peer, laddr);
        let s = Arc::clone(&state);
        let shutdown = state.shutdown.subscribe();
        tokio::spawn(async move {
            let id = info.id;
            connection::serve(stream, Arc::clone(&s), info, shutdown).await;
            s.unregister(id);
            s.connected.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

/// Most clients connected at once since the last trim.
static PEAK_CLIENTS: AtomicUsize = AtomicUsize::new(0);
/// A burst must have left at least this many clients behind to trim.
const TRIM_AFTER_LEAVING: usize = 1000;

/// glibc keeps the memory of freed small allocations (each client's task
/// and buffers) in its arenas: after 10,000 clients leave, RSS stays ~60
/// MB above idle. Once connected clients fall below half their peak, by
/// at least `TRIM_AFTER_LEAVING`, hand the free pages back.
async fn trim_after_bursts(state: Arc<ServerState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = state.connected.load(Ordering::Relaxed);
        let peak = PEAK_CLIENTS.load(Ordering::Relaxed);
        if peak >= now.saturating_mul(2) && peak - now >= TRIM_AFTER_LEAVING {
            PEAK_CLIENTS.store(now, Ordering::Relaxed);
            let _ = tokio::task::spawn_blocking(release_free_memory).await;
        }
    }
}

fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

async fn refuse(mut stream: TcpStream, text: &'static str) {
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(text.as_bytes())).await;
    let _ = stream.shutdown().await;
}
