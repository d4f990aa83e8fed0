//! `ContinuityOptions::persist`: a socket's continuity session written through to
//! `sessionStorage` as it changes, so that the next page load (or the next socket with the
//! same key) takes it up (PROTOCOL.md, "Keeping a session across page loads"). The JS face's
//! counterpart is src/js/persist.js: the same layout, the same steps and names. What is kept:
//!
//! - `tether-ws:<key>`: the session record, the text the machine gives
//!   (`Machine::saved_session` → `SavedSession::write_record`);
//! - `tether-ws:<key>#<n>`: each message the machine holds (sent and unacknowledged, or
//!   queued), `n` counting up in send order: `"t"` + text, or `"b"` + one char per byte.
//!   (A key has no `#`, a WebSocket URL neither: one key's names are never another's.)
//!
//! A message is written at `send` and removed when the machine lets go of it: its [`Kept`]
//! guard travels with it inside the machine and forgets the stored copy when dropped
//! (acknowledged, dropped, replaced, written plainly). The record is written by the driver at
//! the end of each task that changed it ([`Persisted::save`]). The rules (which messages
//! are whose, what a record means) are the machine's.
//!
//! A duplicated tab copies sessionStorage, and two tabs must never resume one session: each
//! socket that holds a session answers for it on a `BroadcastChannel` named after its key,
//! and a page that found a session in storage asks first ([`Persisted::claim`]), taking it
//! up only if no tab answers within [`CLAIM_MS`] (a reloaded page's predecessor is gone:
//! nobody answers). The messages are JS-face compatible: `{t: "claim" | "owned", sid}`.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{JsString, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent, Storage};

use super::bindings::RawStorage;
use super::listener::Listener;
use crate::api::PersistError;
use crate::core::continuity::SavedSession;

const PREFIX: &str = "tether-ws:";
/// How long a page that found a session in storage waits for another tab to say it holds it.
pub const CLAIM_MS: u32 = 100;
/// Bytes per `String.fromCharCode` call (its arguments are limited).
const CHUNK: usize = 8192;

thread_local! {
    /// Persist keys of this page's live sockets: two sockets must never share a session.
    static CLAIMED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// What a claim calls once it is settled (`true`: another tab holds the session).
type Done = Box<dyn FnOnce(bool)>;

/// Another live socket on this page persists under the key.
#[derive(Debug)]
pub struct KeyInUse;

/// What an earlier page (or socket) kept: the record (`""`: none) and the messages, oldest
/// first, each with its number.
#[derive(Default)]
pub struct Taken {
    /// The session record as stored.
    pub record: String,
    /// The messages kept, in send order.
    pub messages: Vec<(u64, JsValue)>,
}

/// One socket's storage mirror, shared (`Rc`) with the [`Kept`] guards of its messages.
pub struct Persisted {
    /// `tether-ws:<key>`.
    base: String,
    storage: Option<Storage>,
    /// The number of the next message kept.
    next: Cell<u64>,
    /// The record as last written (`""`: none).
    record: RefCell<String>,
    /// Persistence is off: storage failed, or the socket was ended or released.
    off: Cell<bool>,
    /// A failure not yet reported to the user.
    failure: Cell<Option<PersistError>>,
    /// The session was taken up, and no resume event has told it yet.
    restored: Cell<bool>,
    /// Another tab held the session found in storage: this socket began anew.
    duplicate: Cell<bool>,
    /// A claim is under way (the channel does not answer for this socket meanwhile).
    claiming: Cell<bool>,
    /// Where this socket answers for its session.
    channel: RefCell<Option<Channel>>,
}

/// The stored copy of one message: dropping it (the machine let go of the message) removes
/// it from storage, unless persistence is off by then.
pub struct Kept {
    owner: Weak<Persisted>,
    n: u64,
}

impl Drop for Kept {
    fn drop(&mut self) {
        if let Some(owner) = self.owner.upgrade() {
            owner.forget(self.n);
        }
    }
}

/// A claim under way: its timer and its listener; dropping it cancels the claim.
#[must_use = "the claim is cancelled when this guard is dropped"]
pub struct Claim {
    _timer: Timeout,
    _listener: Listener,
}

/// This socket's `BroadcastChannel`, answering other tabs' claims of its session.
struct Channel {
    channel: BroadcastChannel,
    _listener: Listener,
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.channel.close();
    }
}

