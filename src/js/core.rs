//! The state machine as the JS class drives it: [`Core`], a [`Machine`] with an interface of
//! numbers. Everything that touches the browser lives in JS (tether_socket.js); this side
//! holds the connection rules, the outbox and the in-flight log. Messages stay in JS
//! (slots.js): the machine holds their slot numbers, never their bytes.
//!
//! Its methods are the machine's, in camelCase and without `handle_` (`handle_timeout` is
//! `timeout`); `written` and `unsent` report on the message in hand (the one `send` or
//! `pollFlush` last handed out, kept here so that its slot is released exactly once).
//! `directWrites` and `wrote` keep the hot path out of wasm: while the machine says a send
//! would be written at once, JS writes it without asking and reports such writes, in order,
//! with its next input (`Machine::direct_writes`).
//!
//! An action is read in two steps: [`Core::poll_action`] returns its kind (the `KIND_*` numbers,
//! mirrored in tether_socket.js), then the getters give its fields. Enums (`State`,
//! `RetryReason`, `DropReason`, `ErrorKind`) travel as the index of their variant, which
//! tether_socket.js maps back to names. The options travel as numbers in the order of
//! `Config::js_options` (options.js's `CORE_OPTIONS`). tests/js_contract.rs checks each of
//! these JS copies against the Rust definitions.

use alloc::string::String;

use wasm_bindgen::prelude::*;

#[cfg(feature = "continuity")]
use crate::core::continuity::{app_protocol, offered_protocols, DataHeaderBuf};
use crate::core::{
    check_close_args, Action, CloseInfo, Config, ConfigError, ConnId, Event, Machine, SendOutcome,
};

#[wasm_bindgen(module = "/src/js/slots.js")]
extern "C" {
    fn release(slot: f64);
    #[wasm_bindgen(js_name = slotSize)]
    fn slot_size(slot: f64) -> f64;
    #[wasm_bindgen(js_name = slotSizeAtLeast)]
    fn slot_size_at_least(slot: f64) -> f64;
}

/// A message kept in slots.js, by number. Dropping it releases the message there.
#[derive(Debug)]
struct Slot(f64);

impl Drop for Slot {
    fn drop(&mut self) {
        release(self.0);
    }
}

// Action kinds returned by `poll` (0: none).
const KIND_CONNECT: u8 = 1;
const KIND_FLUSH: u8 = 2;
const KIND_HEARTBEAT: u8 = 3;
const KIND_CLOSE_SOCKET: u8 = 4;
const KIND_OPEN: u8 = 5;
const KIND_CLOSE: u8 = 6;
const KIND_ERROR: u8 = 7;
const KIND_RECONNECTING: u8 = 8;
const KIND_STATE_CHANGE: u8 = 9;
const KIND_DROP: u8 = 10;
const KIND_REQUEUE: u8 = 11;
#[cfg(feature = "continuity")]
const KIND_SEND_FRAME: u8 = 12;
#[cfg(feature = "continuity")]
const KIND_RESUME: u8 = 13;

/// The connection rules of one TetherSocket. Internal to the package: its JS class is the API.
#[wasm_bindgen(skip_typescript)]
pub struct Core {
    machine: Machine<Slot>,
    /// Fields of the action last polled: socket id, two numbers, a text and a message
    /// (kept until the next poll, so that JS can read it).
    id: f64,
    a: f64,
    b: f64,
    text: String,
    payload: Option<Slot>,
    /// The message in hand: the one `send` or `pollFlush` last handed out, with its size if
    /// known, until `written` or `unsent` says what became of it.
    held: Option<(Slot, Option<u64>)>,
}

/// A close code as a number from JS (any value: a fraction or NaN is refused like 0).
fn close_code_from_js(code: f64) -> u16 {
    let c = code as u16;
    if c as f64 == code {
        c
    } else {
        0
    }
}

fn conn(id: f64) -> ConnId {
    ConnId(id as u64)
}

/// "invalid option `x`: expected ...", without the formatting machinery.
fn config_message(e: &ConfigError) -> String {
    let mut s = String::from("invalid option `");
    s.push_str(e.option);
    s.push_str("`: expected ");
    s.push_str(e.expected);
    s
}

