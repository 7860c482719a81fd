//! Waiting for fsync under `appendfsync always` without a thread per
//! waiting client: connections hand their `SyncTicket` to one waiter
//! thread with a oneshot to wake them; the thread takes every ticket that
//! arrived, makes the latest of them durable with one engine sync (group
//! commit), and answers them all. While it syncs, new tickets queue up and
//! form the next group.

use std::sync::mpsc;
use std::sync::{Arc, Weak};

use tokio::sync::oneshot;

use crate::engine::SyncTicket;
use crate::server::state::ServerState;

type Request = (SyncTicket, oneshot::Sender<bool>);

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
                    let ok = weak
                        .upgrade()
                        .is_some_and(|s| s.db.engine.wait_durable(ticket).is_ok());
                    for (_, done) in group {
                        let _ = done.send(ok);
                    }
                }
            })?;
        Ok(DurabilityWaiter {
            tx: std::sync::Mutex::new(tx),
        })
    }

    /// Resolves once the writes behind `ticket` are durable: true, or
    /// false if they cannot be (a failed fsync).
    pub async fn wait(&self, ticket: SyncTicket) -> bool {
        let (done, rx) = oneshot::channel();
        let sent = self
            .tx
            .lock()
            .map(|tx| tx.send((ticket, done)).is_ok())
            .unwrap_or(false);
        sent && rx.await.unwrap_or(false)
    }
}
