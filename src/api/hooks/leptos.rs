//! Leptos 0.8 hooks (feature `leptos`): a reconnecting socket in one call, its state,
//! last message, retry count and queued count as signals, and a `send` callback.
//!
//! ```no_run
//! use leptos::prelude::*;
//! use tether_ws::leptos::use_socket;
//!
//! #[component]
//! fn Ticker() -> impl IntoView {
//!     let ticker = use_socket("wss://example.com/ticker");
//!     view! {
//!         <p>{move || ticker.state.get().as_str()} " · retries: " {ticker.retries}</p>
//!         <p>{move || format!("{:?}", ticker.message.get())}</p>
//!         <button on:click=move |_| { let _ = ticker.send.run("refresh".into()); }>"Refresh"</button>
//!     }
//! }
//! ```
//!
//! **Server-side rendering and hydration.** The socket is made in an effect, which Leptos
//! runs in the browser only (features `csr` or `hydrate`) and after hydration: on the server
//! (feature `ssr`) and in the first client render the hook shows `State::Connecting`, no
//! message, no retries, nothing queued, so the hydrated page is what the server rendered.
//! Natively the hook never touches web-sys or makes a socket. The component's cleanup
//! (when Leptos disposes of it: unmounted, or its branch re-rendered) closes the socket and
//! frees its listeners and timers.
//!
//! The `message` signal holds the latest message: an effect that reads it runs once for
//! several messages that came in one tick. To see every message (a chat log, a feed), give
//! the hook a handler: [`UseSocket::on_message`].
//!
//! `Socket` is `!Send`: the hook keeps it in a local [`StoredValue`](leptos::prelude::StoredValue)
//! of the component, and everything it returns is `Copy`, `Send` and `Sync`, to move into
//! closures and child components freely.

use std::marker::PhantomData;

use ::leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Codec;
use crate::api::error::Error;
use crate::api::socket::{Socket, SocketBuilder};
use crate::api::types::{Message, Sent, State};

/// What [`use_socket`] and [`use_typed_socket`] return: signals of the socket's state, its
/// last message, its retry count, its queued count and its last error, and a `send`
/// callback. `Copy`: move it into as many closures as you like.
///
/// The signals are updated on every event of the socket (and the queued count after every
/// send): [`retries`](Self::retries) and [`queued`](Self::queued) are
/// [`Socket::retry_count`] and [`Socket::queued_messages`] as of the latest event.
///
/// ```no_run
/// use leptos::prelude::*;
/// use tether_ws::leptos::{use_socket, UseSocket};
/// use tether_ws::State;
///
/// #[component]
/// fn Status(socket: UseSocket) -> impl IntoView {
///     let open = move || socket.state.get() == State::Open;
///     view! { <span class:open=open>{move || socket.queued.get()} " queued"</span> }
/// }
/// ```
#[non_exhaustive]
pub struct UseSocket<In: 'static = Message, Out: 'static = Message> {
    /// The socket's state: `Connecting` until the socket exists (on the server, and on the
    /// client until the effect ran); `Closed` if it could not be made (see `error`).
    pub state: ReadSignal<State>,
    /// The last message received (for [`use_typed_socket`], the last that decoded).
    pub message: ReadSignal<Option<In>>,
    /// Retries since the last connection that stayed up ([`Socket::retry_count`]).
    pub retries: ReadSignal<u32>,
    /// Messages waiting to be sent ([`Socket::queued_messages`], plus those sent before the
    /// socket existed).
    pub queued: ReadSignal<usize>,
    /// The last error: why the socket could not be made, a connection error (an
    /// [`Event::Error`](crate::Event::Error)), or for [`use_typed_socket`] a message that did
    /// not decode; cleared when a connection opens.
    pub error: ReadSignal<Option<String>>,
    /// Sends a message: see [`Socket::send`] for the result (for [`use_typed_socket`],
    /// [`TypedSocket::send`](crate::TypedSocket::send)). Before the socket exists (the first
    /// render, until the effect ran) messages are held and handed to it in order when it is
    /// made: `Ok(Sent::Queued)`. Outside the browser: `Err(Error::Unsupported)`; after a
    /// failed connect, its error.
    pub send: Callback<Out, Result<Sent, Error>>,
    conn: ConnCell<In>,
    _types: PhantomData<fn(Out)>,
}

impl<In, Out> Clone for UseSocket<In, Out> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<In, Out> Copy for UseSocket<In, Out> {}

