//! A socket that speaks Rust types through a [`Codec`] (JSON by default).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use futures_core::stream::FusedStream;
use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec::{Codec, CodecError, Json};
use super::error::Error;
use super::socket::{Socket, Subscription};
use super::types::{Event, Message, Sent};

/// An event of a [`TypedSocket`]: decoded messages, undecodable ones, and everything else.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TypedEvent<In> {
    /// A message that decoded as `In`.
    Message(In),
    /// A message that did not decode: the raw message and the decoder's explanation.
    DecodeError {
        /// The message as received.
        raw: Message,
        /// Why it did not decode ([`CodecError::message`]).
        error: String,
    },
    /// Any other event (open, close, reconnecting, ...).
    Other(Event),
}

/// Wraps a [`Socket`]: sends `Out` and decodes incoming messages into `In` with the codec
/// `C`, [`Json`] by default (serde_json: `Out` as text, `In` from text or binary). Other
/// codecs: [`Postcard`](crate::Postcard) (feature `postcard`), [`MsgPack`](crate::MsgPack)
/// (feature `msgpack`), any [codee](https://docs.rs/codee) codec through
/// [`CodeeText`](crate::CodeeText) / [`CodeeBinary`](crate::CodeeBinary) (feature `codee`),
/// or your own [`Codec`]. Decoding JSON with serde_json inside wasm measured smaller and
/// faster than a round trip through the browser's `JSON.parse` plus serde-wasm-bindgen for
/// typical messages, and keeps the typed layer usable on native targets for tests.
///
/// **One decode per message.** A `TypedSocket` and its clones share one decoding point:
/// however many [`events`](Self::events) streams and [`on_event`](Self::on_event) callbacks
/// are open, each message is decoded once (and not at all while none is). Callbacks are
/// given the decoded event by reference; each stream yields it by value, so with several
/// streams `In` is cloned for all but the last to read it (`events` needs `In: Clone`; for
/// a large or non-`Clone` `In`, read it in one stream or in callbacks).
///
/// ```no_run
/// # fn demo() -> Result<(), tether_ws::Error> {
/// use serde::{Deserialize, Serialize};
/// use tether_ws::{Socket, TypedSocket};
///
/// #[derive(Serialize)]
/// struct Say { text: String }
/// #[derive(Deserialize)]
/// struct Said { from: String, text: String }
///
/// let chat: TypedSocket<Said, Say> = TypedSocket::new(Socket::builder("wss://example.com/chat").connect()?);
/// chat.send(&Say { text: "hi".into() })?;
/// # Ok(())
/// # }
/// ```
pub struct TypedSocket<In, Out, C = Json> {
    socket: Socket,
    hub: Rc<Hub<In>>,
    _types: PhantomData<fn(&Out) -> C>,
}

// Manual impls: a derive would needlessly require `In`, `Out` and `C` to be Clone/Debug.
impl<In, Out, C> Clone for TypedSocket<In, Out, C> {
    fn clone(&self) -> Self {
        TypedSocket {
            socket: self.socket.clone(),
            hub: self.hub.clone(),
            _types: PhantomData,
        }
    }
}

impl<In, Out, C> std::fmt::Debug for TypedSocket<In, Out, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TypedSocket").field(&self.socket).finish()
    }
}

impl<In: DeserializeOwned + 'static, Out: Serialize> TypedSocket<In, Out, Json> {
    /// Wraps a socket, speaking JSON. Events from now on are decoded (see
    /// [`TypedSocket::with_codec`] for another codec).
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::{Socket, TypedSocket};
    ///
    /// let numbers: TypedSocket<Vec<u32>, Vec<u32>> =
    ///     TypedSocket::new(Socket::builder("wss://example.com/sum").connect()?);
    /// numbers.send(&vec![1, 2, 3])?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(socket: Socket) -> Self {
        Self::with_codec(socket, Json)
    }
}

