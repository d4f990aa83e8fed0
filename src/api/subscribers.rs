//! Fan-out of events to any number of streams and callbacks.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::stream::FusedStream;
use futures_core::Stream;

use super::types::Event;

/// The queue behind one [`EventStream`].
#[derive(Default)]
struct Channel {
    queue: VecDeque<Event>,
    waker: Option<Waker>,
    /// No more events will come (the socket is gone).
    ended: bool,
}

type Callback = Rc<dyn Fn(&Event)>;

/// Everyone listening to one socket.
#[derive(Default)]
pub(crate) struct Subscribers {
    streams: RefCell<Vec<Rc<RefCell<Channel>>>>,
    callbacks: RefCell<Vec<(u64, Callback)>>,
    next_id: std::cell::Cell<u64>,
}

// Native builds never hold a socket, so nothing publishes there outside tests.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
impl Subscribers {
    /// Delivers `event` to every stream (queued) and every callback (called now).
    pub(crate) fn publish(&self, event: Event) {
        // Streams whose receiver is gone are dropped here (only we still hold them).
        self.streams.borrow_mut().retain(|c| Rc::strong_count(c) > 1);
        for channel in self.streams.borrow().iter() {
            let mut c = channel.borrow_mut();
            c.queue.push_back(event.clone());
            if let Some(w) = c.waker.take() {
                w.wake();
            }
        }
        // Callbacks may subscribe or unsubscribe while running: call a snapshot, unborrowed.
        let callbacks: Vec<Callback> = self.callbacks.borrow().iter().map(|(_, f)| f.clone()).collect();
        for f in callbacks {
            f(&event);
        }
    }

    /// A new stream that sees every event from now on.
    pub(crate) fn stream(&self) -> EventStream {
        let channel = Rc::new(RefCell::new(Channel::default()));
        self.streams.borrow_mut().push(channel.clone());
        EventStream { channel }
    }

    /// Registers a callback; returns its id for [`Subscribers::remove`].
    pub(crate) fn add(&self, f: Callback) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.callbacks.borrow_mut().push((id, f));
        id
    }

    /// Unregisters a callback. (It is dropped unborrowed: what it holds may unsubscribe too.)
    pub(crate) fn remove(&self, id: u64) {
        let removed = {
            let mut callbacks = self.callbacks.borrow_mut();
            let at = callbacks.iter().position(|(i, _)| *i == id);
            at.map(|at| callbacks.remove(at))
        };
        drop(removed);
    }

    /// Ends every stream: they yield what is queued, then `None`.
    pub(crate) fn end(&self) {
        for channel in self.streams.borrow_mut().drain(..) {
            let mut c = channel.borrow_mut();
            c.ended = true;
            if let Some(w) = c.waker.take() {
                w.wake();
            }
        }
        // (Dropped unborrowed, as in `remove`.)
        let callbacks = std::mem::take(&mut *self.callbacks.borrow_mut());
        drop(callbacks);
    }
}

/// A stream of a socket's events, from [`Socket::events`](super::Socket::events). Each stream
/// gets every event; it ends when the socket is dropped. Unread events are buffered.
///
/// The stream does not keep the socket alive: keep a [`Socket`](super::Socket) handle for
/// as long as you read it (when the last handle is dropped the connection is closed and the
/// stream ends, after the events it had buffered). It is a
/// [`FusedStream`]: once it has ended, `is_terminated` is true and it yields `None` forever,
/// so `futures::select!` can poll it without `.fuse()`.
///
/// ```no_run
/// # async fn demo() -> Result<(), tether_ws::Error> {
/// use futures::stream::{FusedStream, StreamExt};
///
/// let socket = tether_ws::Socket::builder("wss://example.com/feed").connect()?;
/// let mut events = socket.events();
/// drop(socket); // the last handle: the connection closes and the stream ends
/// while let Some(event) = events.next().await {
///     println!("{event:?}"); // what was buffered before the end
/// }
/// assert!(events.is_terminated());
/// # Ok(())
/// # }
/// ```
pub struct EventStream {
    channel: Rc<RefCell<Channel>>,
}

impl Stream for EventStream {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut c = self.channel.borrow_mut();
        if let Some(event) = c.queue.pop_front() {
            return Poll::Ready(Some(event));
        }
        if c.ended {
            return Poll::Ready(None);
        }
        c.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl FusedStream for EventStream {
    fn is_terminated(&self) -> bool {
        let c = self.channel.borrow();
        c.ended && c.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn every_stream_gets_every_event_and_ends() {
        let subs = Subscribers::default();
        let mut a = subs.stream();
        let mut b = subs.stream();
        subs.publish(Event::Open);
        subs.end();
        futures::executor::block_on(async {
            assert!(!a.is_terminated(), "ended, but an event is still buffered");
            assert_eq!(a.next().await, Some(Event::Open));
            assert!(a.is_terminated());
            assert_eq!(a.next().await, None);
            assert_eq!(b.next().await, Some(Event::Open));
        });
    }

    #[test]
    fn dropped_streams_and_removed_callbacks_stop_receiving() {
        let subs = Subscribers::default();
        let seen = Rc::new(RefCell::new(0));
        let s = seen.clone();
        let id = subs.add(Rc::new(move |_| *s.borrow_mut() += 1));
        drop(subs.stream());
        subs.publish(Event::Open);
        subs.remove(id);
        subs.publish(Event::Open);
        assert_eq!(*seen.borrow(), 1);
        assert!(subs.streams.borrow().is_empty());
    }
}
