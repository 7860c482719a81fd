//! What a client may be shown, and when. Under `appendfsync always` no
//! reply may reveal a write before it is durable, neither to its writer
//! nor to a reader: writes are visible in the index at commit, before their
//! fsync. `hold_until_durable` is the one rule for that: whoever is about
//! to show a client something read from the keyspace (a reply; later a
//! served blocking pop, a pub/sub message, a keyspace notification) calls
//! it, and the client's next flush waits for the ticket it collects.
//!
//! The wait itself runs without a thread per waiting client: connections
//! hand their `SyncTicket` to one waiter thread with a oneshot to wake
//! them; the thread takes every ticket that arrived, makes the latest of
//! them durable with one engine sync (group commit), and answers them all.
//! While it syncs, new tickets queue up and form the next group.

use std::sync::mpsc;
use std::sync::{Arc, Weak};

use tokio::sync::oneshot;

use crate::engine::{self, Engine, SyncTicket};
use crate::server::state::ServerState;

/// The outcome sent to a waiter: on error the poison's text, or None when
/// the engine is closed (an engine error cannot be cloned for every waiter).
type Outcome = Result<(), Option<String>>;
type Request = (SyncTicket, oneshot::Sender<Outcome>);

/// Call after reading anything from the keyspace that is going to a client
/// (before its output is flushed): adds to `pending` a ticket for every
/// write appended so far, so the flush waits until they are all durable
/// and, if their fsync fails, sends the error instead. A no-op (and no
/// wait) under `everysec` and `no`, and when everything is durable already.
pub fn hold_until_durable(engine: &Engine, pending: &mut SyncTicket) {
    *pending = pending.merge(engine.pending_ticket());
}

/// Handle to the waiter thread.
#[derive(Debug)]
pub struct DurabilityWaiter {
    tx: std::sync::Mutex<mpsc::Sender<Request>>,
}

impl DurabilityWaiter {
    /// Starts the waiter for `state`'s engine.
    pub fn start(state: &Arc<ServerState>) -> std::io::Result<DurabilityWaiter> {
        let (tx, rx) = mpsc::channel::<Request>();
        let weak: Weak<ServerState> = Arc::downgrade(state);
        std::thread::Builder::new()
            .name("slowpoke-durable".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut group = vec![first];
                    group.extend(rx.try_iter());
                    let ticket = group
                        .iter()
                        .fold(SyncTicket::default(), |t, (o, _)| t.merge(*o));
                    let outcome = match weak.upgrade() {
                        Some(s) => s.db.engine.wait_durable(ticket).map_err(failure_text),
                        None => Err(None),
                    };
                    for (_, done) in group {
                        let _ = done.send(outcome.clone());
                    }
                }
            })?;
        Ok(DurabilityWaiter {
            tx: std::sync::Mutex::new(tx),
        })
    }

    /// Resolves once the writes behind `ticket` are durable.
    ///
    /// # Errors
    /// `engine::Error::Poisoned` when they cannot be (a failed fsync), or
    /// `Closed` when the engine is gone.
    pub async fn wait(&self, ticket: SyncTicket) -> Result<(), engine::Error> {
        let (done, rx) = oneshot::channel();
        let sent = self
            .tx
            .lock()
            .map(|tx| tx.send((ticket, done)).is_ok())
            .unwrap_or(false);
        if !sent {
            return Err(engine::Error::Closed);
        }
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Some(why))) => Err(engine::Error::Poisoned(why)),
            Ok(Err(None)) | Err(_) => Err(engine::Error::Closed),
        }
    }
}

/// What a failed wait tells every waiter: the poison's own text, so all
/// of them get the same error as the writer.
fn failure_text(e: engine::Error) -> Option<String> {
    match e {
        engine::Error::Closed => None,
        engine::Error::Poisoned(why) => Some(why),
        other => Some(other.to_string()),
    }
}
