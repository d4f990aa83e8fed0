//! The frame codec: the only code that reads the peer's bytes. Every parser takes any bytes
//! and returns an error, never panics; every writer produces only frames the parsers accept.

use alloc::string::String;
use core::fmt;
use core::ops::Range;

use super::json::{as_uint, decode_string, push_string, push_uint, Digits, Reader};

/// The largest `seq` or `ack`: 2^53 − 1, so that JavaScript numbers hold every value exactly.
pub const MAX_SEQ: u64 = (1 << 53) - 1;

/// The longest data header: `D`, 16 digits, `,`, 16 digits, `;`. A prefix of this many bytes
/// of a data frame holds its whole header.
pub const MAX_DATA_HEADER_BYTES: usize = 35;

/// The longest `A` frame: `A` and 16 digits.
const MAX_ACK_BYTES: usize = 17;

/// The largest control frame accepted; a larger one is a protocol error. What this crate
/// writes always fits (see [`MAX_TOKEN_BYTES`]).
pub const MAX_CONTROL_BYTES: usize = 4096;

/// The longest `sid` or `tok`, in bytes of UTF-8 once decoded.
pub const MAX_TOKEN_BYTES: usize = 256;

/// The largest message window a `welcome` may state (`"window"`).
pub const MAX_WINDOW_MESSAGES: u32 = 65536;

/// What a frame is, told by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// `{`: a JSON control frame ([`parse_control`]).
    Control,
    /// `D`: a data frame ([`parse_data_header`]).
    Data,
    /// `A`: an ack frame ([`parse_ack`]).
    Ack,
}

/// The kind of a frame from its first byte (`None` for an empty frame or an unknown first
/// byte: a protocol error). Control and ack frames must also be text frames; the opcode is
/// the caller's to check.
pub fn kind_of(first: Option<u8>) -> Option<FrameKind> {
    match first? {
        b'{' => Some(FrameKind::Control),
        b'D' => Some(FrameKind::Data),
        b'A' => Some(FrameKind::Ack),
        _ => None,
    }
}

/// A malformed frame: the side that reads it closes with 4002
/// ([`CLOSE_PROTOCOL_ERROR`](super::CLOSE_PROTOCOL_ERROR)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// A data header must start with `D`.
    NotData,
    /// The data header's seq is missing, has a leading zero or is not decimal.
    SeqSyntax,
    /// The data header's seq is 0 or above [`MAX_SEQ`].
    SeqRange,
    /// The data header's seq must be followed by `,`.
    NoComma,
    /// The data header's ack is missing, has a leading zero or is not decimal.
    HeaderAckSyntax,
    /// The data header's ack is above [`MAX_SEQ`].
    HeaderAckRange,
    /// The data header's ack must be followed by `;` (also: the frame ends before it).
    NoSemicolon,
    /// An ack frame must start with `A`.
    NotAck,
    /// An ack frame must be `A` and a decimal number without leading zeros, nothing more.
    AckSyntax,
    /// The ack frame's number is above [`MAX_SEQ`].
    AckRange,
    /// A control frame must not be larger than [`MAX_CONTROL_BYTES`].
    ControlTooLarge,
    /// A control frame must start with `{`.
    NotControl,
    /// The control frame is not one JSON object.
    JsonSyntax,
    /// A JSON string holds a bad escape, a raw control character, a lone surrogate or
    /// invalid UTF-8.
    JsonString,
    /// The JSON nests deeper than 8 levels (the frame's object included).
    JsonTooDeep,
    /// Field `t` names no control frame of this version.
    UnknownType,
    /// `hello`'s `v` is not 1.
    Version,
    /// A required field is missing.
    MissingField(&'static str),
    /// A field appears twice.
    DuplicateField(&'static str),
    /// A field has the wrong JSON type or a value out of its range.
    BadField(&'static str),
    /// `sid` or `tok` is longer than [`MAX_TOKEN_BYTES`].
    TokenTooLong(&'static str),
    /// `welcome` must carry `reason` exactly when `resumed` is false.
    ReasonMismatch,
}

impl FrameError {
    /// A message naming the problem (the field, if any, is [`FrameError::field`]).
    pub fn message(self) -> &'static str {
        match self {
            FrameError::NotData => "data header: the frame does not start with 'D'",
            FrameError::SeqSyntax => "data header: seq is not a decimal number without leading zeros",
            FrameError::SeqRange => "data header: seq out of range (1 to 2^53-1)",
            FrameError::NoComma => "data header: ',' expected after seq",
            FrameError::HeaderAckSyntax => "data header: ack is not a decimal number without leading zeros",
            FrameError::HeaderAckRange => "data header: ack out of range (0 to 2^53-1)",
            FrameError::NoSemicolon => "data header: ';' expected after ack",
            FrameError::NotAck => "ack frame: the frame does not start with 'A'",
            FrameError::AckSyntax => "ack frame: not 'A' and a decimal number without leading zeros",
            FrameError::AckRange => "ack frame: ack out of range (0 to 2^53-1)",
            FrameError::ControlTooLarge => "control frame: larger than 4096 bytes",
            FrameError::NotControl => "control frame: the frame does not start with '{'",
            FrameError::JsonSyntax => "control frame: not one valid JSON object",
            FrameError::JsonString => "control frame: invalid JSON string",
            FrameError::JsonTooDeep => "control frame: JSON nested deeper than 8 levels",
            FrameError::UnknownType => "control frame: unknown type t",
            FrameError::Version => "hello: unsupported protocol version (v must be 1)",
            FrameError::MissingField(_) => "control frame: missing field",
            FrameError::DuplicateField(_) => "control frame: duplicated field",
            FrameError::BadField(_) => "control frame: field of the wrong type or out of range",
            FrameError::TokenTooLong(_) => "control frame: token longer than 256 bytes",
            FrameError::ReasonMismatch => "welcome: reason must be present exactly when resumed is false",
        }
    }

    /// The JSON name of the field the error is about, if it is about one.
    pub fn field(self) -> Option<&'static str> {
        match self {
            FrameError::MissingField(name)
            | FrameError::DuplicateField(name)
            | FrameError::BadField(name)
            | FrameError::TokenTooLong(name) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())?;
        if let Some(name) = self.field() {
            f.write_str(": ")?;
            f.write_str(name)?;
        }
        Ok(())
    }
}

impl core::error::Error for FrameError {}

// ---------------------------------------------------------------------------------------
// Data and ack frames

/// A data frame's header `D<seq>,<ack>;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHeader {
    /// The message's number, 1..=[`MAX_SEQ`].
    pub seq: u64,
    /// The sender's cumulative ack of the other direction, 0..=[`MAX_SEQ`].
    pub ack: u64,
    /// The header's length in bytes: the payload starts there. The header is ASCII, so this
    /// is also its length in UTF-16 code units (for slicing a JS string).
    pub len: usize,
}

