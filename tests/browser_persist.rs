//! Continuity across page loads in the Rust `Socket` (`ContinuityOptions::persist`), in real
//! Chromium against the reference server (www/server: echo + numbered feed) and the page's
//! real sessionStorage. A page unload is what `Socket::release` does (acks flushed, record
//! saved, storage kept, the connection closed without `bye`); a second socket with the same
//! key is the next page load.
//!
//! Run: `cargo test -p tether-ws --target wasm32-unknown-unknown --test browser_persist` with
//! `tether-server --listen 127.0.0.1:8793 --feed-ms 50` running (see tests/common/mod.rs).
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use futures::future::{select, Either};
use futures::StreamExt;
use gloo_timers::future::TimeoutFuture;
use tether_ws::{
    ConnectionError, ContinuityOptions, Error, Event, EventStream, Message, Persist, PersistError, Sent,
    SessionStart, Socket,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// What the storage-full test fills sessionStorage with (removed by every test first).
const JUNK: &str = "persist-test-junk:";

fn storage() -> web_sys::Storage {
    web_sys::window()
        .and_then(|w| w.session_storage().ok().flatten())
        .expect("sessionStorage")
}

/// Every sessionStorage key and value under `prefix`.
fn stored(prefix: &str) -> Vec<(String, String)> {
    let s = storage();
    let mut out = Vec::new();
    for i in 0..s.length().unwrap() {
        let name = s.key(i).unwrap().unwrap();
        if name.starts_with(prefix) {
            let value = s.get_item(&name).unwrap().unwrap_or_default();
            out.push((name, value));
        }
    }
    out.sort();
    out
}

fn remove_all(prefix: &str) {
    for (name, _) in stored(prefix) {
        storage().remove_item(&name).unwrap();
    }
}

/// A key of this run, with nothing stored under it (and no junk left by another test).
fn fresh_key(name: &str) -> String {
    remove_all(JUNK);
    let key = unique_key(name);
    remove_all(&format!("tether-ws:{key}"));
    key
}

fn persisted(key: &str) -> tether_ws::SocketBuilder {
    let continuity = ContinuityOptions::default()
        .persist(Persist::Session)
        .persist_key(key);
    Socket::builder(continuity_url())
        .continuity(continuity)
        .backoff(fast_backoff(50))
}

/// The feed messages not at their place: `{"n":k}` must be the k-th message of the session
/// (echoes count), so a lost, doubled or reordered message of either kind moves it.
fn out_of_place<'a>(places: impl IntoIterator<Item = &'a Option<u64>>) -> Vec<(u64, u64)> {
    (1..)
        .zip(places)
        .filter_map(|(place, n)| n.filter(|&n| n != place).map(|n| (place, n)))
        .collect()
}

/// The feed's `{"n":k}`, if `m` is one of its messages.
fn feed_number(m: &Message) -> Option<u64> {
    let Message::Text(text) = m else { return None };
    let n = text.strip_prefix("{\"n\":")?.strip_suffix('}')?;
    n.parse().ok()
}

/// What one socket saw.
#[derive(Debug, Default)]
struct Seen {
    echoes: Vec<Message>,
    feed: Vec<u64>,
    /// Every message of the session in order: `Some(n)` for a feed message, `None` for an
    /// echo (the feed numbers each message by its place in the session's stream).
    places: Vec<Option<u64>>,
    /// (start, restored, duplicated) of each resume.
    resumes: Vec<(SessionStart, bool, bool)>,
    errors: Vec<ConnectionError>,
    opens: usize,
}

impl Seen {
    fn record(&mut self, event: Event) {
        match event {
            Event::Message(m) => {
                let n = feed_number(&m);
                self.places.push(n);
                match n {
                    Some(n) => self.feed.push(n),
                    None => self.echoes.push(m),
                }
            }
            Event::Resume {
                start,
                restored,
                duplicated,
                ..
            } => self.resumes.push((start, restored, duplicated)),
            Event::Error(e) => self.errors.push(e),
            Event::Open => self.opens += 1,
            _ => {}
        }
    }

    /// Reads `events` until `done` holds; panics after `ms`.
    async fn until(&mut self, events: &mut EventStream, ms: u32, what: &str, done: impl Fn(&Seen) -> bool) {
        let deadline = now_ms() + f64::from(ms);
        while !done(self) {
            let left = (deadline - now_ms()).max(0.0) as u32;
            match select(events.next(), TimeoutFuture::new(left)).await {
                Either::Left((Some(event), _)) => self.record(event),
                Either::Left((None, _)) => panic!("the stream ended before {what}; seen: {self:?}"),
                Either::Right(_) => panic!("no {what} within {ms} ms; seen: {self:?}"),
            }
        }
    }

