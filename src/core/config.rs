//! Options of the state machine, their defaults (those of reconnecting-websocket where the
//! names match) and their validation.

use core::fmt;

/// What to do when a send would exceed the outbox limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Discard the oldest queued messages until the new one fits (each reported as dropped).
    #[default]
    DropOldest,
    /// Discard the new message (reported as dropped).
    DropNewest,
    /// Refuse the new message: `send` fails and the caller keeps it.
    Reject,
}

impl Overflow {
    /// The variants in the order of their index, which is how the JS class passes the option
    /// (src/js/options.js lists the names in this order; tests/js_contract.rs checks it).
    const BY_INDEX: [Overflow; 3] = [Overflow::DropOldest, Overflow::DropNewest, Overflow::Reject];

    /// Parses the JS option value: `"drop-oldest"`, `"drop-newest"` or `"reject"`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::BY_INDEX.into_iter().find(|o| o.as_str() == s)
    }

    /// The JS option value: `"drop-oldest"`, `"drop-newest"` or `"reject"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Overflow::DropOldest => "drop-oldest",
            Overflow::DropNewest => "drop-newest",
            Overflow::Reject => "reject",
        }
    }
}

/// Reconnect timing. Delays are milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// Delay before the first retry (`minReconnectionDelay`, default 1000).
    pub min_delay_ms: f64,
    /// Upper bound of any delay (`maxReconnectionDelay`, default 10000).
    pub max_delay_ms: f64,
    /// Growth of the delay per failed attempt (`reconnectionDelayGrowFactor`, default 1.3).
    pub grow_factor: f64,
    /// How long a connection must stay open before the retry count resets (`minUptime`, 5000).
    pub min_uptime_ms: f64,
    /// Retries allowed in a row before giving up (`maxRetries`, default unlimited).
    pub max_retries: u32,
    /// Fraction of each delay that is randomised, 0..=1 (`jitter`, default 0.5).
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min_delay_ms: 1000.0,
            max_delay_ms: 10_000.0,
            grow_factor: 1.3,
            min_uptime_ms: 5000.0,
            max_retries: u32::MAX,
            jitter: 0.5,
        }
    }
}

/// Bounds of the outbox, the queue of messages sent while the socket is not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Most messages held (`maxEnqueuedMessages`, default unlimited).
    pub max_messages: usize,
    /// Most bytes held, counted as UTF-8 for text (`maxEnqueuedBytes`, default unlimited).
    pub max_bytes: u64,
    /// Policy when a send does not fit (`overflow`, default drop-oldest).
    pub overflow: Overflow,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            max_messages: usize::MAX,
            max_bytes: u64::MAX,
            overflow: Overflow::DropOldest,
        }
    }
}

/// Keep-alive: send a message every `interval_ms` while open; if nothing counted as a reply
/// arrives within `timeout_ms` of a heartbeat, the connection is treated as dead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heartbeat {
    /// Time between two heartbeats, ms (`heartbeat.intervalMs`, default 30000).
    pub interval_ms: f64,
    /// Time allowed for a reply after a heartbeat, ms (`heartbeat.timeoutMs`, default 10000).
    pub timeout_ms: f64,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            interval_ms: 30_000.0,
            timeout_ms: 10_000.0,
        }
    }
}

/// The continuity protocol (PROTOCOL.md): numbered, acknowledged messages that survive
/// reconnects. Off unless [`Config::continuity`] is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Continuity {
    /// A connection whose server does not speak the protocol fails (`"required"`) instead
    /// of running as a plain WebSocket (`"prefer"`).
    pub required: bool,
    /// Unacknowledged messages at most, per direction (`continuity.window`, 256; the
    /// server may ask for fewer).
    pub window: u32,
    /// Unacknowledged bytes at most, per direction (`continuity.windowBytes`, 1 MiB).
    pub window_bytes: u64,
    /// Delay of an ack after the first delivery not yet acknowledged, ms
    /// (`continuity.ackDelayMs`, 250).
    pub ack_delay_ms: f64,
    /// After a lost session, send the messages in doubt again (`continuity.resend`, true)
    /// rather than report them dropped.
    pub resend: bool,
}

impl Default for Continuity {
    fn default() -> Self {
        Continuity {
            required: false,
            window: 256,
            window_bytes: 1_048_576,
            ack_delay_ms: 250.0,
            resend: true,
        }
    }
}