/// Why a decimal number was refused.
enum NumberError {
    Syntax,
    Range,
}

/// Reads the decimal number at `start` of `bytes` (no sign, no leading zero, at most
/// [`MAX_SEQ`]): its value and the index just after it.
fn decimal(bytes: &[u8], start: usize) -> Result<(u64, usize), NumberError> {
    let rest = bytes.get(start..).unwrap_or_default();
    // Seventeen digits are enough to know the number is too long.
    let digits = rest.iter().take(17).take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || (digits > 1 && rest.first() == Some(&b'0')) {
        return Err(NumberError::Syntax);
    }
    let value = as_uint(rest.get(..digits).unwrap_or_default(), MAX_SEQ).ok_or(NumberError::Range)?;
    Ok((value, start + digits))
}

/// Parses the header of a data frame (text or binary). `prefix` may be the whole frame or
/// any prefix of it at least [`MAX_DATA_HEADER_BYTES`] long (or up to the frame's end): the
/// payload is never looked at. For a text frame, pass the bytes of its string.
pub fn parse_data_header(prefix: &[u8]) -> Result<DataHeader, FrameError> {
    if prefix.first() != Some(&b'D') {
        return Err(FrameError::NotData);
    }
    let (seq, seq_end) = decimal(prefix, 1).map_err(|e| match e {
        NumberError::Syntax => FrameError::SeqSyntax,
        NumberError::Range => FrameError::SeqRange,
    })?;
    if seq == 0 {
        return Err(FrameError::SeqRange);
    }
    if prefix.get(seq_end) != Some(&b',') {
        return Err(FrameError::NoComma);
    }
    let (ack, ack_end) = decimal(prefix, seq_end + 1).map_err(|e| match e {
        NumberError::Syntax => FrameError::HeaderAckSyntax,
        NumberError::Range => FrameError::HeaderAckRange,
    })?;
    if prefix.get(ack_end) != Some(&b';') {
        return Err(FrameError::NoSemicolon);
    }
    Ok(DataHeader {
        seq,
        ack,
        len: ack_end + 1,
    })
}

/// Parses a whole ack frame `A<ack>`.
pub fn parse_ack(frame: &[u8]) -> Result<u64, FrameError> {
    if frame.first() != Some(&b'A') {
        return Err(FrameError::NotAck);
    }
    match decimal(frame, 1) {
        Ok((ack, end)) if end == frame.len() => Ok(ack),
        Err(NumberError::Range) => Err(FrameError::AckRange),
        _ => Err(FrameError::AckSyntax),
    }
}

/// A few bytes of ASCII on the stack.
#[derive(Debug, Clone, Copy)]
struct StackText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

/// Equal when the texts are: the unused tail of the buffer does not count.
impl<const N: usize> PartialEq for StackText<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: usize> Eq for StackText<N> {}

impl<const N: usize> StackText<N> {
    fn new() -> Self {
        StackText {
            bytes: [0; N],
            len: 0,
        }
    }

    /// Appends `more`. The callers size `N` for their longest text, so nothing is ever cut.
    fn push(&mut self, more: &[u8]) {
        let end = self.len + more.len();
        if let Some(room) = self.bytes.get_mut(self.len..end) {
            room.copy_from_slice(more);
            self.len = end;
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn as_str(&self) -> &str {
        // Only ASCII is ever pushed.
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// A data header `D<seq>,<ack>;` written on the stack, for the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHeaderBuf(StackText<MAX_DATA_HEADER_BYTES>);

impl DataHeaderBuf {
    /// The header for message `seq` (1..=[`MAX_SEQ`]) carrying `ack` (0..=[`MAX_SEQ`]).
    pub fn new(seq: u64, ack: u64) -> Result<Self, FrameError> {
        if !(1..=MAX_SEQ).contains(&seq) {
            return Err(FrameError::SeqRange);
        }
        if ack > MAX_SEQ {
            return Err(FrameError::HeaderAckRange);
        }
        let mut text = StackText::new();
        text.push(b"D");
        text.push(Digits::new(seq).as_bytes());
        text.push(b",");
        text.push(Digits::new(ack).as_bytes());
        text.push(b";");
        Ok(DataHeaderBuf(text))
    }

    /// The header's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The header as text (ASCII).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// An ack frame `A<ack>` written on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckBuf(StackText<MAX_ACK_BYTES>);

impl AckBuf {
    /// The ack frame for `ack` (0..=[`MAX_SEQ`]).
    pub fn new(ack: u64) -> Result<Self, FrameError> {
        if ack > MAX_SEQ {
            return Err(FrameError::AckRange);
        }
        let mut text = StackText::new();
        text.push(b"A");
        text.push(Digits::new(ack).as_bytes());
        Ok(AckBuf(text))
    }

    /// The frame's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The frame as text (ASCII).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

// ---------------------------------------------------------------------------------------
// Control frames

/// A control frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// `hello`: the client's first frame on every connection.
    Hello(Hello),
    /// `welcome`: the server's answer to `hello`.
    Welcome(Welcome),
    /// `bye`: the sender is closing on purpose; the peer forgets the session.
    Bye,
    /// `ping`: the client asks for a `pong` (its heartbeat), after a `welcome` that said
    /// `"ping":true`.
    Ping,
    /// `pong`: the server's answer to a `ping`, written at once.
    Pong,
}

/// `{"t":"hello","v":1,"sid":S|null,"tok":T|null,"rx":N}`, and this crate's optional
/// `"window":N` and `"windowBytes":B`, as in [`Welcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The session to resume (`null`: none). Each of `sid` and `tok` may be null on its own;
    /// what that means is the server's to decide.
    pub sid: Option<String>,
    /// The session's token from the last `welcome` (`null`: none).
    pub tok: Option<String>,
    /// The highest server seq the client has delivered in order (0: none).
    pub rx: u64,
    /// The client's message window for what it sends, if it states one (`"window"`): the
    /// server's half-window ack rule uses it.
    pub window: Option<u32>,
    /// The client's byte window, if it states one (`"windowBytes"`).
    pub window_bytes: Option<u64>,
}

/// `{"t":"welcome","sid":S,"tok":T,"resumed":B,"rx":N,"ttl":MS,"reason":R?}`, and this
/// crate's optional `"window":N` (messages, 1..=65536) and `"windowBytes":B`
/// (1..=[`MAX_SEQ`]), each independent of the other, and `"ping":true` (the server answers
/// `ping` with `pong`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    /// The session's id.
    pub sid: String,
    /// The session's token for the next `hello` (rotated on every `welcome`).
    pub tok: String,
    /// Whether the session in the `hello` was resumed.
    pub resumed: bool,
    /// The highest client seq the server has taken in order (0: none).
    pub rx: u64,
    /// How long the server keeps the session after its socket drops, in ms (`"ttl"`).
    pub ttl_ms: u64,
    /// Why no session was resumed: present exactly when `resumed` is false.
    pub reason: Option<ResumeReason>,
    /// The server's message window for the session, if it states one (`"window"`).
    pub window: Option<u32>,
    /// The server's byte window for the session, if it states one (`"windowBytes"`).
    pub window_bytes: Option<u64>,
    /// Whether the server answers `ping` with `pong` (`"ping":true`; absent: false).
    pub ping: bool,
}

/// Why a `welcome` did not resume the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeReason {
    /// The `hello` named no session.
    New,
    /// The server does not know the session (never issued, forgotten after `bye`, or lost).
    Unknown,
    /// The session outlived its `ttl`.
    Expired,
    /// The token or the app's authentication was refused.
    Auth,
    /// The server's buffer for the absent client overflowed.
    Overflow,
}

impl ResumeReason {
    /// The reason as written on the wire: `"new"`, `"unknown"`, `"expired"`, `"auth"` or
    /// `"overflow"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResumeReason::New => "new",
            ResumeReason::Unknown => "unknown",
            ResumeReason::Expired => "expired",
            ResumeReason::Auth => "auth",
            ResumeReason::Overflow => "overflow",
        }
    }

