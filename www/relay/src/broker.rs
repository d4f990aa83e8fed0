//! How a relay shares its room with other relays: the [`Broker`] trait and the in-process
//! default (alone, nothing to share). The Redis broker is [`crate::redis_broker`].
//!
//! The hub owns what its own clients see. It tells the broker, without ever waiting, when
//! one of its clients moved or left ([`Broker::changed`]); the broker reads that client's
//! latest state back from the hub when it gets round to sending it (so a burst of moves is
//! sent once), and feeds the other relays' cursors into the hub (`Hub::remote_*`,
//! `Hub::sync_remote`) from a task of its own ([`Broker::start`]).

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::hub::Hub;

pub trait Broker: Send + Sync + 'static {
    /// This relay's number among those sharing the broker (0 when alone). It is the high
    /// half of the relay's client ids, which keeps them unique across relays.
    fn node(&self) -> u64;

    /// Local client `id` moved or left. Called with no lock held; must not block.
    fn changed(&self, id: u64);

    /// Starts what runs beside `hub` until `shutdown` turns true (once; later calls return
    /// `None`). The server waits a little for the task to say goodbye.
    fn start(&self, hub: Arc<Hub>, shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>>;
}

/// One relay alone: everything is in its hub.
pub struct InProcess;

impl Broker for InProcess {
    fn node(&self) -> u64 {
        0
    }

    fn changed(&self, _id: u64) {}

    fn start(&self, _hub: Arc<Hub>, _shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
        None
    }
}
