//! The sans-IO core: connection rules with no I/O, no clock and no randomness of its own.
//!
//! The browser driver (and the native tests) feed it inputs with the current time and carry
//! out the [`Action`]s it returns. Everything here compiles and is tested on any target.
//!
//! ```
//! use tether_ws::core::{Action, Config, Machine, State};
//!
//! let mut m: Machine<&str> = Machine::new(Config::default(), 42, 0.0);
//! let Some(Action::Connect { id }) = m.poll_action() else { panic!("expected a connect") };
//! m.handle_opened(id, 10.0);
//! assert_eq!(m.state(), State::Open);
//! ```

mod backoff;
mod close_code;
mod config;
mod inflight;
mod machine;
mod outbox;
mod rng;

pub use backoff::{base_delay, jittered};
pub use close_code::{check_close_args, CloseArgError, MAX_REASON_BYTES};
pub use config::{Backoff, Config, ConfigError, Heartbeat, Overflow, QueueLimits};
pub use machine::{
    Action, CloseInfo, ConnId, DropReason, ErrorKind, Event, Machine, RetryReason, SendOutcome, State,
    ABNORMAL_CLOSURE, MESSAGE_TOO_BIG,
};
pub use outbox::{Admission, Outbox};
pub use rng::Rng;