impl<In: 'static, Out, C: Codec<In, Out>> TypedSocket<In, Out, C> {
    /// Wraps a socket, speaking the codec `C` (codecs are unit values: the value only names
    /// the type).
    ///
    /// ```no_run
    /// # #[cfg(feature = "postcard")]
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::{Postcard, Socket, TypedSocket};
    ///
    /// let socket = Socket::builder("wss://example.com/telemetry").connect()?;
    /// let telemetry: TypedSocket<(u32, f32), (u32, f32), Postcard> = TypedSocket::with_codec(socket, Postcard);
    /// telemetry.send(&(7, 0.5))?; // a binary message of 5 bytes
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_codec(socket: Socket, codec: C) -> Self {
        let _ = codec;
        let hub = Rc::new(Hub::default());
        let subscription = socket.on_event(listener::<In, Out, C>(&hub));
        *hub.source.borrow_mut() = Some(subscription);
        TypedSocket {
            socket,
            hub,
            _types: PhantomData,
        }
    }

    /// The underlying socket (for state, close, reconnect, raw sends).
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Encodes `value` with the codec and sends it, as [`Socket::send`] does. Fails if the
    /// codec cannot encode it, with [`Error::Encode`] for [`Json`] (exactly as
    /// [`Socket::send_json`] does) and [`Error::Codec`] for another codec, and with
    /// [`Error::QueueFull`] if it is refused (the caller still has `value`).
    ///
    /// ```no_run
    /// # fn demo(chat: tether_ws::TypedSocket<String, String>) -> Result<(), tether_ws::Error> {
    /// chat.send(&"hello".to_string())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn send(&self, value: &Out) -> Result<Sent, Error> {
        let message = C::encode(value).map_err(CodecError::into_error)?;
        self.socket.send(message).map_err(Error::from)
    }

    /// Like [`TypedSocket::send`], but if the message has to be queued it takes the place
    /// of the queued message sent with the same `key`: see [`Socket::send_replacing`].
    ///
    /// ```no_run
    /// # fn demo(cursor: tether_ws::TypedSocket<(i32, i32), (i32, i32)>) -> Result<(), tether_ws::Error> {
    /// // While disconnected, the outbox keeps only the latest position.
    /// cursor.send_replacing(&(10, 20), "cursor")?;
    /// cursor.send_replacing(&(11, 20), "cursor")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_replacing(&self, value: &Out, key: &str) -> Result<Sent, Error> {
        let message = C::encode(value).map_err(CodecError::into_error)?;
        self.socket.send_replacing(message, key).map_err(Error::from)
    }

    /// Calls `f` with every typed event until the returned guard is dropped (or the socket
    /// is), as [`Socket::on_event`] does. The event is decoded once for every callback and
    /// stream of this typed socket and its clones, and lent to `f` (no clone of `In`).
    ///
    /// The guard keeps this typed socket's decoding alive, not the socket: keep a handle of
    /// the socket too.
    ///
    /// ```no_run
    /// # fn demo(chat: tether_ws::TypedSocket<String, String>) {
    /// use tether_ws::TypedEvent;
    ///
    /// let _subscription = chat.on_event(|event| match event {
    ///     TypedEvent::Message(text) => println!("{text}"),
    ///     TypedEvent::DecodeError { error, .. } => eprintln!("bad message: {error}"),
    ///     _ => {} // open, close, ...
    /// });
    /// # }
    /// ```
    pub fn on_event(&self, f: impl Fn(&TypedEvent<In>) + 'static) -> TypedSubscription {
        let id = self.hub.add(Rc::new(f));
        let hub: Rc<dyn Unsubscribe> = self.hub.clone();
        TypedSubscription { hub, id }
    }

    /// A new stream of typed events from now on (see [the type](TypedSocket) for how
    /// messages are shared between streams).
    ///
    /// ```no_run
    /// # async fn demo(chat: tether_ws::TypedSocket<String, String>) {
    /// use futures::StreamExt;
    /// use tether_ws::TypedEvent;
    ///
    /// let mut events = chat.events();
    /// while let Some(event) = events.next().await {
    ///     if let TypedEvent::Message(text) = event {
    ///         println!("{text}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> TypedEventStream<In>
    where
        In: Clone,
    {
        self.hub.stream()
    }
}

