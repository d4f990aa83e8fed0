//! A session as a page keeps it across page loads (PROTOCOL.md, "Keeping a session across
//! page loads"): what is saved, the text it is stored as, and why a saved one can be refused.

use alloc::string::String;
use core::fmt;

use super::frame::{MAX_SEQ, MAX_TOKEN_BYTES, MAX_WINDOW_MESSAGES};
use super::json::{as_uint, decode_string, push_string, push_uint, Reader};
#[cfg(doc)]
use super::Client;

/// A session as a page keeps it in storage to resume it after a reload, written through as
/// it changes ([`Client::saved`]: after a `welcome`, a delivery, an ack). Beside it the page
/// keeps every message it has pushed and not had acknowledged, under its number: those above
/// `acked`. Messages kept under another `sid` belong to a session that is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSession {
    /// The session id.
    pub sid: String,
    /// The token for the next `hello`.
    pub tok: String,
    /// The highest server seq delivered to the application.
    pub rx: u64,
    /// The highest of the client's seqs the server has acknowledged.
    pub acked: u64,
    /// The highest seq the page has given a message: those from `acked + 1` to `last` are
    /// the ones kept beside the session.
    pub last: u64,
}

/// Why [`Client::restore`] or [`SavedSession::from_record`] refused a saved session (storage that is not what a page wrote:
/// another version, or edited); the page then starts a new session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreError {
    /// Not a record [`SavedSession::write_record`] wrote: not JSON, another version, or a
    /// field missing, repeated or of the wrong kind.
    Malformed,
    /// `sid` or `tok` is longer than [`MAX_TOKEN_BYTES`].
    TokenTooLong,
    /// `rx`, `acked` or `last` is above [`MAX_SEQ`].
    NumberTooLarge,
    /// More messages than any window holds ([`MAX_WINDOW_MESSAGES`]).
    TooManyMessages,
    /// The messages kept are not those numbered `acked + 1` to `last` (one is missing, or
    /// `last` is below `acked`).
    MessagesMissing,
    /// The connection machine has continuity off.
    ContinuityOff,
    /// The connection machine's session has begun (a `hello` went): a saved one can only be
    /// taken up before its first socket opens.
    SessionBegun,
}

impl RestoreError {
    /// A message naming the problem.
    pub fn message(self) -> &'static str {
        match self {
            RestoreError::Malformed => "saved session: not a record this version wrote",
            RestoreError::TokenTooLong => "saved session: token longer than 256 bytes",
            RestoreError::NumberTooLarge => "saved session: a number above 2^53-1",
            RestoreError::TooManyMessages => "saved session: more than 65536 messages",
            RestoreError::MessagesMissing => "saved session: its messages are not all kept",
            RestoreError::ContinuityOff => "saved session: continuity is off",
            RestoreError::SessionBegun => "saved session: the socket's session has begun",
        }
    }
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for RestoreError {}

/// The fields of a record, in the order [`SavedSession::write_record`] writes them.
const FIELDS: [&str; 6] = ["v", "sid", "tok", "rx", "acked", "last"];

impl SavedSession {
    /// Whether [`Client::restore`] can take this session up with `unacked` messages beside
    /// it: tokens and numbers in range, and as many messages as were numbered.
    pub fn check(&self, unacked: usize) -> Result<(), RestoreError> {
        if self.sid.len() > MAX_TOKEN_BYTES || self.tok.len() > MAX_TOKEN_BYTES {
            return Err(RestoreError::TokenTooLong);
        }
        if unacked > MAX_WINDOW_MESSAGES as usize {
            return Err(RestoreError::TooManyMessages);
        }
        if self.rx.max(self.acked).max(self.last) > MAX_SEQ {
            return Err(RestoreError::NumberTooLarge);
        }
        if self.last.checked_sub(self.acked) != Some(unacked as u64) {
            return Err(RestoreError::MessagesMissing);
        }
        Ok(())
    }

    /// Appends the record to keep in storage:
    /// `{"v":1,"sid":"…","tok":"…","rx":N,"acked":N,"last":N}` (a driver stores this text
    /// as it is, and gives it back to [`SavedSession::from_record`]).
    pub fn write_record(&self, out: &mut String) {
        out.push_str("{\"v\":1,\"sid\":");
        push_string(out, &self.sid);
        out.push_str(",\"tok\":");
        push_string(out, &self.tok);
        for (name, n) in [
            (",\"rx\":", self.rx),
            (",\"acked\":", self.acked),
            (",\"last\":", self.last),
        ] {
            out.push_str(name);
            push_uint(out, n);
        }
        out.push('}');
    }

