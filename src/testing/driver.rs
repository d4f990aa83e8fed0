//! The testing driver: runs the core state machine against the in-memory link of a
//! [`TestServer`](super::TestServer), on the server's clock.
//!
//! Its skeleton and names are the browser driver's (src/browser/driver.rs): `pump` carries
//! out the machine's actions, `on_open` / `on_message` / `on_error` / `on_close` /
//! `on_timer` turn link and clock events into machine inputs, `arm_timer` keeps the one
//! deadline. What a browser does asynchronously and the test cannot trigger (the end of a
//! closing handshake the socket started) is told after the pump that caused it.
//! It never holds a `RefCell` borrow while user code runs, so user code may call back into
//! the socket (or the test server) from an event.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use super::{Link, Shared, TestConn};
use crate::api::Message;
use crate::core::{Action, CloseInfo, Config, ConnId, Event, Machine, SendOutcome, State};

/// Receives what the driver has to tell the user (the Rust API's socket).
pub(crate) trait Callbacks {
    /// A core event (never `Resume`: the test server does not speak continuity).
    fn event(&self, event: Event<Message>);
    /// A message from the server. `heartbeat`: heartbeats are on, so the message may be the
    /// heartbeat's reply; the return value says whether it counts as one.
    fn message(&self, message: Message, heartbeat: bool) -> bool;
    /// The user's verdict on reconnecting after an unexpected close.
    fn should_reconnect(&self, info: &CloseInfo) -> Option<bool>;
    /// The end of each pump: writes may have drained the outbox.
    fn settled(&self);
}

/// Everything the driver needs besides the callbacks.
pub(crate) struct DriverOptions {
    pub config: Config,
    /// Where to connect (checked).
    pub url: String,
    /// With a URL provider: the URL for each attempt (`None`: the attempt fails).
    pub url_provider: Option<Box<dyn Fn() -> Option<String>>>,
    /// Subprotocols to offer (checked).
    pub protocols: Vec<String>,
    /// The heartbeat message, if heartbeats are on.
    pub heartbeat_message: Option<Message>,
}

/// What became of a `send` (as the browser driver's `Sent`; a refused message comes back).
pub(crate) enum Sent {
    Written,
    Queued,
    Dropped,
    Rejected(Message),
}

/// A running connection manager on a test server. Dropping it disposes it.
pub(crate) struct Driver {
    inner: Rc<Inner>,
}

pub(crate) struct Inner {
    machine: RefCell<Machine<Message>>,
    server: Rc<Shared>,
    conn: RefCell<Option<Rc<Link>>>,
    /// The deadline the one timer is armed for.
    timer: Cell<Option<f64>>,
    url: RefCell<String>,
    url_provider: Option<Box<dyn Fn() -> Option<String>>>,
    protocols: Vec<String>,
    heartbeat_message: Option<Message>,
    max_message_bytes: Option<u64>,
    disposed: Cell<bool>,
    callbacks: Rc<dyn Callbacks>,
    /// Close events of closing handshakes the socket started, told after the pump.
    closing: RefCell<VecDeque<(ConnId, CloseInfo)>>,
}

impl Driver {
    /// Starts managing a connection to `server` (connecting at once unless `start_closed`).
    pub(crate) fn start(server: Rc<Shared>, opts: DriverOptions, callbacks: Rc<dyn Callbacks>) -> Driver {
        let limit = opts.config.max_message_bytes;
        let now = server.now_ms();
        // (Seeded per socket, so that runs repeat: the jitter is part of what a test sees.)
        let machine = Machine::new(opts.config, 0x7e57, now);
        let inner = Rc::new(Inner {
            machine: RefCell::new(machine),
            server,
            conn: RefCell::new(None),
            timer: Cell::new(None),
            url: RefCell::new(opts.url),
            url_provider: opts.url_provider,
            protocols: opts.protocols,
            heartbeat_message: opts.heartbeat_message,
            max_message_bytes: (limit != u64::MAX).then_some(limit),
            disposed: Cell::new(false),
            callbacks,
            closing: RefCell::new(VecDeque::new()),
        });
        inner.server.register(Rc::downgrade(&inner));
        inner.pump();
        Driver { inner }
    }

    /// Sends `message`, queued if it cannot be written now.
    pub(crate) fn send(&self, message: Message, key: Option<&str>) -> Sent {
        self.inner.send(message, key)
    }

    /// Closes for good (until `reconnect`).
    pub(crate) fn close(&self, code: u16, reason: &str) {
        let now = self.inner.now();
        self.inner.machine.borrow_mut().close(now, code, reason);
        self.inner.pump();
    }

    /// Drops the current connection and connects again at once, backoff reset.
    pub(crate) fn reconnect(&self, code: u16, reason: &str) {
        let now = self.inner.now();
        self.inner.machine.borrow_mut().reconnect(now, code, reason);
        self.inner.pump();
    }

