#![cfg(not(target_arch = "wasm32"))]
//! The server's session table ([`Sessions`]) step by step, with hand-written frames: which
//! tokens resume a session (only the exact one, compared whole), and what its errors say.
//! (The paired model, tests/continuity_model.rs, checks the guarantees under random faults.)

use tether_ws::core::continuity::{
    parse_control, Change, Control, Import, ImportError, Inbound, ResumeReason, SendError, ServerConfig,
    Sessions, Transmit, Welcome, Window,
};

/// A `hello` on a new connection `conn`; the `welcome` it got.
fn hello(s: &mut Sessions<u32>, conn: u64, sid: Option<&str>, tok: Option<&str>) -> Welcome {
    let field = |v: Option<&str>| v.map_or("null".to_owned(), |x| format!("\"{x}\""));
    let text = format!(
        r#"{{"t":"hello","v":1,"sid":{},"tok":{},"rx":0}}"#,
        field(sid),
        field(tok)
    );
    let read = s.handle_frame(conn, text.as_bytes(), true, 0.0, &[conn as u8; 32]);
    assert!(matches!(read, Ok(Inbound::Welcomed { .. })), "{read:?}");
    let mut welcome = None;
    while let Some(t) = s.poll_transmit() {
        if let Transmit::Text { text, conn: to } = t {
            if let (true, Ok(Control::Welcome(w))) = (to == conn, parse_control(text.as_bytes())) {
                welcome = Some(w);
            }
        }
    }
    welcome.expect("a welcome")
}

/// `tok` with the characters at `at` replaced by `with`.
fn altered(tok: &str, at: &[usize], with: u8) -> String {
    let mut b = tok.as_bytes().to_vec();
    for &i in at {
        b[i] = with;
    }
    String::from_utf8(b).unwrap()
}

#[test]
fn only_the_exact_token_resumes_a_session() {
    let mut s = Sessions::new(ServerConfig::default());
    let first = hello(&mut s, 1, None, None);
    s.handle_disconnect(1, 0.0);
    let tok = first.tok.clone();
    let other = if tok.as_bytes()[5] == b'0' { b'1' } else { b'0' };
    // Each forgery differs from the token in a way a sloppy comparison would miss.
    let forged = [
        tok[..tok.len() - 1].to_owned(), // a prefix
        format!("{tok}0"),               // longer
        altered(&tok, &[5], other),      // one character
        String::new(),
    ];
    for (conn, f) in (10..).zip(&forged) {
        let w = hello(&mut s, conn, Some(&first.sid), Some(f));
        assert!(!w.resumed, "resumed with the forged token {f:?} of {tok:?}");
        assert_eq!(w.reason, Some(ResumeReason::Auth), "{f:?}");
        s.handle_disconnect(conn, 0.0);
    }
    // The forgeries left the session alone: the real token still resumes it.
    let w = hello(&mut s, 99, Some(&first.sid), Some(&tok));
    assert!(w.resumed);
    assert_eq!(w.sid, first.sid);
}

#[test]
fn differences_that_cancel_under_xor_are_still_differences() {
    // Two characters changed by the same bits: an xor-accumulated comparison would see the
    // two differences cancel. (Decimal digits flipped by 1 stay hex digits: 0↔1, 2↔3, ….)
    let mut s = Sessions::new(ServerConfig::default());
    let first = hello(&mut s, 1, None, None);
    s.handle_disconnect(1, 0.0);
    let tok = first.tok.clone();
    let mut b = tok.as_bytes().to_vec();
    let positions: Vec<usize> = (0..b.len()).filter(|&i| b[i].is_ascii_digit()).take(2).collect();
    assert_eq!(positions.len(), 2, "two decimal digits in {tok}");
    for &i in &positions {
        b[i] ^= 1;
    }
    let forged = String::from_utf8(b).unwrap();
    assert_ne!(forged, tok);
    let w = hello(&mut s, 2, Some(&first.sid), Some(&forged));
    assert_eq!(
        (w.resumed, w.reason),
        (false, Some(ResumeReason::Auth)),
        "{forged} for {tok}"
    );
}

