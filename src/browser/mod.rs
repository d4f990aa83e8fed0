//! The browser driver: the only code that touches web-sys, js-sys and gloo-timers. It turns
//! browser events into core inputs and core actions into browser calls.

mod bindings;
mod conn;
mod driver;
mod env;
mod listener;
mod persist;
mod target;

pub use driver::{Callbacks, Driver, DriverOptions, Sent};
pub(crate) use target::check_protocols;
pub use target::check_url;