#[wasm_bindgen]
impl Core {
    /// A machine for the options `n` (one number each, in the order of
    /// `Config::js_options`, NaN for an option not given: see `Config::from_js`), a random
    /// `seed` and the time `now`. For a value out of range, `text` is then the problem
    /// ("invalid option `x`: expected ...") and the machine unusable: JS frees it and
    /// throws. Else `a` is `maxMessageBytes` (Infinity: no limit) and `b` is
    /// `pauseWhenHidden` (1 or 0), defaults filled in, for the JS to act on.
    #[wasm_bindgen(constructor)]
    pub fn new(n: &[f64], seed: f64, now: f64) -> Core {
        let (config, text) = match Config::from_js(n) {
            Ok(config) => (config, String::new()),
            Err(e) => (Config::default(), config_message(&e)),
        };
        let limit = config.max_message_bytes;
        Core {
            id: 0.0,
            a: if limit == u64::MAX {
                f64::INFINITY
            } else {
                limit as f64
            },
            b: config.pause_when_hidden as u8 as f64,
            machine: Machine::new(config, seed as u64, now),
            text,
            payload: None,
            held: None,
        }
    }

    /// The next action's kind (0: none); its fields are then in `id`, `a`, `b`, `text` and
    /// `payload`.
    #[wasm_bindgen(js_name = pollAction)]
    pub fn poll_action(&mut self) -> u8 {
        self.payload = None;
        let Some(action) = self.machine.poll_action() else {
            return 0;
        };
        let (kind, id, a, b) = match action {
            Action::Connect { id } => (KIND_CONNECT, id.0 as f64, 0.0, 0.0),
            Action::Flush { id } => (KIND_FLUSH, id.0 as f64, 0.0, 0.0),
            Action::SendHeartbeat { id } => (KIND_HEARTBEAT, id.0 as f64, 0.0, 0.0),
            #[cfg(feature = "continuity")]
            Action::SendFrame { id, text } => {
                self.text = text;
                (KIND_SEND_FRAME, id.0 as f64, 0.0, 0.0)
            }
            Action::Close {
                id,
                code,
                reason,
                abandon,
            } => {
                self.text = reason;
                (KIND_CLOSE_SOCKET, id.0 as f64, code as f64, abandon as u8 as f64)
            }
            Action::Emit(event) => match event {
                Event::Open => (KIND_OPEN, 0.0, 0.0, 0.0),
                Event::Close(c) => {
                    self.text = c.reason;
                    (KIND_CLOSE, 0.0, c.code as f64, c.was_clean as u8 as f64)
                }
                Event::Error(kind) => (KIND_ERROR, 0.0, kind as u8 as f64, 0.0),
                Event::Reconnecting {
                    attempt,
                    delay_ms,
                    reason,
                } => (KIND_RECONNECTING, reason as u8 as f64, attempt as f64, delay_ms),
                Event::StateChange { from, to } => {
                    (KIND_STATE_CHANGE, 0.0, from as u8 as f64, to as u8 as f64)
                }
                Event::Dropped { payload, reason } => {
                    self.payload = Some(payload);
                    (KIND_DROP, 0.0, reason as u8 as f64, 0.0)
                }
                Event::Requeued { count, bytes } => (KIND_REQUEUE, 0.0, count as f64, bytes as f64),
                #[cfg(feature = "continuity")]
                Event::Resume {
                    start,
                    resent,
                    dropped,
                } => (KIND_RESUME, dropped as f64, start as u8 as f64, resent as f64),
            },
        };
        self.id = id;
        self.a = a;
        self.b = b;
        kind
    }