#[test]
fn send_errors_name_the_problem() {
    let mut s: Sessions<u32> = Sessions::new(ServerConfig::default());
    assert_eq!(s.send("nobody", 1, 1), Err(SendError::UnknownSession));
    let unknown = SendError::UnknownSession.message();
    let overflow = SendError::Overflow.message();
    assert!(unknown.contains("session"), "{unknown}");
    assert!(overflow.contains("overflow"), "{overflow}");
}

#[test]
fn deadlines_are_whole_milliseconds_never_early() {
    // One delivery owes an ack 250 ms later: at 250 ms exactly, or rounded up to 251.
    for (at, due) in [(0.0, 250.0), (0.5, 251.0), (10.25, 261.0)] {
        let mut s = Sessions::new(ServerConfig::default());
        hello(&mut s, 1, None, None);
        let read = s.handle_frame(1, b"D1,0;7", true, at, &[0; 32]);
        assert!(matches!(read, Ok(Inbound::Deliver { .. })));
        assert_eq!(s.poll_timeout(), Some(due), "delivered at {at}");
        s.handle_timeout(due - 0.5);
        assert!(s.poll_transmit().is_none(), "not before {due}");
        s.handle_timeout(due);
        assert!(
            matches!(s.poll_transmit(), Some(Transmit::Text { text, .. }) if text == "A1"),
            "the ack at {due}"
        );
    }
}

#[test]
fn the_config_in_force_is_the_one_a_welcome_can_state() {
    let cfg = ServerConfig {
        ttl_ms: u64::MAX,
        window: tether_ws::core::continuity::Window {
            messages: 0,
            bytes: 0,
        },
        ..ServerConfig::default()
    };
    let s: Sessions<u32> = Sessions::new(cfg);
    let c = s.config();
    assert_eq!((c.window.messages, c.window.bytes), (1, 1));
    assert_eq!(c.ttl_ms, tether_ws::core::continuity::MAX_SEQ);
    assert_eq!(c.max_sessions, ServerConfig::default().max_sessions);
}

#[test]
fn the_queue_of_an_absent_client_is_bounded_by_messages_and_by_bytes() {
    // A window of 1: one message in flight, the rest queued; the queue holds 3 messages or
    // 10 bytes beyond it, whichever comes first, then the session ends ("overflow").
    let cfg = ServerConfig {
        window: tether_ws::core::continuity::Window {
            messages: 1,
            bytes: u64::MAX,
        },
        max_queued_messages: 3,
        max_queued_bytes: 10,
        ..ServerConfig::default()
    };
    // By messages: 1 sent + 3 queued of 1 byte fit; the 5th overflows.
    let mut s = Sessions::new(cfg);
    let sid = hello(&mut s, 1, None, None).sid;
    for n in 1..=4 {
        assert_eq!(s.send(&sid, n, 1), Ok(()), "message {n}");
    }
    assert_eq!(s.held(&sid), 4, "1 unacknowledged, 3 queued");
    assert_eq!(s.send(&sid, 5, 1), Err(SendError::Overflow));
    assert_eq!(s.held(&sid), 0, "ended");
    // By bytes: exactly 10 queued bytes fit; one byte more overflows.
    let mut s = Sessions::new(cfg);
    let sid = hello(&mut s, 1, None, None).sid;
    assert_eq!(s.send(&sid, 1, 1), Ok(()), "in flight");
    assert_eq!(s.send(&sid, 2, 6), Ok(()));
    assert_eq!(s.send(&sid, 3, 4), Ok(()), "6 + 4 = 10 bytes queued");
    assert_eq!(s.held(&sid), 3);
    assert_eq!(s.send(&sid, 4, 1), Err(SendError::Overflow));
    assert_eq!(
        s.poll_ended().map(|e| (e.reason, e.undelivered)),
        Some((ResumeReason::Overflow, 3))
    );
}

/// A `hello` on a new connection that may be refused; the frame the server answered with.
fn try_hello(s: &mut Sessions<u32>, conn: u64, frame: &[u8], text: bool) -> Option<Transmit<u32>> {
    let _ = s.handle_frame(conn, frame, text, 0.0, &[conn as u8; 32]);
    s.poll_transmit()
}

