//! What the Leptos and Yew hooks share: a socket made on the client, in an effect, that
//! writes what a component shows (state, last message, retry count, queued count, last
//! error) into the framework's signals or state handles on every event, and a `send` that
//! holds messages until the socket exists; and an `on_message` handler that sees every
//! message (the `message` signal or state holds only the latest).
//!
//! The frameworks differ only in where the [`Conn`] lives (a local `StoredValue` in Leptos,
//! a `use_mut_ref` in Yew), in what [`Show`] writes to, and in how the effect and its
//! cleanup are registered.

use std::cell::RefCell;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::Error;
use super::socket::{Socket, SocketBuilder, Subscription};
use super::types::{Event, Message, Sent, State};

#[cfg(feature = "leptos")]
pub mod leptos;
#[cfg(feature = "yew")]
pub mod yew;

/// Where a component's view of its socket is written: the framework's signals or state
/// handles. Each setter may be called with an unchanged value (implementations skip those).
pub(crate) trait Show<In>: Clone + 'static {
    fn state(&self, state: State);
    fn counts(&self, retries: u32, queued: usize);
    fn message(&self, message: In);
    fn error(&self, error: Option<String>);
}

/// How a hook turns messages into `In` and `Out` into messages: the raw hooks pass
/// [`Message`]s through, the typed ones speak a [`Codec`](super::Codec), JSON unless told
/// (as [`TypedSocket`](super::TypedSocket)).
pub(crate) struct Codec<In, Out> {
    pub decode: fn(&Message) -> Result<In, String>,
    pub encode: fn(Out) -> Result<Message, Error>,
}

impl<In, Out> Clone for Codec<In, Out> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<In, Out> Copy for Codec<In, Out> {}

pub(crate) fn raw() -> Codec<Message, Message> {
    Codec {
        decode: |m| Ok(m.clone()),
        encode: Ok,
    }
}

pub(crate) fn json<In: DeserializeOwned, Out: Serialize>() -> Codec<In, Out> {
    typed::<In, Out, super::codec::Json>()
}

/// The codec `C` (a [`Codec`](super::Codec)), as a hook's: decode errors as the codec's
/// message, encode errors as [`TypedSocket::send`](super::TypedSocket::send) reports them.
pub(crate) fn typed<In, Out, C: super::codec::Codec<In, Out>>() -> Codec<In, Out> {
    Codec {
        decode: |m| C::decode(m).map_err(|e| e.message().to_owned()),
        encode: |value| C::encode(&value).map_err(super::codec::CodecError::into_error),
    }
}

/// What a hook's `on_message` registered (one: a later call replaces it).
pub(crate) type Handler<In> = Rc<dyn Fn(&In)>;

/// A component's socket, once its effect ran (client only). Field order matters: the
/// subscription goes before the socket, so that no callback runs while it closes.
pub(crate) struct Conn<In> {
    events: Option<Subscription>,
    socket: Option<Socket>,
    /// Sent before the socket exists (the first render, until the effect ran): handed to
    /// it, in order, when it is made.
    held: Vec<Message>,
    /// `connect()` failed (a bad URL or option): what `send` answers from then on.
    failed: Option<Error>,
    /// Called with every message (registered in a render, possibly before the socket).
    handler: Option<Handler<In>>,
}

impl<In> Default for Conn<In> {
    fn default() -> Self {
        Conn {
            events: None,
            socket: None,
            held: Vec::new(),
            failed: None,
            handler: None,
        }
    }
}

impl<In> Conn<In> {
    pub(crate) fn socket(&self) -> Option<Socket> {
        self.socket.clone()
    }

    pub(crate) fn set_handler(&mut self, handler: Handler<In>) {
        self.handler = Some(handler);
    }
}