/// The socket's callback that feeds `hub`: it decodes each message once, with `C`, and
/// ends the hub's streams when it is dropped (the socket is gone or ending).
fn listener<In: 'static, Out, C: Codec<In, Out>>(hub: &Rc<Hub<In>>) -> impl Fn(&Event) + 'static {
    let guard = EndGuard(Rc::downgrade(hub));
    move |event| {
        if let Some(hub) = guard.hub() {
            hub.publish(event, C::decode);
        }
    }
}

/// Owned by the socket's callback: when the socket drops the callback, the streams end.
struct EndGuard<In>(Weak<Hub<In>>);

impl<In> EndGuard<In> {
    fn hub(&self) -> Option<Rc<Hub<In>>> {
        self.0.upgrade()
    }
}

impl<In> Drop for EndGuard<In> {
    fn drop(&mut self) {
        // (None when the hub itself is going: it unsubscribed.)
        if let Some(hub) = self.0.upgrade() {
            hub.end();
        }
    }
}

/// The queue behind one [`TypedEventStream`].
struct Channel<In> {
    queue: VecDeque<Rc<TypedEvent<In>>>,
    waker: Option<Waker>,
    ended: bool,
}

type Callback<In> = Rc<dyn Fn(&TypedEvent<In>)>;

/// The decoding point a typed socket and its clones share: one subscription to the
/// socket's events, each decoded once and fanned out to streams and callbacks.
struct Hub<In> {
    channels: RefCell<Vec<Rc<RefCell<Channel<In>>>>>,
    callbacks: RefCell<Vec<(u64, Callback<In>)>>,
    next_id: Cell<u64>,
    ended: Cell<bool>,
    /// The hub's subscription to the socket (dropped with the hub: it unsubscribes).
    source: RefCell<Option<Subscription>>,
}

impl<In> Default for Hub<In> {
    fn default() -> Self {
        Hub {
            channels: RefCell::default(),
            callbacks: RefCell::default(),
            next_id: Cell::new(0),
            ended: Cell::new(false),
            source: RefCell::new(None),
        }
    }
}

impl<In: 'static> Hub<In> {
    /// Decodes `event` once (if anyone listens) and delivers it to every stream and callback.
    fn publish(&self, event: &Event, decode: fn(&Message) -> Result<In, CodecError>) {
        // Streams whose receiver is gone are dropped here (only we still hold them).
        self.channels.borrow_mut().retain(|c| Rc::strong_count(c) > 1);
        if self.channels.borrow().is_empty() && self.callbacks.borrow().is_empty() {
            return;
        }
        let typed = Rc::new(match event {
            Event::Message(m) => match decode(m) {
                Ok(value) => TypedEvent::Message(value),
                Err(e) => TypedEvent::DecodeError {
                    raw: m.clone(),
                    error: e.message().to_owned(),
                },
            },
            other => TypedEvent::Other(other.clone()),
        });
        let woken: Vec<Waker> = self
            .channels
            .borrow()
            .iter()
            .filter_map(|channel| {
                let mut c = channel.borrow_mut();
                c.queue.push_back(typed.clone());
                c.waker.take()
            })
            .collect();
        for w in woken {
            w.wake();
        }
        // Callbacks may subscribe or unsubscribe while running: call a snapshot, unborrowed.
        let callbacks: Vec<Callback<In>> = self.callbacks.borrow().iter().map(|(_, f)| f.clone()).collect();
        for f in callbacks {
            f(&typed);
        }
    }

    fn stream(self: &Rc<Self>) -> TypedEventStream<In> {
        let channel = Rc::new(RefCell::new(Channel {
            queue: VecDeque::new(),
            waker: None,
            ended: self.ended.get(),
        }));
        if !self.ended.get() {
            self.channels.borrow_mut().push(channel.clone());
        }
        TypedEventStream {
            channel,
            _hub: self.clone(),
        }
    }

    fn add(&self, f: Callback<In>) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        if !self.ended.get() {
            self.callbacks.borrow_mut().push((id, f));
        }
        id
    }
}

