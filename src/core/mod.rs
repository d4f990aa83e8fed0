//! The sans-IO core: connection rules with no I/O, no clock and no randomness of its own.
//!
//! [`Machine`] holds every rule (backoff, outbox, in-flight log, close codes, heartbeat,
//! options); a driver owns the sockets, the listeners and one timer, and does nothing but
//! what this contract says. There are two drivers, kept parallel: the npm package's JS class
//! (src/js/tether_socket.js, over [`Machine`] through `Core`, whose methods are the
//! machine's in camelCase without `handle_`) and the Rust API's (src/browser/driver.rs).
//! Everything here compiles and is tested on any target.
//!
//! # The driver contract
//!
//! **Inputs** (`handle_*`, each with the time `now` in ms where it matters, and the
//! [`ConnId`] of the socket concerned; an input naming another socket than the current one is
//! ignored):
//! [`handle_socket_created`](Machine::handle_socket_created),
//! [`handle_opened`](Machine::handle_opened), [`handle_message`](Machine::handle_message)
//! (heartbeats on; with `isPong`'s verdict), [`handle_oversized`](Machine::handle_oversized)
//! (instead of delivering it), [`handle_error`](Machine::handle_error),
//! [`handle_closed`](Machine::handle_closed) (with the socket's `bufferedAmount`, and the
//! `shouldReconnect` verdict when [`asks_should_reconnect`](Machine::asks_should_reconnect)
//! says to ask), [`handle_connect_failed`](Machine::handle_connect_failed),
//! [`handle_written`](Machine::handle_written) / [`handle_unsent`](Machine::handle_unsent)
//! (what became of a write), [`handle_heartbeat_written`](Machine::handle_heartbeat_written),
//! [`handle_buffered`](Machine::handle_buffered) (when a write returned true),
//! [`handle_timeout`](Machine::handle_timeout), [`handle_online`](Machine::handle_online),
//! [`handle_offline`](Machine::handle_offline), [`handle_visibility`](Machine::handle_visibility).
//!
//! **Commands** (the user's calls): [`send`](Machine::send), [`close`](Machine::close),
//! [`reconnect`](Machine::reconnect), [`take_queued`](Machine::take_queued),
//! [`dispose`](Machine::dispose).
//!
//! **Outputs**: [`poll_action`](Machine::poll_action) until `None` after every input or
//! command — [`Action::Connect`] (create the socket, then `handle_socket_created`, or
//! `handle_connect_failed`), [`Action::Flush`] (write [`poll_flush`](Machine::poll_flush)'s
//! messages until `None`), [`Action::SendHeartbeat`], [`Action::Close`] (with `abandon`:
//! detach from that socket now; its events are no longer wanted), [`Action::Emit`] (tell the
//! user) — and **one deadline**, [`poll_timeout`](Machine::poll_timeout): the driver keeps a
//! single timer armed for it and calls `handle_timeout` when it fires (early is harmless).
//!
//! **Ordering rules**:
//! - Carry out actions in the order polled; the machine has already ordered them (a flush
//!   before `open` is told, a requeue before that socket's `close`).
//! - A message in hand ([`SendOutcome::Write`], or from `poll_flush`) is reported exactly
//!   once, `handle_written` or `handle_unsent`, before any other input.
//! - User code (listeners, `isPong`, `shouldReconnect`, URL providers) may call any command
//!   at any time, dispose included: the driver holds no borrow of the machine while it runs,
//!   and polls again afterwards.
//! - After `dispose`, only [`Event::Dropped`] is still told.
//!
//! ```
//! use tether_ws::core::{Action, Config, Machine, State};
//!
//! let mut m: Machine<&str> = Machine::new(Config::default(), 42, 0.0);
//! let Some(Action::Connect { id }) = m.poll_action() else { panic!("expected a connect") };
//! m.handle_opened(id, 10.0, "");
//! assert_eq!(m.state(), State::Open);
//! ```

mod backoff;
mod close_code;
mod config;
pub mod continuity;
mod inflight;
mod machine;
mod outbox;
mod rng;
mod session;

pub use backoff::{base_delay, jittered};
pub use close_code::{check_close_args, CloseArgError, MAX_REASON_BYTES};
pub use config::{Backoff, Config, ConfigError, Continuity, Heartbeat, Overflow, QueueLimits};
pub use machine::{
    Action, CloseInfo, ConnId, DropReason, ErrorKind, Event, Machine, RetryReason, SendOutcome, SessionStart,
    State, ABNORMAL_CLOSURE, MESSAGE_TOO_BIG,
};
pub use outbox::{Admission, Outbox};
pub use rng::Rng;