#[cfg(feature = "continuity")]
impl Continuity {
    /// The protocol client's settings these options make.
    pub(crate) fn client_config(&self) -> crate::core::continuity::ClientConfig {
        use crate::core::continuity::{ClientConfig, InDoubt, Window};
        ClientConfig {
            window: Window {
                messages: self.window,
                bytes: self.window_bytes,
            },
            ack_delay_ms: self.ack_delay_ms,
            in_doubt: if self.resend {
                InDoubt::Resend
            } else {
                InDoubt::Drop
            },
        }
    }
}

/// Everything the state machine needs to know up front.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Reconnect timing.
    pub backoff: Backoff,
    /// An attempt that does not open within this many ms fails (`connectionTimeout`, 4000;
    /// `f64::INFINITY` disables it).
    pub connection_timeout_ms: f64,
    /// Outbox bounds.
    pub queue: QueueLimits,
    /// Keep-alive, off by default.
    pub heartbeat: Option<Heartbeat>,
    /// Do not connect until `reconnect()` is called (`startClosed`, default false).
    pub start_closed: bool,
    /// On the browser's `online` event, retry at once with backoff reset (default true).
    pub reconnect_on_online: bool,
    /// Defer retries while the page is hidden (default false).
    pub pause_when_hidden: bool,
    /// Largest message accepted from the server, bytes (`maxMessageBytes`, default
    /// unlimited): a larger one is not delivered and the connection is closed, reported as
    /// close 1009, and retried.
    pub max_message_bytes: u64,
    /// The continuity protocol, off by default.
    pub continuity: Option<Continuity>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backoff: Backoff::default(),
            connection_timeout_ms: 4000.0,
            queue: QueueLimits::default(),
            heartbeat: None,
            start_closed: false,
            reconnect_on_online: true,
            pause_when_hidden: false,
            max_message_bytes: u64::MAX,
            continuity: None,
        }
    }
}

/// An option value the state machine cannot work with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The option's JS name, e.g. `"jitter"`.
    pub option: &'static str,
    /// What a valid value looks like.
    pub expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid option `")?;
        f.write_str(self.option)?;
        f.write_str("`: expected ")?;
        f.write_str(self.expected)
    }
}

impl core::error::Error for ConfigError {}

fn check(ok: bool, option: &'static str, expected: &'static str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError { option, expected })
    }
}

/// A duration in ms: finite or infinite, never negative or NaN.
fn is_duration(ms: f64) -> bool {
    ms >= 0.0
}

impl Config {
    /// Checks every value; the state machine relies on these bounds.
    ///
    /// ```
    /// use tether_ws::core::Config;
    /// let mut cfg = Config::default();
    /// cfg.backoff.jitter = 2.0;
    /// assert_eq!(cfg.validate().unwrap_err().option, "jitter");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let b = &self.backoff;
        let ms = "a number of milliseconds >= 0";
        check(
            is_duration(b.min_delay_ms) && b.min_delay_ms.is_finite(),
            "minReconnectionDelay",
            "a finite number of milliseconds >= 0",
        )?;
        check(is_duration(b.max_delay_ms), "maxReconnectionDelay", ms)?;
        check(
            b.grow_factor >= 1.0 && b.grow_factor.is_finite(),
            "reconnectionDelayGrowFactor",
            "a finite number >= 1",
        )?;
        check(is_duration(b.min_uptime_ms), "minUptime", ms)?;
        check((0.0..=1.0).contains(&b.jitter), "jitter", "a number from 0 to 1")?;
        check(
            self.connection_timeout_ms > 0.0,
            "connectionTimeout",
            "a number of milliseconds > 0",
        )?;
        if let Some(h) = &self.heartbeat {
            check(
                h.interval_ms > 0.0 && h.interval_ms.is_finite(),
                "heartbeat.intervalMs",
                "a finite number of milliseconds > 0",
            )?;
            check(
                h.timeout_ms > 0.0 && h.timeout_ms.is_finite(),
                "heartbeat.timeoutMs",
                "a finite number of milliseconds > 0",
            )?;
        }
        #[cfg(feature = "continuity")]
        if let Some(c) = &self.continuity {
            self.validate_continuity(c)?;
        }
        // (So that the rules' strings stay out of a build without continuity.)
        #[cfg(not(feature = "continuity"))]
        check(self.continuity.is_none(), "continuity", "\"off\" in this build")?;
        Ok(())
    }

    /// The continuity settings' rules.
    #[cfg(feature = "continuity")]
    fn validate_continuity(&self, c: &Continuity) -> Result<(), ConfigError> {
        check(
            (1..=65536).contains(&c.window),
            "continuity.window",
            "a whole number from 1 to 65536",
        )?;
        check(
            c.window_bytes >= 1,
            "continuity.windowBytes",
            "a whole number >= 1 or Infinity",
        )?;
        check(
            c.ack_delay_ms >= 0.0 && c.ack_delay_ms.is_finite(),
            "continuity.ackDelayMs",
            "a finite number of milliseconds >= 0",
        )?;
        Ok(())
    }
}