impl<In> Hub<In> {
    /// The socket is gone: streams yield what they hold, then `None`; callbacks are freed.
    fn end(&self) {
        self.ended.set(true);
        let channels = std::mem::take(&mut *self.channels.borrow_mut());
        for channel in &channels {
            let waker = {
                let mut c = channel.borrow_mut();
                c.ended = true;
                c.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
        // (Dropped unborrowed: a callback may hold handles whose drop reaches the hub.)
        let callbacks = std::mem::take(&mut *self.callbacks.borrow_mut());
        drop(callbacks);
    }
}

/// What a [`TypedSubscription`] removes its callback from (any `In`).
trait Unsubscribe {
    fn remove(&self, id: u64);
}

impl<In> Unsubscribe for Hub<In> {
    fn remove(&self, id: u64) {
        let removed: Vec<_> = {
            let mut callbacks = self.callbacks.borrow_mut();
            let (gone, kept) = std::mem::take(&mut *callbacks)
                .into_iter()
                .partition(|(i, _)| *i == id);
            *callbacks = kept;
            gone
        };
        drop(removed);
    }
}

/// Keeps a [`TypedSocket::on_event`] callback registered; dropping it unsubscribes. Like
/// [`Subscription`], it does not keep the socket alive (it keeps the typed socket's
/// decoding alive, so the callback is called while the socket lives): store the socket
/// too, and once its last handle is dropped the callback is never called again.
///
/// ```no_run
/// # fn demo(chat: tether_ws::TypedSocket<String, String>) {
/// let subscription = chat.on_event(|event| println!("{event:?}"));
/// drop(subscription); // no more calls
/// # }
/// ```
#[must_use = "the callback is unsubscribed when this guard is dropped"]
pub struct TypedSubscription {
    hub: Rc<dyn Unsubscribe>,
    id: u64,
}

impl Drop for TypedSubscription {
    fn drop(&mut self) {
        self.hub.remove(self.id);
    }
}

impl std::fmt::Debug for TypedSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedSubscription").field("id", &self.id).finish()
    }
}

/// Decodes one message as JSON (the [`Json`] codec; [`decode_with`] for any codec).
///
/// ```
/// use tether_ws::{decode, Message, TypedEvent};
///
/// assert_eq!(decode::<Vec<u8>>(Message::from("[1,2]")), TypedEvent::Message(vec![1, 2]));
/// assert!(matches!(decode::<Vec<u8>>(Message::from("[")), TypedEvent::DecodeError { .. }));
/// ```
pub fn decode<In: DeserializeOwned>(message: Message) -> TypedEvent<In> {
    decode_with::<In, (), Json>(message)
}

/// Decodes one message with the codec `C`, as a [`TypedSocket<In, Out, C>`] does.
///
/// ```
/// use tether_ws::{decode_with, Json, Message, TypedEvent};
///
/// let event = decode_with::<u8, (), Json>(Message::Binary(b"7".to_vec()));
/// assert_eq!(event, TypedEvent::Message(7));
/// ```
pub fn decode_with<In, Out, C: Codec<In, Out>>(message: Message) -> TypedEvent<In> {
    match C::decode(&message) {
        Ok(value) => TypedEvent::Message(value),
        Err(e) => TypedEvent::DecodeError {
            raw: message,
            error: e.message().to_owned(),
        },
    }
}

/// The stream behind [`TypedSocket::events`]. Like [`EventStream`](super::EventStream), it
/// does not keep the socket alive, and it is a [`FusedStream`]: `is_terminated` once the
/// socket is gone and every buffered event was read. Each message is decoded once for all
/// the streams of a typed socket; each stream yields its own copy (the last reader gets
/// the decoded value itself).
///
/// ```no_run
/// # fn demo(socket: tether_ws::TypedSocket<String, String>) {
/// use futures::stream::FusedStream;
///
/// let events = socket.events();
/// assert!(!events.is_terminated()); // the socket is still alive
/// # }
/// ```
pub struct TypedEventStream<In> {
    channel: Rc<RefCell<Channel<In>>>,
    /// Keeps the decoding point (not the socket) alive while the stream is read.
    _hub: Rc<Hub<In>>,
}