/// The storage text of a message (`None` for anything but a string or bytes: a Blob cannot be
/// read synchronously; the Rust API never hands the driver one).
fn encode(data: &JsValue) -> Option<JsString> {
    if let Some(text) = data.dyn_ref::<JsString>() {
        return Some(JsString::from("t").concat(text));
    }
    let bytes = data.dyn_ref::<Uint8Array>()?.to_vec();
    let mut out = JsString::from("b");
    for chunk in bytes.chunks(CHUNK) {
        let codes: Vec<u16> = chunk.iter().map(|&b| u16::from(b)).collect();
        out = out.concat(&JsString::from_char_code(&codes));
    }
    Some(out)
}

/// A message from its storage text: a string, or bytes (`None` if it is neither).
fn decode(text: &JsString) -> Option<JsValue> {
    let len = text.length();
    if len == 0 {
        return None;
    }
    match text.char_code_at(0) as u32 {
        0x74 => Some(text.slice(1, len).into()),
        0x62 => {
            let bytes: Vec<u8> = String::from(text.slice(1, len))
                .chars()
                .map(|c| (c as u32 & 0xff) as u8)
                .collect();
            Some(Uint8Array::from(&bytes[..]).into())
        }
        _ => None,
    }
}

/// The session id in a record, if it is one.
fn sid_of(record: &str) -> Option<String> {
    SavedSession::from_record(record.as_bytes()).ok().map(|s| s.sid)
}

/// `{t, sid}`, the claim protocol's message.
fn claim_message(t: &str, sid: &str) -> JsValue {
    let message = Object::new();
    let _ = Reflect::set(&message, &"t".into(), &t.into());
    let _ = Reflect::set(&message, &"sid".into(), &sid.into());
    message.into()
}

/// Whether a channel message is `{t, sid}`.
fn is_message(e: &web_sys::Event, t: &str, sid: &str) -> bool {
    let Some(data) = e.dyn_ref::<MessageEvent>().map(MessageEvent::data) else {
        return false;
    };
    let field = |name: &str| Reflect::get(&data, &name.into()).ok().and_then(|v| v.as_string());
    data.is_object() && field("t").as_deref() == Some(t) && field("sid").as_deref() == Some(sid)
}

impl Persisted {
    /// Claims `key` on this page (refused if a live socket holds it) and reads what an
    /// earlier page kept. Storage that fails turns persistence off (reported through
    /// [`Persisted::take_failure`]).
    pub fn open(key: &str) -> Result<(Rc<Persisted>, Taken), KeyInUse> {
        let taken_by_other = CLAIMED.with(|c| {
            let mut claimed = c.borrow_mut();
            let in_use = claimed.iter().any(|k| k == key);
            if !in_use {
                claimed.push(key.to_owned());
            }
            in_use
        });
        if taken_by_other {
            return Err(KeyInUse);
        }
        let storage = web_sys::window().and_then(|w| w.session_storage().ok().flatten());
        let persisted = Rc::new(Persisted {
            base: format!("{PREFIX}{key}"),
            storage,
            next: Cell::new(1),
            record: RefCell::new(String::new()),
            off: Cell::new(false),
            failure: Cell::new(None),
            restored: Cell::new(false),
            duplicate: Cell::new(false),
            claiming: Cell::new(false),
            channel: RefCell::new(None),
        });
        let taken = persisted.read();
        Ok((persisted, taken))
    }