    /// The polled action's socket id (for `Reconnecting`: the reason's index).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> f64 {
        self.id
    }

    /// The polled action's first number.
    #[wasm_bindgen(getter)]
    pub fn a(&self) -> f64 {
        self.a
    }

    /// The polled action's second number.
    #[wasm_bindgen(getter)]
    pub fn b(&self) -> f64 {
        self.b
    }

    /// The polled action's close reason.
    #[wasm_bindgen(getter)]
    pub fn text(&self) -> String {
        self.text.clone()
    }

    /// The polled `drop` action's message slot (0 if none).
    #[wasm_bindgen(getter)]
    pub fn payload(&self) -> f64 {
        self.payload.as_ref().map_or(0.0, |s| s.0)
    }

    /// When the next timer is due (ms, the caller's clock); -1 when none is.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> f64 {
        self.machine.poll_timeout().unwrap_or(-1.0)
    }

    /// The slot of the next queued message to write to socket `id` during a flush, or 0. It
    /// is then in hand: `written` or `unsent` tells what became of it.
    #[wasm_bindgen(js_name = pollFlush)]
    pub fn poll_flush(&mut self, id: f64) -> f64 {
        self.held = self
            .machine
            .poll_flush(conn(id))
            .map(|(slot, size)| (slot, Some(size)));
        self.held.as_ref().map_or(0.0, |(slot, _)| slot.0)
    }

    /// The current attempt or socket; -1 if none.
    pub fn current(&self) -> f64 {
        self.machine.current().map_or(-1.0, |id| id.0 as f64)
    }

    /// Sends message `slot` (replacing a queued message with the same `key`; sized through
    /// slots.js only if it is queued). Returns the socket to write it to (it is then in hand:
    /// `written` or `unsent` tells what became of it), or -1 queued, -2 dropped, -3 refused.
    pub fn send(&mut self, slot: f64, key: Option<String>) -> f64 {
        match self
            .machine
            .send(Slot(slot), key.as_deref(), |s| slot_size(s.0) as u64)
        {
            SendOutcome::Write(id, slot) => {
                self.held = Some((slot, None));
                id.0 as f64
            }
            SendOutcome::Queued => -1.0,
            SendOutcome::Dropped => -2.0,
            SendOutcome::Rejected(_) => -3.0,
        }
    }

    /// `close(code, reason)`. False, with the problem in `text`, for a code or reason the
    /// browser's WebSocket would refuse.
    pub fn close(&mut self, now: f64, code: f64, reason: &str) -> bool {
        let Some(code) = self.close_code(code, reason) else {
            return false;
        };
        self.machine.close(now, code, reason);
        true
    }

    /// `reconnect(code, reason)`, checked as `close`'s.
    pub fn reconnect(&mut self, now: f64, code: f64, reason: &str) -> bool {
        let Some(code) = self.close_code(code, reason) else {
            return false;
        };
        self.machine.reconnect(now, code, reason);
        true
    }

    /// `free()`: the queued messages are reported dropped, nothing else happens.
    pub fn dispose(&mut self) {
        self.machine.dispose();
    }

    /// The state, as the index of `State`'s variants.
    pub fn state(&self) -> u8 {
        self.machine.state() as u8
    }

    /// The `WebSocket.readyState` number.
    #[wasm_bindgen(js_name = readyState)]
    pub fn ready_state(&self) -> u16 {
        self.machine.ready_state()
    }

    /// Takes the oldest queued message out of the outbox, unreported: its slot (kept until
    /// the next call or poll, so that JS can read it), or 0 when the outbox is empty.
    #[wasm_bindgen(js_name = takeQueued)]
    pub fn take_queued(&mut self) -> f64 {
        self.payload = self.machine.take_queued();
        self.payload.as_ref().map_or(0.0, |s| s.0)
    }

    /// Retries since the last stable connection.
    #[wasm_bindgen(js_name = retryCount)]
    pub fn retry_count(&self) -> u32 {
        self.machine.retry_count()
    }

    /// Messages in the outbox.
    #[wasm_bindgen(js_name = queuedMessages)]
    pub fn queued_messages(&self) -> f64 {
        self.machine.queued_messages() as f64
    }

    /// Bytes in the outbox.
    #[wasm_bindgen(js_name = queuedBytes)]
    pub fn queued_bytes(&self) -> f64 {
        self.machine.queued_bytes() as f64
    }

    /// The message in hand was written to socket `id`. True: report the socket's
    /// `bufferedAmount` (`buffered`).
    pub fn written(&mut self, id: f64) -> bool {
        match self.held.take() {
            Some((slot, size)) => self.machine.handle_written(conn(id), slot, size),
            None => false,
        }
    }

    /// How many sends JS may write straight to the current socket without calling `send`,
    /// keeping them for `wrote` (0: every send calls `send`). Asked again after each input.
    #[wasm_bindgen(js_name = directWrites)]
    pub fn direct_writes(&self) -> f64 {
        self.machine.direct_writes() as f64
    }

    /// Messages `first`, `first + 1`, ... (`count` of them, in the order written) were
    /// written to socket `id` by sends that did not call `send`, as `directWrites` allowed.
    /// True: report the socket's `bufferedAmount` (`buffered`).
    pub fn wrote(&mut self, id: f64, first: f64, count: u32) -> bool {
        let mut trim = false;
        for i in 0..count {
            trim |= self
                .machine
                .handle_written(conn(id), Slot(first + f64::from(i)), None);
        }
        trim
    }

    /// The message in hand could not be written to socket `id`: back to the outbox head.
    pub fn unsent(&mut self, id: f64) {
        if let Some((slot, size)) = self.held.take() {
            let size = size.unwrap_or_else(|| slot_size(slot.0) as u64);
            self.machine.handle_unsent(conn(id), slot, size);
        }
    }

    /// The heartbeat message, kept as `slot`, was written to socket `id`; true: `buffered`.
    #[wasm_bindgen(js_name = heartbeatWritten)]
    pub fn heartbeat_written(&mut self, id: f64, slot: f64) -> bool {
        self.machine.handle_heartbeat_written(conn(id), Slot(slot))
    }

    /// Socket `id` has `buffered` bytes not yet sent (`bufferedAmount`): the writes that
    /// have left are forgotten.
    pub fn buffered(&mut self, id: f64, buffered: f64) {
        self.machine
            .handle_buffered(conn(id), buffered as u64, |s| slot_size_at_least(s.0) as u64);
    }

    /// The socket of attempt `id` was created.
    #[wasm_bindgen(js_name = socketCreated)]
    pub fn socket_created(&mut self, id: f64) {
        self.machine.handle_socket_created(conn(id));
    }

    /// Socket `id` opened (its subprotocol matters only with continuity).
    #[cfg(not(feature = "continuity"))]
    pub fn opened(&mut self, id: f64, now: f64) {
        self.machine.handle_opened(conn(id), now, "");
    }

    /// Socket `id` opened, its server having selected subprotocol `protocol`.
    #[cfg(feature = "continuity")]
    pub fn opened(&mut self, id: f64, now: f64, protocol: &str) {
        self.machine.handle_opened(conn(id), now, protocol);
    }

    /// A message arrived on socket `id` (heartbeats on); `reply`: it counts as a pong.
    pub fn message(&mut self, id: f64, reply: bool) {
        self.machine.handle_message(conn(id), reply);
    }

    /// A message over `maxMessageBytes` arrived on socket `id`.
    pub fn oversized(&mut self, id: f64, now: f64) {
        self.machine.handle_oversized(conn(id), now);
    }

    /// Socket `id` reported an error.
    pub fn error(&mut self, id: f64) {
        self.machine.handle_error(conn(id));
    }

    /// No socket could be created for attempt `id`.
    #[wasm_bindgen(js_name = connectFailed)]
    pub fn connect_failed(&mut self, id: f64, now: f64) {
        self.machine.handle_connect_failed(conn(id), now);
    }

    /// Whether `shouldReconnect` is to be asked before `closed` for socket `id`.
    #[wasm_bindgen(js_name = asksShouldReconnect)]
    pub fn asks_should_reconnect(&self, id: f64) -> bool {
        self.machine.asks_should_reconnect(conn(id))
    }

    /// Socket `id` closed with `buffered` bytes unsent (its `bufferedAmount`). `verdict`:
    /// `shouldReconnect`'s answer, undefined when not asked.
    #[allow(clippy::too_many_arguments)] // one number per field of the close, as JS has them
    pub fn closed(
        &mut self,
        id: f64,
        now: f64,
        code: u16,
        reason: String,
        clean: bool,
        buffered: f64,
        verdict: Option<bool>,
    ) {
        let info = CloseInfo {
            code,
            reason,
            was_clean: clean,
        };
        let size_of = |s: &Slot| slot_size(s.0) as u64;
        self.machine
            .handle_closed(conn(id), now, info, buffered as u64, size_of, verdict);
    }

    /// The timer fired.
    pub fn timeout(&mut self, now: f64) {
        self.machine.handle_timeout(now);
    }

    /// The browser went offline.
    pub fn offline(&mut self) {
        self.machine.handle_offline();
    }

    /// The browser came back online.
    pub fn online(&mut self, now: f64) {
        self.machine.handle_online(now);
    }

    /// The page became visible or hidden.
    pub fn visibility(&mut self, now: f64, visible: bool) {
        self.machine.handle_visibility(now, visible);
    }
}

