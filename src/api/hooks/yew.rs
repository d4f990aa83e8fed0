//! Yew 0.23 hooks (feature `yew`): a reconnecting socket in one call from a function
//! component, with its state, last message, retry count and queued count, and a `send`
//! callback.
//!
//! ```no_run
//! use tether_ws::yew::use_socket;
//! use tether_ws::Message;
//! use yew::prelude::*;
//!
//! #[component]
//! fn Ticker() -> Html {
//!     let ticker = use_socket("wss://example.com/ticker");
//!     let refresh = {
//!         let send = ticker.send.clone();
//!         Callback::from(move |_| { let _ = send.emit(Message::from("refresh")); })
//!     };
//!     html! {
//!         <>
//!             <p>{ format!("{} · retries: {}", ticker.state.as_str(), ticker.retries) }</p>
//!             <p>{ format!("{:?}", ticker.message) }</p>
//!             <button onclick={refresh}>{ "Refresh" }</button>
//!         </>
//!     }
//! }
//! ```
//!
//! **Server-side rendering and hydration.** The socket is made in a `use_effect_with`
//! effect, which Yew runs in the browser only, after the component rendered (and hydrated):
//! on the server (feature `ssr`) and in the first render the hook shows
//! `State::Connecting`, no message, no retries, nothing queued. Natively it never touches
//! web-sys or makes a socket. When the component is unmounted the effect's cleanup closes
//! the socket and frees its listeners and timers; when the URL changes, the old socket is
//! closed and a new one made.
//!
//! The `message` field holds the latest message: a render sees only the latest of several
//! messages that came before it. To see every message (a chat log, a feed), give the hook a
//! handler: [`UseSocketHandle::on_message`].
//!
//! [`Socket`] is `PartialEq` (by identity), so a socket can also be handed down as a prop or
//! a `ContextProvider` value, and be a `use_effect_with` dependency.

use std::cell::RefCell;
use std::rc::Rc;

use ::yew::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Codec, Conn, Show};
use crate::api::error::Error;
use crate::api::socket::{Socket, SocketBuilder};
use crate::api::types::{Message, Sent, State};

/// What [`use_socket`] and [`use_typed_socket`] return, as of this render: the socket's
/// state, its last message, its retry count, its queued count and its last error, and a
/// `send` callback (the same `Callback` in every render, so that it can be a prop of a
/// child that only re-renders when its props change).
///
/// The component re-renders when any of them changes: they are updated on every event of
/// the socket (and the queued count after every send); [`retries`](Self::retries) and
/// [`queued`](Self::queued) are [`Socket::retry_count`] and [`Socket::queued_messages`] as
/// of the latest event.
///
/// ```no_run
/// use tether_ws::yew::use_socket;
/// use tether_ws::State;
/// use yew::prelude::*;
///
/// #[component]
/// fn Status() -> Html {
///     let live = use_socket("wss://example.com/live");
///     let class = if live.state == State::Open { "open" } else { "waiting" };
///     html! { <span {class}>{ format!("{} queued", live.queued) }</span> }
/// }
/// ```
#[non_exhaustive]
pub struct UseSocketHandle<In: 'static = Message, Out: 'static = Message> {
    /// The socket's state: `Connecting` until the socket exists (on the server, and in the
    /// first render); `Closed` if it could not be made (see `error`).
    pub state: State,
    /// The last message received (for [`use_typed_socket`], the last that decoded).
    pub message: Option<Rc<In>>,
    /// Retries since the last connection that stayed up ([`Socket::retry_count`]).
    pub retries: u32,
    /// Messages waiting to be sent ([`Socket::queued_messages`], plus those sent before the
    /// socket existed).
    pub queued: usize,
    /// The last error: why the socket could not be made, a connection error (an
    /// [`Event::Error`](crate::Event::Error)), or for [`use_typed_socket`] a message that did
    /// not decode; cleared when a connection opens.
    pub error: Option<String>,
    /// Sends a message: see [`Socket::send`] for the result (for [`use_typed_socket`],
    /// [`TypedSocket::send`](crate::TypedSocket::send)). Before the socket exists (the first
    /// render, until the effect ran) messages are held and handed to it in order when it is
    /// made: `Ok(Sent::Queued)`. Outside the browser: `Err(Error::Unsupported)`; after a
    /// failed connect, its error.
    pub send: Callback<Out, Result<Sent, Error>>,
    conn: Rc<RefCell<Conn<In>>>,
}

impl<In, Out> Clone for UseSocketHandle<In, Out> {
    fn clone(&self) -> Self {
        UseSocketHandle {
            state: self.state,
            message: self.message.clone(),
            retries: self.retries,
            queued: self.queued,
            error: self.error.clone(),
            send: self.send.clone(),
            conn: self.conn.clone(),
        }
    }
}