impl<In, Out> UseSocket<In, Out> {
    /// Calls `handler` with every message received (for [`use_typed_socket`], every one that
    /// decoded), in order, none skipped: what the `message` signal cannot promise, since an
    /// effect reading it sees only the latest of several messages that came in one tick.
    /// One handler per hook: a later call replaces it. It runs on the client only (no
    /// message ever comes on the server), before `message` is set; it may send.
    ///
    /// ```no_run
    /// use leptos::prelude::*;
    /// use tether_ws::leptos::use_socket;
    /// use tether_ws::Message;
    ///
    /// #[component]
    /// fn Log() -> impl IntoView {
    ///     let lines = RwSignal::new(Vec::new());
    ///     let feed = use_socket("wss://example.com/feed");
    ///     feed.on_message(move |m| {
    ///         if let Message::Text(text) = m {
    ///             lines.update(|l| l.push(text.clone()));
    ///         }
    ///     });
    ///     view! { <ol>{move || lines.get().into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ol> }
    /// }
    /// ```
    pub fn on_message(&self, handler: impl Fn(&In) + 'static) {
        self.conn.set_handler(std::rc::Rc::new(handler));
    }

    /// The component's socket: `None` on the server, before the effect ran, and if it could
    /// not be made. For what the signals do not show: [`Socket::reconnect`],
    /// [`Socket::close`], [`Socket::on_event`], ... Do not keep the handle beyond the
    /// component: a clone keeps the connection open after the component is gone.
    ///
    /// ```no_run
    /// use leptos::prelude::*;
    /// use tether_ws::leptos::use_socket;
    ///
    /// #[component]
    /// fn Retry() -> impl IntoView {
    ///     let live = use_socket("wss://example.com/live");
    ///     let retry = move |_| {
    ///         if let Some(socket) = live.socket() {
    ///             socket.reconnect();
    ///         }
    ///     };
    ///     view! { <button on:click=retry>"Reconnect now"</button> }
    /// }
    /// ```
    pub fn socket(&self) -> Option<Socket> {
        self.conn.socket()
    }
}

/// A reconnecting socket for this component, made from a URL or a [`SocketBuilder`]
/// (see [`UseSocket`] for what it returns, and the [module docs](self) for SSR and
/// cleanup). Messages are [`Message`]s.
///
/// ```no_run
/// use leptos::prelude::*;
/// use std::time::Duration;
/// use tether_ws::leptos::use_socket;
/// use tether_ws::{HeartbeatOptions, Message, Socket};
///
/// #[component]
/// fn Echo() -> impl IntoView {
///     let echo = use_socket(
///         Socket::builder("wss://example.com/echo")
///             .heartbeat(HeartbeatOptions::default().interval(Duration::from_secs(20))),
///     );
///     let last = move || match echo.message.get() {
///         Some(Message::Text(text)) => text,
///         Some(Message::Binary(bytes)) => format!("{} bytes", bytes.len()),
///         None => String::new(),
///     };
///     view! {
///         <button on:click=move |_| { let _ = echo.send.run(Message::from("ping")); }>"Ping"</button>
///         <output>{last}</output>
///     }
/// }
/// ```
pub fn use_socket(source: impl Into<SocketBuilder>) -> UseSocket<Message, Message> {
    hook(source.into(), super::raw())
}