impl Core {
    /// The close code, if `code` and `reason` pass the browser's rules; else the problem,
    /// in `text`.
    fn close_code(&mut self, code: f64, reason: &str) -> Option<u16> {
        let code = close_code_from_js(code);
        match check_close_args(code, reason) {
            Ok(()) => Some(code),
            Err(e) => {
                self.text = e.message().into();
                None
            }
        }
    }
}

/// The continuity protocol's inputs and outputs, in the `tether-ws/continuity` build only
/// (src/core/session.rs says why).
#[cfg(feature = "continuity")]
#[wasm_bindgen]
impl Core {
    /// A text frame on socket `id`, which speaks the continuity protocol: `frame` is the
    /// whole string, or its first 35 characters for a data frame, `len` its length. Returns
    /// where its payload starts (-1: not a message to deliver).
    #[wasm_bindgen(js_name = frameText)]
    pub fn frame_text(&mut self, id: f64, frame: &str, len: f64, now: f64) -> f64 {
        let at = self
            .machine
            .handle_frame(conn(id), frame.as_bytes(), len as u64, true, now);
        at.map_or(-1.0, |at| at as f64)
    }

    /// As `frameText`, for a binary frame (its first 35 bytes at least).
    #[wasm_bindgen(js_name = frameBinary)]
    pub fn frame_binary(&mut self, id: f64, frame: &[u8], len: f64, now: f64) -> f64 {
        let at = self.machine.handle_frame(conn(id), frame, len as u64, false, now);
        at.map_or(-1.0, |at| at as f64)
    }