    fn from_wire(name: &str) -> Option<Self> {
        [
            ResumeReason::New,
            ResumeReason::Unknown,
            ResumeReason::Expired,
            ResumeReason::Auth,
            ResumeReason::Overflow,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == name)
    }
}

/// The field names this crate reads; any other field is ignored.
const KNOWN_FIELDS: [&str; 11] = [
    "t",
    "v",
    "sid",
    "tok",
    "rx",
    "resumed",
    "ttl",
    "reason",
    "window",
    "windowBytes",
    "ping",
];

/// Where a known field's value is.
#[derive(Debug)]
enum Slot {
    Absent,
    Once(Range<usize>),
    Repeated,
}

/// The known fields of one control frame, found in one pass. Which ones matter, and whether
/// a repeat is an error, depends on `t`, which may come anywhere in the object.
struct Fields<'a> {
    frame: &'a [u8],
    slots: [Slot; KNOWN_FIELDS.len()],
}

impl<'a> Fields<'a> {
    fn read(frame: &'a [u8]) -> Result<Self, FrameError> {
        let mut slots = [const { Slot::Absent }; KNOWN_FIELDS.len()];
        Reader::new(frame).object(|key, value| {
            let known = key.and_then(|key| KNOWN_FIELDS.iter().position(|name| *name == key));
            if let Some(slot) = known.and_then(|i| slots.get_mut(i)) {
                *slot = match slot {
                    Slot::Absent => Slot::Once(value),
                    _ => Slot::Repeated,
                };
            }
        })?;
        Ok(Fields { frame, slots })
    }

