//! The driver: runs the core state machine against a real browser WebSocket.
//!
//! It turns socket, timer and page events into core inputs and carries out the core's actions.
//! It never holds a `RefCell` borrow while user code runs (events, `should_reconnect`), so
//! user code may call back into the socket — send, close, reconnect, even free — at any time.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent};

use super::bindings::{self, performance_now as now};
use super::conn::{Conn, SocketEvent};
use super::env::{EnvChange, EnvWatch};
use crate::core::{Action, CloseInfo, Config, ConnId, Event, Machine, SendOutcome, State};

/// Receives what the driver has to tell the user (the Rust API's socket).
pub trait Callbacks {
    /// A core event (open, close, error, reconnecting, state change, dropped message).
    fn event(&self, event: Event<JsValue>);
    /// A message from the server (with heartbeats on, every message counts as a reply).
    fn message(&self, event: &MessageEvent);
    /// The user's verdict on reconnecting after an unexpected close (`shouldReconnect`);
    /// `None` keeps the default (reconnect).
    fn should_reconnect(&self, info: &CloseInfo) -> Option<bool>;
}

/// Everything the driver needs besides the callbacks.
pub struct DriverOptions {
    /// Core rules.
    pub config: Config,
    /// Where to connect: an absolute, checked URL (`target::check_url`).
    pub url: String,
    /// Subprotocols to offer, checked (`target::check_protocols`).
    pub protocols: Vec<String>,
    /// How binary messages are delivered.
    pub binary_type: BinaryType,
    /// The heartbeat message, if heartbeats are on.
    pub heartbeat_message: Option<JsValue>,
}

/// What became of a `send`.
pub enum Sent {
    /// Written to the open socket.
    Written,
    /// Queued for the next connection.
    Queued,
    /// Discarded under the overflow policy (a drop event was emitted).
    Dropped,
    /// Refused under `overflow: "reject"`.
    Rejected,
}

/// A running connection manager. Dropping it (or calling `dispose`) closes the socket and
/// removes every listener and timer.
pub struct Driver {
    inner: Rc<Inner>,
}

struct Inner {
    machine: RefCell<Machine<JsValue>>,
    conn: RefCell<Option<Conn>>,
    /// The one armed timer and the deadline it was armed for.
    timer: RefCell<Option<(f64, Timeout)>>,
    env: RefCell<Option<EnvWatch>>,
    url: String,
    /// The subprotocols, as `new WebSocket` takes them.
    protocols: js_sys::Array,
    heartbeat_message: Option<JsValue>,
    binary_type: BinaryType,
    /// `maxMessageBytes`, when set.
    max_message_bytes: Option<f64>,
    disposed: Cell<bool>,
    callbacks: Rc<dyn Callbacks>,
}

/// A message's size as the browser counts it in `bufferedAmount` and on the wire (UTF-8 for
/// text).
fn size_of(data: &JsValue) -> u64 {
    bindings::payload_size(data) as u64
}

fn random_seed() -> u64 {
    // Two draws: Math.random gives ~52 bits each.
    let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) | lo
}

impl Driver {
    /// Starts managing a connection (connecting at once unless `start_closed`).
    pub fn start(opts: DriverOptions, callbacks: Rc<dyn Callbacks>) -> Driver {
        let watch_visibility = opts.config.pause_when_hidden;
        let limit = opts.config.max_message_bytes;
        let max_message_bytes = (limit != u64::MAX).then_some(limit as f64);
        let mut machine = Machine::new(opts.config, random_seed(), now());
        if !bindings::is_online() {
            machine.handle_offline();
        }
        if watch_visibility && !bindings::is_visible() {
            machine.handle_visibility(now(), false);
        }
        let protocols = opts.protocols.iter().map(|p| JsValue::from_str(p)).collect();
        let inner = Rc::new(Inner {
            machine: RefCell::new(machine),
            conn: RefCell::new(None),
            timer: RefCell::new(None),
            env: RefCell::new(None),
            url: opts.url,
            protocols,
            heartbeat_message: opts.heartbeat_message,
            binary_type: opts.binary_type,
            max_message_bytes,
            disposed: Cell::new(false),
            callbacks,
        });
        let weak = Rc::downgrade(&inner);
        *inner.env.borrow_mut() = Some(EnvWatch::new(watch_visibility, move |change| {
            if let Some(inner) = weak.upgrade() {
                inner.on_env(change);
            }
        }));
        inner.pump();
        Driver { inner }
    }

