//! The driver: runs the core state machine against a real browser WebSocket.
//!
//! It turns socket, timer and page events into core inputs and carries out the core's actions.
//! With continuity, a socket that speaks the protocol has its messages read by the machine
//! (`unframe`: the payload is delivered without its header) and its writes framed with the
//! machine's header (`framed`), as the JS class does (src/js/tether_socket.js). With
//! persistence (`ContinuityOptions::persist`), the session and every message the machine
//! holds are written through to sessionStorage (persist.rs): each message travels inside the
//! machine with its [`Kept`] guard, and the record is saved at the end of each pump that may
//! have changed it.
//! It never holds a `RefCell` borrow while user code runs (events, `should_reconnect`), so
//! user code may call back into the socket — send, close, reconnect, even free — at any time.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{ArrayBuffer, JsString, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, Blob, CloseEvent, MessageEvent};

use super::bindings::{self, performance_now as now};
use super::conn::{Conn, SocketEvent};
use super::env::{EnvChange, EnvWatch};
use super::persist::{Claim, Kept, KeyInUse, Persisted, Taken};
use crate::api::PersistError;
use crate::core::continuity::{app_protocol, offered_protocols, DataHeaderBuf, MAX_DATA_HEADER_BYTES};
use crate::core::{Action, CloseInfo, Config, ConnId, Event, Machine, SendOutcome, SessionStart, State};

/// Receives what the driver has to tell the user (the Rust API's socket).
pub trait Callbacks {
    /// A core event (open, close, error, reconnecting, state change, dropped message; never
    /// `Resume`, which comes through [`Callbacks::resume`]).
    fn event(&self, event: Event<JsValue>);
    /// A connection's continuity session began (the core's `Event::Resume`), with what
    /// persistence adds: whether it is the first since a session was `restored` from storage,
    /// and whether this socket began its own because the one in storage was `duplicated`
    /// (another tab holds it).
    fn resume(&self, start: SessionStart, resent: usize, dropped: usize, restored: bool, duplicated: bool);
    /// Persistence failed (storage off, or a stored session refused); continuity goes on.
    fn persist_failed(&self, error: PersistError);
    /// A message from the server, its data (with continuity, the payload without the
    /// protocol's header). `heartbeat`: heartbeats are on and the connection is plain, so the
    /// message may be the heartbeat's reply; the return value says whether it counts as one
    /// (ignored otherwise). A message that is only a reply (a pong) need not be delivered.
    fn message(&self, data: &JsValue, heartbeat: bool) -> bool;
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
    /// With a URL provider: the URL for each attempt, called before the attempt's socket is
    /// made (absolute and checked; `None`, the attempt fails).
    pub url_provider: Option<Box<dyn Fn() -> Option<String>>>,
    /// Subprotocols to offer, checked (`target::check_protocols`).
    pub protocols: Vec<String>,
    /// How binary messages are delivered (with continuity the socket's is `arraybuffer`, to
    /// read headers synchronously; payloads are then made Blobs if this says so).
    pub binary_type: BinaryType,
    /// The heartbeat message, if heartbeats are on.
    pub heartbeat_message: Option<JsValue>,
    /// With continuity, the key to keep the session in sessionStorage under (`None`:
    /// persistence off).
    pub persist_key: Option<String>,
}

/// A message as the machine holds it: its data and, while it is kept in storage, the guard
/// that forgets the stored copy when the machine lets go of it (acknowledged, dropped,
/// replaced, written plainly).
pub struct Payload {
    data: JsValue,
    kept: Option<Kept>,
}