/// Equal when they show the same thing of the same socket (the message by identity), so a
/// handle can be a prop: a child re-renders when what it shows changes.
impl<In, Out> PartialEq for UseSocketHandle<In, Out> {
    fn eq(&self, other: &Self) -> bool {
        let same_message = match (&self.message, &other.message) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        self.state == other.state
            && same_message
            && self.retries == other.retries
            && self.queued == other.queued
            && self.error == other.error
            && self.send == other.send
            && Rc::ptr_eq(&self.conn, &other.conn)
    }
}

impl<In, Out> UseSocketHandle<In, Out> {
    /// Calls `handler` with every message received (for [`use_typed_socket`], every one that
    /// decoded), in order, none skipped: what the `message` field cannot promise, since a
    /// render sees only the latest of several messages that came before it. One handler per
    /// hook: each call replaces the previous one, so call it in every render (with what
    /// that render's closures need, such as a `use_reducer` dispatcher). It runs on the
    /// client only, before `message` is set; it may send.
    ///
    /// ```no_run
    /// use std::rc::Rc;
    /// use tether_ws::yew::use_socket;
    /// use tether_ws::Message;
    /// use yew::prelude::*;
    ///
    /// #[derive(Default, PartialEq)]
    /// struct Lines(Vec<String>);
    ///
    /// impl Reducible for Lines {
    ///     type Action = String;
    ///     fn reduce(self: Rc<Self>, line: String) -> Rc<Self> {
    ///         let mut lines = self.0.clone();
    ///         lines.push(line);
    ///         Rc::new(Lines(lines))
    ///     }
    /// }
    ///
    /// #[component]
    /// fn Log() -> Html {
    ///     let lines = use_reducer(Lines::default);
    ///     let feed = use_socket("wss://example.com/feed");
    ///     let add = lines.dispatcher();
    ///     feed.on_message(move |m| {
    ///         if let Message::Text(text) = m {
    ///             add.dispatch(text.clone());
    ///         }
    ///     });
    ///     html! { <ol>{ for lines.0.iter().map(|l| html! { <li>{ l }</li> }) }</ol> }
    /// }
    /// ```
    pub fn on_message(&self, handler: impl Fn(&In) + 'static) {
        self.conn.borrow_mut().set_handler(Rc::new(handler));
    }

    /// The component's socket: `None` on the server, in the first render, and if it could
    /// not be made. For what the handle does not show: [`Socket::reconnect`],
    /// [`Socket::close`], [`Socket::on_event`], ... Do not keep it beyond the component (in
    /// a `Rc` elsewhere, a context above): a clone keeps the connection open after the
    /// component is gone.
    ///
    /// ```no_run
    /// use tether_ws::yew::use_socket;
    /// use yew::prelude::*;
    ///
    /// #[component]
    /// fn Retry() -> Html {
    ///     let live = use_socket("wss://example.com/live");
    ///     let onclick = Callback::from(move |_| {
    ///         if let Some(socket) = live.socket() {
    ///             socket.reconnect();
    ///         }
    ///     });
    ///     html! { <button {onclick}>{ "Reconnect now" }</button> }
    /// }
    /// ```
    pub fn socket(&self) -> Option<Socket> {
        self.conn.borrow().socket()
    }
}

/// A reconnecting socket for this function component, made from a URL or a
/// [`SocketBuilder`] (see [`UseSocketHandle`] for what it returns, and the
/// [module docs](self) for SSR and cleanup). Messages are [`Message`]s.
///
/// The socket is made once per URL: the builder of a later render is used only if its
/// [`url`](SocketBuilder::url) differs from the previous one's (the old socket is then
/// closed); other options of later builders are not looked at.
///
/// ```no_run
/// use std::time::Duration;
/// use tether_ws::yew::use_socket;
/// use tether_ws::{HeartbeatOptions, Message, Socket};
/// use yew::prelude::*;
///
/// #[component]
/// fn Echo() -> Html {
///     let echo = use_socket(
///         Socket::builder("wss://example.com/echo")
///             .heartbeat(HeartbeatOptions::default().interval(Duration::from_secs(20))),
///     );
///     let ping = {
///         let send = echo.send.clone();
///         Callback::from(move |_| { let _ = send.emit(Message::from("ping")); })
///     };
///     let last = match echo.message.as_deref() {
///         Some(Message::Text(text)) => text.clone(),
///         Some(Message::Binary(bytes)) => format!("{} bytes", bytes.len()),
///         None => String::new(),
///     };
///     html! { <><button onclick={ping}>{ "Ping" }</button><output>{ last }</output></> }
/// }
/// ```
#[hook]
pub fn use_socket(source: impl Into<SocketBuilder>) -> UseSocketHandle<Message, Message> {
    use_socket_with(source.into(), super::raw())
}