    /// Reads what is left of an ended stream (bounded).
    async fn drain(&mut self, events: &mut EventStream) {
        with_timeout(2_000, "the end of the stream", async {
            while let Some(event) = events.next().await {
                self.record(event);
            }
        })
        .await;
    }
}

/// Waits (5 s at most) until no message is kept under `base`: all acknowledged.
async fn wait_unkept(base: &str) {
    let deadline = now_ms() + 5_000.0;
    while !stored(&format!("{base}#")).is_empty() {
        assert!(now_ms() < deadline, "still kept: {:?}", stored(base));
        sleep(50).await;
    }
}

fn message(i: u32) -> Message {
    if i % 3 == 0 {
        Message::Binary(vec![i as u8, 0, 0xff, 0x80, 0x9f, b'b'])
    } else {
        Message::Text(format!("m{i} é✓"))
    }
}

#[wasm_bindgen_test]
async fn a_released_sessions_messages_are_taken_up_by_the_next_socket_once_each_both_ways() {
    let key = fresh_key("handover");
    let base = format!("tether-ws:{key}");
    // A window of 4: of each burst, four are sent and unacknowledged, the rest queued.
    let options = |key: &str| {
        let continuity = ContinuityOptions::default()
            .persist(Persist::Session)
            .persist_key(key)
            .window(4);
        Socket::builder(continuity_url())
            .continuity(continuity)
            .backoff(fast_backoff(50))
    };
    let (first, mut events) = connect(options(&key));
    let mut one = Seen::default();
    one.until(&mut events, 5_000, "Open", |s| s.opens == 1).await;
    assert_eq!(one.resumes, [(SessionStart::New, false, false)]);
    let mut sent = Vec::new();
    for i in 0..10 {
        let m = message(i);
        first.send(m.clone()).unwrap();
        sent.push(m);
    }
    one.until(&mut events, 5_000, "the first echoes and feed", |s| {
        s.echoes.len() == 10 && s.feed.len() >= 3
    })
    .await;
    wait_unkept(&base).await;
    // The burst the page unloads with: none acknowledged yet, most still queued.
    for i in 10..30 {
        let m = message(i);
        first.send(m.clone()).unwrap();
        sent.push(m);
    }
    let kept = stored(&format!("{base}#"));
    assert_eq!(
        kept.len(),
        20,
        "every message not yet acknowledged is kept: {kept:?}"
    );
    assert!(kept.iter().any(|(_, v)| v.starts_with('t')) && kept.iter().any(|(_, v)| v.starts_with('b')));
    assert_eq!(
        kept.iter()
            .find(|(_, v)| v.starts_with('b'))
            .map(|(_, v)| v.chars().map(|c| c as u32).collect::<Vec<_>>()),
        Some(vec![u32::from(b'b'), 12, 0, 0xff, 0x80, 0x9f, u32::from(b'b')]),
        "bytes as one char each (latin1)"
    );

    first.release();
    one.drain(&mut events).await;
    let record = storage().get_item(&base).unwrap().expect("the record is kept");
    assert!(record.starts_with("{\"v\":1,\"sid\":"), "{record}");
    assert_eq!(stored(&format!("{base}#")).len(), 20, "the messages are kept");

    // The next page load.
    let (second, mut events) = connect(options(&key));
    let mut two = Seen::default();
    two.until(&mut events, 5_000, "Open", |s| s.opens == 1).await;
    assert_eq!(two.resumes, [(SessionStart::Resumed, true, false)], "{two:?}");
    for i in 30..40 {
        let m = message(i);
        second.send(m.clone()).unwrap();
        sent.push(m);
    }
    let n = sent.len();
    let feed_to = one.feed.len() + 10;
    two.until(&mut events, 10_000, "every echo and more feed", |s| {
        one.echoes.len() + s.echoes.len() >= n && one.feed.len() + s.feed.len() >= feed_to
    })
    .await;
    expect_none(
        &mut events,
        500,
        "another echo",
        |e| matches!(e, Event::Message(m) if feed_number(m).is_none()),
    )
    .await;
    let echoes: Vec<Message> = one.echoes.iter().chain(&two.echoes).cloned().collect();
    assert_eq!(echoes, sent, "each message once, in order, across the page load");
    assert!(!one.feed.is_empty() && !two.feed.is_empty(), "{one:?} {two:?}");
    assert_eq!(
        out_of_place(one.places.iter().chain(&two.places)),
        [],
        "the server's messages without a gap or a repeat: (place, n)"
    );
    assert_eq!(two.resumes.len(), 1, "{two:?}");
    assert!(one.errors.is_empty() && two.errors.is_empty(), "{one:?} {two:?}");
    // Acknowledged, the messages leave storage; dropped, the socket ends the session.
    wait_unkept(&base).await;
    drop(second);
    assert_eq!(stored(&base), [], "dropped: nothing kept");
}