/// Makes the socket (in the component's effect, on the client) and keeps `show` up to date
/// from its events. The messages held in `conn` are sent first.
pub(crate) fn start<In: 'static, Out, S: Show<In>>(
    conn: &Rc<RefCell<Conn<In>>>,
    builder: SocketBuilder,
    codec: Codec<In, Out>,
    show: S,
) {
    let held = std::mem::take(&mut conn.borrow_mut().held);
    let socket = match builder.connect() {
        Ok(socket) => socket,
        Err(e) => {
            show.state(State::Closed);
            show.counts(0, 0);
            show.error(Some(e.to_string()));
            conn.borrow_mut().failed = Some(e);
            return;
        }
    };
    // (Weak: the socket owns this callback, and `conn` owns the socket.)
    let (weak_socket, weak_conn) = (socket.downgrade(), Rc::downgrade(conn));
    let on_event = show.clone();
    let events = socket.on_event(move |event| {
        match event {
            Event::Message(message) => match (codec.decode)(message) {
                Ok(value) => {
                    // (Cloned out: the handler may send, which borrows `conn`.)
                    let handler = weak_conn.upgrade().and_then(|c| c.borrow().handler.clone());
                    if let Some(handler) = handler {
                        handler(&value);
                    }
                    on_event.message(value);
                }
                Err(e) => on_event.error(Some(e)),
            },
            Event::Open => on_event.error(None),
            Event::Error(e) => on_event.error(Some(e.to_string())),
            _ => {}
        }
        // (None while the socket is being dropped: nothing more to show.)
        if let Some(socket) = weak_socket.upgrade() {
            on_event.state(socket.state());
            on_event.counts(socket.retry_count(), socket.queued_messages());
        }
    });
    for message in held {
        if let Err(e) = socket.send(message) {
            show.error(Some(e.to_string()));
        }
    }
    show.state(socket.state());
    show.counts(socket.retry_count(), socket.queued_messages());
    let mut conn = conn.borrow_mut();
    conn.events = Some(events);
    conn.socket = Some(socket);
}

/// Ends what `start` made: unsubscribes, then drops the component's socket handle (the
/// connection closes unless the app holds a clone of it). The next `start` begins afresh;
/// the handler stays, unless `forget_handler` (the component is gone).
pub(crate) fn stop<In>(conn: &RefCell<Conn<In>>, forget_handler: bool) {
    let ended = {
        let mut c = conn.borrow_mut();
        let handler = if forget_handler { None } else { c.handler.take() };
        std::mem::replace(
            &mut *c,
            Conn {
                handler,
                ..Conn::default()
            },
        )
    };
    // (Dropped unborrowed: the user's handler may hold a handle of the hook.)
    drop(ended);
}

