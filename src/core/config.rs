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
    /// Parses the JS option value: `"drop-oldest"`, `"drop-newest"` or `"reject"`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "drop-oldest" => Some(Overflow::DropOldest),
            "drop-newest" => Some(Overflow::DropNewest),
            "reject" => Some(Overflow::Reject),
            _ => None,
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
    /// Time between two heartbeats, ms.
    pub interval_ms: f64,
    /// Time allowed for a reply after a heartbeat, ms.
    pub timeout_ms: f64,
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
