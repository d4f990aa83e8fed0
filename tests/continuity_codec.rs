#![cfg(not(target_arch = "wasm32"))]
//! Property tests of the continuity frame codec: every frame written is read back as it was,
//! what the writers refuse is exactly what is out of range, the parsers never panic on any
//! bytes, a data header parses the same from a prefix of `MAX_DATA_HEADER_BYTES` as from the
//! whole frame, and (with serde_json, feature `std`) the control frame reader accepts exactly
//! the JSON that serde_json accepts.
//!
//! 256 cases per property unless `PROPTEST_CASES` says otherwise (at least 64).

mod cases;

use proptest::prelude::*;
use tether_ws::core::continuity::{
    kind_of, parse_ack, parse_control, parse_data_header, write_bye, write_hello, write_welcome, AckBuf,
    Control, DataHeaderBuf, FrameError, FrameKind, Hello, ResumeReason, Welcome, MAX_CONTROL_BYTES,
    MAX_DATA_HEADER_BYTES, MAX_SEQ, MAX_TOKEN_BYTES, MAX_WINDOW_MESSAGES, PING, PONG,
};

/// Characters that exercise the string writer and reader: quotes, backslashes, controls,
/// multi-byte text, and anything at all.
fn token_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        2 => prop::char::range('a', 'z'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('/'),
        1 => (0u8..0x20).prop_map(char::from),
        1 => Just('\u{7f}'),
        1 => Just('\u{2028}'),
        1 => Just('é'),
        1 => Just('😀'),
    ]
}

/// Up to 80 characters: sometimes more than `MAX_TOKEN_BYTES` bytes.
fn token() -> impl Strategy<Value = String> {
    prop::collection::vec(token_char(), 0..=80).prop_map(|chars| chars.into_iter().collect())
}

/// A number, often at or just past an edge of `0..=MAX_SEQ`.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..=MAX_SEQ,
        1 => Just(0),
        1 => Just(1),
        1 => Just(MAX_SEQ),
        1 => Just(MAX_SEQ + 1),
        1 => any::<u64>(),
    ]
}

fn reason() -> impl Strategy<Value = ResumeReason> {
    prop_oneof![
        Just(ResumeReason::New),
        Just(ResumeReason::Unknown),
        Just(ResumeReason::Expired),
        Just(ResumeReason::Auth),
        Just(ResumeReason::Overflow),
    ]
}

/// A message window, valid or just out of range.
fn window_messages() -> impl Strategy<Value = u32> {
    prop_oneof![1..=MAX_WINDOW_MESSAGES, Just(0), Just(MAX_WINDOW_MESSAGES + 1)]
}

fn welcome() -> impl Strategy<Value = Welcome> {
    (
        (token(), token(), any::<bool>(), number(), number()),
        (
            prop::option::of(reason()),
            prop::option::of(window_messages()),
            prop::option::of(number()),
            any::<bool>(),
        ),
    )
        .prop_map(
            |((sid, tok, resumed, rx, ttl_ms), (reason, window, window_bytes, ping))| Welcome {
                sid,
                tok,
                resumed,
                rx,
                ttl_ms,
                reason,
                window,
                window_bytes,
                ping,
            },
        )
}

fn welcome_is_valid(w: &Welcome) -> bool {
    w.sid.len() <= MAX_TOKEN_BYTES
        && w.tok.len() <= MAX_TOKEN_BYTES
        && w.rx <= MAX_SEQ
        && w.ttl_ms <= MAX_SEQ
        && w.reason.is_some() != w.resumed
        && w.window.map_or(true, |n| (1..=MAX_WINDOW_MESSAGES).contains(&n))
        && w.window_bytes.map_or(true, |n| (1..=MAX_SEQ).contains(&n))
}

