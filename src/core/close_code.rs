//! Which close codes and reasons an application may send (RFC 6455 §7.4, WHATWG WebSockets).

use core::fmt;

/// Why a `close(code, reason)` call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseArgError {
    /// Only 1000 and 3000–4999 may be sent by an application.
    InvalidCode,
    /// The reason must fit in 123 bytes of UTF-8.
    ReasonTooLong,
}

impl CloseArgError {
    /// A message naming the problem.
    pub fn message(self) -> &'static str {
        match self {
            CloseArgError::InvalidCode => "close code must be 1000 or in the range 3000-4999",
            CloseArgError::ReasonTooLong => "close reason must be at most 123 bytes of UTF-8",
        }
    }
}

impl fmt::Display for CloseArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for CloseArgError {}

/// The longest reason a close frame can carry: 125 bytes of payload minus the 2-byte code.
pub const MAX_REASON_BYTES: usize = 123;

/// Checks an application close code and reason the way the browser's `WebSocket.close` does.
///
/// ```
/// use tether_ws::core::{check_close_args, CloseArgError};
/// assert_eq!(check_close_args(1000, "bye"), Ok(()));
/// assert_eq!(check_close_args(1001, ""), Err(CloseArgError::InvalidCode));
/// ```
pub fn check_close_args(code: u16, reason: &str) -> Result<(), CloseArgError> {
    if code != 1000 && !(3000..=4999).contains(&code) {
        return Err(CloseArgError::InvalidCode);
    }
    if reason.len() > MAX_REASON_BYTES {
        return Err(CloseArgError::ReasonTooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        for ok in [1000, 3000, 4000, 4999] {
            assert_eq!(check_close_args(ok, ""), Ok(()), "{ok}");
        }
        for bad in [0, 999, 1001, 1005, 1006, 1015, 2999, 5000, u16::MAX] {
            assert_eq!(
                check_close_args(bad, ""),
                Err(CloseArgError::InvalidCode),
                "{bad}"
            );
        }
    }

    #[test]
    fn reason_is_counted_in_utf8_bytes() {
        assert_eq!(check_close_args(1000, &"a".repeat(123)), Ok(()));
        assert_eq!(
            check_close_args(1000, &"a".repeat(124)),
            Err(CloseArgError::ReasonTooLong)
        );
        // 41 three-byte characters = 123 bytes; 42 = 126.
        assert_eq!(check_close_args(1000, &"€".repeat(41)), Ok(()));
        assert_eq!(
            check_close_args(1000, &"€".repeat(42)),
            Err(CloseArgError::ReasonTooLong)
        );
    }
}