impl Payload {
    fn new(data: JsValue, kept: Option<Kept>) -> Self {
        Payload { data, kept }
    }
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
    machine: RefCell<Machine<Payload>>,
    conn: RefCell<Option<Conn>>,
    /// The one armed timer and the deadline it was armed for.
    timer: RefCell<Option<(f64, Timeout)>>,
    env: RefCell<Option<EnvWatch>>,
    /// The URL of the latest attempt (at first the one given).
    url: RefCell<String>,
    url_provider: Option<Box<dyn Fn() -> Option<String>>>,
    /// The app's subprotocols (checked).
    protocols: Vec<String>,
    heartbeat_message: Option<JsValue>,
    binary_type: BinaryType,
    /// `maxMessageBytes`, when set.
    max_message_bytes: Option<f64>,
    disposed: Cell<bool>,
    /// The continuity option is on.
    continuity: bool,
    callbacks: Rc<dyn Callbacks>,
    /// The session's storage, with persistence.
    persisted: Option<Rc<Persisted>>,
    /// The session's record may have changed since it was last saved.
    changed: Cell<bool>,
    /// While a session found in storage is claimed from other tabs: the claim, what was
    /// found, and the attempt that waits for it to create its socket.
    claim: RefCell<Option<Claim>>,
    taken: RefCell<Option<Taken>>,
    waiting: Cell<Option<ConnId>>,
    /// `release()`d: the session stays in storage, and nothing more is told.
    released: Cell<bool>,
    /// `start` has returned: persistence failures can be told (the user can listen).
    started: Cell<bool>,
}

/// A message's size as the browser counts it in `bufferedAmount` and on the wire (UTF-8 for
/// text).
fn size_of(data: &JsValue) -> u64 {
    bindings::payload_size(data) as u64
}

/// `header` followed by `data`, as one message of the same kind (text: one string; binary:
/// one buffer, or a Blob for a Blob).
fn framed(header: &DataHeaderBuf, data: &JsValue) -> JsValue {
    if let Some(text) = data.dyn_ref::<JsString>() {
        return JsString::from(header.as_str()).concat(text).into();
    }
    if data.is_instance_of::<Blob>() {
        let parts = js_sys::Array::of2(&header.as_str().into(), data);
        if let Ok(blob) = Blob::new_with_str_sequence(&parts) {
            return blob.into();
        }
    }
    let bytes = if let Some(bytes) = data.dyn_ref::<Uint8Array>() {
        bytes.clone()
    } else if ArrayBuffer::is_view(data) {
        // (The getters are looked up by name: any view has them.)
        let view = data.unchecked_ref::<js_sys::DataView>();
        let (at, len) = (view.byte_offset() as u32, view.byte_length() as u32);
        Uint8Array::new_with_byte_offset_and_length(&view.buffer(), at, len)
    } else {
        Uint8Array::new(data)
    };
    let head = header.as_bytes();
    let out = Uint8Array::new_with_length(head.len() as u32 + bytes.length());
    out.subarray(0, head.len() as u32).copy_from(head);
    out.set(&bytes, head.len() as u32);
    out.into()
}

fn random_seed() -> u64 {
    // Two draws: Math.random gives ~52 bits each.
    let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) | lo
}