/// Writes any control frame.
fn write(control: &Control) -> String {
    let mut out = String::new();
    match control {
        Control::Hello(h) => write_hello(&mut out, h).unwrap(),
        Control::Welcome(w) => write_welcome(&mut out, w).unwrap(),
        Control::Bye => write_bye(&mut out),
        Control::Ping => out.push_str(PING),
        Control::Pong => out.push_str(PONG),
    }
    out
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Replace(prop::sample::Index, u8),
}

/// Bytes that matter to the grammar, or any byte.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(b"{}[],:\"\\ 0123456789-+.eEtfnulrsaDA;u\n\x01".to_vec()),
        1 => any::<u8>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), interesting_byte()).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
        (any::<prop::sample::Index>(), interesting_byte()).prop_map(|(at, b)| Edit::Replace(at, b)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        match *e {
            Edit::Insert(at, b) => {
                let at = at.index(bytes.len() + 1);
                bytes.insert(at, b);
            }
            Edit::Delete(at) if !bytes.is_empty() => {
                let at = at.index(bytes.len());
                bytes.remove(at);
            }
            Edit::Replace(at, b) if !bytes.is_empty() => {
                let at = at.index(bytes.len());
                bytes[at] = b;
            }
            _ => {}
        }
    }
}

/// Every parser, on any bytes: errors, never a panic; a control frame read is read again the
/// same once written back.
fn parse_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
    let _ = kind_of(bytes.first().copied());
    let _ = parse_ack(bytes);
    let whole = parse_data_header(bytes);
    let prefix = &bytes[..bytes.len().min(MAX_DATA_HEADER_BYTES)];
    prop_assert_eq!(parse_data_header(prefix), whole);
    if let Ok(control) = parse_control(bytes) {
        prop_assert!(bytes.len() <= MAX_CONTROL_BYTES);
        prop_assert_eq!(parse_control(write(&control).as_bytes()), Ok(control));
    }
    Ok(())
}

fn valid_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (prop::option::of(token()), prop::option::of(token()), 0..=MAX_SEQ).prop_map(|(sid, tok, rx)| {
            let hello = Hello {
                sid,
                tok,
                rx,
                window: None,
                window_bytes: Some(1),
            };
            let mut out = String::new();
            // Too-long tokens write nothing: an empty frame is fine input too.
            let _ = write_hello(&mut out, &hello);
            out.into_bytes()
        }),
        welcome().prop_map(|w| {
            let mut out = String::new();
            let _ = write_welcome(&mut out, &w);
            out.into_bytes()
        }),
        (1..=MAX_SEQ, 0..=MAX_SEQ, prop::collection::vec(any::<u8>(), 0..8)).prop_map(
            |(seq, ack, payload)| {
                let mut frame = DataHeaderBuf::new(seq, ack).unwrap().as_bytes().to_vec();
                frame.extend(payload);
                frame
            }
        ),
        (0..=MAX_SEQ).prop_map(|ack| AckBuf::new(ack).unwrap().as_bytes().to_vec()),
        Just(br#"{"t":"bye","x":[1,{"y":"\u00e9\ud83d\ude00"}],"z":-0.5e+3}"#.to_vec()),
    ]
}