    /// Stops everything: closes the connection and reports the queued messages as dropped.
    pub(crate) fn dispose(&self) {
        self.inner.dispose();
    }

    pub(crate) fn state(&self) -> State {
        self.inner.machine.borrow().state()
    }

    pub(crate) fn retry_count(&self) -> u32 {
        self.inner.machine.borrow().retry_count()
    }

    pub(crate) fn queued_messages(&self) -> usize {
        self.inner.machine.borrow().queued_messages()
    }

    pub(crate) fn queued_bytes(&self) -> u64 {
        self.inner.machine.borrow().queued_bytes()
    }

    /// The outbox's bytes: a test link's writes leave at once.
    pub(crate) fn buffered_amount(&self) -> u64 {
        self.queued_bytes()
    }

    /// The URL of the latest attempt (before the first, the one given).
    pub(crate) fn url(&self) -> String {
        self.inner.url.borrow().clone()
    }

    /// The subprotocol the server selected (`""` when none or not open).
    pub(crate) fn protocol(&self) -> String {
        self.inner
            .current_link()
            .map(|l| l.protocol())
            .unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.inner.dispose();
    }
}

impl Inner {
    fn now(&self) -> f64 {
        self.server.now_ms()
    }

    /// The deadline the timer is armed for, if any (for the test server's clock).
    pub(crate) fn armed(&self) -> Option<f64> {
        self.timer.get()
    }

    /// The current attempt's link, if it has one.
    fn current_link(&self) -> Option<Rc<Link>> {
        let current = self.machine.borrow().current();
        let conn = self.conn.borrow();
        conn.as_ref().filter(|l| Some(l.id) == current).cloned()
    }