// ---- The options as the JS class passes them (src/js/options.js → `Core`, src/js/core.rs)

// options.js checks only each option's JS type (a number, not NaN; a boolean; one of
// `Overflow`'s names; an object); `Config::from_js` checks the rest.

/// Whether `v` is a whole number >= 0 or Infinity (every f64 from 2^52 up is whole).
fn is_count(v: f64) -> bool {
    v >= 4_503_599_627_370_496.0 || (v >= 0.0 && v as u64 as f64 == v)
}

/// A count limit as a JS number: Infinity for `unlimited`, the type's largest value.
fn count(n: u64, unlimited: u64) -> f64 {
    if n == unlimited {
        f64::INFINITY
    } else {
        n as f64
    }
}

impl Overflow {
    /// The variant of index `i`, if `i` is one.
    fn from_index(i: f64) -> Option<Self> {
        Self::BY_INDEX
            .get(i as usize)
            .copied()
            .filter(|o| *o as u8 as f64 == i)
    }
}

/// The options of the JS class that the core owns, in the order of the numbers `Core::new`
/// takes: `"jsName" => type field`, the type one of `number`, `count` (a whole number >= 0
/// or Infinity, stored saturating: what the field cannot hold means no limit, as its largest
/// value does), `boolean`, `overflow` (passed as the index of an [`Overflow`]), `object`
/// (an `Option` of it, passed as 1 when given), `mode` (continuity: 0 off, 1 prefer, 2
/// required); `"object.key" => type object / key` for a field of an object option (a
/// `number`, `count` or `boolean`), read only when the object is given. Generates
/// [`Config::from_js`], [`Config::to_js`] and [`Config::js_options`] as straight-line code
/// (small in wasm).
macro_rules! js_options {
    ($($(#[$attr:meta])* $name:literal => $ty:ident $($field:ident).+ $(/ $sub:ident)?;)*) => {
        impl Config {
            /// The config for the options of the JS class, given as one number each in the
            /// order of [`Config::js_options`], `NaN` for an option not given (which keeps its
            /// default): the defaults, the given values, checked (the JS checked only their JS
            /// types). Missing numbers count as not given, extra ones are ignored.
            ///
            /// ```
            /// use tether_ws::core::Config;
            /// let c = Config::from_js(&[f64::NAN, 500.0]).unwrap(); // maxReconnectionDelay: 500
            /// assert_eq!((c.backoff.min_delay_ms, c.backoff.max_delay_ms), (1000.0, 500.0));
            /// let e = Config::from_js(&[f64::NAN, f64::NAN, f64::NAN, f64::NAN, -1.0]).unwrap_err();
            /// assert_eq!(e.to_string(), "invalid option `maxRetries`: expected a whole number >= 0 or Infinity");
            /// ```
            pub fn from_js(numbers: &[f64]) -> Result<Config, ConfigError> {
                let mut c = Config::default();
                let mut i = 0;
                $(
                    $(#[$attr])*
                    {
                        if let Some(&v) = numbers.get(i).filter(|v| !v.is_nan()) {
                            js_options!(@set $ty, c, v, $name, $($field).+ $(/ $sub)?);
                        }
                        i += 1;
                    }
                )*
                let _ = i;
                c.validate()?;
                Ok(c)
            }

            /// The options' values as [`Config::from_js`] reads them (Infinity for no limit,
            /// 1 or 0 for a boolean, the index of an `Overflow`; an object's fields with their
            /// defaults when it is not given).
            // (One push per option: some exist only with a feature.)
            #[allow(clippy::vec_init_then_push)]
            pub fn to_js(&self) -> alloc::vec::Vec<f64> {
                let c = self;
                let mut values = alloc::vec::Vec::new();
                $(
                    $(#[$attr])*
                    values.push(js_options!(@get $ty, c, $($field).+ $(/ $sub)?));
                )*
                values
            }

            /// The options of the JS class, in the order of [`Config::from_js`]'s numbers: JS
            /// name (`heartbeat.intervalMs` for a field of `heartbeat`), JS type (`"number"`,
            /// `"count"`, `"boolean"`, `"overflow"` or `"object"`) and value in `self` as
            /// [`Config::to_js`] gives it.
            #[allow(clippy::vec_init_then_push)]
            pub fn js_options(&self) -> impl Iterator<Item = (&'static str, &'static str, f64)> {
                let mut names = alloc::vec::Vec::new();
                $(
                    $(#[$attr])*
                    names.push(($name, stringify!($ty)));
                )*
                names.into_iter().zip(self.to_js()).map(|((n, t), v)| (n, t, v))
            }
        }
    };
    (@set number, $c:ident, $v:ident, $name:literal, $($field:ident).+ / $sub:ident) => {
        if let Some(object) = &mut $c.$($field).+ {
            object.$sub = $v;
        }
    };
    (@set number, $c:ident, $v:ident, $name:literal, $($field:ident).+) => { $c.$($field).+ = $v };
    (@set count, $c:ident, $v:ident, $name:literal, $($field:ident).+ / $sub:ident) => {
        if let Some(object) = &mut $c.$($field).+ {
            check(is_count($v), $name, "a whole number >= 0 or Infinity")?;
            object.$sub = $v as _;
        }
    };
    (@set boolean, $c:ident, $v:ident, $name:literal, $($field:ident).+ / $sub:ident) => {
        if let Some(object) = &mut $c.$($field).+ {
            object.$sub = $v != 0.0;
        }
    };
    (@set mode, $c:ident, $v:ident, $name:literal, $($field:ident).+) => {{
        check($v == 0.0 || $v == 1.0 || $v == 2.0, $name, "\"off\", \"prefer\" or \"required\"")?;
        $c.$($field).+ = ($v != 0.0).then(|| Continuity {
            required: $v == 2.0,
            ..Continuity::default()
        });
    }};
    (@set count, $c:ident, $v:ident, $name:literal, $($field:ident).+) => {{
        check(is_count($v), $name, "a whole number >= 0 or Infinity")?;
        $c.$($field).+ = $v as _;
    }};
    (@set boolean, $c:ident, $v:ident, $name:literal, $($field:ident).+) => { $c.$($field).+ = $v != 0.0 };
    (@set overflow, $c:ident, $v:ident, $name:literal, $($field:ident).+) => {{
        let o = Overflow::from_index($v);
        check(o.is_some(), $name, "\"drop-oldest\", \"drop-newest\" or \"reject\"")?;
        $c.$($field).+ = o.unwrap_or_default();
    }};
    (@set object, $c:ident, $v:ident, $name:literal, $($field:ident).+) => {
        $c.$($field).+ = ($v != 0.0).then(Default::default)
    };
    (@get number, $c:ident, $($field:ident).+ / $sub:ident) => { $c.$($field).+.unwrap_or_default().$sub };
    (@get number, $c:ident, $($field:ident).+) => { $c.$($field).+ };
    (@get count, $c:ident, $($field:ident).+ / $sub:ident) => {{
        let field = $c.$($field).+.unwrap_or_default().$sub;
        #[allow(clippy::unnecessary_cast)]
        let (n, unlimited) = (field as u64, max_of(&field));
        count(n, unlimited)
    }};
    (@get boolean, $c:ident, $($field:ident).+ / $sub:ident) => { $c.$($field).+.unwrap_or_default().$sub as u8 as f64 };
    (@get mode, $c:ident, $($field:ident).+) => { $c.$($field).+.map_or(0.0, |c| 1.0 + c.required as u8 as f64) };
    (@get count, $c:ident, $($field:ident).+) => {{
        #[allow(clippy::unnecessary_cast)]
        let (n, unlimited) = ($c.$($field).+ as u64, max_of(&$c.$($field).+));
        count(n, unlimited)
    }};
    (@get boolean, $c:ident, $($field:ident).+) => { $c.$($field).+ as u8 as f64 };
    (@get overflow, $c:ident, $($field:ident).+) => { $c.$($field).+ as u8 as f64 };
    (@get object, $c:ident, $($field:ident).+) => { $c.$($field).+.is_some() as u8 as f64 };
}

/// The largest value of a count field's type, which means no limit.
trait Unlimited {
    const MAX: u64;
}
impl Unlimited for u32 {
    const MAX: u64 = u32::MAX as u64;
}
impl Unlimited for u64 {
    const MAX: u64 = u64::MAX;
}
impl Unlimited for usize {
    const MAX: u64 = usize::MAX as u64;
}
fn max_of<T: Unlimited>(_: &T) -> u64 {
    T::MAX
}

// Adding an option: a field of `Config` with its default, a line here, its rule in
// `Config::validate`, then its docs (src/js/index.d.ts, README's options table), which
// tests/js_contract.rs checks against this table, as it checks options.js's copy of it.
js_options! {
    "minReconnectionDelay" => number backoff.min_delay_ms;
    "maxReconnectionDelay" => number backoff.max_delay_ms;
    "reconnectionDelayGrowFactor" => number backoff.grow_factor;
    "minUptime" => number backoff.min_uptime_ms;
    "maxRetries" => count backoff.max_retries;
    "jitter" => number backoff.jitter;
    "connectionTimeout" => number connection_timeout_ms;
    "maxEnqueuedMessages" => count queue.max_messages;
    "maxEnqueuedBytes" => count queue.max_bytes;
    "maxMessageBytes" => count max_message_bytes;
    "overflow" => overflow queue.overflow;
    "startClosed" => boolean start_closed;
    "reconnectOnOnline" => boolean reconnect_on_online;
    "pauseWhenHidden" => boolean pause_when_hidden;
    "heartbeat" => object heartbeat;
    "heartbeat.intervalMs" => number heartbeat / interval_ms;
    "heartbeat.timeoutMs" => number heartbeat / timeout_ms;
    // The continuity protocol's (the JS sends them to the continuity build only).
    #[cfg(feature = "continuity")]
    "continuity" => mode continuity;
    #[cfg(feature = "continuity")]
    "continuity.window" => count continuity / window;
    #[cfg(feature = "continuity")]
    "continuity.windowBytes" => count continuity / window_bytes;
    #[cfg(feature = "continuity")]
    "continuity.ackDelayMs" => number continuity / ack_delay_ms;
    #[cfg(feature = "continuity")]
    "continuity.resend" => boolean continuity / resend;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_counts_are_whole_numbers_from_zero_or_infinity() {
        // maxRetries is the 5th option (index 4).
        let retries = |v: f64| Config::from_js(&[f64::NAN, f64::NAN, f64::NAN, f64::NAN, v]);
        for v in [0.0, 5.0, 1e300, f64::INFINITY] {
            assert!(retries(v).is_ok(), "{v}");
        }
        assert_eq!(retries(5.0).map(|c| c.backoff.max_retries), Ok(5));
        for v in [-1.0, 1.5, f64::NEG_INFINITY, -0.5] {
            assert!(retries(v).is_err(), "{v}");
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn rejects_nan_and_out_of_range() {
        let mut c = Config::default();
        c.backoff.min_delay_ms = f64::NAN;
        assert_eq!(c.validate().unwrap_err().option, "minReconnectionDelay");
        let mut c = Config::default();
        c.backoff.grow_factor = 0.5;
        assert_eq!(c.validate().unwrap_err().option, "reconnectionDelayGrowFactor");
        let c = Config {
            connection_timeout_ms: 0.0,
            ..Config::default()
        };
        assert_eq!(c.validate().unwrap_err().option, "connectionTimeout");
        let c = Config {
            heartbeat: Some(Heartbeat {
                interval_ms: 0.0,
                timeout_ms: 1.0,
            }),
            ..Config::default()
        };
        assert_eq!(c.validate().unwrap_err().option, "heartbeat.intervalMs");
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "invalid option `heartbeat.intervalMs`: expected a finite number of milliseconds > 0"
        );
    }

    #[cfg(feature = "continuity")]
    #[test]
    fn continuity_settings_have_their_ranges() {
        let with = |c: Continuity| Config {
            continuity: Some(c),
            ..Config::default()
        };
        let option = |c: Continuity| with(c).validate().err().map(|e| e.option);
        assert_eq!(option(Continuity::default()), None);
        for window in [1, 65_536] {
            assert_eq!(
                option(Continuity {
                    window,
                    ..Continuity::default()
                }),
                None
            );
        }
        for window in [0, 65_537] {
            let c = Continuity {
                window,
                ..Continuity::default()
            };
            assert_eq!(option(c), Some("continuity.window"));
        }
        let bytes = |window_bytes| Continuity {
            window_bytes,
            ..Continuity::default()
        };
        assert_eq!(option(bytes(1)), None);
        assert_eq!(option(bytes(0)), Some("continuity.windowBytes"));
        let delay = |ack_delay_ms| Continuity {
            ack_delay_ms,
            ..Continuity::default()
        };
        assert_eq!(option(delay(0.0)), None);
        for bad in [-1.0, f64::INFINITY, f64::NAN] {
            assert_eq!(option(delay(bad)), Some("continuity.ackDelayMs"), "{bad}");
        }
        // With a heartbeat too: on a session it is the protocol's ping.
        let c = Config {
            heartbeat: Some(Heartbeat::default()),
            ..with(Continuity::default())
        };
        assert_eq!(c.validate(), Ok(()));
    }
}