#[wasm_bindgen_test]
async fn full_storage_turns_persistence_off_and_continuity_goes_on() {
    let key = fresh_key("full");
    // Fill sessionStorage for real, until it refuses even one character.
    let s = storage();
    let mut size = 1 << 20;
    let mut i = 0;
    while size > 0 {
        if s.set_item(&format!("{JUNK}{i}"), &"x".repeat(size)).is_ok() {
            i += 1;
        } else {
            size /= 2;
        }
    }
    let (socket, mut events) = connect(persisted(&key));
    let mut seen = Seen::default();
    seen.until(&mut events, 5_000, "Open", |s| s.opens == 1).await;
    socket.send("after the failure").unwrap();
    seen.until(&mut events, 5_000, "the error and the echo", |s| {
        !s.errors.is_empty() && !s.echoes.is_empty()
    })
    .await;
    remove_all(JUNK);
    assert_eq!(
        seen.errors,
        [ConnectionError::Persistence(PersistError::Failed)],
        "told once"
    );
    assert_eq!(seen.echoes, [Message::from("after the failure")]);
    assert_eq!(seen.resumes, [(SessionStart::New, false, false)]);
    // Off: nothing written later either, though storage has room again.
    socket.send("later").unwrap();
    seen.until(&mut events, 5_000, "the second echo", |s| s.echoes.len() == 2)
        .await;
    assert_eq!(stored(&format!("tether-ws:{key}")), []);
    assert_eq!(seen.errors.len(), 1);
}

#[wasm_bindgen_test]
async fn dropping_the_socket_ends_the_session_and_clears_storage() {
    let key = fresh_key("dispose");
    let base = format!("tether-ws:{key}");
    let (socket, mut events) = connect(persisted(&key).start_closed(true));
    // Queued (not connected): kept as they are sent.
    socket.send("one").unwrap();
    socket.send(vec![1u8, 2, 3]).unwrap();
    assert_eq!(
        stored(&base),
        [
            (format!("{base}#1"), "tone".to_owned()),
            (format!("{base}#2"), "b\u{1}\u{2}\u{3}".to_owned())
        ]
    );
    socket.reconnect();
    let mut seen = Seen::default();
    seen.until(&mut events, 5_000, "the echoes", |s| s.echoes.len() == 2)
        .await;
    assert!(storage().get_item(&base).unwrap().is_some(), "the record");
    drop(socket);
    seen.drain(&mut events).await;
    assert_eq!(stored(&base), [], "nothing kept");
}

#[wasm_bindgen_test]
async fn two_live_sockets_cannot_share_a_key() {
    let key = fresh_key("twice");
    let first = persisted(&key).start_closed(true).connect().expect("the first");
    let second = persisted(&key).start_closed(true).connect();
    assert_eq!(second.err(), Some(Error::PersistKeyInUse));
    // Without persistence, or under another key, it is fine.
    let plain = Socket::builder(continuity_url())
        .continuity(ContinuityOptions::default())
        .start_closed(true)
        .connect();
    assert!(plain.is_ok());
    assert!(persisted(&format!("{key}-other"))
        .start_closed(true)
        .connect()
        .is_ok());
    drop(first);
    assert!(persisted(&key).start_closed(true).connect().is_ok(), "free again");
    let released = persisted(&key).start_closed(true).connect().unwrap();
    released.release();
    assert!(
        persisted(&key).start_closed(true).connect().is_ok(),
        "released: free again"
    );
}

/// A record of a session the server never gave (it says `unknown`).
fn foreign_record(sid: &str) -> String {
    format!(r#"{{"v":1,"sid":"{sid}","tok":"t","rx":0,"acked":0,"last":0}}"#)
}

#[wasm_bindgen_test]
async fn a_session_another_tab_holds_is_left_to_it() {
    let key = fresh_key("dup");
    let base = format!("tether-ws:{key}");
    let sid = unique_key("sid");
    storage().set_item(&base, &foreign_record(&sid)).unwrap();
    // The tab this one was duplicated from: it answers for its session on the channel, as a
    // socket holding it does (the JS face's message shape).
    let channel = web_sys::BroadcastChannel::new(&base).unwrap();
    let answer = channel.clone();
    let owned = sid.clone();
    let claims = std::rc::Rc::new(std::cell::Cell::new(0));
    let counted = claims.clone();
    let on_message = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
        move |e: web_sys::MessageEvent| {
            let data = e.data();
            let field = |n: &str| {
                js_sys::Reflect::get(&data, &n.into())
                    .ok()
                    .and_then(|v| v.as_string())
            };
            if field("t").as_deref() == Some("claim") && field("sid").as_deref() == Some(&owned) {
                counted.set(counted.get() + 1);
                let reply = js_sys::Object::new();
                js_sys::Reflect::set(&reply, &"t".into(), &"owned".into()).unwrap();
                js_sys::Reflect::set(&reply, &"sid".into(), &JsValue::from_str(&owned)).unwrap();
                answer.post_message(&reply).unwrap();
            }
        },
    );
    channel.set_onmessage(Some(wasm_bindgen::JsCast::unchecked_ref(on_message.as_ref())));
    let (socket, mut events) = connect(persisted(&key));
    let mut seen = Seen::default();
    seen.until(&mut events, 5_000, "Open", |s| s.opens == 1).await;
    channel.set_onmessage(None);
    channel.close();
    drop(on_message);
    assert_eq!(claims.get(), 1, "asked once");
    assert_eq!(
        seen.resumes,
        [(SessionStart::New, false, true)],
        "a session of its own"
    );
    let record = storage().get_item(&base).unwrap().unwrap_or_default();
    assert!(!record.contains(&sid), "the other tab's record is gone: {record}");
    drop(socket);
}

