#![cfg(not(target_arch = "wasm32"))]
//! The protocol's client engine ([`Client`]) on its own, step by step against the server
//! engine ([`Sessions`]): what it says about itself (live, sid, rx, unacked), what a closed
//! connection resets, which frames it refuses and why, and the acks its frames carry. (The
//! paired model, tests/continuity_model.rs, checks the guarantees under random faults; this
//! file pins the single steps.)

use tether_ws::core::continuity::{
    AckBuf, Client, ClientConfig, ClientInbound, DataHeaderBuf, Inbound, ProtocolError, ServerConfig,
    Sessions, Transmit,
};

/// A client engine and a server engine on one connection at a time.
struct Pair {
    client: Client<u32>,
    server: Sessions<u32>,
    conn: u64,
    now: f64,
    /// What the server's application received.
    at_server: Vec<u32>,
}

impl Pair {
    fn new() -> Self {
        Pair {
            client: Client::new(ClientConfig::default()),
            server: Sessions::new(ServerConfig::default()),
            conn: 0,
            now: 0.0,
            at_server: Vec::new(),
        }
    }

    /// A new connection: the hello goes to the server, its frames come back to the client.
    fn connect(&mut self) -> Vec<ClientInbound<u32>> {
        self.conn += 1;
        let mut hello = String::new();
        self.client.handle_opened(&mut hello);
        self.deliver_to_server(hello.into_bytes(), true);
        self.deliver_to_client()
    }

    fn deliver_to_server(&mut self, frame: Vec<u8>, text: bool) {
        let random = [self.conn as u8; 32];
        if let Ok(Inbound::Deliver { payload_at, .. }) = self
            .server
            .handle_frame(self.conn, &frame, text, self.now, &random)
        {
            let n = std::str::from_utf8(&frame[payload_at..])
                .unwrap()
                .parse()
                .unwrap();
            self.at_server.push(n);
        }
    }

    /// The server's frames, handed to the client (data frames as text).
    fn deliver_to_client(&mut self) -> Vec<ClientInbound<u32>> {
        let mut got = Vec::new();
        while let Some(t) = self.server.poll_transmit() {
            let frame = match t {
                Transmit::Text { text, .. } => text.into_bytes(),
                Transmit::Data { header, payload, .. } => {
                    let mut f = header.as_bytes().to_vec();
                    f.extend(payload.to_string().into_bytes());
                    f
                }
                Transmit::Close { code, .. } => panic!("server closed with {code}"),
            };
            got.push(
                self.client
                    .handle_frame(&frame, frame.len(), true, self.now)
                    .expect("a valid frame"),
            );
        }
        got
    }

    /// The client sends message `n` (numbered by the engine, written with its header).
    fn send(&mut self, n: u32) {
        let (seq, ack) = self.client.push(n, 1).expect("room");
        let mut frame = DataHeaderBuf::new(seq, ack).unwrap().as_bytes().to_vec();
        frame.extend(n.to_string().into_bytes());
        self.deliver_to_server(frame, true);
    }

    fn sid(&self) -> String {
        self.client.sid().expect("a session").to_owned()
    }
}

#[test]
fn what_the_client_says_about_itself() {
    let mut p = Pair::new();
    assert!(!p.client.is_live());
    assert_eq!(p.client.sid(), None);
    assert_eq!((p.client.rx(), p.client.unacked()), (0, 0));
    let got = p.connect();
    assert!(matches!(got.as_slice(), [ClientInbound::Welcomed(_)]));
    assert!(p.client.is_live());
    let sid = p.server.session_of(p.conn).expect("welcomed").to_owned();
    assert_eq!(p.client.sid(), Some(sid.as_str()));
    p.send(1);
    p.send(2);
    assert_eq!(p.client.unacked(), 2);
    assert_eq!(p.at_server, [1, 2]);
    // The server sends one message; its header acks the client's two.
    p.server.send(&sid, 7, 1).unwrap();
    let got = p.deliver_to_client();
    assert!(matches!(
        got.as_slice(),
        [ClientInbound::Deliver { payload_at: 5 }]
    ));
    assert_eq!(p.client.rx(), 1);
    assert_eq!(p.client.unacked(), 0);
}