    /// Sends `data`, sizing it with `bytes` only if it has to be queued. A message with a
    /// replace `key` that has to be queued replaces the queued one with the same key.
    pub fn send(&self, data: JsValue, key: Option<&str>, bytes: impl Fn(&JsValue) -> u64) -> Sent {
        self.inner.send(data, key, bytes)
    }

    /// Closes for good (until `reconnect`).
    pub fn close(&self, code: u16, reason: &str) {
        self.inner.machine.borrow_mut().close(now(), code, reason);
        self.inner.pump();
    }

    /// Drops the current connection and connects again at once, backoff reset.
    pub fn reconnect(&self, code: u16, reason: &str) {
        self.inner.machine.borrow_mut().reconnect(now(), code, reason);
        self.inner.pump();
    }

    /// Stops everything: closes the socket, cancels timers, removes listeners and reports the
    /// queued messages as dropped. Idempotent; also done on drop.
    pub fn dispose(&self) {
        self.inner.dispose();
    }

    /// The machine's state.
    pub fn state(&self) -> State {
        self.inner.machine.borrow().state()
    }

    /// Retries since the last stable connection.
    pub fn retry_count(&self) -> u32 {
        self.inner.machine.borrow().retry_count()
    }

    /// Messages in the outbox.
    pub fn queued_messages(&self) -> usize {
        self.inner.machine.borrow().queued_messages()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.inner.dispose();
    }
}

impl Inner {
    /// Carries out the machine's actions until there are none, then arms the timer.
    fn pump(self: &Rc<Self>) {
        loop {
            let action = self.machine.borrow_mut().poll_action();
            let Some(action) = action else { break };
            match action {
                Action::Connect { id } => self.connect(id),
                Action::Flush { id } => self.flush(id),
                Action::SendFrame { id, text } => {
                    self.write(id, &JsValue::from_str(&text));
                }
                Action::SendHeartbeat { id } => {
                    // A failed heartbeat write needs no retry: the socket is closing.
                    if let Some(msg) = &self.heartbeat_message {
                        if self.write(id, msg) {
                            let report = self
                                .machine
                                .borrow_mut()
                                .handle_heartbeat_written(id, msg.clone());
                            if report {
                                self.report_buffered(id);
                            }
                        }
                    }
                }
                Action::Close {
                    id,
                    code,
                    reason,
                    abandon,
                } => self.close_socket(id, code, &reason, abandon),
                // Once disposed (free(), or the last handle dropped, maybe from inside a
                // listener), only the queued messages' Dropped events are still told.
                Action::Emit(event) if self.disposed.get() && !matches!(event, Event::Dropped { .. }) => {}
                Action::Emit(event) => self.callbacks.event(event),
            }
        }
        self.arm_timer();
    }

    fn send(self: &Rc<Self>, data: JsValue, key: Option<&str>, bytes: impl Fn(&JsValue) -> u64) -> Sent {
        // (The machine sizes it only if it has to be queued.)
        let outcome = self.machine.borrow_mut().send(data, key, &bytes);
        let sent = match outcome {
            SendOutcome::Write(id, data) => match self.write_held(id, data, None) {
                Ok(()) => Sent::Written,
                Err(data) => {
                    let size = bytes(&data);
                    self.machine.borrow_mut().handle_unsent(id, data, size);
                    Sent::Queued
                }
            },
            SendOutcome::Queued => Sent::Queued,
            SendOutcome::Dropped => Sent::Dropped,
            SendOutcome::Rejected(_) => Sent::Rejected,
        };
        self.pump();
        sent
    }

