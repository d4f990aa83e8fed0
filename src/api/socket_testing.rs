//! The socket on a test server (feature `testing`, native targets): the functions of the
//! browser implementation (`imp` in socket.rs), over the testing driver (src/testing). A
//! builder without [`SocketBuilder::transport`] still fails with `Unsupported`, as on any
//! native build.

use std::rc::Rc;
use std::task::Context;

use super::super::error::{Error, ProtocolError, SendError, UrlError};
use super::super::subscribers::Subscribers;
use super::super::types::{CloseInfo, IsPong, Message, Sent, State};
use super::super::waiters::{Until, Waiters};
use super::{ShouldReconnect, SocketBuilder};
use crate::core::{self, Config};
use crate::testing::{self, Callbacks, Driver, DriverOptions, DriverSent};

pub struct Inner {
    driver: Driver,
    callbacks: Rc<SocketCallbacks>,
    /// `SocketBuilder::high_water_mark`.
    high_water_mark: u64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.driver.dispose();
        self.callbacks.subscribers.end();
    }
}

struct SocketCallbacks {
    subscribers: Rc<Subscribers>,
    should_reconnect: Option<ShouldReconnect>,
    is_pong: Option<IsPong>,
    waiters: Rc<Waiters>,
}

impl Callbacks for SocketCallbacks {
    fn event(&self, event: core::Event<Message>) {
        self.subscribers
            .publish(super::api_event(event, |message| message));
        self.waiters.wake(false);
    }

    fn message(&self, message: Message, heartbeat: bool) -> bool {
        super::deliver(&self.subscribers, self.is_pong.as_ref(), message, heartbeat)
    }

    fn should_reconnect(&self, info: &CloseInfo) -> Option<bool> {
        self.should_reconnect.as_ref().map(|f| f(info))
    }

    fn settled(&self) {
        // (A test link's writes leave at once: what drains is the outbox.)
        self.waiters.wake(true);
    }
}

/// The browser's URL rules without a page to resolve against: an absolute `ws:`, `wss:`,
/// `http:` or `https:` URL (the last two mapped to `ws:` / `wss:`), without a fragment.
fn check_url(raw: &str) -> Result<String, UrlError> {
    let (scheme, rest) = raw.split_once("://").ok_or(UrlError::Invalid)?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        _ => return Err(UrlError::Scheme),
    };
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(UrlError::Invalid);
    }
    if rest.contains('#') {
        return Err(UrlError::Fragment);
    }
    // (The browser adds the path of a bare host.)
    let slash = if rest.contains('/') { "" } else { "/" };
    Ok(format!("{scheme}://{rest}{slash}"))
}

fn check_protocols(list: &[String]) -> Result<(), ProtocolError> {
    crate::api::check_protocols(list)
}

pub fn connect(b: SocketBuilder, config: Config) -> Result<Inner, Error> {
    let Some(server) = b.transport.as_ref().map(testing::TestServer::shared).cloned() else {
        return Err(Error::Unsupported);
    };
    let url = check_url(&b.url).map_err(Error::InvalidUrl)?;
    check_protocols(&b.protocols).map_err(Error::InvalidProtocol)?;
    let callbacks = Rc::new(SocketCallbacks {
        subscribers: Rc::new(Subscribers::default()),
        should_reconnect: b.should_reconnect,
        is_pong: b.heartbeat.as_ref().and_then(|h| h.is_pong.clone()),
        waiters: Rc::new(Waiters::default()),
    });
    let options = DriverOptions {
        config,
        url,
        url_provider: b.url_provider.map(|provide| -> Box<dyn Fn() -> Option<String>> {
            Box::new(move || check_url(&provide()).ok())
        }),
        protocols: b.protocols,
        heartbeat_message: b.heartbeat.as_ref().map(|h| h.message.clone()),
    };
    let driver = Driver::start(server, options, callbacks.clone());
    Ok(Inner {
        driver,
        callbacks,
        high_water_mark: b.high_water_mark,
    })
}

pub fn high_water_mark(inner: &Inner) -> u64 {
    inner.high_water_mark
}

/// Registers the task of `cx` until `until` may hold (every pump wakes the byte waiters).
pub fn wait(inner: &Rc<Inner>, until: Until, cx: &mut Context<'_>) {
    inner.callbacks.waiters.register(until, cx.waker());
}

pub fn drained(_: &Inner) {}

/// (No storage on a test server: there is no session to keep.)
pub fn keep_session(_: &Inner) {}

pub fn send(inner: &Inner, message: Message, key: Option<&str>) -> Result<Sent, SendError> {
    match inner.driver.send(message, key) {
        DriverSent::Written => Ok(Sent::Written),
        DriverSent::Queued => Ok(Sent::Queued),
        DriverSent::Dropped => Ok(Sent::Dropped),
        DriverSent::Rejected(message) => Err(SendError::QueueFull(message)),
    }
}

pub fn close(inner: &Inner, code: u16, reason: &str) {
    inner.driver.close(code, reason);
}

pub fn reconnect(inner: &Inner) {
    inner.driver.reconnect(1000, "");
}

pub fn state(inner: &Inner) -> State {
    inner.driver.state()
}

pub fn retry_count(inner: &Inner) -> u32 {
    inner.driver.retry_count()
}

pub fn queued_messages(inner: &Inner) -> usize {
    inner.driver.queued_messages()
}

pub fn queued_bytes(inner: &Inner) -> u64 {
    inner.driver.queued_bytes()
}

pub fn buffered_amount(inner: &Inner) -> u64 {
    inner.driver.buffered_amount()
}

pub fn url(inner: &Inner) -> String {
    inner.driver.url()
}

pub fn protocol(inner: &Inner) -> String {
    inner.driver.protocol()
}

pub fn extensions(_: &Inner) -> String {
    String::new()
}

pub fn subscribers(inner: &Inner) -> &Rc<Subscribers> {
    &inner.callbacks.subscribers
}

#[cfg(test)]
mod tests {
    use super::check_url;
    use crate::api::UrlError;

    #[test]
    fn urls_follow_the_browser_rules_without_a_page() {
        assert_eq!(
            check_url("wss://example.com/live").unwrap(),
            "wss://example.com/live"
        );
        assert_eq!(
            check_url("http://127.0.0.1:8080").unwrap(),
            "ws://127.0.0.1:8080/"
        );
        assert_eq!(
            check_url("HTTPS://example.com/x?y=1").unwrap(),
            "wss://example.com/x?y=1"
        );
        assert_eq!(check_url("/relative"), Err(UrlError::Invalid));
        assert_eq!(check_url("ftp://example.com/"), Err(UrlError::Scheme));
        assert_eq!(check_url("ws://example.com/#top"), Err(UrlError::Fragment));
        assert_eq!(check_url("ws:///path"), Err(UrlError::Invalid));
    }
}