proptest! {
    #![proptest_config(cases::config(256))]

    /// A hello is written exactly when its fields are in range, and read back as it was.
    #[test]
    fn hello_round_trips(
        sid in prop::option::of(token()),
        tok in prop::option::of(token()),
        rx in number(),
        window in prop::option::of(window_messages()),
        window_bytes in prop::option::of(number()),
    ) {
        let hello = Hello { sid, tok, rx, window, window_bytes };
        let valid = hello.sid.as_ref().map_or(true, |s| s.len() <= MAX_TOKEN_BYTES)
            && hello.tok.as_ref().map_or(true, |t| t.len() <= MAX_TOKEN_BYTES)
            && hello.rx <= MAX_SEQ
            && hello.window.map_or(true, |n| (1..=MAX_WINDOW_MESSAGES).contains(&n))
            && hello.window_bytes.map_or(true, |n| (1..=MAX_SEQ).contains(&n));
        let mut out = String::from("kept:");
        let written = write_hello(&mut out, &hello);
        prop_assert_eq!(written.is_ok(), valid, "{:?}", written);
        if valid {
            let frame = out.strip_prefix("kept:").unwrap();
            prop_assert!(frame.len() <= MAX_CONTROL_BYTES);
            prop_assert_eq!(kind_of(frame.bytes().next()), Some(FrameKind::Control));
            prop_assert_eq!(parse_control(frame.as_bytes()), Ok(Control::Hello(hello)));
        } else {
            prop_assert_eq!(out, "kept:");
        }
    }

    /// A welcome is written exactly when it is valid, and read back as it was.
    #[test]
    fn welcome_round_trips(welcome in welcome()) {
        let valid = welcome_is_valid(&welcome);
        let mut out = String::new();
        let written = write_welcome(&mut out, &welcome);
        prop_assert_eq!(written.is_ok(), valid, "{:?}", written);
        if valid {
            prop_assert!(out.len() <= MAX_CONTROL_BYTES);
            prop_assert_eq!(parse_control(out.as_bytes()), Ok(Control::Welcome(welcome)));
        } else {
            prop_assert_eq!(out, "");
        }
    }

    /// A data header is written exactly for seq in 1..=MAX_SEQ and ack in 0..=MAX_SEQ, and
    /// read back, from the whole frame or its first MAX_DATA_HEADER_BYTES, with the payload
    /// starting right after it.
    #[test]
    fn data_headers_round_trip(
        seq in number(),
        ack in number(),
        payload in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let valid = (1..=MAX_SEQ).contains(&seq) && ack <= MAX_SEQ;
        let header = DataHeaderBuf::new(seq, ack);
        prop_assert_eq!(header.is_ok(), valid);
        let Ok(header) = header else { return Ok(()) };
        prop_assert_eq!(header.as_str().as_bytes(), header.as_bytes());
        let mut frame = header.as_bytes().to_vec();
        frame.extend_from_slice(&payload);
        prop_assert_eq!(kind_of(frame.first().copied()), Some(FrameKind::Data));
        let parsed = parse_data_header(&frame).unwrap();
        prop_assert_eq!((parsed.seq, parsed.ack, parsed.len), (seq, ack, header.as_bytes().len()));
        prop_assert!(parsed.len <= MAX_DATA_HEADER_BYTES);
        prop_assert_eq!(&frame[parsed.len..], &payload[..]);
        let prefix = &frame[..frame.len().min(MAX_DATA_HEADER_BYTES)];
        prop_assert_eq!(parse_data_header(prefix), Ok(parsed));
    }

    /// An ack frame is written exactly for 0..=MAX_SEQ and read back.
    #[test]
    fn acks_round_trip(ack in number()) {
        let frame = AckBuf::new(ack);
        prop_assert_eq!(frame.is_ok(), ack <= MAX_SEQ);
        if let Ok(frame) = frame {
            prop_assert_eq!(frame.as_str().as_bytes(), frame.as_bytes());
            prop_assert_eq!(kind_of(frame.as_bytes().first().copied()), Some(FrameKind::Ack));
            prop_assert_eq!(parse_ack(frame.as_bytes()), Ok(ack));
        }
    }

    /// Any bytes at all: no panic.
    #[test]
    fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        parse_everything(&bytes)?;
    }

    /// Bytes that look like frames (a valid frame, edited): no panic, and whatever is read
    /// is read the same once written back.
    #[test]
    fn edited_frames_never_panic(
        mut frame in valid_frame(),
        edits in prop::collection::vec(edit(), 0..4),
    ) {
        apply(&mut frame, &edits);
        parse_everything(&frame)?;
    }

    /// `D` and digits in every arrangement: a prefix of MAX_DATA_HEADER_BYTES decides as the
    /// whole frame does.
    #[test]
    fn a_header_prefix_decides_like_the_frame(
        body in prop::collection::vec(prop::sample::select(b"0123456789,;D".to_vec()), 0..60),
    ) {
        let mut frame = vec![b'D'];
        frame.extend(body);
        let prefix = &frame[..frame.len().min(MAX_DATA_HEADER_BYTES)];
        prop_assert_eq!(parse_data_header(prefix), parse_data_header(&frame));
    }
}