    /// Reads the record and the messages; `Taken::default()` if storage fails.
    fn read(&self) -> Taken {
        let Some(storage) = &self.storage else {
            self.fail(PersistError::Unavailable);
            return Taken::default();
        };
        let read = || -> Result<Taken, JsValue> {
            let raw = storage.unchecked_ref::<RawStorage>();
            let record = raw.get_item(&self.base)?.map(String::from).unwrap_or_default();
            let head = format!("{}#", self.base);
            let mut found = Vec::new();
            for i in 0..storage.length()? {
                let n = storage
                    .key(i)?
                    .and_then(|name| name.strip_prefix(&head).and_then(|n| n.parse::<u64>().ok()));
                // (Numbers as JS's Number.isSafeInteger takes them: 1 to 2^53-1.)
                if let Some(n) = n.filter(|n| (1..=(1 << 53) - 1).contains(n)) {
                    found.push(n);
                }
            }
            found.sort_unstable();
            let mut messages = Vec::with_capacity(found.len());
            for n in found {
                let name = format!("{head}{n}");
                match raw.get_item(&name)?.as_ref().and_then(decode) {
                    Some(data) => messages.push((n, data)),
                    None => storage.remove_item(&name)?,
                }
            }
            Ok(Taken { record, messages })
        };
        match read() {
            Ok(taken) => {
                self.next.set(taken.messages.last().map_or(0, |m| m.0) + 1);
                self.record.replace(taken.record.clone());
                taken
            }
            Err(_) => {
                self.fail(PersistError::Failed);
                Taken::default()
            }
        }
    }

    /// Whether messages are still being kept.
    pub fn on(&self) -> bool {
        !self.off.get()
    }

    /// Starts answering other tabs' claims of this socket's session (where there is a
    /// `BroadcastChannel`). Returns whether it could.
    pub fn listen(self: &Rc<Self>) -> bool {
        if self.off.get() {
            return false;
        }
        let Ok(channel) = BroadcastChannel::new(&self.base) else {
            return false;
        };
        let weak = Rc::downgrade(self);
        let answer = channel.clone();
        let listener = Listener::new(&channel, "message", move |e| {
            let Some(persisted) = weak.upgrade() else { return };
            if persisted.claiming.get() || persisted.off.get() {
                return;
            }
            let sid = sid_of(&persisted.record.borrow());
            if let Some(sid) = sid.filter(|sid| is_message(&e, "claim", sid)) {
                let _ = answer.post_message(&claim_message("owned", &sid));
            }
        });
        *self.channel.borrow_mut() = Some(Channel {
            channel,
            _listener: listener,
        });
        true
    }

    /// Asks the other tabs whether one holds the session of `record`; `done(owned)` is called
    /// once, when one answers or after [`CLAIM_MS`]. `None` (and no call) when there is no
    /// channel to ask on or the record names no session: nobody else can hold it.
    pub fn claim(self: &Rc<Self>, record: &str, done: impl FnOnce(bool) + 'static) -> Option<Claim> {
        let sid = sid_of(record)?;
        let channel = self.channel.borrow().as_ref()?.channel.clone();
        self.claiming.set(true);
        let done: Rc<RefCell<Option<Done>>> = Rc::new(RefCell::new(Some(Box::new(done))));
        let finish = {
            let weak = Rc::downgrade(self);
            move |owned: bool| {
                let done = done.borrow_mut().take();
                if let (Some(done), Some(persisted)) = (done, weak.upgrade()) {
                    persisted.claiming.set(false);
                    done(owned);
                }
            }
        };
        let on_answer = finish.clone();
        let answer_sid = sid.clone();
        let listener = Listener::new(&channel, "message", move |e| {
            if is_message(&e, "owned", &answer_sid) {
                on_answer(true);
            }
        });
        let timer = Timeout::new(CLAIM_MS, move || finish(false));
        let _ = channel.post_message(&claim_message("claim", &sid));
        Some(Claim {
            _timer: timer,
            _listener: listener,
        })
    }

    /// The session in storage is another tab's (this one is its duplicate): its record and
    /// messages are removed from this tab's storage, and this socket begins its own.
    pub fn drop_duplicate(&self, messages: &[(u64, JsValue)]) {
        self.duplicate.set(true);
        self.record.replace(String::new());
        self.remove(&self.base);
        for (n, _) in messages {
            self.forget(*n);
        }
    }

    /// The session (if `restored`) was taken up from storage: the next resume event says so.
    pub fn set_restored(&self, restored: bool) {
        self.restored.set(restored);
    }

