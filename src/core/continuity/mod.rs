//! The continuity protocol, version 1: exactly-once, in-order delivery in both directions
//! across reconnects, over a plain WebSocket. Sans-IO and shared by the client and server
//! roles: [`parse_control`] and its kin read and write the frames, [`Outgoing`] and
//! [`Incoming`] are the two halves of one direction. Any [`FrameError`] or
//! [`ProtocolError`] means: close with [`CLOSE_PROTOCOL_ERROR`] (4002).
//!
//! Beyond the wire contract, a `welcome` may state the server's window with `"window":N`
//! (messages, 1..=65536) and `"windowBytes":B` (1..=2^53−1), each optional on its own.
//!
//! ```
//! use tether_ws::core::continuity::{parse_data_header, DataHeaderBuf, Incoming, Outgoing, Received};
//!
//! let mut sender: Outgoing<&str> = Outgoing::default();
//! let mut receiver = Incoming::default();
//! let seq = sender.push("hi", 2).unwrap();
//! let mut frame = DataHeaderBuf::new(seq, 0).unwrap().as_str().to_owned();
//! frame.push_str("hi");
//!
//! let header = parse_data_header(frame.as_bytes()).unwrap();
//! assert_eq!(&frame[header.len..], "hi");
//! assert_eq!(receiver.handle_data(header.seq, 2, 0.0), Ok(Received::Deliver));
//! assert_eq!(receiver.poll_ack(250.0), Some(1)); // an `A1` frame, 250 ms later
//! assert_eq!(sender.handle_ack(1), Ok(1));
//! ```

use alloc::string::String;
use alloc::vec::Vec;

mod client;
mod frame;
mod json;
mod saved;
mod server;
mod stream;

pub use client::{Client, ClientConfig, ClientInbound, InDoubt, Resumed};
pub use saved::{RestoreError, SavedSession};
pub use server::{
    Change, ConnKey, Ended, Export, Import, ImportError, Inbound, SendError, ServerConfig, Sessions, Transmit,
};

pub use frame::{
    kind_of, parse_ack, parse_control, parse_data_header, write_bye, write_hello, write_welcome, AckBuf,
    Control, DataHeader, DataHeaderBuf, FrameError, FrameKind, Hello, ResumeReason, Welcome,
    MAX_CONTROL_BYTES, MAX_DATA_HEADER_BYTES, MAX_SEQ, MAX_TOKEN_BYTES, MAX_WINDOW_MESSAGES, PING, PONG,
};
pub use stream::{Incoming, Outgoing, ProtocolError, Received, Window, ACK_DELAY_MS};

/// Close code: the session was taken over by a resume on another socket.
pub const CLOSE_SUPERSEDED: u16 = 4001;

/// Close code: the peer broke the protocol (a malformed frame, a gap, an ack above sent).
pub const CLOSE_PROTOCOL_ERROR: u16 = 4002;

/// Close code: the server refused the session.
pub const CLOSE_SESSION_REFUSED: u16 = 4003;

/// The subprotocol token of this version, offered alone when the app has no subprotocols.
pub const SUBPROTOCOL: &str = "tether.v1";

/// The subprotocols to offer: [`SUBPROTOCOL`] alone when the app has none, else
/// `tether.v1+<p>` for each app protocol `<p>`, followed by the plain `<p>`s (so a server that
/// does not speak tether still picks the app's protocol).
pub fn offered_protocols(app: &[&str]) -> Vec<String> {
    if app.is_empty() {
        return alloc::vec![String::from(SUBPROTOCOL)];
    }
    let tethered = app.iter().map(|p| {
        let mut token = String::from(SUBPROTOCOL);
        token.push('+');
        token.push_str(p);
        token
    });
    tethered.chain(app.iter().map(|p| String::from(*p))).collect()
}

/// The app's protocol inside a selected tether token: `Some("chat")` for `tether.v1+chat`,
/// `Some("")` for `tether.v1`, `None` when the server did not select a tether token (then
/// the connection is a plain WebSocket).
pub fn app_protocol(selected: &str) -> Option<&str> {
    if selected == SUBPROTOCOL {
        return Some("");
    }
    let app = selected.strip_prefix(SUBPROTOCOL)?.strip_prefix('+')?;
    (!app.is_empty()).then_some(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(offered_protocols(&[]), ["tether.v1"]);
        assert_eq!(
            offered_protocols(&["chat", "v2.chat"]),
            ["tether.v1+chat", "tether.v1+v2.chat", "chat", "v2.chat"]
        );
        assert_eq!(app_protocol("tether.v1+chat"), Some("chat"));
        assert_eq!(app_protocol("tether.v1"), Some(""));
        assert_eq!(app_protocol("chat"), None);
        assert_eq!(app_protocol(""), None);
        assert_eq!(app_protocol("tether.v1+"), None);
        assert_eq!(app_protocol("tether.v10"), None);
        assert_eq!(app_protocol("tether.v2+chat"), None);
        for p in ["chat", "a+b"] {
            let offered = offered_protocols(&[p]);
            assert_eq!(app_protocol(&offered[0]), Some(p));
            assert_eq!(app_protocol(&offered[1]), None);
        }
    }

    #[test]
    fn close_codes() {
        assert_eq!(
            (CLOSE_SUPERSEDED, CLOSE_PROTOCOL_ERROR, CLOSE_SESSION_REFUSED),
            (4001, 4002, 4003)
        );
        assert_eq!(crate::core::check_close_args(CLOSE_PROTOCOL_ERROR, ""), Ok(()));
    }
}