    /// Whether socket `id` speaks the continuity protocol (its messages go to `frameText` /
    /// `frameBinary`, its writes carry `dataHeader`).
    #[wasm_bindgen(js_name = speaksContinuity)]
    pub fn speaks_continuity(&self, id: f64) -> bool {
        self.machine.speaks_continuity(conn(id))
    }

    /// Whether the next attempt offers the continuity protocol.
    #[wasm_bindgen(js_name = offersContinuity)]
    pub fn offers_continuity(&self) -> bool {
        self.machine.offers_continuity()
    }

    /// The subprotocols to offer for the app's (comma-separated, as they are HTTP tokens):
    /// the continuity protocol's tokens first.
    pub fn offered(app: &str) -> String {
        let app: alloc::vec::Vec<&str> = app.split(',').filter(|p| !p.is_empty()).collect();
        offered_protocols(&app).join(",")
    }

    /// The app's part of a selected subprotocol (`"tether.v1+chat"` → `"chat"`).
    #[wasm_bindgen(js_name = appProtocol)]
    pub fn app_protocol(selected: &str) -> String {
        app_protocol(selected).unwrap_or(selected).into()
    }

    /// The header (`D<seq>,<ack>;`) to write before the message in hand; `""` when the
    /// socket does not speak the continuity protocol.
    #[wasm_bindgen(js_name = dataHeader)]
    pub fn data_header(&self) -> String {
        let header = self
            .machine
            .data_header()
            .and_then(|(seq, ack)| DataHeaderBuf::new(seq, ack).ok());
        header.map(|h| h.as_str().into()).unwrap_or_default()
    }

    /// During a flush after a resume: the slot of the next message to write again (0: the
    /// replay is done), its header in `text`.
    #[wasm_bindgen(js_name = pollReplay)]
    pub fn poll_replay(&mut self, id: f64) -> f64 {
        let Some((seq, ack, slot)) = self.machine.poll_replay(conn(id)) else {
            return 0.0;
        };
        let slot = slot.0;
        self.text = DataHeaderBuf::new(seq, ack)
            .map(|h| h.as_str().into())
            .unwrap_or_default();
        slot
    }

    /// The page is being unloaded: acks owed go now.
    pub fn unload(&mut self) {
        self.machine.handle_unload();
    }

    /// The session record to keep in storage now (`SavedSession::write_record`), or `""`
    /// when there is none yet (no server has given a session).
    #[wasm_bindgen(js_name = savedSession)]
    pub fn saved_session(&self) -> String {
        let mut record = String::new();
        if let Some(saved) = self.machine.saved_session() {
            saved.write_record(&mut record);
        }
        record
    }

    /// Takes up the session an earlier page kept (`record`, as `savedSession` gave it), with
    /// `slots`: every message kept beside it, oldest first (see `Machine::restore_session`:
    /// the session's unacknowledged ones, then those not yet sent). Returns `""`, or why the
    /// session was refused; either way every message is in the socket's hands.
    #[wasm_bindgen(js_name = restoreRecord)]
    pub fn restore_record(&mut self, record: &str, slots: &[f64]) -> String {
        let kept = slots.iter().map(|&s| (Slot(s), slot_size(s) as u64)).collect();
        match self.machine.restore_record(record.as_bytes(), kept) {
            Ok(()) => String::new(),
            Err(e) => e.message().into(),
        }
    }
}
