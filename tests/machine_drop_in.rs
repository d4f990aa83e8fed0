#![cfg(not(target_arch = "wasm32"))]
//! The core's rules for the drop-in surface of reconnecting-websocket and partysocket:
//! `readyState` while `reconnect()` replaces a socket, and taking the queue out unreported
//! (`drainQueuedMessages()`), and the state names both faces show.

use tether_ws::core::{Action, Config, ConnId, Machine, SendOutcome, State};

/// Carries out the machine's actions the way a driver would, returning the Connect ids.
fn drain(m: &mut Machine<u32>) -> Vec<ConnId> {
    let mut connects = vec![];
    while let Some(a) = m.poll_action() {
        if let Action::Connect { id } = a {
            connects.push(id);
        }
    }
    connects
}

fn open(m: &mut Machine<u32>, now: f64) -> ConnId {
    let id = *drain(m).last().expect("a connect");
    m.handle_socket_created(id);
    m.handle_opened(id, now, "");
    drain(m);
    id
}

#[test]
fn ready_state_is_closing_from_reconnect_until_the_next_socket_exists() {
    let mut m = Machine::new(Config::default(), 1, 0.0);
    let first = open(&mut m, 0.0);
    assert_eq!(m.ready_state(), 1);

    m.reconnect(10.0, 1000, "");
    assert_eq!(m.state(), State::Connecting);
    assert_eq!(
        m.ready_state(),
        2,
        "the old socket is closing and no new one exists yet"
    );
    // Calls in a row: still the old socket's state, and still one attempt wanted.
    m.reconnect(11.0, 1000, "");
    m.reconnect(12.0, 1000, "");
    assert_eq!(m.ready_state(), 2);
    let connects = drain(&mut m);
    let last = *connects.last().expect("a connect");
    assert!(last > first);
    // A socket created for an attempt already given up changes nothing.
    m.handle_socket_created(connects[0]);
    assert_eq!(m.ready_state(), 2);
    m.handle_socket_created(last);
    assert_eq!(m.ready_state(), 0, "the new socket is connecting");
    m.handle_opened(last, 20.0, "");
    assert_eq!(m.ready_state(), 1);
}

#[test]
fn ready_state_after_reconnect_from_closed_or_connecting_is_connecting() {
    let cfg = Config {
        start_closed: true,
        ..Config::default()
    };
    let mut m: Machine<u32> = Machine::new(cfg, 1, 0.0);
    assert_eq!(m.ready_state(), 3);
    m.reconnect(0.0, 1000, "");
    assert_eq!(m.ready_state(), 0, "nothing was open: nothing is closing");
    m.reconnect(1.0, 1000, "");
    assert_eq!(m.ready_state(), 0);
}

#[test]
fn ready_state_is_never_closing_once_the_replacement_fails_or_closes() {
    let mut m = Machine::new(Config::default(), 1, 0.0);
    open(&mut m, 0.0);
    m.reconnect(10.0, 1000, "");
    let id = *drain(&mut m).last().expect("a connect");
    m.handle_connect_failed(id, 11.0);
    drain(&mut m);
    assert_eq!(m.state(), State::Reconnecting);
    assert_eq!(m.ready_state(), 0);

    let mut m = Machine::new(Config::default(), 1, 0.0);
    open(&mut m, 0.0);
    m.reconnect(10.0, 1000, "");
    m.close(11.0, 1000, "");
    assert_eq!(m.ready_state(), 3);
}

#[test]
fn take_queued_empties_the_outbox_in_order_without_drop_events() {
    let cfg = Config {
        start_closed: true,
        ..Config::default()
    };
    let mut m = Machine::new(cfg, 1, 0.0);
    for seq in 1..=3 {
        assert_eq!(m.send(seq, None, |_| 1), SendOutcome::Queued);
    }
    drain(&mut m);
    assert_eq!(m.take_queued(), Some(1));
    assert_eq!(m.take_queued(), Some(2));
    assert_eq!(m.take_queued(), Some(3));
    assert_eq!(m.take_queued(), None);
    assert_eq!((m.queued_messages(), m.queued_bytes()), (0, 0));
    assert!(m.poll_action().is_none(), "nothing is reported");
}

#[test]
fn states_display_as_their_js_names() {
    for (state, name) in [
        (State::Connecting, "connecting"),
        (State::Open, "open"),
        (State::Closing, "closing"),
        (State::Reconnecting, "reconnecting"),
        (State::Closed, "closed"),
    ] {
        assert_eq!(state.to_string(), name);
        assert_eq!(state.as_str(), name);
    }
}