#[wasm_bindgen_test]
async fn a_stored_session_nobody_holds_is_taken_up_and_its_loss_told() {
    let key = fresh_key("unknown");
    let base = format!("tether-ws:{key}");
    storage()
        .set_item(&base, &foreign_record(&unique_key("sid")))
        .unwrap();
    // A message queued on the earlier page, before it was sent.
    storage().set_item(&format!("{base}#7"), "tqueued").unwrap();
    let started = now_ms();
    let (socket, mut events) = connect(persisted(&key));
    // The page leaves while the claim runs (a reload at once): what is stored stays.
    let pagehide = web_sys::Event::new("pagehide").unwrap();
    web_sys::window().unwrap().dispatch_event(&pagehide).unwrap();
    assert!(
        storage().get_item(&base).unwrap().is_some(),
        "the record stays while the claim runs"
    );
    let mut seen = Seen::default();
    seen.until(&mut events, 5_000, "the echo", |s| s.echoes.len() == 1)
        .await;
    assert!(
        now_ms() - started >= 100.0,
        "the first socket waited for the claim"
    );
    assert_eq!(
        seen.resumes,
        [(SessionStart::Unknown, true, false)],
        "restored, then lost"
    );
    assert_eq!(seen.echoes, [Message::from("queued")]);
    let later = socket.send("next");
    assert_eq!(later, Ok(Sent::Written));
    seen.until(&mut events, 5_000, "the second echo", |s| s.echoes.len() == 2)
        .await;
    wait_unkept(&base).await;
}

#[wasm_bindgen_test]
async fn a_record_this_version_did_not_write_is_refused_and_its_messages_sent() {
    let key = fresh_key("refused");
    let base = format!("tether-ws:{key}");
    storage().set_item(&base, r#"{"v":2}"#).unwrap();
    storage().set_item(&format!("{base}#1"), "tkept").unwrap();
    let (_socket, mut events) = connect(persisted(&key));
    let mut seen = Seen::default();
    seen.until(&mut events, 5_000, "the echo and the error", |s| {
        s.echoes.len() == 1 && !s.errors.is_empty()
    })
    .await;
    assert_eq!(seen.errors, [ConnectionError::Persistence(PersistError::Refused)]);
    assert_eq!(seen.resumes, [(SessionStart::New, false, false)]);
    assert_eq!(seen.echoes, [Message::from("kept")]);
}

#[wasm_bindgen_test]
async fn a_message_written_plainly_is_not_kept() {
    let key = fresh_key("plain");
    let base = format!("tether-ws:{key}");
    // The plain test server (no protocol: `prefer` goes on with a plain WebSocket).
    let continuity = ContinuityOptions::default()
        .persist(Persist::Session)
        .persist_key(&key);
    let builder = Socket::builder(ws_url("/echo", &unique_key("persist-plain")))
        .continuity(continuity)
        .backoff(fast_backoff(50))
        .start_closed(true);
    let (socket, mut events) = connect(builder);
    socket.send("queued").unwrap();
    assert_eq!(stored(&base).len(), 1, "kept while queued");
    socket.reconnect();
    let mut seen = Seen::default();
    seen.until(&mut events, 10_000, "Open", |s| s.opens == 1).await;
    assert_eq!(
        seen.resumes.last(),
        Some(&(SessionStart::Unsupported, false, false))
    );
    // Sent at most once: written to a connection without the protocol, it is not kept.
    assert_eq!(stored(&base), [], "no record, no message");
    assert_eq!(socket.send("plain"), Ok(Sent::Written));
    assert_eq!(stored(&base), []);
    seen.until(&mut events, 5_000, "the echoes", |s| s.echoes.len() == 2)
        .await;
    assert_eq!(seen.echoes, [Message::from("queued"), Message::from("plain")]);
}
