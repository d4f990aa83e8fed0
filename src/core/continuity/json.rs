//! The little JSON that control frames need: a reader that checks the full JSON syntax (so
//! any value in an unknown field can be skipped) and decodes strings, and a writer for
//! strings and unsigned integers. Nothing here allocates except into a caller's `String`.

use alloc::string::String;
use core::ops::Range;

use super::frame::FrameError;

/// How deeply objects and arrays may nest, the control frame's own object included. Bounds
/// the reader's recursion, whatever the input.
pub(crate) const MAX_DEPTH: usize = 8;

/// A cursor over the bytes of one JSON text. It never reads past the end: every byte is
/// taken through `peek`, which returns `None` there.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Takes the next byte, if any.
    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    /// Takes the next byte if it is `byte`.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8) -> Result<(), FrameError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(FrameError::JsonSyntax)
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Reads one object, the whole text (whitespace may follow it), calling `member` with each
    /// key, decoded, and the byte range of its value (already checked to be valid JSON).
    /// Keys longer than [`Key`] holds are passed as `None`: they cannot be ours.
    pub(crate) fn object(
        mut self,
        mut member: impl FnMut(Option<&str>, Range<usize>),
    ) -> Result<(), FrameError> {
        self.skip_ws();
        self.expect(b'{')?;
        self.skip_ws();
        if !self.eat(b'}') {
            loop {
                self.skip_ws();
                let mut key = Key::new();
                self.string(&mut |s| key.push(s))?;
                self.skip_ws();
                self.expect(b':')?;
                self.skip_ws();
                let start = self.pos;
                self.skip_value(2)?;
                member(key.as_str(), start..self.pos);
                self.skip_ws();
                if !self.eat(b',') {
                    self.expect(b'}')?;
                    break;
                }
            }
        }
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(FrameError::JsonSyntax),
        }
    }

    /// Skips one value of any kind, checking its syntax. `depth` is the nesting level an
    /// object or array here would have.
    fn skip_value(&mut self, depth: usize) -> Result<(), FrameError> {
        match self.peek() {
            Some(b'{') | Some(b'[') if depth > MAX_DEPTH => Err(FrameError::JsonTooDeep),
            Some(b'{') => {
                self.pos += 1;
                self.skip_ws();
                if self.eat(b'}') {
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.string(&mut |_| {})?;
                    self.skip_ws();
                    self.expect(b':')?;
                    self.skip_ws();
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    if !self.eat(b',') {
                        return self.expect(b'}');
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                self.skip_ws();
                if self.eat(b']') {
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    if !self.eat(b',') {
                        return self.expect(b']');
                    }
                }
            }
            Some(b'"') => self.string(&mut |_| {}),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(FrameError::JsonSyntax),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), FrameError> {
        let end = self.pos.saturating_add(word.len());
        if self.bytes.get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(())
        } else {
            Err(FrameError::JsonSyntax)
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<(), FrameError> {
        self.eat(b'-');
        if !self.eat(b'0') && self.digits() == 0 {
            return Err(FrameError::JsonSyntax);
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(FrameError::JsonSyntax);
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err(FrameError::JsonSyntax);
            }
        }
        Ok(())
    }

    /// Reads a string, passing its decoded text to `sink` piece by piece.
    pub(crate) fn string(&mut self, sink: &mut impl FnMut(&str)) -> Result<(), FrameError> {
        if !self.eat(b'"') {
            return Err(FrameError::JsonSyntax);
        }
        loop {
            // The run of plain bytes up to the next quote, backslash or control byte. Those
            // are ASCII, so the run never splits a UTF-8 sequence and is checked whole.
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            let run = self.bytes.get(start..self.pos).unwrap_or_default();
            sink(core::str::from_utf8(run).map_err(|_| FrameError::JsonString)?);
            match self.next() {
                Some(b'"') => return Ok(()),
                Some(b'\\') => {
                    let decoded = self.escape()?;
                    sink(decoded.encode_utf8(&mut [0; 4]));
                }
                // A raw control character, or the end of the text inside a string.
                _ => return Err(FrameError::JsonString),
            }
        }
    }

    /// The character an escape stands for, the backslash already taken.
    fn escape(&mut self) -> Result<char, FrameError> {
        let simple = match self.next() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(),
            _ => return Err(FrameError::JsonString),
        };
        Ok(simple)
    }

    /// `\uXXXX`, the `\u` already taken: one code point, or a surrogate pair written as two
    /// escapes. A lone surrogate is refused (it is not a character).
    fn unicode_escape(&mut self) -> Result<char, FrameError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !(self.eat(b'\\') && self.eat(b'u')) {
                    return Err(FrameError::JsonString);
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(FrameError::JsonString);
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            _ => first,
        };
        // Also refuses a lone low surrogate.
        char::from_u32(code).ok_or(FrameError::JsonString)
    }

    fn hex4(&mut self) -> Result<u32, FrameError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self.next().and_then(|b| char::from(b).to_digit(16));
            value = value * 16 + digit.ok_or(FrameError::JsonString)?;
        }
        Ok(value)
    }
}