/// A reconnecting socket that speaks JSON-encoded Rust types, as a
/// [`TypedSocket<In, Out>`](crate::TypedSocket) does: `message` holds the last message that
/// decoded as `In`, `send` takes an `Out`, and a message that does not decode is shown in
/// `error`. Otherwise as [`use_socket`]. For another codec: [`use_typed_socket_with`].
///
/// ```no_run
/// use serde::{Deserialize, Serialize};
/// use tether_ws::yew::use_typed_socket;
/// use yew::prelude::*;
///
/// #[derive(Serialize, Deserialize)]
/// struct Line {
///     from: String,
///     text: String,
/// }
///
/// #[component]
/// fn Chat() -> Html {
///     let chat = use_typed_socket::<Line, Line>("wss://example.com/chat");
///     let say = {
///         let send = chat.send.clone();
///         Callback::from(move |_| {
///             let _ = send.emit(Line { from: "me".into(), text: "hi".into() });
///         })
///     };
///     html! {
///         <>
///             if let Some(line) = &chat.message { <p>{ format!("{}: {}", line.from, line.text) }</p> }
///             <button onclick={say}>{ "Say hi" }</button>
///         </>
///     }
/// }
/// ```
#[hook]
pub fn use_typed_socket<In, Out>(source: impl Into<SocketBuilder>) -> UseSocketHandle<In, Out>
where
    In: DeserializeOwned + 'static,
    Out: Serialize + 'static,
{
    use_socket_with(source.into(), super::json())
}

/// [`use_typed_socket`] with another codec than JSON: `C` encodes what `send` takes and
/// decodes what `message` holds, as in a [`TypedSocket<In, Out, C>`](crate::TypedSocket)
/// (the value only names the codec). Otherwise as [`use_typed_socket`].
///
/// ```no_run
/// # #[cfg(feature = "msgpack")]
/// # mod demo {
/// use serde::{Deserialize, Serialize};
/// use tether_ws::yew::use_typed_socket_with;
/// use tether_ws::MsgPack;
/// use yew::prelude::*;
///
/// #[derive(Serialize, Deserialize)]
/// struct Tick {
///     price: f64,
/// }
///
/// #[component]
/// fn Ticker() -> Html {
///     let ticks = use_typed_socket_with::<Tick, (), _>("wss://example.com/ticks", MsgPack);
///     html! { <p>{ ticks.message.as_ref().map(|t| t.price) }</p> }
/// }
/// # }
/// ```
#[hook]
pub fn use_typed_socket_with<In, Out, C>(
    source: impl Into<SocketBuilder>,
    codec: C,
) -> UseSocketHandle<In, Out>
where
    In: 'static,
    Out: 'static,
    C: crate::Codec<In, Out>,
{
    let _ = codec;
    use_socket_with(source.into(), super::typed::<In, Out, C>())
}

/// Where the hook writes: setters of its state (they keep no value, and the `_eq` ones
/// compare with the current value themselves: no needless re-render).
struct Setters<In> {
    state: UseStateSetter<State>,
    message: UseStateSetter<Option<Rc<In>>>,
    retries: UseStateSetter<u32>,
    queued: UseStateSetter<usize>,
    error: UseStateSetter<Option<String>>,
}

impl<In> Clone for Setters<In> {
    fn clone(&self) -> Self {
        Setters {
            state: self.state.clone(),
            message: self.message.clone(),
            retries: self.retries.clone(),
            queued: self.queued.clone(),
            error: self.error.clone(),
        }
    }
}

impl<In: 'static> Show<In> for Setters<In> {
    fn state(&self, state: State) {
        self.state.set(state);
    }

    fn counts(&self, retries: u32, queued: usize) {
        self.retries.set(retries);
        self.queued.set(queued);
    }

    fn message(&self, message: In) {
        self.message.set(Some(Rc::new(message)));
    }

    fn error(&self, error: Option<String>) {
        self.error.set(error);
    }
}

#[hook]
fn use_socket_with<In: 'static, Out: 'static>(
    builder: SocketBuilder,
    codec: Codec<In, Out>,
) -> UseSocketHandle<In, Out> {
    let state = use_state_eq(|| State::Connecting);
    let message = use_state(|| None);
    let retries = use_state_eq(|| 0);
    let queued = use_state_eq(|| 0);
    let error = use_state_eq(|| None);
    let setters = Setters {
        state: state.setter(),
        message: message.setter(),
        retries: retries.setter(),
        queued: queued.setter(),
        error: error.setter(),
    };
    let conn = use_mut_ref(Conn::default);
    {
        // A socket per URL: made after the render, closed when the URL changes.
        let (conn, setters) = (conn.clone(), setters.clone());
        use_effect_with(builder.url().to_owned(), move |_| {
            super::start(&conn, builder, codec, setters);
            move || super::stop(&conn, false)
        });
    }
    {
        // And when the component goes: the handler too (it may hold a clone of the handle,
        // which holds `conn`).
        let conn = conn.clone();
        use_effect_with((), move |_| move || super::stop(&conn, true));
    }
    let send = {
        let conn = conn.clone();
        use_callback((), move |value: Out, _| {
            super::send(&conn, value, codec, &setters)
        })
    };
    UseSocketHandle {
        state: *state,
        message: (*message).clone(),
        retries: *retries,
        queued: *queued,
        error: (*error).clone(),
        send,
        conn,
    }
}