    /// The JSON text of field `name`'s value, if present once.
    fn optional(&self, name: &'static str) -> Result<Option<&'a [u8]>, FrameError> {
        let slot = KNOWN_FIELDS
            .iter()
            .position(|known| *known == name)
            .and_then(|i| self.slots.get(i));
        match slot {
            Some(Slot::Once(value)) => Ok(self.frame.get(value.clone())),
            Some(Slot::Repeated) => Err(FrameError::DuplicateField(name)),
            _ => Ok(None),
        }
    }

    fn required(&self, name: &'static str) -> Result<&'a [u8], FrameError> {
        self.optional(name)?.ok_or(FrameError::MissingField(name))
    }

    /// A non-negative integer of at most `max`.
    fn uint(&self, name: &'static str, max: u64) -> Result<u64, FrameError> {
        as_uint(self.required(name)?, max).ok_or(FrameError::BadField(name))
    }

    fn bool(&self, name: &'static str) -> Result<bool, FrameError> {
        match self.required(name)? {
            b"true" => Ok(true),
            b"false" => Ok(false),
            _ => Err(FrameError::BadField(name)),
        }
    }

    /// `sid` or `tok`: a string of at most [`MAX_TOKEN_BYTES`]; `null` too if `nullable`.
    fn token(&self, name: &'static str, nullable: bool) -> Result<Option<String>, FrameError> {
        let value = self.required(name)?;
        if nullable && value == b"null" {
            return Ok(None);
        }
        let text = string(value, name)?;
        if text.len() > MAX_TOKEN_BYTES {
            return Err(FrameError::TokenTooLong(name));
        }
        Ok(Some(text))
    }
}

/// The text of a JSON string value.
fn string(value: &[u8], name: &'static str) -> Result<String, FrameError> {
    let mut text = String::new();
    if decode_string(value, &mut text) {
        Ok(text)
    } else {
        Err(FrameError::BadField(name))
    }
}

/// Parses a control frame (the bytes of a text frame). Unknown fields are ignored, whatever
/// their value (nesting at most 8 levels deep); known ones must appear once.
pub fn parse_control(frame: &[u8]) -> Result<Control, FrameError> {
    if frame.len() > MAX_CONTROL_BYTES {
        return Err(FrameError::ControlTooLarge);
    }
    if frame.first() != Some(&b'{') {
        return Err(FrameError::NotControl);
    }
    let fields = Fields::read(frame)?;
    match string(fields.required("t")?, "t")?.as_str() {
        "hello" => parse_hello(&fields).map(Control::Hello),
        "welcome" => parse_welcome(&fields).map(Control::Welcome),
        "bye" => Ok(Control::Bye),
        "ping" => Ok(Control::Ping),
        "pong" => Ok(Control::Pong),
        _ => Err(FrameError::UnknownType),
    }
}

fn parse_hello(fields: &Fields<'_>) -> Result<Hello, FrameError> {
    if fields.required("v")? != b"1" {
        return Err(FrameError::Version);
    }
    let sid = fields.token("sid", true)?;
    let tok = fields.token("tok", true)?;
    let rx = fields.uint("rx", MAX_SEQ)?;
    let (window, window_bytes) = optional_windows(fields)?;
    Ok(Hello {
        sid,
        tok,
        rx,
        window,
        window_bytes,
    })
}

/// The optional `window` (1..=65536 messages) and `windowBytes` (1..=2^53−1) of a `hello`
/// or a `welcome`.
fn optional_windows(fields: &Fields<'_>) -> Result<(Option<u32>, Option<u64>), FrameError> {
    let read = |name: &'static str, max: u64| match fields.optional(name)? {
        None => Ok(None),
        Some(value) => as_uint(value, max)
            .filter(|&n| n >= 1)
            .map(Some)
            .ok_or(FrameError::BadField(name)),
    };
    let window = read("window", u64::from(MAX_WINDOW_MESSAGES))?;
    let bytes = read("windowBytes", MAX_SEQ)?;
    // (At most 65536 messages: it fits.)
    Ok((window.and_then(|n| u32::try_from(n).ok()), bytes))
}

fn parse_welcome(fields: &Fields<'_>) -> Result<Welcome, FrameError> {
    let sid = fields.token("sid", false)?.unwrap_or_default();
    let tok = fields.token("tok", false)?.unwrap_or_default();
    let resumed = fields.bool("resumed")?;
    let rx = fields.uint("rx", MAX_SEQ)?;
    let ttl_ms = fields.uint("ttl", MAX_SEQ)?;
    let reason = match fields.optional("reason")? {
        None => None,
        Some(value) => {
            let reason = ResumeReason::from_wire(&string(value, "reason")?);
            Some(reason.ok_or(FrameError::BadField("reason"))?)
        }
    };
    if reason.is_some() == resumed {
        return Err(FrameError::ReasonMismatch);
    }
    let (window, window_bytes) = optional_windows(fields)?;
    let ping = fields.optional("ping")?.is_some() && fields.bool("ping")?;
    Ok(Welcome {
        sid,
        tok,
        resumed,
        rx,
        ttl_ms,
        reason,
        window,
        window_bytes,
        ping,
    })
}

fn check_token(token: &str, name: &'static str) -> Result<(), FrameError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(FrameError::TokenTooLong(name));
    }
    Ok(())
}

fn check_uint(n: u64, name: &'static str) -> Result<(), FrameError> {
    if n > MAX_SEQ {
        return Err(FrameError::BadField(name));
    }
    Ok(())
}

/// Appends `{"t":"hello","v":1,"sid":...,"tok":...,"rx":N[,"window":N][,"windowBytes":B]}`
/// to `out`. Refuses (writing nothing) what [`parse_control`] would refuse: a token longer
/// than [`MAX_TOKEN_BYTES`], an `rx` above [`MAX_SEQ`], a window of 0 or above its bound.
pub fn write_hello(out: &mut String, hello: &Hello) -> Result<(), FrameError> {
    check_token(hello.sid.as_deref().unwrap_or_default(), "sid")?;
    check_token(hello.tok.as_deref().unwrap_or_default(), "tok")?;
    check_uint(hello.rx, "rx")?;
    check_windows(hello.window, hello.window_bytes)?;
    out.push_str("{\"t\":\"hello\",\"v\":1,\"sid\":");
    push_string_or_null(out, hello.sid.as_deref());
    out.push_str(",\"tok\":");
    push_string_or_null(out, hello.tok.as_deref());
    out.push_str(",\"rx\":");
    push_uint(out, hello.rx);
    push_windows(out, hello.window, hello.window_bytes);
    out.push('}');
    Ok(())
}

fn check_windows(window: Option<u32>, bytes: Option<u64>) -> Result<(), FrameError> {
    if window.is_some_and(|n| !(1..=MAX_WINDOW_MESSAGES).contains(&n)) {
        return Err(FrameError::BadField("window"));
    }
    if bytes.is_some_and(|n| !(1..=MAX_SEQ).contains(&n)) {
        return Err(FrameError::BadField("windowBytes"));
    }
    Ok(())
}

fn push_windows(out: &mut String, window: Option<u32>, bytes: Option<u64>) {
    if let Some(window) = window {
        out.push_str(",\"window\":");
        push_uint(out, window.into());
    }
    if let Some(bytes) = bytes {
        out.push_str(",\"windowBytes\":");
        push_uint(out, bytes);
    }
}

fn push_string_or_null(out: &mut String, text: Option<&str>) {
    match text {
        Some(text) => push_string(out, text),
        None => out.push_str("null"),
    }
}

/// Appends `{"t":"welcome","sid":..,"tok":..,"resumed":B,"rx":N,"ttl":MS[,"reason":R]
/// [,"window":N][,"windowBytes":B][,"ping":true]}` to `out`. Refuses (writing nothing) what
/// [`parse_control`] would refuse: a token too long, a number out of range, a window of 0 or
/// above its bound, a `reason` that does not match `resumed`.
pub fn write_welcome(out: &mut String, welcome: &Welcome) -> Result<(), FrameError> {
    check_token(&welcome.sid, "sid")?;
    check_token(&welcome.tok, "tok")?;
    check_uint(welcome.rx, "rx")?;
    check_uint(welcome.ttl_ms, "ttl")?;
    if welcome.reason.is_some() == welcome.resumed {
        return Err(FrameError::ReasonMismatch);
    }
    check_windows(welcome.window, welcome.window_bytes)?;
    out.push_str("{\"t\":\"welcome\",\"sid\":");
    push_string(out, &welcome.sid);
    out.push_str(",\"tok\":");
    push_string(out, &welcome.tok);
    out.push_str(if welcome.resumed {
        ",\"resumed\":true,\"rx\":"
    } else {
        ",\"resumed\":false,\"rx\":"
    });
    push_uint(out, welcome.rx);
    out.push_str(",\"ttl\":");
    push_uint(out, welcome.ttl_ms);
    if let Some(reason) = welcome.reason {
        out.push_str(",\"reason\":\"");
        out.push_str(reason.as_str());
        out.push('"');
    }
    push_windows(out, welcome.window, welcome.window_bytes);
    if welcome.ping {
        out.push_str(",\"ping\":true");
    }
    out.push('}');
    Ok(())
}