#[test]
fn a_closed_connection_leaves_nothing_live() {
    let mut p = Pair::new();
    p.connect();
    let sid = p.sid();
    p.server.send(&sid, 7, 1).unwrap();
    p.deliver_to_client();
    assert!(p.client.poll_timeout().is_some(), "an ack is owed");
    p.client.handle_closed();
    assert!(!p.client.is_live());
    assert_eq!(
        p.client.poll_timeout(),
        None,
        "no ack is written to a closed connection"
    );
    assert_eq!(p.client.flush_ack(), None);
    assert!(!p.client.ping(&mut String::new()), "no ping either");
    assert!(!p.client.has_room(1));
    // The session is kept: the next hello names it, with the rx reached.
    let mut hello = String::new();
    p.client.handle_opened(&mut hello);
    assert!(
        hello.contains(&format!("\"sid\":\"{sid}\"")) && hello.contains("\"rx\":1"),
        "{hello}"
    );
}

#[test]
fn the_acks_a_client_writes() {
    let mut p = Pair::new();
    p.connect();
    let sid = p.sid();
    p.server.send(&sid, 7, 1).unwrap();
    p.deliver_to_client();
    // Owed and not due: the timer; at hide or unload, at once; piggybacked on data.
    assert_eq!(p.client.poll_ack(p.now), None);
    assert_eq!(p.client.flush_ack(), Some(AckBuf::new(1).unwrap()));
    assert_eq!(p.client.flush_ack(), None, "once");
    p.server.send(&sid, 8, 1).unwrap();
    p.deliver_to_client();
    assert_eq!(p.client.ack_to_send(), 2, "carried by the next data frame");
    assert_eq!(p.client.flush_ack(), None, "so no A frame is owed for it");
}

#[test]
fn frames_the_client_refuses() {
    let mut p = Pair::new();
    // Before any connection: a control frame is unexpected; data comes before hello.
    assert_eq!(
        p.client.handle_frame(br#"{"t":"bye"}"#, 11, true, 0.0).err(),
        Some(ProtocolError::UnexpectedControl)
    );
    assert_eq!(
        p.client.handle_frame(b"D1,0;x", 6, true, 0.0).err(),
        Some(ProtocolError::BeforeHello)
    );
    p.connect();
    // Live: data in a binary frame is fine; a control or ack frame in one is not.
    assert!(matches!(
        p.client.handle_frame(b"D1,0;x", 6, false, 0.0),
        Ok(ClientInbound::Deliver { payload_at: 5 })
    ));
    assert_eq!(
        p.client.handle_frame(br#"{"t":"pong"}"#, 12, false, 0.0).err(),
        Some(ProtocolError::NotAFrame)
    );
    assert_eq!(
        p.client.handle_frame(b"A1", 2, false, 0.0).err(),
        Some(ProtocolError::NotAFrame)
    );
    // A second welcome, or a ping from the server: unexpected.
    for frame in [&br#"{"t":"ping"}"#[..], br#"{"t":"bye"}"#] {
        assert_eq!(
            p.client.handle_frame(frame, frame.len(), true, 0.0).err(),
            Some(ProtocolError::UnexpectedControl)
        );
    }
}

#[test]
fn a_pong_only_from_a_server_that_said_it_answers_pings() {
    for (ping, ok) in [
        ("", false),
        (r#","ping":false"#, false),
        (r#","ping":true"#, true),
    ] {
        let mut client: Client<u32> = Client::new(ClientConfig::default());
        client.handle_opened(&mut String::new());
        let welcome = format!(
            r#"{{"t":"welcome","sid":"s","tok":"t","resumed":false,"rx":0,"ttl":1,"reason":"new"{ping}}}"#
        );
        let welcomed = client.handle_frame(welcome.as_bytes(), welcome.len(), true, 0.0);
        assert!(matches!(welcomed, Ok(ClientInbound::Welcomed(_))), "{welcome}");
        let mut out = String::new();
        assert_eq!(client.ping(&mut out), ok, "{welcome}");
        assert_eq!(out, if ok { r#"{"t":"ping"}"# } else { "" });
        let pong = client.handle_frame(br#"{"t":"pong"}"#, 12, true, 0.0);
        assert_eq!(pong.is_ok(), ok, "{welcome}: {pong:?}");
    }
}

#[test]
fn headers_compare_by_their_text() {
    assert_eq!(AckBuf::new(1).unwrap(), AckBuf::new(1).unwrap());
    assert_ne!(AckBuf::new(1).unwrap(), AckBuf::new(2).unwrap());
    assert_eq!(
        DataHeaderBuf::new(3, 4).unwrap(),
        DataHeaderBuf::new(3, 4).unwrap()
    );
    assert_ne!(
        DataHeaderBuf::new(3, 4).unwrap(),
        DataHeaderBuf::new(3, 5).unwrap()
    );
}
