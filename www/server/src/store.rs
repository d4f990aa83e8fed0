//! The shared session store: what several servers (nodes) keep in one place so that a
//! session opened on one resumes on any other ([`Config::store`](crate::Config::store)).
//!
//! Without a store (the default), a server's sessions live in its own memory, in the engine's
//! table, and nothing below is used. With one, every node still runs each session it carries
//! in its own engine, and the store holds the truth between them:
//!
//! - **What is written, and when.** A session's tokens, its `rx` (the client's messages the
//!   application has handled), the server's messages the client acknowledged, and every
//!   message the application sent it that is not yet acknowledged, written as they change
//!   ([`SessionStore::write`]), never only at disconnect: a node that dies loses nothing the
//!   client was told.
//! - **Nothing reaches a client before the store has it.** A `welcome` (its new token), a
//!   data frame (its message), an ack (its `rx`) are written to the client only once the
//!   write that covers them has landed. So whichever node the client comes back to, the
//!   store states at least what the client saw.
//! - **A client's message counts as handled when the application asks for the next event**
//!   (or drops [`Events`](crate::Events)): only then is its `rx` written and acknowledged, in
//!   the same write as what the application sent while handling it. A node that dies in
//!   between leaves the message unacknowledged: the client sends it again to the next node,
//!   and the replies the dead node had not written are not in the store either. The client
//!   sees each reply once.
//! - **One owner at a time, fenced.** A resume claims the session for its node
//!   ([`SessionStore::claim`], which checks the token first); the claim bumps the session's
//!   generation, and every write names the generation it was made under, so a node that lost
//!   a session can no longer write it ([`Outcome::Moved`]): it closes its connection with
//!   4001 and lets the session go. The store also tells the old node at once
//!   ([`SessionStore::taken`]); that is only quicker, the fence is what is relied on.
//! - **A store that lost its data** (a Redis restarted empty or flushed) answers writes with
//!   [`Outcome::Lost`] and resumes with [`Claim::Unknown`]: the node closes the connection
//!   (4003) and the client's resume is refused (`resumed: false`), never silently.

use std::future::Future;
use std::pin::Pin;

use tether_ws::core::continuity::ResumeReason;
use tokio::sync::mpsc;

use crate::message::{Message, Sid};

/// What the store's calls return: boxed, so that the trait stays object-safe.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A store several servers share. [`crate::RedisStore`] is the one this crate has.
///
/// Each call may fail ([`StoreError`]): the node then retries writes until they land
/// (holding back what depends on them) and refuses resumes with 1013 meanwhile.
pub trait SessionStore: Send + Sync + 'static {
    /// This node's id, unique among the nodes that share the store.
    fn node(&self) -> &str;

    /// Writes each of `writes` (atomically, each on its own), in order: one [`Outcome`]
    /// per write. Writing the same list again must be harmless (it is retried after an
    /// error whose effect is unknown).
    fn write<'a>(&'a self, writes: &'a [Write]) -> StoreFuture<'a, Vec<Outcome>>;

    /// Takes session `sid` for this node if `tok` is one of its two tokens (checked first:
    /// a sid alone takes nothing), bumping its generation and telling the node that had it.
    fn claim<'a>(&'a self, sid: &'a str, tok: &'a str) -> StoreFuture<'a, Claim>;

    /// Keeps sessions `sids` (attached to this node) alive for `expire_ms` from now.
    fn refresh<'a>(&'a self, sids: &'a [Sid], expire_ms: u64) -> StoreFuture<'a, ()>;

    /// The sessions other nodes claimed from this one, with the generation they took: the
    /// receiver, the first time it is asked for.
    fn taken(&self) -> Option<mpsc::Receiver<(Sid, u64)>>;
}

/// One write: session `sid`, made under generation `gen`.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// The session.
    pub sid: Sid,
    /// The generation this node holds it under (1 for a session it created).
    pub gen: u64,
    /// What to write.
    pub op: WriteOp,
}

/// What a [`Write`] does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WriteOp {
    /// A new session (generation 1), with its first state.
    Create(State),
    /// The session's state now.
    Update(State),
    /// The server ended the session: a resume with `last_tok` hears `reason`.
    End {
        /// Why.
        reason: ResumeReason,
        /// The session's last token.
        last_tok: String,
    },
    /// The session is gone (its client said `bye`).
    Remove,
}

/// A session's state, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The current token.
    pub tok: String,
    /// The previous one, while still good.
    pub prev_tok: Option<String>,
    /// The client's messages handled.
    pub rx: u64,
    /// The server's messages the client acknowledged.
    pub acked: u64,
    /// The index of `messages[0]`: the application's messages to the session are counted
    /// from 1, and a message's index is its seq. What the store already has from an earlier
    /// write is not sent again; indexes the store has are skipped.
    pub first: u64,
    /// The application's messages from `first` on, not yet written.
    pub messages: Vec<Message>,
    /// How long the session lives in the store from now unless written or refreshed, ms.
    pub expire_ms: u64,
    /// Detached: its TTL, from now (a claim after it is refused as expired). `None` while a
    /// connection carries it.
    pub ttl_ms: Option<u64>,
}

/// What became of a [`Write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Written.
    Written,
    /// Another node claimed the session (a newer generation): nothing was written.
    Moved,
    /// The store does not have the session (it expired there, or the store lost its data):
    /// nothing was written.
    Lost,
}

/// The answer to [`SessionStore::claim`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Claim {
    /// The session is this node's now.
    Taken(Claimed),
    /// No such session (never opened, gone after `bye`, expired in the store, or lost with
    /// the store's data).
    Unknown,
    /// The session exists, or ended, but the token is not its.
    Auth,
    /// The server ended it (`expired`, `overflow`); the token was its last one.
    Ended(ResumeReason),
}

/// A claimed session.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The generation it is now held under.
    pub gen: u64,
    /// The node that had it.
    pub previous_owner: String,
    /// The client's messages handled.
    pub rx: u64,
    /// The server's messages acknowledged.
    pub acked: u64,
    /// The held messages, from `acked + 1` on.
    pub messages: Vec<Message>,
}

/// A store call that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached, or did not answer in time.
    Unavailable(String),
    /// The store answered something this server cannot read.
    Malformed(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Unavailable(e) => write!(f, "session store unavailable: {e}"),
            StoreError::Malformed(e) => write!(f, "session store answered nonsense: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}
