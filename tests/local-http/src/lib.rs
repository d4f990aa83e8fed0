//! What the project's two local servers share: the test server (`tests/server`) and the
//! demo relay (`www/relay`). Both serve files from the repository and take a few
//! `--flag value` arguments; each decides which files, which headers and which flags.

mod cli;
mod files;

pub use cli::{flags, loopback_addr, main_exit, shutdown_signal};
pub use files::{file_response, is_html, url_segments};