/// A reconnecting socket that speaks JSON-encoded Rust types, as a
/// [`TypedSocket<In, Out>`](crate::TypedSocket) does: `message` holds the last message that
/// decoded as `In`, `send` takes an `Out`, and a message that does not decode is shown in
/// `error`. Otherwise as [`use_socket`]. For another codec: [`use_typed_socket_with`].
///
/// ```no_run
/// use leptos::prelude::*;
/// use serde::{Deserialize, Serialize};
/// use tether_ws::leptos::use_typed_socket;
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Line {
///     from: String,
///     text: String,
/// }
///
/// #[component]
/// fn Chat() -> impl IntoView {
///     let chat = use_typed_socket::<Line, Line>("wss://example.com/chat");
///     let lines = RwSignal::new(Vec::new());
///     // Every message (an effect reading `chat.message` would see only the latest).
///     chat.on_message(move |line: &Line| lines.update(|l| l.push(line.clone())));
///     let say = move |_| {
///         let _ = chat.send.run(Line { from: "me".into(), text: "hi".into() });
///     };
///     view! {
///         <ul>{move || lines.get().into_iter().map(|l| view! { <li>{l.from}": "{l.text}</li> }).collect_view()}</ul>
///         <button on:click=say>"Say hi"</button>
///     }
/// }
/// ```
pub fn use_typed_socket<In, Out>(source: impl Into<SocketBuilder>) -> UseSocket<In, Out>
where
    In: DeserializeOwned + Send + Sync + 'static,
    Out: Serialize + 'static,
{
    hook(source.into(), super::json())
}

/// [`use_typed_socket`] with another codec than JSON: `C` encodes what `send` takes and
/// decodes what `message` holds, as in a [`TypedSocket<In, Out, C>`](crate::TypedSocket)
/// (the value only names the codec). Otherwise as [`use_typed_socket`].
///
/// ```no_run
/// # #[cfg(feature = "msgpack")]
/// # mod demo {
/// use leptos::prelude::*;
/// use serde::{Deserialize, Serialize};
/// use tether_ws::leptos::use_typed_socket_with;
/// use tether_ws::MsgPack;
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Tick {
///     price: f64,
/// }
///
/// #[component]
/// fn Ticker() -> impl IntoView {
///     let ticks = use_typed_socket_with::<Tick, (), _>("wss://example.com/ticks", MsgPack);
///     view! { <p>{move || ticks.message.get().map(|t| t.price)}</p> }
/// }
/// # }
/// ```
pub fn use_typed_socket_with<In, Out, C>(source: impl Into<SocketBuilder>, codec: C) -> UseSocket<In, Out>
where
    In: Send + Sync + 'static,
    Out: 'static,
    C: crate::Codec<In, Out>,
{
    let _ = codec;
    hook(source.into(), super::typed::<In, Out, C>())
}

/// The signals the hook writes.
struct Signals<In: 'static> {
    state: RwSignal<State>,
    message: RwSignal<Option<In>>,
    retries: RwSignal<u32>,
    queued: RwSignal<usize>,
    error: RwSignal<Option<String>>,
}

impl<In> Clone for Signals<In> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<In> Copy for Signals<In> {}

/// Sets `signal` unless it already holds `value` (no needless re-render); nothing once the
/// component is disposed.
fn set_changed<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, value: T) {
    signal.try_maybe_update(|v| {
        if *v == value {
            (false, ())
        } else {
            *v = value;
            (true, ())
        }
    });
}

impl<In: Send + Sync + 'static> super::Show<In> for Signals<In> {
    fn state(&self, state: State) {
        set_changed(self.state, state);
    }

    fn counts(&self, retries: u32, queued: usize) {
        set_changed(self.retries, retries);
        set_changed(self.queued, queued);
    }

    fn message(&self, message: In) {
        self.message.try_set(Some(message));
    }

    fn error(&self, error: Option<String>) {
        set_changed(self.error, error);
    }
}

fn hook<In, Out>(builder: SocketBuilder, codec: Codec<In, Out>) -> UseSocket<In, Out>
where
    In: Send + Sync + 'static,
    Out: 'static,
{
    let signals = Signals {
        state: RwSignal::new(State::Connecting),
        message: RwSignal::new(None),
        retries: RwSignal::new(0),
        queued: RwSignal::new(0),
        error: RwSignal::new(None),
    };
    let conn = ConnCell::new(builder, codec, signals);
    let send = Callback::new(move |value: Out| conn.send(value, codec, &signals));
    UseSocket {
        state: signals.state.read_only(),
        message: signals.message.read_only(),
        retries: signals.retries.read_only(),
        queued: signals.queued.read_only(),
        error: signals.error.read_only(),
        send,
        conn,
        _types: PhantomData,
    }
}

#[cfg(target_arch = "wasm32")]
use client::ConnCell;
#[cfg(not(target_arch = "wasm32"))]
use server::ConnCell;

#[cfg(target_arch = "wasm32")]
mod client {
    //! In the browser: the socket is made in an effect and dropped in the component's
    //! cleanup. It lives in a local `StoredValue` (the socket is `!Send`), read only to clone
    //! the `Rc` out: the arena stays unlocked while the socket runs callbacks.
    use std::cell::RefCell;
    use std::rc::Rc;

    use ::leptos::prelude::*;

    use super::super::{Codec, Conn, Handler, Show};
    use crate::api::error::Error;
    use crate::api::socket::{Socket, SocketBuilder};
    use crate::api::types::Sent;