#[test]
fn bye_round_trips() {
    let mut out = String::new();
    write_bye(&mut out);
    assert_eq!(parse_control(out.as_bytes()), Ok(Control::Bye));
}

#[test]
fn the_largest_seqs_fill_the_header_exactly() {
    let header = DataHeaderBuf::new(MAX_SEQ, MAX_SEQ).unwrap();
    assert_eq!(header.as_bytes().len(), MAX_DATA_HEADER_BYTES);
    assert_eq!(
        parse_data_header(b"D9007199254740992,0;"),
        Err(FrameError::SeqRange)
    );
}

/// The control frame reader against serde_json: the same JSON is valid for both.
#[cfg(feature = "std")]
mod against_serde_json {
    use super::*;

    fn string_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => token_char().prop_filter("plain", |c| *c != '"' && *c != '\\' && *c >= ' ').prop_map(String::from),
            1 => prop::sample::select(vec!["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]).prop_map(String::from),
            // Any \uXXXX, surrogates (paired or lone) included.
            1 => prop_oneof![any::<u16>(), 0xD800u16..0xE000].prop_map(|u| format!("\\u{u:04x}")),
            1 => Just("\\ud83d\\ude00".to_string()),
        ];
        prop::collection::vec(piece, 0..6).prop_map(|pieces| format!("\"{}\"", pieces.concat()))
    }

    fn number_text() -> impl Strategy<Value = String> {
        prop::string::string_regex("-?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?").unwrap()
    }

    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            number_text(),
            string_text(),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            let ws = prop::sample::select(vec!["", " ", "\n", "\t ", "\r\n"]);
            prop_oneof![
                (prop::collection::vec(inner.clone(), 0..4), ws.clone())
                    .prop_map(|(items, ws)| format!("[{ws}{}{ws}]", items.join(","))),
                (prop::collection::vec((string_text(), inner), 0..4), ws).prop_map(|(members, ws)| {
                    let members: Vec<String> = members
                        .into_iter()
                        .map(|(k, v)| format!("{k}{ws}:{ws}{v}"))
                        .collect();
                    format!("{{{ws}{}{ws}}}", members.join(","))
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(cases::config(256))]

        /// An unknown field's value, valid or edited: our reader takes it exactly when
        /// serde_json does (beyond our depth bound and serde_json's float range, which differ
        /// by design).
        #[test]
        fn the_reader_accepts_the_json_serde_json_accepts(
            value in json_text(),
            edits in prop::collection::vec(edit(), 0..3),
        ) {
            let mut value = value.into_bytes();
            apply(&mut value, &edits);
            let mut frame = br#"{"t":"bye","x":"#.to_vec();
            frame.extend_from_slice(&value);
            frame.push(b'}');
            let ours = parse_control(&frame);
            let theirs = serde_json::from_slice::<serde_json::Value>(&frame);
            if ours == Err(FrameError::JsonTooDeep) || frame.len() > MAX_CONTROL_BYTES {
                return Ok(());
            }
            if let Err(e) = &theirs {
                if e.to_string().contains("out of range") {
                    return Ok(());
                }
            }
            // Valid JSON that is not a good control frame (say, a second "t") is still valid.
            let ours_valid = !matches!(ours, Err(FrameError::JsonSyntax | FrameError::JsonString));
            prop_assert_eq!(
                ours_valid,
                theirs.is_ok(),
                "ours {:?}, serde_json {:?}, frame {:?}",
                ours,
                theirs,
                String::from_utf8_lossy(&frame)
            );
        }
    }
}
