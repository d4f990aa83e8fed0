//! What relays write to Redis and read back: key names and JSON values. Decoding trusts
//! nothing: anything malformed, oversized or inconsistent is `None` (and ignored).
//!
//! | key (prefix `tether:`) | type | content |
//! | --- | --- | --- |
//! | `tether:room:demo` | Pub/Sub channel | [`Event`]s: `{"type":"cursor","node","id","name","color","x","y"}`, `{"type":"leave","node","id"}`, `{"type":"node-gone","node"}` |
//! | `tether:room:demo:cursors` | hash | field: client id; value `{"node","name","color","x","y"}` |
//! | `tether:node:<node>` | string, `PX` ttl | the relay's random token, while it lives |

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::hub::Cursor;
use crate::identity::Identity;

/// The one room of the demo (every client is in it).
pub const ROOM: &str = "demo";

/// Largest value read from Redis; a cursor entry is about 100 bytes.
pub const MAX_VALUE: usize = 1024;

/// Node numbers are 1..2^20, so that ids (`node << 32 | n`) stay below 2^53 and are exact
/// as JavaScript numbers.
pub const MAX_NODE: u64 = 1 << 20;

/// The key names under one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
    /// The room's Pub/Sub channel.
    pub channel: String,
    /// The room's hash of cursors.
    pub cursors: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_owned(),
            channel: format!("{prefix}room:{ROOM}"),
            cursors: format!("{prefix}room:{ROOM}:cursors"),
        }
    }

    /// Relay `node`'s liveness key.
    pub fn node(&self, node: u64) -> String {
        format!("{}node:{node}", self.prefix)
    }
}

/// A message on the room's channel.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Moved(u64, Cursor),
    Left { node: u64, id: u64 },
    NodeGone(u64),
}

