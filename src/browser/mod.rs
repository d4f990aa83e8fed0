//! The browser driver: the only code that touches web-sys, js-sys and gloo-timers. It turns
//! browser events into core inputs and core actions into browser calls.

mod bindings;
mod conn;
mod driver;
mod env;
mod listener;
pub mod target;

pub use driver::{Driver, DriverOptions, Sent, Callbacks};
pub use listener::Listener;
pub use target::{Source, TargetError};