/// Appends `{"t":"bye"}` to `out`.
pub fn write_bye(out: &mut String) {
    out.push_str("{\"t\":\"bye\"}");
}

/// The `ping` frame: `{"t":"ping"}`.
pub const PING: &str = "{\"t\":\"ping\"}";

/// The `pong` frame: `{"t":"pong"}`.
pub const PONG: &str = "{\"t\":\"pong\"}";

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn header(text: &str) -> Result<(u64, u64, usize), FrameError> {
        parse_data_header(text.as_bytes()).map(|h| (h.seq, h.ack, h.len))
    }

    fn control(text: &str) -> Result<Control, FrameError> {
        parse_control(text.as_bytes())
    }

    fn welcome() -> Welcome {
        Welcome {
            sid: "s1".into(),
            tok: "k1".into(),
            resumed: false,
            rx: 0,
            ttl_ms: 120_000,
            reason: Some(ResumeReason::New),
            window: None,
            window_bytes: None,
            ping: false,
        }
    }

    const HELLO: &str = r#"{"t":"hello","v":1,"sid":"a","tok":"b","rx":3}"#;

    fn hello(sid: Option<&str>, tok: Option<&str>, rx: u64) -> Control {
        Control::Hello(Hello {
            sid: sid.map(Into::into),
            tok: tok.map(Into::into),
            rx,
            window: None,
            window_bytes: None,
        })
    }

    #[test]
    fn kinds() {
        assert_eq!(kind_of(Some(b'{')), Some(FrameKind::Control));
        assert_eq!(kind_of(Some(b'D')), Some(FrameKind::Data));
        assert_eq!(kind_of(Some(b'A')), Some(FrameKind::Ack));
        for other in [None, Some(b' '), Some(b'd'), Some(b'a'), Some(b'['), Some(0)] {
            assert_eq!(kind_of(other), None);
        }
    }

    #[test]
    fn data_headers() {
        assert_eq!(header("D1,0;"), Ok((1, 0, 5)));
        assert_eq!(header("D12,7;payload"), Ok((12, 7, 6)));
        assert_eq!(header("D1,0;;D2,0;"), Ok((1, 0, 5)));
        assert_eq!(
            header("D9007199254740991,9007199254740991;x"),
            Ok((MAX_SEQ, MAX_SEQ, MAX_DATA_HEADER_BYTES))
        );
    }

    #[test]
    fn data_header_errors() {
        for (text, error) in [
            ("", FrameError::NotData),
            ("A1", FrameError::NotData),
            ("d1,0;", FrameError::NotData),
            ("D0,0;", FrameError::SeqRange),
            ("D9007199254740992,0;", FrameError::SeqRange),
            ("D99999999999999999,0;", FrameError::SeqRange), // 17 digits
            ("D00000000000000001,0;", FrameError::SeqSyntax),
            ("D01,0;", FrameError::SeqSyntax),
            ("D00,0;", FrameError::SeqSyntax),
            ("D,0;", FrameError::SeqSyntax),
            ("D+1,0;", FrameError::SeqSyntax),
            ("D-1,0;", FrameError::SeqSyntax),
            ("D 1,0;", FrameError::SeqSyntax),
            ("D", FrameError::SeqSyntax),
            ("D1", FrameError::NoComma),
            ("D1 ,0;", FrameError::NoComma),
            ("D1;0;", FrameError::NoComma),
            ("D1,", FrameError::HeaderAckSyntax),
            ("D1,;", FrameError::HeaderAckSyntax),
            ("D1,00;", FrameError::HeaderAckSyntax),
            ("D1,01;", FrameError::HeaderAckSyntax),
            ("D1, 0;", FrameError::HeaderAckSyntax),
            ("D1,-0;", FrameError::HeaderAckSyntax),
            ("D1,9007199254740992;", FrameError::HeaderAckRange),
            ("D1,12345678901234567;", FrameError::HeaderAckRange),
            ("D1,0", FrameError::NoSemicolon),
            ("D1,0 ;", FrameError::NoSemicolon),
            ("D1,0,", FrameError::NoSemicolon),
        ] {
            assert_eq!(header(text), Err(error), "{text:?}");
        }
    }

    #[test]
    fn data_header_from_a_prefix() {
        let frame = "D9007199254740991,9007199254740991;and a long payload";
        let prefix = frame.as_bytes().get(..MAX_DATA_HEADER_BYTES).unwrap();
        assert_eq!(parse_data_header(prefix), parse_data_header(frame.as_bytes()));
        // One byte short of the header is not a header.
        let short = frame.as_bytes().get(..MAX_DATA_HEADER_BYTES - 1).unwrap();
        assert_eq!(parse_data_header(short), Err(FrameError::NoSemicolon));
    }

    #[test]
    fn acks() {
        assert_eq!(parse_ack(b"A0"), Ok(0));
        assert_eq!(parse_ack(b"A42"), Ok(42));
        assert_eq!(parse_ack(b"A9007199254740991"), Ok(MAX_SEQ));
        for (text, error) in [
            ("", FrameError::NotAck),
            ("D1,0;", FrameError::NotAck),
            ("a1", FrameError::NotAck),
            ("A", FrameError::AckSyntax),
            ("A01", FrameError::AckSyntax),
            ("A00", FrameError::AckSyntax),
            ("A-1", FrameError::AckSyntax),
            ("A1x", FrameError::AckSyntax),
            ("A1 ", FrameError::AckSyntax),
            ("A1;", FrameError::AckSyntax),
            ("A 1", FrameError::AckSyntax),
            ("A9007199254740992", FrameError::AckRange),
            ("A12345678901234567", FrameError::AckRange),
        ] {
            assert_eq!(parse_ack(text.as_bytes()), Err(error), "{text:?}");
        }
    }

    #[test]
    fn buffers_write_what_the_parsers_read() {
        let h = DataHeaderBuf::new(MAX_SEQ, MAX_SEQ).unwrap();
        assert_eq!(h.as_str(), "D9007199254740991,9007199254740991;");
        assert_eq!(h.as_bytes().len(), MAX_DATA_HEADER_BYTES);
        assert_eq!(DataHeaderBuf::new(1, 0).unwrap().as_str(), "D1,0;");
        assert_eq!(DataHeaderBuf::new(0, 0).unwrap_err(), FrameError::SeqRange);
        assert_eq!(
            DataHeaderBuf::new(MAX_SEQ + 1, 0).unwrap_err(),
            FrameError::SeqRange
        );
        assert_eq!(
            DataHeaderBuf::new(1, MAX_SEQ + 1).unwrap_err(),
            FrameError::HeaderAckRange
        );
        assert_eq!(AckBuf::new(0).unwrap().as_str(), "A0");
        assert_eq!(AckBuf::new(MAX_SEQ).unwrap().as_bytes(), b"A9007199254740991");
        assert_eq!(AckBuf::new(MAX_SEQ + 1).unwrap_err(), FrameError::AckRange);
        assert_eq!(AckBuf::new(u64::MAX).unwrap_err(), FrameError::AckRange);
    }

    #[test]
    fn hello_frames() {
        assert_eq!(control(HELLO), Ok(hello(Some("a"), Some("b"), 3)));
        assert_eq!(
            control(r#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":0}"#),
            Ok(hello(None, None, 0))
        );
        // Any order, whitespace, and escapes in keys and values.
        assert_eq!(
            control("{\"rx\" : 9007199254740991 ,\"\\u0074\":\"h\\u0065llo\",\"tok\":null,\"sid\":\"\\\"q\\\\\",\"v\":1}\n"),
            Ok(hello(Some("\"q\\"), None, MAX_SEQ))
        );
    }

    #[test]
    fn hello_errors() {
        for (text, error) in [
            (
                r#"{"t":"hello","v":2,"sid":null,"tok":null,"rx":0}"#,
                FrameError::Version,
            ),
            (
                r#"{"t":"hello","v":1.0,"sid":null,"tok":null,"rx":0}"#,
                FrameError::Version,
            ),
            (
                r#"{"t":"hello","v":"1","sid":null,"tok":null,"rx":0}"#,
                FrameError::Version,
            ),
            (
                r#"{"t":"hello","sid":null,"tok":null,"rx":0}"#,
                FrameError::MissingField("v"),
            ),
            (
                r#"{"t":"hello","v":1,"tok":null,"rx":0}"#,
                FrameError::MissingField("sid"),
            ),
            (
                r#"{"t":"hello","v":1,"sid":null,"rx":0}"#,
                FrameError::MissingField("tok"),
            ),
            (
                r#"{"t":"hello","v":1,"sid":null,"tok":null}"#,
                FrameError::MissingField("rx"),
            ),
            (
                r#"{"v":1,"sid":null,"tok":null,"rx":0}"#,
                FrameError::MissingField("t"),
            ),
            (
                r#"{"t":"hello","v":1,"sid":1,"tok":null,"rx":0}"#,
                FrameError::BadField("sid"),
            ),
            (
                r#"{"t":"hello","v":1,"sid":null,"tok":false,"rx":0}"#,
                FrameError::BadField("tok"),
            ),
            (
                r#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":-1}"#,
                FrameError::BadField("rx"),
            ),
            (
                r#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":1.5}"#,
                FrameError::BadField("rx"),
            ),
            (
                r#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":1e3}"#,
                FrameError::BadField("rx"),
            ),
            (
                r#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":"1"}"#,
                FrameError::BadField("rx"),
            ),
            (
                r#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":9007199254740992}"#,
                FrameError::BadField("rx"),
            ),
            (
                r#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":0,"rx":0}"#,
                FrameError::DuplicateField("rx"),
            ),
            (
                r#"{"t":"hello","t":"hello","v":1,"sid":null,"tok":null,"rx":0}"#,
                FrameError::DuplicateField("t"),
            ),
            (
                r#"{"t":"hola","v":1,"sid":null,"tok":null,"rx":0}"#,
                FrameError::UnknownType,
            ),
            (r#"{"t":1}"#, FrameError::BadField("t")),
        ] {
            assert_eq!(control(text), Err(error), "{text}");
        }
    }

    #[test]
    fn unknown_fields_are_skipped_to_the_depth_bound() {
        // Eight levels, the frame's own object included: at the bound.
        let nested = r#"{"x":[{"a":[{"b":[{"c":[]}]}]}],"t":"bye","y":"\u00e9\ud83d\ude00","z":-1.5E-3}"#;
        assert_eq!(control(nested), Ok(Control::Bye));
        let too_deep = r#"{"x":[{"a":[{"b":[{"c":[[]]}]}]}],"t":"bye"}"#;
        assert_eq!(control(too_deep), Err(FrameError::JsonTooDeep));
        // Fields known to other frames, even repeated or of another type, are unknown here.
        assert_eq!(
            control(r#"{"t":"bye","rx":"x","rx":[],"resumed":1}"#),
            Ok(Control::Bye)
        );
        let extra = r#"{"t":"hello","v":1,"resumed":"no","ttl":-1,"sid":null,"tok":null,"rx":0,"v2":{}}"#;
        assert_eq!(control(extra), Ok(hello(None, None, 0)));
        // An unknown field must still be valid JSON.
        assert_eq!(control(r#"{"t":"bye","x":01}"#), Err(FrameError::JsonSyntax));
        assert_eq!(
            control(r#"{"t":"bye","x":"\ud800"}"#),
            Err(FrameError::JsonString)
        );
        assert_eq!(
            control("{\"t\":\"bye\",\"x\":\"a\u{1}\"}"),
            Err(FrameError::JsonString)
        );
    }

    #[test]
    fn control_frame_shape() {
        assert_eq!(control(r#"{"t":"bye"}"#), Ok(Control::Bye));
        assert_eq!(control("{\"t\":\"bye\"} \r\n\t"), Ok(Control::Bye));
        for (text, error) in [
            ("", FrameError::NotControl),
            ("[]", FrameError::NotControl),
            (" {\"t\":\"bye\"}", FrameError::NotControl),
            ("{", FrameError::JsonSyntax),
            ("{}", FrameError::MissingField("t")),
            (r#"{"t":"bye"}x"#, FrameError::JsonSyntax),
            (r#"{"t":"bye"}{}"#, FrameError::JsonSyntax),
            (r#"{"t":"bye",}"#, FrameError::JsonSyntax),
            (r#"{"t" "bye"}"#, FrameError::JsonSyntax),
            (r#"{'t':'bye'}"#, FrameError::JsonSyntax),
        ] {
            assert_eq!(control(text), Err(error), "{text:?}");
        }
        // Size: 4096 bytes are read, 4097 are not.
        let pad = |len: usize| {
            let base = r#"{"t":"bye","p":""}"#;
            let mut text = String::from(r#"{"t":"bye","p":""#);
            text.push_str(&"x".repeat(len - base.len()));
            text.push_str("\"}");
            text
        };
        assert_eq!(control(&pad(MAX_CONTROL_BYTES)), Ok(Control::Bye));
        assert_eq!(
            control(&pad(MAX_CONTROL_BYTES + 1)),
            Err(FrameError::ControlTooLarge)
        );
    }

    #[test]
    fn tokens_are_bounded_once_decoded() {
        let frame = |sid: &str| {
            let mut text = String::from(r#"{"t":"hello","v":1,"tok":null,"rx":0,"sid":""#);
            text.push_str(sid);
            text.push_str("\"}");
            text
        };
        let long = "é".repeat(MAX_TOKEN_BYTES / 2);
        assert_eq!(control(&frame(&long)), Ok(hello(Some(&long), None, 0)));
        // Six bytes on the wire, one decoded: 256 escapes are a 256-byte token.
        let escaped = "\\u0041".repeat(MAX_TOKEN_BYTES);
        assert_eq!(
            control(&frame(&escaped)),
            Ok(hello(Some(&"A".repeat(256)), None, 0))
        );
        let too_long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(control(&frame(&too_long)), Err(FrameError::TokenTooLong("sid")));
        assert_eq!(control(&frame("")), Ok(hello(Some(""), None, 0)));
    }

    #[test]
    fn welcome_frames() {
        let text =
            r#"{"t":"welcome","sid":"s1","tok":"k1","resumed":false,"rx":0,"ttl":120000,"reason":"new"}"#;
        assert_eq!(control(text), Ok(Control::Welcome(welcome())));
        let resumed = r#"{"t":"welcome","sid":"s","tok":"t","resumed":true,"rx":5,"ttl":0,"window":65536,"windowBytes":1}"#;
        let expected = Welcome {
            sid: "s".into(),
            tok: "t".into(),
            resumed: true,
            rx: 5,
            ttl_ms: 0,
            reason: None,
            window: Some(MAX_WINDOW_MESSAGES),
            window_bytes: Some(1),
            ping: false,
        };
        assert_eq!(control(resumed), Ok(Control::Welcome(expected)));
        // `"ping"`: the server answers pings; false (or absent) it does not; anything else
        // is refused.
        let pinging = r#"{"t":"welcome","sid":"s1","tok":"k1","resumed":false,"rx":0,"ttl":120000,"reason":"new","ping":true}"#;
        let w = Welcome {
            ping: true,
            ..welcome()
        };
        assert_eq!(control(pinging), Ok(Control::Welcome(w.clone())));
        let mut out = String::new();
        write_welcome(&mut out, &w).unwrap();
        assert_eq!(out, pinging);
        out.clear();
        write_welcome(&mut out, &welcome()).unwrap();
        assert!(!out.contains("ping"));
        let silent = pinging.replace("true}", "false}");
        assert_eq!(control(&silent), Ok(Control::Welcome(welcome())));
        let bad = pinging.replace("true}", "1}");
        assert_eq!(control(&bad), Err(FrameError::BadField("ping")));
        assert_eq!(control(PING), Ok(Control::Ping));
        assert_eq!(control(PONG), Ok(Control::Pong));
        for reason in [
            ResumeReason::New,
            ResumeReason::Unknown,
            ResumeReason::Expired,
            ResumeReason::Auth,
            ResumeReason::Overflow,
        ] {
            let w = Welcome {
                reason: Some(reason),
                ..welcome()
            };
            let mut out = String::new();
            write_welcome(&mut out, &w).unwrap();
            assert!(out.contains(reason.as_str()));
            assert_eq!(control(&out), Ok(Control::Welcome(w)));
        }
    }

    #[test]
    fn welcome_errors() {
        let base = r#""t":"welcome","sid":"s","tok":"t","rx":0,"ttl":1"#;
        for (rest, error) in [
            (r#","resumed":false"#, FrameError::ReasonMismatch),
            (r#","resumed":true,"reason":"new""#, FrameError::ReasonMismatch),
            (
                r#","resumed":false,"reason":"gone""#,
                FrameError::BadField("reason"),
            ),
            (r#","resumed":false,"reason":1"#, FrameError::BadField("reason")),
            (
                r#","resumed":false,"reason":"new","reason":"new""#,
                FrameError::DuplicateField("reason"),
            ),
            (r#","resumed":"true""#, FrameError::BadField("resumed")),
            (r#","resumed":1"#, FrameError::BadField("resumed")),
            (r#""#, FrameError::MissingField("resumed")),
            (r#","resumed":true,"window":0"#, FrameError::BadField("window")),
            (
                r#","resumed":true,"window":65537"#,
                FrameError::BadField("window"),
            ),
            (r#","resumed":true,"window":1.0"#, FrameError::BadField("window")),
            (
                r#","resumed":true,"windowBytes":0"#,
                FrameError::BadField("windowBytes"),
            ),
            (
                r#","resumed":true,"windowBytes":9007199254740992"#,
                FrameError::BadField("windowBytes"),
            ),
            (
                r#","resumed":true,"window":1,"window":1"#,
                FrameError::DuplicateField("window"),
            ),
        ] {
            let text = "{".to_string() + base + rest + "}";
            assert_eq!(control(&text), Err(error), "{text}");
        }
        for (text, error) in [
            (
                r#"{"t":"welcome","tok":"t","resumed":true,"rx":0,"ttl":1}"#,
                FrameError::MissingField("sid"),
            ),
            (
                r#"{"t":"welcome","sid":null,"tok":"t","resumed":true,"rx":0,"ttl":1}"#,
                FrameError::BadField("sid"),
            ),
            (
                r#"{"t":"welcome","sid":"s","tok":"t","resumed":true,"rx":0}"#,
                FrameError::MissingField("ttl"),
            ),
            (
                r#"{"t":"welcome","sid":"s","tok":"t","resumed":true,"rx":0,"ttl":9007199254740992}"#,
                FrameError::BadField("ttl"),
            ),
        ] {
            assert_eq!(control(text), Err(error), "{text}");
        }
    }

    #[test]
    fn writers() {
        let mut out = String::from("prefix:");
        write_bye(&mut out);
        assert_eq!(out, r#"prefix:{"t":"bye"}"#);

        let mut out = String::new();
        let h = Hello {
            sid: Some("a\"b".into()),
            tok: None,
            rx: 7,
            window: None,
            window_bytes: None,
        };
        write_hello(&mut out, &h).unwrap();
        assert_eq!(out, r#"{"t":"hello","v":1,"sid":"a\"b","tok":null,"rx":7}"#);
        assert_eq!(control(&out), Ok(Control::Hello(h)));

        let mut out = String::new();
        let w = Welcome {
            resumed: true,
            reason: None,
            window: Some(16),
            window_bytes: Some(4096),
            rx: 3,
            ..welcome()
        };
        write_welcome(&mut out, &w).unwrap();
        assert_eq!(
            out,
            r#"{"t":"welcome","sid":"s1","tok":"k1","resumed":true,"rx":3,"ttl":120000,"window":16,"windowBytes":4096}"#
        );
        assert_eq!(control(&out), Ok(Control::Welcome(w)));
    }

    #[test]
    fn writers_refuse_what_the_parser_refuses() {
        let mut out = String::new();
        let long = "x".repeat(MAX_TOKEN_BYTES + 1);
        let refused = [
            write_hello(
                &mut out,
                &Hello {
                    sid: Some(long.clone()),
                    tok: None,
                    rx: 0,
                    window: None,
                    window_bytes: None,
                },
            ),
            write_hello(
                &mut out,
                &Hello {
                    sid: None,
                    tok: Some(long.clone()),
                    rx: 0,
                    window: None,
                    window_bytes: None,
                },
            ),
            write_hello(
                &mut out,
                &Hello {
                    sid: None,
                    tok: None,
                    rx: MAX_SEQ + 1,
                    window: None,
                    window_bytes: None,
                },
            ),
            write_welcome(
                &mut out,
                &Welcome {
                    sid: long.clone(),
                    ..welcome()
                },
            ),
            write_welcome(
                &mut out,
                &Welcome {
                    tok: long,
                    ..welcome()
                },
            ),
            write_welcome(
                &mut out,
                &Welcome {
                    rx: MAX_SEQ + 1,
                    ..welcome()
                },
            ),
            write_welcome(
                &mut out,
                &Welcome {
                    ttl_ms: u64::MAX,
                    ..welcome()
                },
            ),
            write_welcome(
                &mut out,
                &Welcome {
                    reason: None,
                    ..welcome()
                },
            ),
            write_welcome(
                &mut out,
                &Welcome {
                    resumed: true,
                    ..welcome()
                },
            ),
            write_welcome(
                &mut out,
                &Welcome {
                    window: Some(0),
                    ..welcome()
                },
            ),
            write_welcome(
                &mut out,
                &Welcome {
                    window: Some(MAX_WINDOW_MESSAGES + 1),
                    ..welcome()
                },
            ),
            write_welcome(
                &mut out,
                &Welcome {
                    window_bytes: Some(0),
                    ..welcome()
                },
            ),
            write_welcome(
                &mut out,
                &Welcome {
                    window_bytes: Some(MAX_SEQ + 1),
                    ..welcome()
                },
            ),
        ];
        assert!(refused.iter().all(Result::is_err), "{refused:?}");
        assert_eq!(out, "", "nothing is written when refused");
    }

    #[test]
    fn the_largest_control_frames_fit() {
        // Every byte a control character: six bytes each once escaped.
        let worst = "\u{1}".repeat(MAX_TOKEN_BYTES);
        let mut out = String::new();
        let h = Hello {
            sid: Some(worst.clone()),
            tok: Some(worst.clone()),
            rx: MAX_SEQ,
            window: Some(MAX_WINDOW_MESSAGES),
            window_bytes: Some(MAX_SEQ),
        };
        write_hello(&mut out, &h).unwrap();
        assert!(out.len() <= MAX_CONTROL_BYTES, "{}", out.len());
        assert_eq!(control(&out), Ok(Control::Hello(h)));
        let mut out = String::new();
        let w = Welcome {
            sid: worst.clone(),
            tok: worst,
            rx: MAX_SEQ,
            ttl_ms: MAX_SEQ,
            reason: Some(ResumeReason::Overflow),
            window: Some(MAX_WINDOW_MESSAGES),
            window_bytes: Some(MAX_SEQ),
            ..welcome()
        };
        write_welcome(&mut out, &w).unwrap();
        assert!(out.len() <= MAX_CONTROL_BYTES, "{}", out.len());
        assert_eq!(control(&out), Ok(Control::Welcome(w)));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = FrameError::MissingField("sid");
        assert_eq!(e.field(), Some("sid"));
        assert_eq!(e.to_string(), "control frame: missing field: sid");
        assert_eq!(
            FrameError::SeqRange.to_string(),
            "data header: seq out of range (1 to 2^53-1)"
        );
        assert_eq!(FrameError::SeqRange.field(), None);
        // Short enough for a close reason (123 bytes).
        for e in [
            FrameError::ReasonMismatch,
            FrameError::HeaderAckSyntax,
            FrameError::BadField("windowBytes"),
        ] {
            assert!(e.to_string().len() <= 123);
        }
    }
}