    /// Carries out the machine's actions until there are none, arms the timer, then tells
    /// the close events of the handshakes it started.
    fn pump(self: &Rc<Self>) {
        loop {
            let action = self.machine.borrow_mut().poll_action();
            let Some(action) = action else { break };
            match action {
                Action::Connect { id } => self.connect(id),
                Action::Flush { id } => self.flush(id),
                // (Only a session of the continuity protocol sends frames of its own.)
                Action::SendFrame { .. } => {}
                Action::SendHeartbeat { id } => {
                    if let Some(message) = &self.heartbeat_message {
                        if self.write(id, message.clone()) {
                            let report = self
                                .machine
                                .borrow_mut()
                                .handle_heartbeat_written(id, message.clone());
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
                // Once disposed, only the queued messages' Dropped events are still told.
                Action::Emit(event) if self.disposed.get() && !matches!(event, Event::Dropped { .. }) => {}
                Action::Emit(event) => self.callbacks.event(event),
            }
        }
        self.arm_timer();
        self.callbacks.settled();
        loop {
            let next = self.closing.borrow_mut().pop_front();
            let Some((id, info)) = next else { break };
            self.on_close(id, info);
        }
    }

    fn send(self: &Rc<Self>, message: Message, key: Option<&str>) -> Sent {
        let bytes = message.len() as u64;
        let outcome = self.machine.borrow_mut().send(message, key, |_| bytes);
        let sent = match outcome {
            SendOutcome::Write(id, message) => match self.write_held(id, message, Some(bytes)) {
                Ok(()) => Sent::Written,
                Err(message) => {
                    self.machine.borrow_mut().handle_unsent(id, message, bytes);
                    Sent::Queued
                }
            },
            SendOutcome::Queued => Sent::Queued,
            SendOutcome::Dropped => Sent::Dropped,
            SendOutcome::Rejected(message) => Sent::Rejected(message),
        };
        self.pump();
        sent
    }

    /// Writes `message`, the one in hand (from `send` or `poll_flush`), to link `id`, and
    /// tells the machine it went. Gives it back if it did not.
    fn write_held(&self, id: ConnId, message: Message, size: Option<u64>) -> Result<(), Message> {
        if !self.write(id, message.clone()) {
            return Err(message);
        }
        let report = self.machine.borrow_mut().handle_written(id, message, size);
        if report {
            self.report_buffered(id);
        }
        Ok(())
    }

    /// Lets the machine forget the writes: on a test link all have left.
    fn report_buffered(&self, id: ConnId) {
        self.machine
            .borrow_mut()
            .handle_buffered(id, 0, |m| m.len() as u64);
    }

    /// Writes to link `id` if it is still ours and open. False means nothing was sent.
    fn write(&self, id: ConnId, message: Message) -> bool {
        let conn = self.conn.borrow();
        match conn.as_ref() {
            Some(link) if link.id == id => link.write(message),
            _ => false,
        }
    }

    fn flush(&self, id: ConnId) {
        loop {
            let next = self.machine.borrow_mut().poll_flush(id);
            let Some((message, size)) = next else { break };
            if let Err(message) = self.write_held(id, message, Some(size)) {
                self.machine.borrow_mut().handle_unsent(id, message, size);
                break;
            }
        }
    }

    fn connect(self: &Rc<Self>, id: ConnId) {
        if self.disposed.get() {
            return;
        }
        // The machine only asks after letting go of the previous link.
        let old = self.conn.borrow_mut().take();
        drop(old);
        self.open_socket(id);
    }

    /// Whether attempt `id` is still the one to make a link for.
    fn still_wanted(&self, id: ConnId) -> bool {
        let m = self.machine.borrow();
        !self.disposed.get() && m.current() == Some(id) && m.state() == State::Connecting
    }

    /// Makes the link for attempt `id` and hands it to the server, unless the attempt was
    /// given up meanwhile.
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
                    let now = self.now();
                    self.machine.borrow_mut().handle_connect_failed(id, now);
                    return;
                }
            }
        }
        let url = self.url.borrow().clone();
        let link = Rc::new(Link::new(id, url, self.protocols.clone(), Rc::downgrade(self)));
        *self.conn.borrow_mut() = Some(link.clone());
        self.machine.borrow_mut().handle_socket_created(id);
        self.server.arrived(TestConn::new(link));
    }

    fn close_socket(&self, id: ConnId, code: u16, reason: &str, abandon: bool) {
        let mut slot = self.conn.borrow_mut();
        let Some(link) = slot.as_ref().filter(|l| l.id == id) else {
            return;
        };
        let was_open = link.is_open();
        if link.close_from_client(code, reason) && was_open && !abandon {
            // The server answers the close frame at once.
            let info = CloseInfo {
                code,
                reason: reason.into(),
                was_clean: true,
            };
            self.closing.borrow_mut().push_back((id, info));
        } else if !abandon {
            // (A connecting socket closed by the client fails as in a browser.)
            let info = CloseInfo {
                code: 1006,
                reason: String::new(),
                was_clean: false,
            };
            self.closing.borrow_mut().push_back((id, info));
        }
        if abandon {
            let old = slot.take();
            drop(slot);
            drop(old);
        }
    }

    pub(crate) fn on_open(self: &Rc<Self>, id: ConnId) {
        let now = self.now();
        self.machine.borrow_mut().handle_opened(id, now, "");
        self.pump();
    }

    pub(crate) fn on_message(self: &Rc<Self>, id: ConnId, message: Message) {
        if self.machine.borrow().current() != Some(id) {
            return;
        }
        if self
            .max_message_bytes
            .is_some_and(|limit| message.len() as u64 > limit)
        {
            let now = self.now();
            self.machine.borrow_mut().handle_oversized(id, now);
            self.pump();
            return;
        }
        let heartbeat = self.heartbeat_message.is_some();
        // (The callbacks say whether it is the heartbeat's reply: `is_pong`.)
        let reply = self.callbacks.message(message, heartbeat);
        if heartbeat {
            self.machine.borrow_mut().handle_message(id, reply);
        }
        self.pump();
    }

    pub(crate) fn on_error(self: &Rc<Self>, id: ConnId) {
        self.machine.borrow_mut().handle_error(id);
        self.pump();
    }

    pub(crate) fn on_close(self: &Rc<Self>, id: ConnId, info: CloseInfo) {
        let ask = self.machine.borrow().asks_should_reconnect(id);
        let verdict = if ask {
            self.callbacks.should_reconnect(&info)
        } else {
            None
        };
        let now = self.now();
        // (Nothing is ever left unsent in a test link's buffer.)
        self.machine
            .borrow_mut()
            .handle_closed(id, now, info, 0, |m| m.len() as u64, verdict);
        let mut slot = self.conn.borrow_mut();
        if slot.as_ref().map(|l| l.id) == Some(id) {
            let old = slot.take();
            drop(slot);
            drop(old);
        }
        self.pump();
    }

    pub(crate) fn on_timer(self: &Rc<Self>) {
        self.timer.set(None);
        let now = self.now();
        self.machine.borrow_mut().handle_timeout(now);
        self.pump();
    }

    /// Arms the one timer for the machine's next deadline (an earlier one armed is kept:
    /// firing early is harmless, the machine re-checks).
    fn arm_timer(&self) {
        if self.disposed.get() {
            self.timer.set(None);
            return;
        }
        let deadline = self.machine.borrow().poll_timeout();
        match (deadline, self.timer.get()) {
            (None, _) => self.timer.set(None),
            (Some(at), Some(armed)) if armed <= at => {}
            (Some(at), _) => self.timer.set(Some(at)),
        }
    }

    fn dispose(self: &Rc<Self>) {
        if self.disposed.replace(true) {
            return;
        }
        self.machine.borrow_mut().dispose();
        self.pump();
        let link = self.conn.borrow_mut().take();
        if let Some(link) = link {
            // (Let go of, the link is closed; the machine's own close came first if it had one.)
            link.close_from_client(1000, "");
        }
        self.timer.set(None);
        self.closing.borrow_mut().clear();
    }
}