impl Event {
    /// The relay that sent it.
    pub fn node(&self) -> u64 {
        match self {
            Event::Moved(_, c) => c.node,
            Event::Left { node, .. } | Event::NodeGone(node) => *node,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct EntryJson<'a> {
    node: u64,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    color: Cow<'a, str>,
    x: f64,
    y: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum EventJson<'a> {
    Cursor {
        node: u64,
        id: u64,
        #[serde(borrow)]
        name: Cow<'a, str>,
        #[serde(borrow)]
        color: Cow<'a, str>,
        x: f64,
        y: f64,
    },
    Leave {
        node: u64,
        id: u64,
    },
    NodeGone {
        node: u64,
    },
}

fn to_json(value: &impl Serialize) -> String {
    // Plain structs of numbers and strings always serialize; never panic regardless.
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

/// The room hash's value for a cursor.
pub fn encode_entry(c: &Cursor) -> String {
    to_json(&EntryJson {
        node: c.node,
        name: Cow::from(&c.identity.name),
        color: Cow::from(&c.identity.color),
        x: c.x,
        y: c.y,
    })
}

/// A room hash field and value, if both are well-formed.
pub fn decode_entry(field: &[u8], value: &[u8]) -> Option<(u64, Cursor)> {
    if value.len() > MAX_VALUE {
        return None;
    }
    let id = std::str::from_utf8(field).ok()?.parse().ok()?;
    let e: EntryJson = serde_json::from_slice(value).ok()?;
    cursor(e.node, id, &e.name, &e.color, e.x, e.y).map(|c| (id, c))
}

pub fn encode_event(event: &Event) -> String {
    match event {
        Event::Moved(id, c) => to_json(&EventJson::Cursor {
            node: c.node,
            id: *id,
            name: Cow::from(&c.identity.name),
            color: Cow::from(&c.identity.color),
            x: c.x,
            y: c.y,
        }),
        &Event::Left { node, id } => to_json(&EventJson::Leave { node, id }),
        &Event::NodeGone(node) => to_json(&EventJson::NodeGone { node }),
    }
}

pub fn decode_event(payload: &[u8]) -> Option<Event> {
    if payload.len() > MAX_VALUE {
        return None;
    }
    match serde_json::from_slice(payload).ok()? {
        EventJson::Cursor {
            node,
            id,
            name,
            color,
            x,
            y,
        } => cursor(node, id, &name, &color, x, y).map(|c| Event::Moved(id, c)),
        EventJson::Leave { node, id } => owned_by(node, id).then_some(Event::Left { node, id }),
        EventJson::NodeGone { node } => valid_node(node).then_some(Event::NodeGone(node)),
    }
}

fn valid_node(node: u64) -> bool {
    (1..MAX_NODE).contains(&node)
}

/// Client ids carry their relay's number in the high half.
fn owned_by(node: u64, id: u64) -> bool {
    valid_node(node) && id >> 32 == node && id & 0xffff_ffff != 0
}

/// A cursor as the hub would make it: a valid name and colour, a position in 0..1.
fn cursor(node: u64, id: u64, name: &str, color: &str, x: f64, y: f64) -> Option<Cursor> {
    if !owned_by(node, id) || !x.is_finite() || !y.is_finite() {
        return None;
    }
    Some(Cursor {
        node,
        identity: Identity::from_hint(Some(name), Some(color))?,
        x: x.clamp(0.0, 1.0),
        y: y.clamp(0.0, 1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(node: u64) -> Cursor {
        Cursor {
            node,
            identity: Identity::for_id(3),
            x: 0.125,
            y: 1.0 / 3.0,
        }
    }

    #[test]
    fn entries_and_events_round_trip() {
        let id = (7 << 32) | 3;
        let c = sample(7);
        let field = id.to_string();
        assert_eq!(
            decode_entry(field.as_bytes(), encode_entry(&c).as_bytes()),
            Some((id, c.clone()))
        );
        for e in [
            Event::Moved(id, c),
            Event::Left { node: 7, id },
            Event::NodeGone(7),
        ] {
            assert_eq!(decode_event(encode_event(&e).as_bytes()), Some(e));
        }
        assert_eq!(Keys::new("t:").node(7), "t:node:7");
        assert_eq!(Keys::new("t:").cursors, "t:room:demo:cursors");
    }

    #[test]
    fn anything_malformed_is_ignored() {
        let ok = r##"{"node":7,"name":"Swift Otter","color":"#aabbcc","x":0.5,"y":0.5}"##;
        let field = ((7u64 << 32) | 1).to_string();
        assert!(decode_entry(field.as_bytes(), ok.as_bytes()).is_some());
        assert_eq!(decode_entry(b"x", ok.as_bytes()), None, "field not an id");
        assert_eq!(decode_entry(b"1", ok.as_bytes()), None, "id of another node");
        assert_eq!(decode_entry(&[0xff], ok.as_bytes()), None, "field not UTF-8");
        for bad in [
            "",
            "not json",
            r#"{"node":7}"#,
            r##"{"node":7,"name":"<script>","color":"#aabbcc","x":0.5,"y":0.5}"##,
            r##"{"node":7,"name":"A","color":"red","x":0.5,"y":0.5}"##,
            r##"{"node":7,"name":"A","color":"#aabbcc","x":"1","y":0.5}"##,
            r##"{"node":7,"name":"A","color":"#aabbcc","x":1e999,"y":0.5}"##,
        ] {
            assert_eq!(decode_entry(field.as_bytes(), bad.as_bytes()), None, "{bad}");
        }
        let big = format!(r#"{{"node":7,"pad":"{}"}}"#, "x".repeat(MAX_VALUE));
        assert_eq!(decode_entry(field.as_bytes(), big.as_bytes()), None);
        for bad in [
            r#"{"type":"node-gone","node":0}"#,
            r#"{"type":"node-gone","node":1048576}"#,
            r#"{"type":"leave","node":7,"id":5}"#,
            r#"{"type":"leave","node":7,"id":30064771072}"#,
            r#"{"type":"teleport","node":7}"#,
            "[1,2]",
        ] {
            assert_eq!(decode_event(bad.as_bytes()), None, "{bad}");
        }
        // Positions are clamped as the hub clamps its own.
        let far = format!(
            r##"{{"type":"cursor","node":7,"id":{field},"name":"A","color":"#AABBCC","x":-2,"y":9}}"##
        );
        let Some(Event::Moved(_, c)) = decode_event(far.as_bytes()) else {
            panic!("a valid cursor")
        };
        assert_eq!((c.x, c.y, c.identity.color.as_str()), (0.0, 1.0, "#aabbcc"));
    }
}