    pub(super) struct ConnCell<In: 'static>(StoredValue<Rc<RefCell<Conn<In>>>, LocalStorage>);

    impl<In> Clone for ConnCell<In> {
        fn clone(&self) -> Self {
            *self
        }
    }

    impl<In> Copy for ConnCell<In> {}

    impl<In: 'static> ConnCell<In> {
        pub(super) fn new<Out: 'static, S: Show<In>>(
            builder: SocketBuilder,
            codec: Codec<In, Out>,
            show: S,
        ) -> Self {
            let cell = ConnCell(StoredValue::new_local(Rc::default()));
            let mut builder = Some(builder);
            // (It reads no signal: it runs once, on the client, after hydration.)
            Effect::new(move |_| {
                if let (Some(builder), Some(conn)) = (builder.take(), cell.get()) {
                    super::super::start(&conn, builder, codec, show.clone());
                }
            });
            on_cleanup(move || {
                if let Some(conn) = cell.get() {
                    super::super::stop(&conn, true);
                }
            });
            cell
        }

        fn get(self) -> Option<Rc<RefCell<Conn<In>>>> {
            self.0.try_with_value(Rc::clone)
        }

        pub(super) fn send<Out, S: Show<In>>(
            self,
            value: Out,
            codec: Codec<In, Out>,
            show: &S,
        ) -> Result<Sent, Error> {
            // (Disposed: the component is gone, and so is its socket.)
            let conn = self.get().ok_or(Error::Closed)?;
            super::super::send(&conn, value, codec, show)
        }

        pub(super) fn socket(self) -> Option<Socket> {
            self.get().and_then(|conn| conn.borrow().socket())
        }

        pub(super) fn set_handler(self, handler: Handler<In>) {
            if let Some(conn) = self.get() {
                conn.borrow_mut().set_handler(handler);
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod server {
    //! Outside the browser (SSR, native tests): no socket, no effect, nothing to clean up.
    use std::marker::PhantomData;

    use super::super::{Codec, Handler, Show};
    use crate::api::error::Error;
    use crate::api::socket::{Socket, SocketBuilder};
    use crate::api::types::Sent;

    pub(super) struct ConnCell<In>(PhantomData<fn() -> In>);

    impl<In> Clone for ConnCell<In> {
        fn clone(&self) -> Self {
            *self
        }
    }

    impl<In> Copy for ConnCell<In> {}

    impl<In> ConnCell<In> {
        pub(super) fn new<Out, S: Show<In>>(_: SocketBuilder, _: Codec<In, Out>, _: S) -> Self {
            ConnCell(PhantomData)
        }

        pub(super) fn send<Out, S: Show<In>>(
            self,
            value: Out,
            codec: Codec<In, Out>,
            _: &S,
        ) -> Result<Sent, Error> {
            (codec.encode)(value)?;
            Err(Error::Unsupported)
        }

        pub(super) fn socket(self) -> Option<Socket> {
            None
        }

        /// (No message ever comes here.)
        pub(super) fn set_handler(self, _: Handler<In>) {}
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn natively_the_hook_shows_connecting_and_send_is_unsupported() {
        let owner = Owner::new();
        owner.with(|| {
            let live = use_socket("ws://127.0.0.1:1/");
            assert_eq!(live.state.get_untracked(), State::Connecting);
            assert_eq!(live.message.get_untracked(), None);
            assert_eq!(live.retries.get_untracked(), 0);
            assert_eq!(live.queued.get_untracked(), 0);
            assert_eq!(live.error.get_untracked(), None);
            assert_eq!(live.send.run("hi".into()), Err(Error::Unsupported));
            assert!(live.socket().is_none());
            live.on_message(|_| unreachable!("no message comes natively"));

            let typed = use_typed_socket::<Vec<u8>, std::collections::HashMap<Vec<u8>, u8>>("ws://x/");
            let unencodable = [(vec![1], 1)].into_iter().collect();
            assert!(
                matches!(typed.send.run(unencodable), Err(Error::Encode(_))),
                "encoding errors come first, as in the browser"
            );

            let with = use_typed_socket_with::<Vec<u8>, Vec<u8>, _>("ws://x/", crate::Json);
            assert_eq!(with.send.run(vec![1]), Err(Error::Unsupported));
            assert_eq!(with.state.get_untracked(), State::Connecting);
        });
        owner.cleanup();
    }
}