    /// Reads a record [`SavedSession::write_record`] wrote. Anything else (edited storage,
    /// another version's record) is [`RestoreError::Malformed`]; tokens and numbers out of
    /// range are refused as [`Client::restore`] refuses them.
    pub fn from_record(record: &[u8]) -> Result<SavedSession, RestoreError> {
        let mut values = [const { None }; FIELDS.len()];
        let mut repeated = false;
        Reader::new(record)
            .object(|key, value| {
                if let Some(slot) = key
                    .and_then(|key| FIELDS.iter().position(|f| *f == key))
                    .and_then(|i| values.get_mut(i))
                {
                    repeated |= slot.replace(value).is_some();
                }
            })
            .map_err(|_| RestoreError::Malformed)?;
        if repeated {
            return Err(RestoreError::Malformed);
        }
        let field = |i: usize| {
            let range = values.get(i).cloned().flatten().ok_or(RestoreError::Malformed)?;
            record.get(range).ok_or(RestoreError::Malformed)
        };
        let text = |i: usize| {
            let mut out = String::new();
            if !decode_string(field(i)?, &mut out) {
                return Err(RestoreError::Malformed);
            }
            if out.len() > MAX_TOKEN_BYTES {
                return Err(RestoreError::TokenTooLong);
            }
            Ok(out)
        };
        let number = |i: usize| {
            let value = field(i)?;
            if !value.iter().all(u8::is_ascii_digit) || value.is_empty() {
                return Err(RestoreError::Malformed);
            }
            as_uint(value, MAX_SEQ).ok_or(RestoreError::NumberTooLarge)
        };
        if field(0)? != b"1" {
            return Err(RestoreError::Malformed);
        }
        Ok(SavedSession {
            sid: text(1)?,
            tok: text(2)?,
            rx: number(3)?,
            acked: number(4)?,
            last: number(5)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved() -> SavedSession {
        SavedSession {
            sid: "s\"1\\\u{1}é".into(),
            tok: "t".into(),
            rx: 3,
            acked: 4,
            last: MAX_SEQ,
        }
    }

    fn record(s: &SavedSession) -> String {
        let mut out = String::new();
        s.write_record(&mut out);
        out
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let text = record(&saved());
        assert_eq!(
            text,
            r#"{"v":1,"sid":"s\"1\\\u0001é","tok":"t","rx":3,"acked":4,"last":9007199254740991}"#
        );
        assert_eq!(SavedSession::from_record(text.as_bytes()), Ok(saved()));
        // Any order, whitespace and unknown fields are read as JSON allows.
        let other = br#" { "last":2, "x":[{}], "acked":1,"rx":0,"tok":"b","sid":"a","v":1 } "#;
        let s = SavedSession::from_record(other).unwrap();
        assert_eq!(
            (s.sid.as_str(), s.tok.as_str(), s.rx, s.acked, s.last),
            ("a", "b", 0, 1, 2)
        );
    }

    #[test]
    fn anything_else_is_refused() {
        let good = record(&saved());
        let malformed = [
            "",
            "null",
            "[]",
            &good[..good.len() - 1],
            &good.replace(r#""v":1"#, r#""v":2"#),
            &good.replace(r#""rx":3"#, r#""rx":-3"#),
            &good.replace(r#""rx":3"#, r#""rx":3.0"#),
            &good.replace(r#""rx":3"#, r#""rx":"3""#),
            &good.replace(r#""tok":"t""#, r#""tok":null"#),
            &good.replace(r#","acked":4"#, ""),
            &good.replace(r#""rx":3"#, r#""rx":3,"rx":3"#),
        ];
        for text in malformed {
            assert_eq!(
                SavedSession::from_record(text.as_bytes()),
                Err(RestoreError::Malformed),
                "{text}"
            );
        }
        let big = good.replace("9007199254740991", "9007199254740992");
        assert_eq!(
            SavedSession::from_record(big.as_bytes()),
            Err(RestoreError::NumberTooLarge)
        );
        let huge = good.replace("9007199254740991", "99999999999999999999999");
        assert_eq!(
            SavedSession::from_record(huge.as_bytes()),
            Err(RestoreError::NumberTooLarge)
        );
        let long = good.replace(r#""tok":"t""#, &format!(r#""tok":"{}""#, "x".repeat(257)));
        assert_eq!(
            SavedSession::from_record(long.as_bytes()),
            Err(RestoreError::TokenTooLong)
        );
        let longest = good.replace(r#""tok":"t""#, &format!(r#""tok":"{}""#, "x".repeat(256)));
        assert_eq!(
            SavedSession::from_record(longest.as_bytes()).map(|s| s.tok.len()),
            Ok(256)
        );
    }
}