impl Driver {
    /// Starts managing a connection (connecting at once unless `start_closed`). With a
    /// persist key, takes up what an earlier page (or socket) kept under it before the first
    /// socket opens; refused if another live socket on this page persists under that key.
    pub fn start(opts: DriverOptions, callbacks: Rc<dyn Callbacks>) -> Result<Driver, KeyInUse> {
        let persisted = match opts
            .persist_key
            .as_deref()
            .filter(|_| opts.config.continuity.is_some())
        {
            Some(key) => Some(Persisted::open(key)?),
            None => None,
        };
        let watch_visibility = opts.config.pause_when_hidden;
        let continuity = opts.config.continuity.is_some();
        let limit = opts.config.max_message_bytes;
        let max_message_bytes = (limit != u64::MAX).then_some(limit as f64);
        let mut machine = Machine::new(opts.config, random_seed(), now());
        if !bindings::is_online() {
            machine.handle_offline();
        }
        if watch_visibility && !bindings::is_visible() {
            machine.handle_visibility(now(), false);
        }
        let inner = Rc::new(Inner {
            machine: RefCell::new(machine),
            conn: RefCell::new(None),
            timer: RefCell::new(None),
            env: RefCell::new(None),
            url: RefCell::new(opts.url),
            url_provider: opts.url_provider,
            protocols: opts.protocols,
            heartbeat_message: opts.heartbeat_message,
            binary_type: opts.binary_type,
            max_message_bytes,
            disposed: Cell::new(false),
            continuity,
            callbacks,
            persisted: persisted.as_ref().map(|(p, _)| p.clone()),
            changed: Cell::new(false),
            claim: RefCell::new(None),
            taken: RefCell::new(None),
            waiting: Cell::new(None),
            released: Cell::new(false),
            started: Cell::new(false),
        });
        if let Some((_, taken)) = persisted {
            inner.take_up(taken);
        }
        let weak = Rc::downgrade(&inner);
        *inner.env.borrow_mut() = Some(EnvWatch::new(watch_visibility, continuity, move |change| {
            if let Some(inner) = weak.upgrade() {
                inner.on_env(change);
            }
        }));
        inner.pump();
        inner.started.set(true);
        // (A failure found before the caller could listen is told in a microtask.)
        if inner.persisted.as_ref().is_some_and(|p| p.has_failure()) {
            let weak = Rc::downgrade(&inner);
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(inner) = weak.upgrade() {
                    inner.pump();
                }
            });
        }
        Ok(Driver { inner })
    }

    /// Sends `data`, sizing it with `bytes` only if it has to be queued. A message with a
    /// replace `key` that has to be queued replaces the queued one with the same key.
    pub fn send(&self, data: JsValue, key: Option<&str>, bytes: impl Fn(&JsValue) -> u64) -> Sent {
        self.inner.send(data, key, bytes)
    }

    /// Closes for good (until `reconnect`).
    pub fn close(&self, code: u16, reason: &str) {
        self.inner.machine.borrow_mut().close(now(), code, reason);
        // (The session is over: its record goes.)
        self.inner.changed.set(true);
        self.inner.pump();
    }

    /// Drops the current connection and connects again at once, backoff reset.
    pub fn reconnect(&self, code: u16, reason: &str) {
        self.inner.machine.borrow_mut().reconnect(now(), code, reason);
        self.inner.changed.set(true);
        self.inner.pump();
    }

    /// Stops as a page unload does, keeping the persisted session: acks owed are written,
    /// the record saved, and the storage let go of as it is (no `Dropped` events: the queued
    /// messages are kept); then as [`Driver::dispose`]. Without persistence (or with
    /// persistence turned off by a failure), the same as `dispose`.
    pub fn release(&self) {
        self.inner.release();
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

    /// Bytes in the outbox.
    pub fn queued_bytes(&self) -> u64 {
        self.inner.machine.borrow().queued_bytes()
    }

    /// Bytes not yet sent: the current socket's `bufferedAmount` plus the outbox's.
    pub fn buffered_amount(&self) -> u64 {
        let socket = self.inner.current_socket(|ws| ws.buffered_amount() as u64);
        socket.unwrap_or(0) + self.queued_bytes()
    }

    /// The URL of the socket, if there is one, else of the latest attempt (before the
    /// first, the one given).
    pub fn url(&self) -> String {
        let conn = self.inner.conn.borrow();
        match conn.as_ref() {
            Some(c) => c.ws.url(),
            None => self.inner.url.borrow().clone(),
        }
    }

    /// The extensions the server selected (`""` when none or not open).
    pub fn extensions(&self) -> String {
        self.inner
            .current_socket(|ws| ws.extensions())
            .unwrap_or_default()
    }

    /// The subprotocol the server selected (`""` when none or not open); with continuity,
    /// the application's part of it.
    pub fn protocol(&self) -> String {
        let selected = self.inner.current_socket(|ws| ws.protocol()).unwrap_or_default();
        match app_protocol(&selected) {
            Some(app) if self.inner.continuity => app.into(),
            _ => selected,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.inner.dispose();
    }
}

impl Inner {
    /// `f` of the current attempt's socket, if it has one.
    fn current_socket<T>(&self, f: impl FnOnce(&web_sys::WebSocket) -> T) -> Option<T> {
        let current = self.machine.borrow().current();
        let conn = self.conn.borrow();
        conn.as_ref().filter(|c| Some(c.id) == current).map(|c| f(&c.ws))
    }

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
                                .handle_heartbeat_written(id, Payload::new(msg.clone(), None));
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
                // listener), only the queued messages' Dropped events are still told;
                // once released, nothing.
                Action::Emit(event)
                    if self.released.get()
                        || (self.disposed.get() && !matches!(event, Event::Dropped { .. })) => {}
                Action::Emit(Event::Resume {
                    start,
                    resent,
                    dropped,
                }) => {
                    let persisted = self.persisted.as_deref();
                    let restored = persisted.is_some_and(Persisted::restored);
                    let duplicated =
                        start != SessionStart::Resumed && persisted.is_some_and(Persisted::duplicated);
                    self.callbacks
                        .resume(start, resent, dropped, restored, duplicated);
                }
                // (The `Kept` guard goes with the event: the machine let go of the message.)
                Action::Emit(event) => self.callbacks.event(event.map_payload(|p| p.data)),
            }
        }
        self.save();
        self.arm_timer();
    }

    /// The end of a task: the record written if it changed, a storage failure told. While a
    /// stored session is being claimed the machine has none yet: what is stored stays.
    fn save(&self) {
        let Some(persisted) = &self.persisted else { return };
        let claiming = self.claim.borrow().is_some();
        if !claiming && self.changed.replace(false) && persisted.on() {
            let mut record = String::new();
            if let Some(saved) = self.machine.borrow().saved_session() {
                saved.write_record(&mut record);
            }
            persisted.save(&record);
        }
        if self.started.get() && !self.released.get() {
            if let Some(error) = persisted.take_failure() {
                self.callbacks.persist_failed(error);
            }
        }
    }

    /// Hands what an earlier page kept to the machine (before the first socket): the session
    /// (resumed by the first hello) and its messages (the machine decides which are the
    /// session's, and queues the others). With a session, only once no other tab claims
    /// it: meanwhile `claim` is set, and the first socket waits for it.
    fn take_up(self: &Rc<Self>, taken: Taken) {
        let Some(persisted) = &self.persisted else { return };
        if !persisted.on() || !persisted.listen() || taken.record.is_empty() {
            self.restore(taken);
            return;
        }
        let weak = Rc::downgrade(self);
        let claim = persisted.claim(&taken.record, move |owned| {
            if let Some(inner) = weak.upgrade() {
                inner.claimed(owned);
            }
        });
        match claim {
            Some(claim) => {
                *self.claim.borrow_mut() = Some(claim);
                *self.taken.borrow_mut() = Some(taken);
            }
            None => self.restore(taken),
        }
    }

    /// The claim is settled: another tab holds the session (`owned`), or none answered.
    fn claimed(self: &Rc<Self>, owned: bool) {
        let claim = self.claim.borrow_mut().take();
        drop(claim);
        let taken = self.taken.borrow_mut().take().unwrap_or_default();
        match &self.persisted {
            Some(persisted) if owned && persisted.on() => persisted.drop_duplicate(&taken.messages),
            _ => self.restore(taken),
        }
        if let Some(id) = self.waiting.take() {
            self.open_socket(id);
        }
        self.pump();
    }

    fn restore(&self, taken: Taken) {
        let Some(persisted) = &self.persisted else { return };
        let Taken { record, messages } = taken;
        if !persisted.on() || (record.is_empty() && messages.is_empty()) {
            return;
        }
        let kept = messages
            .into_iter()
            .map(|(n, data)| {
                let size = size_of(&data);
                (Payload::new(data, Some(persisted.adopt(n))), size)
            })
            .collect();
        let result = self.machine.borrow_mut().restore_record(record.as_bytes(), kept);
        // (Without a record, the messages were queued before any session: sent in the new one.)
        if result.is_err() && !record.is_empty() {
            persisted.refused();
        }
        persisted.set_restored(result.is_ok());
    }

    fn send(self: &Rc<Self>, data: JsValue, key: Option<&str>, bytes: impl Fn(&JsValue) -> u64) -> Sent {
        // Kept before the machine sees it.
        let kept = self.persisted.as_ref().and_then(|p| p.keep(&data));
        // (The machine sizes it only if it has to be queued.)
        let sized = |p: &Payload| bytes(&p.data);
        let outcome = self
            .machine
            .borrow_mut()
            .send(Payload::new(data, kept), key, sized);
        let sent = match outcome {
            SendOutcome::Write(id, data) => match self.write_held(id, data, None) {
                Ok(()) => Sent::Written,
                Err(data) => {
                    let size = sized(&data);
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
    fn write_held(&self, id: ConnId, mut data: Payload, size: Option<u64>) -> Result<(), Payload> {
        let header = {
            let m = self.machine.borrow();
            m.speaks_continuity(id).then(|| m.data_header()).flatten()
        };
        let written = match header.map(|(seq, ack)| DataHeaderBuf::new(seq, ack)) {
            Some(Ok(header)) => self.write(id, &framed(&header, &data.data)),
            // (Not possible: the machine numbers within the protocol's range.)
            Some(Err(_)) => false,
            None => self.write(id, &data.data),
        };
        if !written {
            return Err(data);
        }
        if header.is_some() {
            // Numbered: the record's `last` moved.
            self.changed.set(true);
        } else {
            // Written plainly, it is sent at most once: a later page load must not send it
            // again.
            data.kept = None;
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
        let at_least = |p: &Payload| bindings::payload_size_at_least(&p.data) as u64;
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
        // After a resume: what the server had not taken, again (a failed write needs nothing).
        loop {
            let next = self
                .machine
                .borrow_mut()
                .poll_replay(id)
                .map(|(seq, ack, p)| (seq, ack, p.data.clone()));
            let Some((seq, ack, data)) = next else { break };
            if let Ok(header) = DataHeaderBuf::new(seq, ack) {
                self.write(id, &framed(&header, &data));
            }
        }
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
        // (A session found in storage is first claimed from other tabs: persist.rs.)
        if self.claim.borrow().is_some() {
            self.waiting.set(Some(id));
            return;
        }
        self.open_socket(id);
    }

    /// Whether attempt `id` is still the one to make a socket for.
    fn still_wanted(&self, id: ConnId) -> bool {
        let m = self.machine.borrow();
        !self.disposed.get() && m.current() == Some(id) && m.state() == State::Connecting
    }

    /// Creates the socket for attempt `id`, unless the attempt was given up meanwhile.
    fn open_socket(self: &Rc<Self>, id: ConnId) {
        if !self.still_wanted(id) {
            return;
        }
        if let Some(provider) = &self.url_provider {
            // (User code: it may close, reconnect or drop the socket.)
            let provided = provider();
            if !self.still_wanted(id) {
                return;
            }
            match provided {
                Some(url) => *self.url.borrow_mut() = url,
                None => {
                    self.machine.borrow_mut().handle_connect_failed(id, now());
                    return;
                }
            }
        }
        let weak = Rc::downgrade(self);
        let on_event = move |id, ev| {
            if let Some(inner) = weak.upgrade() {
                inner.on_socket_event(id, ev);
            }
        };
        let app = self.protocols.iter().map(String::as_str);
        let protocols: js_sys::Array = if self.machine.borrow().offers_continuity() {
            let app: Vec<&str> = app.collect();
            offered_protocols(&app)
                .iter()
                .map(|p| JsValue::from_str(p))
                .collect()
        } else {
            app.map(JsValue::from_str).collect()
        };
        let binary_type = if self.continuity {
            BinaryType::Arraybuffer
        } else {
            self.binary_type
        };
        let url = self.url.borrow().clone();
        match Conn::open(id, &url, &protocols, binary_type, on_event) {
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
        // (A welcome, a delivery, an ack, a lost session: the record may change.)
        self.changed.set(true);
        match event {
            SocketEvent::Open => self.on_open(id),
            SocketEvent::Message(e) => self.on_message(id, &e),
            SocketEvent::Error => self.on_error(id),
            SocketEvent::Close(e) => self.on_close(id, &e),
        }
    }

    fn on_open(self: &Rc<Self>, id: ConnId) {
        // (The selected subprotocol matters only with continuity.)
        let protocol = self
            .conn
            .borrow()
            .as_ref()
            .filter(|c| self.continuity && c.id == id)
            .map(|c| c.ws.protocol())
            .unwrap_or_default();
        self.machine.borrow_mut().handle_opened(id, now(), &protocol);
        // A plain connection delivers binary as binary_type says (framed ones are converted).
        if self.continuity && !self.machine.borrow().speaks_continuity(id) {
            if let Some(conn) = self.conn.borrow().as_ref().filter(|c| c.id == id) {
                conn.ws.set_binary_type(self.binary_type);
            }
        }
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
        let mut data = e.data();
        let mut heartbeat = false;
        if self.machine.borrow().speaks_continuity(id) {
            // (The machine counts every frame of the session as the heartbeat's reply.)
            match self.unframe(id, &data) {
                Some(payload) => data = payload,
                None => {
                    self.pump();
                    return;
                }
            }
        } else {
            heartbeat = self.heartbeat_message.is_some();
        }
        // (The callbacks say whether it is the heartbeat's reply: `is_pong`.)
        let reply = self.callbacks.message(&data, heartbeat);
        if heartbeat {
            self.machine.borrow_mut().handle_message(id, reply);
        }
        self.pump();
    }

    /// A frame of the continuity protocol on socket `id`, read by the machine: the payload
    /// to deliver (the data without its header; binary as `binary_type` says), or `None`.
    fn unframe(&self, id: ConnId, data: &JsValue) -> Option<JsValue> {
        if let Some(text) = data.dyn_ref::<JsString>() {
            // The whole of a control frame; of a data frame, the header's characters (ASCII:
            // as many bytes), so the payload is never copied into wasm.
            let len = text.length();
            let head = if text.char_code_at(0) == f64::from(b'{') {
                String::from(text)
            } else {
                String::from(text.slice(0, MAX_DATA_HEADER_BYTES as u32))
            };
            let at =
                self.machine
                    .borrow_mut()
                    .handle_frame(id, head.as_bytes(), u64::from(len), true, now())?;
            return Some(text.slice(at as u32, len).into());
        }
        // (The socket's binaryType is arraybuffer while continuity is on.)
        let buffer = data.dyn_ref::<ArrayBuffer>()?;
        let len = buffer.byte_length();
        let mut head = [0u8; MAX_DATA_HEADER_BYTES];
        let head = &mut head[..len.min(MAX_DATA_HEADER_BYTES as u32) as usize];
        Uint8Array::new_with_byte_offset_and_length(buffer, 0, head.len() as u32).copy_to(head);
        let at = self
            .machine
            .borrow_mut()
            .handle_frame(id, head, u64::from(len), false, now())?;
        let payload = buffer.slice(at as u32);
        if self.binary_type == BinaryType::Blob {
            if let Ok(blob) = Blob::new_with_buffer_source_sequence(&js_sys::Array::of1(&payload)) {
                return Some(blob.into());
            }
        }
        Some(payload.into())
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
        let sized = |p: &Payload| size_of(&p.data);
        self.machine
            .borrow_mut()
            .handle_closed(id, now(), info, buffered, sized, verdict);
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
                // The acks owed go out, and the record is saved (at the end of the pump).
                EnvChange::Unload => {
                    m.handle_unload();
                    self.changed.set(true);
                }
                // (Its socket may have died in the cache unnoticed; the session resumes
                // losslessly.)
                EnvChange::PageShow(true) if m.state() != State::Closed => {
                    m.reconnect(now(), 1000, "page restored");
                    self.changed.set(true);
                }
                EnvChange::PageShow(_) => {}
            }
        }
        self.pump();
    }

    fn on_timer(self: &Rc<Self>) {
        let fired = self.timer.borrow_mut().take();
        drop(fired);
        self.machine.borrow_mut().handle_timeout(now());
        self.changed.set(true);
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

    /// See [`Driver::release`].
    fn release(self: &Rc<Self>) {
        if self.disposed.get() {
            return;
        }
        if let Some(persisted) = self.persisted.as_ref().filter(|p| p.on()) {
            self.machine.borrow_mut().handle_unload();
            self.changed.set(true);
            self.pump();
            persisted.release();
            self.released.set(true);
        }
        self.dispose();
    }

    fn dispose(self: &Rc<Self>) {
        if self.disposed.replace(true) {
            return;
        }
        // Disposed, the session is over: nothing of it stays in storage (released: kept).
        if let Some(persisted) = &self.persisted {
            persisted.end();
        }
        let claim = self.claim.borrow_mut().take();
        drop(claim);
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