    /// Writes `data`, the message in hand (from `send` or `poll_flush`, of `size` bytes if
    /// known), to socket `id`, and tells the machine it went. Gives it back if it did not.
    fn write_held(&self, id: ConnId, data: JsValue, size: Option<u64>) -> Result<(), JsValue> {
        if !self.write(id, &data) {
            return Err(data);
        }
        let report = self.machine.borrow_mut().handle_written(id, data, size);
        if report {
            self.report_buffered(id);
        }
        Ok(())
    }

    /// Socket `id`'s `bufferedAmount`, if it is ours (the browser keeps it after the close).
    fn buffered_amount(&self, id: ConnId) -> u64 {
        let conn = self.conn.borrow();
        conn.as_ref()
            .filter(|c| c.id == id)
            .map_or(0, |c| c.ws.buffered_amount() as u64)
    }

    /// Lets the machine forget the writes that have left the browser.
    fn report_buffered(&self, id: ConnId) {
        let buffered = self.buffered_amount(id);
        let at_least = |data: &JsValue| bindings::payload_size_at_least(data) as u64;
        self.machine.borrow_mut().handle_buffered(id, buffered, at_least);
    }

    /// Writes to socket `id` if it is still ours and open. False means nothing was sent.
    fn write(&self, id: ConnId, data: &JsValue) -> bool {
        let conn = self.conn.borrow();
        match conn.as_ref() {
            Some(c) if c.id == id && c.ws.ready_state() == web_sys::WebSocket::OPEN => {
                c.ws.unchecked_ref::<bindings::RawSocket>().send(data).is_ok()
            }
            _ => false,
        }
    }

    fn flush(&self, id: ConnId) {
        loop {
            let next = self.machine.borrow_mut().poll_flush(id);
            let Some((data, size)) = next else { break };
            if let Err(data) = self.write_held(id, data, Some(size)) {
                self.machine.borrow_mut().handle_unsent(id, data, size);
                break;
            }
        }
    }

    fn connect(self: &Rc<Self>, id: ConnId) {
        if self.disposed.get() {
            return;
        }
        // The machine only asks after letting go of the previous socket; make sure of it.
        let old = self.conn.borrow_mut().take();
        drop(old);
        self.open_socket(id);
    }

    /// Creates the socket for attempt `id`, unless the attempt was given up meanwhile.
    fn open_socket(self: &Rc<Self>, id: ConnId) {
        let still_wanted = {
            let m = self.machine.borrow();
            m.current() == Some(id) && m.state() == State::Connecting
        };
        if !still_wanted || self.disposed.get() {
            return;
        }
        let weak = Rc::downgrade(self);
        let on_event = move |id, ev| {
            if let Some(inner) = weak.upgrade() {
                inner.on_socket_event(id, ev);
            }
        };
        match Conn::open(id, &self.url, &self.protocols, self.binary_type, on_event) {
            Ok(conn) => {
                *self.conn.borrow_mut() = Some(conn);
                self.machine.borrow_mut().handle_socket_created(id);
            }
            Err(_) => self.machine.borrow_mut().handle_connect_failed(id, now()),
        }
    }

    fn close_socket(&self, id: ConnId, code: u16, reason: &str, abandon: bool) {
        let mut slot = self.conn.borrow_mut();
        if slot.as_ref().map(|c| c.id) != Some(id) {
            return;
        }
        if let Some(conn) = slot.as_ref() {
            conn.close(code, reason);
        }
        if abandon {
            let old = slot.take();
            drop(slot);
            drop(old);
        }
    }

    fn on_socket_event(self: &Rc<Self>, id: ConnId, event: SocketEvent) {
        match event {
            SocketEvent::Open => self.on_open(id),
            SocketEvent::Message(e) => self.on_message(id, &e),
            SocketEvent::Error => self.on_error(id),
            SocketEvent::Close(e) => self.on_close(id, &e),
        }
    }

