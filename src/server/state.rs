//! Shared server state (`ServerState`: db, runtime config, counters,
//! connected clients, SCAN cursors, shutdown signal) and per-connection state
//! (`ConnState`: protocol, auth, MULTI queue, WATCH marks).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::engine::SyncTicket;
use crate::server::config::Config;
use crate::server::cursors::{CursorStore, Limits};
use crate::server::db::{Db, WatchMark};

/// Counters reported by INFO stats.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected: AtomicU64,
    /// Commands processed.
    pub commands: AtomicU64,
    /// Bytes read from clients.
    pub net_in: AtomicU64,
    /// Bytes written to clients.
    pub net_out: AtomicU64,
    /// Successful key lookups.
    pub hits: AtomicU64,
    /// Failed key lookups.
    pub misses: AtomicU64,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What CLIENT LIST / CLIENT INFO show about one connection; shared
/// between the connection task and the registry.
#[derive(Debug)]
pub struct ClientInfo {
    /// Client id.
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// When it connected.
    pub created: Instant,
    last_active_ms: AtomicU64,
    details: Mutex<ClientDetails>,
}

/// Mutable, rarely changed client details.
#[derive(Debug, Default, Clone)]
pub struct ClientDetails {
    /// CLIENT SETNAME.
    pub name: String,
    /// CLIENT SETINFO LIB-NAME.
    pub lib_name: String,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: String,
    /// Last command name.
    pub last_cmd: &'static str,
    /// Protocol version.
    pub resp: u8,
    /// In MULTI.
    pub multi: i64,
    /// Watched keys.
    pub watch: usize,
}

impl ClientInfo {
    /// Records activity and the last command.
    pub fn touch(&self, cmd: &'static str) {
        self.last_active_ms.store(unix_ms(), Ordering::Relaxed);
        if let Ok(mut d) = self.details.lock() {
            d.last_cmd = cmd;
        }
    }

    /// Seconds since the last command.
    pub fn idle_secs(&self) -> u64 {
        unix_ms().saturating_sub(self.last_active_ms.load(Ordering::Relaxed)) / 1000
    }

    /// A copy of the details.
    pub fn details(&self) -> ClientDetails {
        self.details.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// Changes the details.
    pub fn update(&self, f: impl FnOnce(&mut ClientDetails)) {
        if let Ok(mut d) = self.details.lock() {
            f(&mut d);
        }
    }

    /// The CLIENT LIST / CLIENT INFO line for this client.
    pub fn line(&self) -> String {
        let d = self.details();
        format!(
            "id={} addr={} laddr={} fd=8 name={} age={} idle={} flags={} db=0 sub=0 psub=0 ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            d.name,
            self.created.elapsed().as_secs(),
            self.idle_secs(),
            if d.multi >= 0 { "x" } else { "N" },
            d.multi,
            if d.last_cmd.is_empty() { "NULL" } else { d.last_cmd },
            d.resp.max(2),
            d.lib_name,
            d.lib_ver,
        )
    }
}

/// State shared by every connection.
pub struct ServerState {
    /// The keyspace.
    pub db: Db,
    /// Runtime configuration (CONFIG GET/SET).
    pub config: RwLock<Config>,
    /// Counters.
    pub stats: Stats,
    /// Connected clients by id.
    pub clients: Mutex<HashMap<u64, Arc<ClientInfo>>>,
    /// Number of connected clients.
    pub connected: AtomicUsize,
    next_id: AtomicU64,
    /// When the server started.
    pub started: Instant,
    /// 40 hex chars, new each start (INFO run_id).
    pub run_id: String,
    /// Sends `true` to ask the server to shut down.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// Port actually bound.
    pub port: u16,
    /// Group-commit waiter for `appendfsync always`, started on first use.
    pub durability: std::sync::OnceLock<crate::server::durability::DurabilityWaiter>,
    /// SCAN cursors: id -> resume position, a quota per connection.
    pub cursors: CursorStore,
}

impl ServerState {
    /// Builds the state around an open db.
    pub fn new(db: Db, config: Config, port: u16) -> Arc<Self> {
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let run_id: String = (0..40)
            .map(|_| char::from(b"0123456789abcdef"[rand::random::<usize>() % 16]))
            .collect();
        Arc::new(ServerState {
            db,
            config: RwLock::new(config),
            stats: Stats::default(),
            clients: Mutex::new(HashMap::new()),
            connected: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            started: Instant::now(),
            run_id,
            shutdown,
            port,
            durability: std::sync::OnceLock::new(),
            cursors: CursorStore::new(rand::random(), Limits::DEFAULT),
        })
    }

    /// A copy of the configuration.
    pub fn config(&self) -> Config {
        self.config.read().map(|c| c.clone()).unwrap_or_default()
    }

    /// True when a password is set.
    pub fn auth_required(&self) -> bool {
        self.config
            .read()
            .map(|c| c.requirepass.is_some())
            .unwrap_or(true)
    }

    /// Registers a new connection.
    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let info = Arc::new(ClientInfo {
            id,
            addr,
            laddr,
            created: Instant::now(),
            last_active_ms: AtomicU64::new(unix_ms()),
            details: Mutex::new(ClientDetails {
                multi: -1,
                resp: 2,
                ..Default::default()
            }),
        });
        if let Ok(mut c) = self.clients.lock() {
            c.insert(id, Arc::clone(&info));
        }
        info
    }

    /// Removes a connection from the registry; its SCAN cursors stay
    /// usable from other connections (under the orphans' bound).
    pub fn unregister(&self, id: u64) {
        if let Ok(mut c) = self.clients.lock() {
            c.remove(&id);
        }
        self.cursors.release(id);
    }

    /// Asks the server to stop.
    pub fn request_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

/// A MULTI block being queued.
#[derive(Debug, Default)]
pub struct MultiState {
    /// Queued commands.
    pub queue: Vec<Vec<Bytes>>,
    /// A queued command was rejected: EXEC must answer EXECABORT.
    pub aborted: bool,
}

/// Per-connection state.
pub struct ConnState {
    /// Registry entry.
    pub info: Arc<ClientInfo>,
    /// Protocol version (2 or 3).
    pub proto: u8,
    /// Authenticated (or no password needed).
    pub authed: bool,
    /// MULTI queue, when inside MULTI.
    pub multi: Option<MultiState>,
    /// WATCHed keys and their versions.
    pub watched: Vec<(Bytes, WatchMark)>,
    /// Close the connection after this reply (QUIT).
    pub close_after_reply: bool,
    /// What must be durable before replies go out.
    pub pending_sync: SyncTicket,
}

impl ConnState {
    /// State for a new connection.
    pub fn new(info: Arc<ClientInfo>, authed: bool) -> Self {
        ConnState {
            info,
            proto: 2,
            authed,
            multi: None,
            watched: Vec::new(),
            close_after_reply: false,
            pending_sync: SyncTicket::default(),
        }
    }

    /// True inside MULTI.
    pub fn in_multi(&self) -> bool {
        self.multi.is_some()
    }

    /// Marks the MULTI block (if any) as failed to queue.
    pub fn flag_multi_error(&mut self) {
        if let Some(m) = &mut self.multi {
            m.aborted = true;
        }
    }

    /// Queues a command inside MULTI.
    pub fn queue(&mut self, argv: Vec<Bytes>) {
        if let Some(m) = &mut self.multi {
            m.queue.push(argv);
            let n = m.queue.len() as i64;
            self.info.update(|d| d.multi = n);
        }
    }
}