#[test]
fn frames_the_server_refuses_and_bye() {
    let mut s = Sessions::new(ServerConfig::default());
    // A control frame in a binary frame: a protocol error (4002).
    let hello_text = br#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":0}"#;
    assert!(matches!(
        try_hello(&mut s, 1, hello_text, false),
        Some(Transmit::Close { code: 4002, .. })
    ));
    // Data in a binary frame is fine.
    let w = hello(&mut s, 2, None, None);
    assert!(matches!(
        s.handle_frame(2, b"D1,0;7", false, 0.0, &[0; 32]),
        Ok(Inbound::Deliver { payload_at: 5, .. })
    ));
    // bye: the session is forgotten, and a resume of it is "unknown".
    assert_eq!(
        s.handle_frame(2, br#"{"t":"bye"}"#, true, 0.0, &[0; 32]),
        Ok(Inbound::Ended)
    );
    assert!(s.is_empty());
    let again = hello(&mut s, 3, Some(&w.sid), Some(&w.tok));
    assert_eq!(
        (again.resumed, again.reason),
        (false, Some(ResumeReason::Unknown))
    );
}

#[test]
fn the_half_window_in_bytes_counts_the_payload_without_its_header() {
    let cfg = ServerConfig {
        window: tether_ws::core::continuity::Window {
            messages: 256,
            bytes: 20,
        },
        ..ServerConfig::default()
    };
    // Half the byte window is 10: a 9-byte payload waits for the timer, 10 bytes do not.
    for (payload, at_once) in [("123456789", false), ("1234567890", true)] {
        let mut s = Sessions::new(cfg);
        hello(&mut s, 1, None, None);
        let frame = format!("D1,0;{payload}");
        assert!(s.handle_frame(1, frame.as_bytes(), true, 0.0, &[0; 32]).is_ok());
        s.handle_timeout(0.0);
        let acked = matches!(s.poll_transmit(), Some(Transmit::Text { text, .. }) if text == "A1");
        assert_eq!(acked, at_once, "{} payload bytes", payload.len());
    }
}

#[test]
fn a_token_is_good_until_its_welcome_is_shown_to_have_arrived() {
    let mut s = Sessions::new(ServerConfig::default());
    let w1 = hello(&mut s, 1, None, None);
    s.handle_disconnect(1, 0.0);
    // Resumes whose welcomes are lost with their connections: the client still has only
    // the first token, and it keeps working, however many times.
    for conn in 2..5 {
        let w = hello(&mut s, conn, Some(&w1.sid), Some(&w1.tok));
        assert!(
            w.resumed,
            "resume {conn} with the token of the last welcome that arrived"
        );
        s.handle_disconnect(conn, 0.0);
    }
    // This time the welcome arrives: the client acks with its new token's connection.
    let w = hello(&mut s, 5, Some(&w1.sid), Some(&w1.tok));
    assert!(s.handle_frame(5, b"A0", true, 0.0, &[0; 32]).is_ok());
    s.handle_disconnect(5, 0.0);
    let old = hello(&mut s, 6, Some(&w1.sid), Some(&w1.tok));
    assert_eq!(
        (old.resumed, old.reason),
        (false, Some(ResumeReason::Auth)),
        "the old token is done"
    );
    // A new session (from that refused hello) has no earlier token: an empty one is no key.
    let forged = hello(&mut s, 7, Some(&old.sid), Some(""));
    assert_eq!(forged.reason, Some(ResumeReason::Auth));
    assert!(hello(&mut s, 8, Some(&w1.sid), Some(&w.tok)).resumed);
}

#[test]
fn why_a_session_ended_is_told_to_its_last_token_only() {
    let cfg = ServerConfig {
        ttl_ms: 100,
        ..ServerConfig::default()
    };
    let mut s = Sessions::new(cfg);
    let a = hello(&mut s, 1, None, None);
    let b = hello(&mut s, 2, None, None);
    assert_eq!(s.len(), 2);
    s.handle_disconnect(1, 0.0);
    s.handle_disconnect(2, 0.0);
    s.handle_timeout(100.0);
    assert!(s.is_empty(), "both expired");
    // Both are remembered, each with its own reason for its own token.
    for (conn, w) in [(3, &a), (4, &b)] {
        let again = hello(&mut s, conn, Some(&w.sid), Some(&w.tok));
        assert_eq!(again.reason, Some(ResumeReason::Expired), "{}", w.sid);
        s.handle_disconnect(conn, 0.0);
    }
    let wrong = hello(&mut s, 5, Some(&a.sid), Some(&b.tok));
    assert_eq!(
        wrong.reason,
        Some(ResumeReason::Auth),
        "another token learns nothing"
    );
    let never = hello(&mut s, 6, Some("0123"), Some(&a.tok));
    assert_eq!(never.reason, Some(ResumeReason::Unknown));
}

/// Every change a shared store must write, once each; an export of the session.
fn changes(s: &mut Sessions<u32>) -> Vec<Change> {
    std::iter::from_fn(|| s.poll_change()).collect()
}

#[test]
fn changes_are_told_only_when_tracked_and_once_per_session() {
    let mut quiet = Sessions::new(ServerConfig::default());
    hello(&mut quiet, 1, None, None);
    assert_eq!(quiet.poll_change(), None, "a server on its own records nothing");

    let mut s = Sessions::new(ServerConfig::default());
    s.track_changes();
    let w = hello(&mut s, 1, None, None);
    for m in 0..3 {
        s.send(&w.sid, m, 1).unwrap();
    }
    assert_eq!(
        changes(&mut s),
        [Change::Updated(w.sid.clone())],
        "three sends, one change"
    );
    let e = s.export(&w.sid).unwrap();
    assert_eq!((e.rx, e.acked, e.sent, e.attached), (0, 0, 3, true));
    assert_eq!(e.tok, w.tok);
    assert_eq!(e.messages_after(1).map(|(m, _)| *m).collect::<Vec<_>>(), [1, 2]);
    // An ack and a client message change it again; a detach too.
    let read = s.handle_frame(1, b"D1,2;x", true, 1.0, &[0; 32]);
    assert!(matches!(read, Ok(Inbound::Deliver { .. })), "{read:?}");
    assert_eq!(changes(&mut s), [Change::Updated(w.sid.clone())]);
    let e = s.export(&w.sid).unwrap();
    assert_eq!((e.rx, e.acked, e.sent), (1, 2, 3));
    assert_eq!(e.messages_after(0).map(|(m, _)| *m).collect::<Vec<_>>(), [2]);
    s.handle_disconnect(1, 2.0);
    assert_eq!(changes(&mut s), [Change::Updated(w.sid.clone())]);
    assert!(!s.export(&w.sid).unwrap().attached);
    // `bye` on a resumed connection: removed, with no update before it.
    let text = format!(
        r#"{{"t":"hello","v":1,"sid":"{}","tok":"{}","rx":2}}"#,
        w.sid, w.tok
    );
    let read = s.handle_frame(2, text.as_bytes(), true, 3.0, &[2; 32]);
    assert!(
        matches!(read, Ok(Inbound::Welcomed { resumed: true, .. })),
        "{read:?}"
    );
    while s.poll_transmit().is_some() {}
    assert!(s.handle_frame(2, br#"{"t":"bye"}"#, true, 3.0, &[0; 32]).is_ok());
    assert_eq!(changes(&mut s), [Change::Removed(w.sid.clone())]);
}

#[test]
fn an_imported_session_resumes_where_the_other_node_left_it() {
    let cfg = ServerConfig {
        window: Window {
            messages: 2,
            bytes: 1 << 20,
        },
        ..ServerConfig::default()
    };
    let mut s: Sessions<u32> = Sessions::new(cfg);
    s.track_changes();
    let import = Import {
        tok: "ab".repeat(16),
        rx: 7,
        acked: 10,
        messages: vec![(11, 1), (12, 1), (13, 1)],
    };
    s.import("feed", import.clone(), 0.0).unwrap();
    assert_eq!(s.import("feed", import, 0.0), Err(ImportError::Exists));
    assert_eq!(s.sent("feed"), Some(13));
    // The client got 11 from the other node: 12 is replayed (the window holds 11 and 12),
    // 13 follows once an ack makes room.
    let text = format!(
        r#"{{"t":"hello","v":1,"sid":"feed","tok":"{}","rx":11}}"#,
        "ab".repeat(16)
    );
    let read = s.handle_frame(5, text.as_bytes(), true, 1.0, &[3; 32]);
    assert!(
        matches!(read, Ok(Inbound::Welcomed { resumed: true, .. })),
        "{read:?}"
    );
    let mut frames = Vec::new();
    while let Some(t) = s.poll_transmit() {
        match t {
            Transmit::Text { text, .. } => frames.push(text),
            Transmit::Data { header, payload, .. } => frames.push(format!("{}{payload}", header.as_str())),
            Transmit::Close { code, .. } => frames.push(format!("close {code}")),
        }
    }
    assert!(
        frames[0].contains(r#""rx":7"#),
        "the welcome states the imported rx: {}",
        frames[0]
    );
    assert_eq!(&frames[1..], ["D12,7;12", "D13,7;13"]);
    // The other node's token no longer resumes it after this resume's token is in use.
    assert!(s.knows_token("feed", &"ab".repeat(16)));
    assert!(!s.knows_token("feed", "nope"));
    // Released (another node took it): its connection closed, no change, no ended event.
    changes(&mut s);
    assert!(s.release("feed", 4001, "moved"));
    assert!(!s.release("feed", 4001, "moved"));
    assert!(matches!(
        s.poll_transmit(),
        Some(Transmit::Close {
            conn: 5,
            code: 4001,
            ..
        })
    ));
    assert_eq!(s.poll_change(), None);
    assert_eq!(s.poll_ended(), None);
    assert!(s.is_empty());
    // Numbers past 2^53 or more than a window and a queue are refused.
    let huge = Import {
        tok: "x".into(),
        rx: 1 << 53,
        acked: 0,
        messages: vec![],
    };
    assert_eq!(s.import("big", huge, 0.0), Err(ImportError::Invalid));
}

#[test]
fn an_ended_session_is_told_to_the_store_with_its_last_token() {
    let cfg = ServerConfig {
        ttl_ms: 100,
        ..ServerConfig::default()
    };
    let mut s: Sessions<u32> = Sessions::new(cfg);
    s.track_changes();
    let w = hello(&mut s, 1, None, None);
    s.handle_disconnect(1, 0.0);
    changes(&mut s);
    s.handle_timeout(200.0);
    assert_eq!(
        changes(&mut s),
        [Change::Ended {
            sid: w.sid.clone(),
            reason: ResumeReason::Expired,
            last_tok: w.tok.clone()
        }]
    );
    // What another node learnt of a session's end is told to a resume.
    s.note_ended("gone", ResumeReason::Overflow, "tok");
    let r = hello(&mut s, 2, Some("gone"), Some("tok"));
    assert_eq!(r.reason, Some(ResumeReason::Overflow));
}

#[test]
fn an_import_keeps_the_order_and_refuses_only_what_is_out_of_range() {
    let cfg = ServerConfig {
        window: Window {
            messages: 4,
            bytes: 10,
        },
        max_queued_messages: 2,
        ..ServerConfig::default()
    };
    let mut s: Sessions<u32> = Sessions::new(cfg);
    let import = |rx, acked, messages: Vec<(u32, u64)>| Import {
        tok: "t".into(),
        rx,
        acked,
        messages,
    };
    // 1 and 2 do not fit the byte window together: 2 waits, and so does 3 behind it (small
    // as it is), so the stream stays 1, 2, 3.
    s.import("order", import(0, 0, vec![(1, 6), (2, 6), (3, 1)]), 0.0)
        .unwrap();
    let e = s.export("order").unwrap();
    assert_eq!(
        e.messages_after(0).map(|(m, _)| *m).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // The limits: 2^53 − 1 is a seq, 2^53 is not; a window and a queue (4 + 2) of messages.
    const MAX: u64 = (1 << 53) - 1;
    assert!(s.import("rx", import(MAX, 0, vec![]), 0.0).is_ok());
    assert_eq!(
        s.import("rx+", import(MAX + 1, 0, vec![]), 0.0),
        Err(ImportError::Invalid)
    );
    assert!(s.import("last", import(0, MAX - 1, vec![(1, 1)]), 0.0).is_ok());
    assert_eq!(
        s.import("past", import(0, MAX, vec![(1, 1)]), 0.0),
        Err(ImportError::Invalid)
    );
    let six: Vec<(u32, u64)> = (0..6).map(|m| (m, 1)).collect();
    assert!(s.import("six", import(0, 0, six.clone()), 0.0).is_ok());
    let mut seven = six;
    seven.push((6, 1));
    assert_eq!(
        s.import("seven", import(0, 0, seven), 0.0),
        Err(ImportError::Invalid)
    );
}