    fn on_open(self: &Rc<Self>, id: ConnId) {
        let protocol = self
            .conn
            .borrow()
            .as_ref()
            .map(|c| c.ws.protocol())
            .unwrap_or_default();
        self.machine.borrow_mut().handle_opened(id, now(), &protocol);
        self.pump();
    }

    fn on_message(self: &Rc<Self>, id: ConnId, e: &MessageEvent) {
        if self.machine.borrow().current() != Some(id) {
            return;
        }
        if let Some(limit) = self.max_message_bytes {
            if bindings::size_above(&e.data(), limit) {
                self.machine.borrow_mut().handle_oversized(id, now());
                self.pump();
                return;
            }
        }
        if self.heartbeat_message.is_some() {
            self.machine.borrow_mut().handle_message(id, true);
        }
        self.callbacks.message(e);
        self.pump();
    }

    fn on_error(self: &Rc<Self>, id: ConnId) {
        self.machine.borrow_mut().handle_error(id);
        self.pump();
    }

    fn on_close(self: &Rc<Self>, id: ConnId, e: &CloseEvent) {
        let info = CloseInfo {
            code: e.code(),
            reason: e.reason(),
            was_clean: e.was_clean(),
        };
        let ask = self.machine.borrow().asks_should_reconnect(id);
        let verdict = if ask {
            self.callbacks.should_reconnect(&info)
        } else {
            None
        };
        // Messages whose bytes never left go back to the outbox.
        let buffered = self.buffered_amount(id);
        self.machine
            .borrow_mut()
            .handle_closed(id, now(), info, buffered, size_of, verdict);
        let mut slot = self.conn.borrow_mut();
        if slot.as_ref().map(|c| c.id) == Some(id) {
            let old = slot.take();
            drop(slot);
            drop(old);
        }
        self.pump();
    }

    fn on_env(self: &Rc<Self>, change: EnvChange) {
        {
            let mut m = self.machine.borrow_mut();
            match change {
                EnvChange::Online => m.handle_online(now()),
                EnvChange::Offline => m.handle_offline(),
                EnvChange::Visibility(visible) => m.handle_visibility(now(), visible),
            }
        }
        self.pump();
    }

    fn on_timer(self: &Rc<Self>) {
        let fired = self.timer.borrow_mut().take();
        drop(fired);
        self.machine.borrow_mut().handle_timeout(now());
        self.pump();
    }

    /// Arms the single timer for the machine's next deadline. A timer already armed for an
    /// earlier moment is kept: firing early is harmless (the machine re-checks), and this
    /// avoids re-arming on every heartbeat reply.
    fn arm_timer(self: &Rc<Self>) {
        if self.disposed.get() {
            return;
        }
        let deadline = self.machine.borrow().poll_timeout();
        let mut timer = self.timer.borrow_mut();
        let Some(at) = deadline else {
            *timer = None;
            return;
        };
        if matches!(&*timer, Some((armed_at, _)) if *armed_at <= at) {
            return;
        }
        // setTimeout takes at most 2^31-1 ms.
        let delay = (at - now()).ceil().clamp(0.0, 2_147_483_647.0) as u32;
        let weak: Weak<Inner> = Rc::downgrade(self);
        let timeout = Timeout::new(delay, move || {
            if let Some(inner) = weak.upgrade() {
                inner.on_timer();
            }
        });
        *timer = Some((at, timeout));
    }

    fn dispose(self: &Rc<Self>) {
        if self.disposed.replace(true) {
            return;
        }
        self.machine.borrow_mut().dispose();
        self.pump();
        let conn = self.conn.borrow_mut().take();
        drop(conn);
        let timer = self.timer.borrow_mut().take();
        drop(timer);
        let env = self.env.borrow_mut().take();
        drop(env);
    }
}