impl<In: Clone> Stream for TypedEventStream<In> {
    type Item = TypedEvent<In>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut c = self.channel.borrow_mut();
        if let Some(event) = c.queue.pop_front() {
            return Poll::Ready(Some(
                Rc::try_unwrap(event).unwrap_or_else(|shared| (*shared).clone()),
            ));
        }
        if c.ended {
            return Poll::Ready(None);
        }
        c.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<In: Clone> FusedStream for TypedEventStream<In> {
    fn is_terminated(&self) -> bool {
        let c = self.channel.borrow();
        c.ended && c.queue.is_empty()
    }
}

impl<In> std::fmt::Debug for TypedEventStream<In> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.channel.borrow();
        f.debug_struct("TypedEventStream")
            .field("buffered", &c.queue.len())
            .field("ended", &c.ended)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::subscribers::Subscribers;
    use futures::StreamExt;

    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    struct Point {
        x: i32,
        y: i32,
    }

    #[test]
    fn decodes_text_and_binary_and_reports_garbage() {
        assert_eq!(
            decode::<Point>(Message::from(r#"{"x":1,"y":2}"#)),
            TypedEvent::Message(Point { x: 1, y: 2 })
        );
        assert_eq!(
            decode::<Point>(Message::Binary(br#"{"x":3,"y":4}"#.to_vec())),
            TypedEvent::Message(Point { x: 3, y: 4 })
        );
        for garbage in ["", "{", "null", r#"{"x":"a","y":1}"#, "\u{0}"] {
            match decode::<Point>(Message::from(garbage)) {
                TypedEvent::DecodeError { raw, error } => {
                    assert_eq!(raw, Message::from(garbage));
                    assert!(!error.is_empty());
                }
                other => panic!("{garbage:?} decoded as {other:?}"),
            }
        }
        let bad_utf8 = Message::Binary(vec![0xff, 0xfe]);
        assert!(matches!(
            decode::<Point>(bad_utf8),
            TypedEvent::DecodeError { .. }
        ));
    }

    thread_local! {
        static DECODES: Cell<usize> = const { Cell::new(0) };
    }

    /// JSON, counting its decodes.
    struct Counting;

    impl Codec<Point, ()> for Counting {
        fn encode(_: &()) -> Result<Message, CodecError> {
            Ok(Message::from("null"))
        }
        fn decode(message: &Message) -> Result<Point, CodecError> {
            DECODES.with(|d| d.set(d.get() + 1));
            <Json as Codec<Point, ()>>::decode(message)
        }
    }

    /// A hub fed by `subscribers` as a socket's would be (the socket's own fan-out stands in
    /// for the browser: `publish` is what the driver calls for every event).
    fn hub_on(subscribers: &Subscribers) -> Rc<Hub<Point>> {
        let hub = Rc::new(Hub::default());
        subscribers.add(Rc::new(listener::<Point, (), Counting>(&hub)));
        hub
    }

    fn buffered(stream: &mut TypedEventStream<Point>) -> Vec<TypedEvent<Point>> {
        std::iter::from_fn(|| futures::FutureExt::now_or_never(stream.next()).flatten()).collect()
    }

    #[test]
    fn one_decode_per_message_for_every_stream_and_callback() {
        let subscribers = Subscribers::default();
        let hub = hub_on(&subscribers);
        DECODES.with(|d| d.set(0));
        subscribers.publish(Event::Message(Message::from(r#"{"x":0,"y":0}"#)));
        assert_eq!(DECODES.with(Cell::get), 0, "nobody listens: nothing decoded");

        let mut streams: Vec<_> = (0..3).map(|_| hub.stream()).collect();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let subscriptions: Vec<TypedSubscription> = (0..2)
            .map(|i| {
                let seen = seen.clone();
                let id = hub.add(Rc::new(move |e: &TypedEvent<Point>| {
                    seen.borrow_mut().push((i, e.clone()))
                }));
                TypedSubscription { hub: hub.clone(), id }
            })
            .collect();
        subscribers.publish(Event::Open);
        subscribers.publish(Event::Message(Message::from(r#"{"x":1,"y":2}"#)));
        subscribers.publish(Event::Message(Message::from("garbage")));
        assert_eq!(
            DECODES.with(Cell::get),
            2,
            "two messages, five listeners: two decodes"
        );

        let expected = vec![
            TypedEvent::Other(Event::Open),
            TypedEvent::Message(Point { x: 1, y: 2 }),
            TypedEvent::DecodeError {
                raw: Message::from("garbage"),
                error: <Json as Codec<Point, ()>>::decode(&Message::from("garbage"))
                    .unwrap_err()
                    .message()
                    .to_owned(),
            },
        ];
        for stream in &mut streams {
            assert_eq!(buffered(stream), expected);
        }
        let by = |i| {
            seen.borrow()
                .iter()
                .filter(|(j, _)| *j == i)
                .map(|(_, e)| e.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!((by(0), by(1)), (expected.clone(), expected.clone()));

        // Unsubscribed and dropped listeners stop receiving; the rest still share one decode.
        drop(subscriptions);
        streams.truncate(1);
        subscribers.publish(Event::Message(Message::from(r#"{"x":5,"y":6}"#)));
        assert_eq!(DECODES.with(Cell::get), 3);
        assert_eq!(seen.borrow().len(), 6);
        assert_eq!(
            buffered(&mut streams[0]),
            [TypedEvent::Message(Point { x: 5, y: 6 })]
        );
    }

    #[test]
    fn streams_end_with_the_socket_and_a_dropped_hub_is_fed_nothing() {
        use futures::stream::FusedStream;

        let subscribers = Subscribers::default();
        let hub = hub_on(&subscribers);
        let mut stream = hub.stream();
        subscribers.publish(Event::Open);
        subscribers.end(); // the socket is gone
        assert!(!stream.is_terminated(), "an event is still buffered");
        assert_eq!(buffered(&mut stream), [TypedEvent::Other(Event::Open)]);
        assert!(stream.is_terminated());
        let mut late = hub.stream();
        assert!(late.is_terminated(), "a stream made after the end is ended");
        assert_eq!(futures::executor::block_on(late.next()), None);

        // A hub dropped (every typed handle and stream gone) leaves the socket's callbacks.
        let subscribers = Rc::new(Subscribers::default());
        let hub = Rc::new(Hub::<Point>::default());
        let id = subscribers.add(Rc::new(listener::<Point, (), Counting>(&hub)));
        let weak = Rc::downgrade(&hub);
        drop(hub);
        assert!(weak.upgrade().is_none());
        subscribers.publish(Event::Open); // the listener finds no hub: nothing happens
        subscribers.remove(id);
    }

    #[test]
    fn a_stream_of_a_single_reader_gets_the_decoded_value_itself() {
        let subscribers = Subscribers::default();
        let hub = hub_on(&subscribers);
        let mut a = hub.stream();
        let mut b = hub.stream();
        subscribers.publish(Event::Message(Message::from(r#"{"x":1,"y":1}"#)));
        let shared = a.channel.borrow().queue[0].clone();
        assert_eq!(
            Rc::strong_count(&shared),
            3,
            "one decoded value, shared by both queues"
        );
        drop(shared);
        assert_eq!(buffered(&mut a).len(), 1);
        assert_eq!(
            Rc::strong_count(&b.channel.borrow().queue[0]),
            1,
            "b, the last, moves it out"
        );
        assert_eq!(buffered(&mut b), [TypedEvent::Message(Point { x: 1, y: 1 })]);
    }
}