    /// Whether this resume event is the first since the session was taken up from storage.
    pub fn restored(&self) -> bool {
        self.restored.replace(false)
    }

    /// Whether this resume event, not a resume, is the first since this tab found another
    /// tab's session in storage.
    pub fn duplicated(&self) -> bool {
        self.duplicate.replace(false)
    }

    /// Keeps message `data` before the machine sees it: the guard to hand it with.
    pub fn keep(self: &Rc<Self>, data: &JsValue) -> Option<Kept> {
        if self.off.get() {
            return None;
        }
        let text = encode(data)?;
        let n = self.next.get();
        self.next.set(n + 1);
        let name = format!("{}#{n}", self.base);
        self.write(&name, &text).then(|| self.adopt(n))
    }

    /// The guard of message `n`, kept already (a restore hands it to the machine).
    pub fn adopt(self: &Rc<Self>, n: u64) -> Kept {
        Kept {
            owner: Rc::downgrade(self),
            n,
        }
    }

    /// The machine let go of message `n`.
    fn forget(&self, n: u64) {
        if !self.off.get() {
            self.remove(&format!("{}#{n}", self.base));
        }
    }

    /// Writes `record` (the machine's record now; `""`: none) unless it is what was last
    /// written (none left: removed).
    pub fn save(&self, record: &str) {
        if self.off.get() || *self.record.borrow() == record {
            return;
        }
        self.record.replace(record.to_owned());
        if record.is_empty() {
            self.remove(&self.base);
        } else {
            self.write(&self.base, &JsString::from(record));
        }
    }

    /// The session found in storage was refused (a new session begins, and the messages
    /// kept are sent in it); persistence stays on.
    pub fn refused(&self) {
        if self.failure.get().is_none() {
            self.failure.set(Some(PersistError::Refused));
        }
    }

    /// Whether a failure waits to be told.
    pub fn has_failure(&self) -> bool {
        self.failure.get().is_some()
    }

    /// A failure not yet told, once.
    pub fn take_failure(&self) -> Option<PersistError> {
        self.failure.take()
    }

    /// The socket is disposed: its session is over, nothing of it is kept.
    pub fn end(&self) {
        if !self.off.get() {
            self.clear();
        }
        self.release();
    }

    /// Lets go of the key and the channel, keeping what is stored: a later socket with this
    /// key (on this page or the next load) takes the session up.
    pub fn release(&self) {
        self.off.set(true);
        let channel = self.channel.borrow_mut().take();
        drop(channel);
        let key = &self.base[PREFIX.len()..];
        CLAIMED.with(|c| c.borrow_mut().retain(|k| k != key));
    }

    fn write(&self, name: &str, text: &JsString) -> bool {
        let Some(storage) = &self.storage else {
            return false;
        };
        match storage.unchecked_ref::<RawStorage>().set_item(name, text) {
            Ok(()) => true,
            Err(_) => {
                self.fail(PersistError::Failed);
                false
            }
        }
    }

    fn remove(&self, name: &str) {
        let Some(storage) = &self.storage else { return };
        if storage.remove_item(name).is_err() {
            self.fail(PersistError::Failed);
        }
    }

    /// Storage failed (unavailable, quota): persistence off, what was kept removed, the
    /// failure told once.
    fn fail(&self, error: PersistError) {
        if self.off.replace(true) {
            return;
        }
        self.clear();
        self.failure.set(Some(error));
    }

    /// Removes every key of this socket's (best effort: storage may be what failed).
    fn clear(&self) {
        self.record.replace(String::new());
        let Some(storage) = &self.storage else { return };
        let head = format!("{}#", self.base);
        let mut names = Vec::new();
        let len = storage.length().unwrap_or(0);
        for i in 0..len {
            if let Ok(Some(name)) = storage.key(i) {
                if name == self.base || name.starts_with(&head) {
                    names.push(name);
                }
            }
        }
        for name in names {
            let _ = storage.remove_item(&name);
        }
    }
}

impl Drop for Persisted {
    fn drop(&mut self) {
        // (Ended or released by the driver already; this only makes sure the key is free.)
        self.release();
    }
}
