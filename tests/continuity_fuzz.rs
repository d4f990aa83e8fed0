#![cfg(not(target_arch = "wasm32"))]
//! Both continuity engines fed what a hostile peer could send: arbitrary bytes, and
//! sequences of frames that are each well formed but arrive in any order, with any numbers.
//! Nothing may panic, every refusal is a protocol error (the caller closes with 4002), and
//! memory stays within the configured limits: the client's log within its window, the
//! server's table within `max_sessions` and each session within its window and queue.
//!
//! 256 cases per property unless `PROPTEST_CASES` says otherwise (at least 64); the
//! longer run documented in README: `PROPTEST_CASES=20000 cargo test --test continuity_fuzz`.

mod cases;

use proptest::prelude::*;
use tether_ws::core::continuity::{
    AckBuf, Client, ClientConfig, ClientInbound, DataHeaderBuf, ServerConfig, Sessions, Window, MAX_SEQ,
};

const WINDOW: Window = Window {
    messages: 4,
    bytes: 64,
};

/// One thing a peer sends: raw bytes, or a frame of the protocol with chosen numbers.
#[derive(Debug, Clone)]
enum Input {
    Bytes(Vec<u8>, bool),
    Data(u64, u64, bool),
    Ack(u64),
    Hello(Option<String>, Option<String>, u64),
    Welcome(bool, u64, Option<&'static str>),
    Bye,
}

fn number() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..6, Just(MAX_SEQ), Just(MAX_SEQ + 1), any::<u64>()]
}

fn input() -> impl Strategy<Value = Input> {
    let token = prop::option::of("[a-f0-9]{0,40}");
    prop_oneof![
        3 => (prop::collection::vec(any::<u8>(), 0..80), any::<bool>()).prop_map(|(b, t)| Input::Bytes(b, t)),
        4 => (number(), number(), any::<bool>()).prop_map(|(s, a, t)| Input::Data(s, a, t)),
        2 => number().prop_map(Input::Ack),
        2 => (token.clone(), token, number()).prop_map(|(s, t, rx)| Input::Hello(s, t, rx)),
        2 => (any::<bool>(), number(), prop::option::of(prop::sample::select(vec!["new", "unknown", "auth", "x"])))
            .prop_map(|(r, rx, why)| Input::Welcome(r, rx, why)),
        1 => Just(Input::Bye),
    ]
}

/// The frame bytes and whether it is a text frame (numbers out of range become raw text).
fn encode(input: &Input) -> (Vec<u8>, bool) {
    match input {
        Input::Bytes(b, text) => (b.clone(), *text),
        Input::Data(seq, ack, text) => {
            let mut frame = match DataHeaderBuf::new(*seq, *ack) {
                Ok(h) => h.as_bytes().to_vec(),
                Err(_) => format!("D{seq},{ack};").into_bytes(),
            };
            frame.extend_from_slice(b"payload");
            (frame, *text)
        }
        Input::Ack(ack) => match AckBuf::new(*ack) {
            Ok(a) => (a.as_bytes().to_vec(), true),
            Err(_) => (format!("A{ack}").into_bytes(), true),
        },
        Input::Hello(sid, tok, rx) => {
            let quote = |v: &Option<String>| v.as_ref().map_or("null".into(), |s| format!("\"{s}\""));
            let text = format!(
                r#"{{"t":"hello","v":1,"sid":{},"tok":{},"rx":{rx}}}"#,
                quote(sid),
                quote(tok)
            );
            (text.into_bytes(), true)
        }
        Input::Welcome(resumed, rx, reason) => {
            let reason = reason.map_or(String::new(), |r| format!(r#","reason":"{r}""#));
            let text = format!(
                r#"{{"t":"welcome","sid":"s","tok":"t","resumed":{resumed},"rx":{rx},"ttl":1000{reason}}}"#
            );
            (text.into_bytes(), true)
        }
        Input::Bye => (br#"{"t":"bye"}"#.to_vec(), true),
    }
}

proptest! {
    #![proptest_config(cases::config(256))]

    #[test]
    fn the_client_engine_survives_anything(inputs in prop::collection::vec(input(), 0..60), sends in 0usize..8) {
        let mut client: Client<u32> = Client::new(ClientConfig { window: WINDOW, ..ClientConfig::default() });
        let mut hello = String::new();
        client.handle_opened(&mut hello);
        let mut now = 0.0;
        for (i, input) in inputs.iter().enumerate() {
            let (frame, text) = encode(input);
            now += 10.0;
            match client.handle_frame(&frame, frame.len(), text, now) {
                Ok(ClientInbound::Deliver { payload_at }) => prop_assert!(payload_at <= frame.len()),
                Ok(_) => {}
                // What the machine does on any error: close 4002, then resume on a new socket.
                Err(_) => {
                    client.handle_closed();
                    client.handle_opened(&mut hello);
                }
            }
            for n in 0..sends {
                if client.has_room(1) {
                    prop_assert!(client.push((i * 8 + n) as u32, 1).is_ok());
                }
            }
            let _ = client.poll_ack(now);
            prop_assert!(client.unacked() <= WINDOW.messages as usize, "log {} over the window", client.unacked());
        }
    }

    #[test]
    fn the_server_engine_survives_anything(inputs in prop::collection::vec((0u64..4, input()), 0..80), sends in 0usize..6) {
        let cfg = ServerConfig {
            window: WINDOW,
            max_queued_messages: 8,
            max_queued_bytes: 64,
            max_sessions: 3,
            ttl_ms: 500,
            ..ServerConfig::default()
        };
        let mut server: Sessions<u32> = Sessions::new(cfg);
        let mut now = 0.0;
        for (i, (conn, input)) in inputs.iter().enumerate() {
            let (frame, text) = encode(input);
            now += 20.0;
            let random = [(i % 251) as u8; 32];
            let sid = match server.handle_frame(*conn, &frame, text, now, &random) {
                Ok(_) => server.session_of(*conn).map(str::to_owned),
                // The engine queued the 4002 close and detached the connection.
                Err(_) => {
                    prop_assert!(server.session_of(*conn).is_none());
                    None
                }
            };
            if let Some(sid) = sid {
                for n in 0..sends {
                    let _ = server.send(&sid, n as u32, 1);
                }
                prop_assert!(server.held(&sid) <= WINDOW.messages as usize + 8);
            }
            if i % 7 == 6 {
                server.handle_disconnect(*conn, now);
            }
            server.handle_timeout(now);
            while server.poll_transmit().is_some() {}
            while server.poll_ended().is_some() {}
            prop_assert!(server.len() <= 3, "{} sessions over max_sessions", server.len());
        }
    }
}