/// A decoded object key, kept only if it is short enough to be one of ours.
struct Key {
    text: [u8; 16],
    len: usize,
    too_long: bool,
}

impl Key {
    fn new() -> Self {
        Key {
            text: [0; 16],
            len: 0,
            too_long: false,
        }
    }

    fn push(&mut self, piece: &str) {
        let end = self.len.saturating_add(piece.len());
        // (Pieces after one that did not fit may still be copied: `as_str` says None then.)
        match self.text.get_mut(self.len..end) {
            Some(room) => {
                room.copy_from_slice(piece.as_bytes());
                self.len = end;
            }
            _ => self.too_long = true,
        }
    }

    fn as_str(&self) -> Option<&str> {
        if self.too_long {
            return None;
        }
        // Whole UTF-8 pieces were copied in, so this always succeeds.
        core::str::from_utf8(self.text.get(..self.len)?).ok()
    }
}

/// Appends the text of the JSON string that is the whole of `value` (a range the reader
/// checked) to `out`. False when `value` is not a string.
pub(crate) fn decode_string(value: &[u8], out: &mut String) -> bool {
    value.first() == Some(&b'"') && Reader::new(value).string(&mut |s| out.push_str(s)).is_ok()
}

/// The value of a JSON number that is a plain non-negative integer (no sign, fraction or
/// exponent) of at most `max`; `None` for anything else.
pub(crate) fn as_uint(value: &[u8], max: u64) -> Option<u64> {
    // 20 digits hold any u64; more cannot be in range (the syntax has no leading zeros).
    if value.is_empty() || value.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in value {
        let digit = char::from(b).to_digit(10)?;
        n = n.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    (n <= max).then_some(n)
}

/// The decimal digits of `n`, on the stack.
pub(crate) struct Digits {
    text: [u8; 20],
    start: usize,
}

impl Digits {
    pub(crate) fn new(mut n: u64) -> Self {
        let mut text = [b'0'; 20];
        let mut start = text.len();
        loop {
            start -= 1;
            if let Some(slot) = text.get_mut(start) {
                // n % 10 < 10, so the cast cannot truncate.
                *slot = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || start == 0 {
                break;
            }
        }
        Digits { text, start }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.text.get(self.start..).unwrap_or_default()
    }

    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// Appends `n` in decimal.
pub(crate) fn push_uint(out: &mut String, n: u64) {
    out.push_str(Digits::new(n).as_str());
}

/// Appends `text` as a JSON string: quotes, backslashes and control characters escaped
/// (the controls as `\u00XX`), everything else as it is.
pub(crate) fn push_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0'..='\u{1f}' => {
                let low = usize::from(c as u8 & 0xf);
                out.push_str(if (c as u8) < 0x10 { "\\u000" } else { "\\u001" });
                out.push(char::from(*HEX.get(low).unwrap_or(&b'0')));
            }
            _ => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn skip(text: &str) -> Result<(), FrameError> {
        let mut r = Reader::new(text.as_bytes());
        r.skip_value(1)?;
        match r.peek() {
            None => Ok(()),
            Some(_) => Err(FrameError::JsonSyntax),
        }
    }

    fn decode(text: &str) -> Option<String> {
        let mut out = String::new();
        decode_string(text.as_bytes(), &mut out).then_some(out)
    }

    #[test]
    fn values_of_every_kind_are_skipped() {
        for ok in [
            "0",
            "-0",
            "12",
            "-1.5e+10",
            "1E3",
            "0.25",
            "true",
            "false",
            "null",
            r#""a\"b""#,
            "[]",
            "{}",
            r#"[1, {"a": [true, null]}, "x"]"#,
            "{ \"k\" :\t\"v\" ,\n\"k2\":[ ] }",
        ] {
            assert_eq!(skip(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "tru",
            "nul",
            "[1,]",
            "[1 2]",
            "{\"a\"}",
            "{\"a\":}",
            "{,}",
            "{a:1}",
            "'x'",
            "[",
            "{\"a\":1,}",
            "\"abc",
        ] {
            assert!(skip(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        // skip_value(1) counts the outer array as level 1.
        let at_limit = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert_eq!(skip(&at_limit), Ok(()));
        let over = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(skip(&over), Err(FrameError::JsonTooDeep));
        let objects = "{\"a\":".repeat(MAX_DEPTH + 1) + "1" + &"}".repeat(MAX_DEPTH + 1);
        assert_eq!(skip(&objects), Err(FrameError::JsonTooDeep));
        // A deep input is refused without recursing through all of it.
        assert_eq!(skip(&"[".repeat(100_000)), Err(FrameError::JsonTooDeep));
    }

    #[test]
    fn strings_decode_every_escape() {
        assert_eq!(
            decode(r#""a\"\\\/\b\f\n\r\t""#).as_deref(),
            Some("a\"\\/\u{8}\u{c}\n\r\t")
        );
        assert_eq!(decode(r#""\u0041\u00e9\u20AC""#).as_deref(), Some("Aé€"));
        assert_eq!(decode(r#""\ud83d\ude00 ok""#).as_deref(), Some("😀 ok"));
        assert_eq!(decode("\"héllo €😀\"").as_deref(), Some("héllo €😀"));
        assert_eq!(decode(r#""""#).as_deref(), Some(""));
    }

    #[test]
    fn bad_strings_are_refused() {
        for bad in [
            r#""\ud83d""#,       // lone high surrogate
            r#""\ud83dx""#,      // high surrogate followed by something else
            r#""\ud83d\u0041""#, // high surrogate followed by a non-surrogate
            r#""\ude00""#,       // lone low surrogate
            r#""\x""#,
            r#""\u12""#,
            r#""\u12g4""#,
            "\"tab\there\"",
            "\"nl\nhere\"",
            "\"unterminated",
            "\"ends in escape\\",
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        // Invalid UTF-8 inside a string.
        let mut out = String::new();
        assert!(!decode_string(b"\"\xff\"", &mut out));
        assert!(!decode_string(b"\"\xe2\x82\"", &mut out));
    }

    #[test]
    fn keys_longer_than_ours_are_not_kept() {
        let mut keys: Vec<Option<String>> = Vec::new();
        Reader::new(br#"{"windowBytes":1,"\u0074":2,"aaaaaaaaaaaaaaaaa":3}"#)
            .object(|key, _| keys.push(key.map(String::from)))
            .unwrap();
        assert_eq!(keys, [Some("windowBytes".into()), Some("t".into()), None]);
    }

    #[test]
    fn unsigned_integers() {
        assert_eq!(as_uint(b"0", 10), Some(0));
        assert_eq!(as_uint(b"10", 10), Some(10));
        assert_eq!(as_uint(b"11", 10), None);
        assert_eq!(as_uint(b"18446744073709551615", u64::MAX), Some(u64::MAX));
        assert_eq!(as_uint(b"18446744073709551616", u64::MAX), None);
        for bad in [
            &b""[..],
            b"-1",
            b"1.0",
            b"1e2",
            b"\"1\"",
            b"123456789012345678901",
        ] {
            assert_eq!(as_uint(bad, u64::MAX), None);
        }
    }

    #[test]
    fn writer() {
        let mut out = String::new();
        push_uint(&mut out, 0);
        out.push(' ');
        push_uint(&mut out, u64::MAX);
        assert_eq!(out, "0 18446744073709551615");
        let text = "q\"b\\c\u{0}\u{1f}\u{7f}é😀\n";
        let mut out = String::new();
        push_string(&mut out, text);
        assert_eq!(out, "\"q\\\"b\\\\c\\u0000\\u001f\u{7f}é😀\\u000a\"");
        assert_eq!(decode(&out).as_deref(), Some(text));
    }
}