/// The hooks' `send`: to the socket if it exists (see [`Socket::send`]), else held for it
/// (`Ok(Sent::Queued)`; outside the browser, `Err(Error::Unsupported)`: there will never
/// be one); after a failed `connect`, that error.
pub(crate) fn send<In, Out, S: Show<In>>(
    conn: &RefCell<Conn<In>>,
    value: Out,
    codec: Codec<In, Out>,
    show: &S,
) -> Result<Sent, Error> {
    let message = (codec.encode)(value)?;
    // (Cloned out: sending runs event callbacks, which must find `conn` unborrowed.)
    let (socket, failed) = {
        let c = conn.borrow();
        (c.socket.clone(), c.failed.clone())
    };
    if let Some(e) = failed {
        return Err(e);
    }
    let Some(socket) = socket else {
        if !cfg!(target_arch = "wasm32") {
            return Err(Error::Unsupported);
        }
        let queued = {
            let mut c = conn.borrow_mut();
            c.held.push(message);
            c.held.len()
        };
        show.counts(0, queued);
        return Ok(Sent::Queued);
    };
    let sent = socket.send(message).map_err(Error::from);
    show.counts(socket.retry_count(), socket.queued_messages());
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what the hooks would show.
    #[derive(Clone, Default)]
    struct Log(Rc<RefCell<Vec<String>>>);

    impl Show<Message> for Log {
        fn state(&self, state: State) {
            self.0.borrow_mut().push(format!("state {}", state.as_str()));
        }
        fn counts(&self, retries: u32, queued: usize) {
            self.0.borrow_mut().push(format!("counts {retries} {queued}"));
        }
        fn message(&self, message: Message) {
            self.0.borrow_mut().push(format!("message {message:?}"));
        }
        fn error(&self, error: Option<String>) {
            self.0.borrow_mut().push(format!("error {error:?}"));
        }
    }

    #[test]
    fn outside_the_browser_start_shows_the_error_and_send_returns_it() {
        let conn = Rc::new(RefCell::new(Conn::default()));
        let log = Log::default();
        assert_eq!(
            send(&conn, Message::from("early"), raw(), &log),
            Err(Error::Unsupported),
            "natively nothing is held: no socket will ever take it"
        );
        start(&conn, Socket::builder("ws://127.0.0.1:1/"), raw(), log.clone());
        let shown = log.0.borrow().clone();
        assert_eq!(shown[0], "state closed");
        assert!(shown[2].contains("browser"), "{shown:?}");
        assert_eq!(
            send(&conn, Message::from("late"), raw(), &log),
            Err(Error::Unsupported)
        );
        assert!(conn.borrow().socket().is_none());
        let handler: Handler<Message> = Rc::new(|_| {});
        conn.borrow_mut().set_handler(handler);
        stop(&conn, false);
        assert!(conn.borrow().failed.is_none(), "stop begins afresh");
        assert!(
            conn.borrow().handler.is_some(),
            "but keeps the handler for the next start"
        );
        stop(&conn, true);
        assert!(conn.borrow().handler.is_none(), "unless the component is gone");
    }

    #[test]
    fn a_bad_option_is_shown_and_is_what_send_answers() {
        let conn = Rc::new(RefCell::new(Conn::default()));
        let log = Log::default();
        let bad = crate::ReconnectOptions::default().grow_factor(0.5);
        start(&conn, Socket::builder("ws://x/").backoff(bad), raw(), log.clone());
        let shown = log.0.borrow().clone();
        assert_eq!(shown[0], "state closed");
        assert!(shown[2].contains("grow_factor"), "{shown:?}");
        assert!(matches!(
            send(&conn, Message::from("x"), raw(), &log),
            Err(Error::InvalidOption(_))
        ));
    }

    #[test]
    fn the_json_codec_decodes_text_and_binary_and_explains_garbage() {
        #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
        struct Point {
            x: i32,
        }
        let codec = json::<Point, Point>();
        assert_eq!((codec.decode)(&Message::from(r#"{"x":1}"#)), Ok(Point { x: 1 }));
        assert_eq!(
            (codec.decode)(&Message::Binary(br#"{"x":2}"#.to_vec())),
            Ok(Point { x: 2 })
        );
        assert!((codec.decode)(&Message::from("{")).is_err_and(|e| !e.is_empty()));
        assert_eq!((codec.encode)(Point { x: 3 }), Ok(Message::from(r#"{"x":3}"#)));
        let failing = json::<Point, std::collections::HashMap<Vec<u8>, i32>>();
        let map = [(vec![1u8], 1)].into_iter().collect();
        assert!(matches!((failing.encode)(map), Err(Error::Encode(_))));
    }

    #[test]
    fn any_codec_can_be_a_hooks() {
        struct Upper;
        impl crate::Codec<String, String> for Upper {
            fn encode(value: &String) -> Result<Message, crate::CodecError> {
                Ok(Message::Text(value.to_uppercase()))
            }
            fn decode(message: &Message) -> Result<String, crate::CodecError> {
                match message {
                    Message::Text(t) => Ok(t.to_lowercase()),
                    Message::Binary(_) => Err(crate::CodecError::new("upper", "text only")),
                }
            }
        }
        let codec = typed::<String, String, Upper>();
        assert_eq!((codec.encode)("hi".into()), Ok(Message::from("HI")));
        assert_eq!((codec.decode)(&Message::from("HO")), Ok("ho".into()));
        assert_eq!((codec.decode)(&Message::Binary(vec![])), Err("text only".into()));
    }
}
