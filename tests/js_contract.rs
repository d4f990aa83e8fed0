#![cfg(not(target_arch = "wasm32"))]
//! The contract between the JS face and the core, checked instead of commented: what the JS
//! sources (read here as text) hold must be what the Rust definitions say.
//!
//! - The options the core owns: options.js's `CORE_OPTIONS` (names, types, order of the
//!   numbers `Core::new` takes) and `OVERFLOW` are the core's (`Config::js_options`,
//!   `Overflow`); every default written in index.d.ts and in README's options table is
//!   `Config::default()`'s. A new option missing from either doc fails here.
//! - The action kinds (`KIND_*` in src/js/core.rs) and the enum orders (`State`,
//!   `RetryReason`, `DropReason`, `ErrorKind`, the ready states) are tether_socket.js's.
//!
//! Adding a variant to one of those enums does not compile here until it is listed (the
//! exhaustive matches below), so the JS arrays cannot be forgotten either.

use tether_ws::core::{Config, DropReason, ErrorKind, Overflow, RetryReason, SessionStart, State};

fn source(path: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text of `src` from `start` (which must occur once) to the first `end` after it.
fn between<'a>(src: &'a str, start: &str, end: &str) -> &'a str {
    assert_eq!(src.matches(start).count(), 1, "`{start}` must occur once");
    let from = src.find(start).unwrap() + start.len();
    let len = src[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no `{end}` after `{start}`"));
    &src[from..from + len]
}

/// The items of a JS array literal of strings and `undefined` (None), as written after `decl`.
fn js_array(src: &str, decl: &str) -> Vec<Option<String>> {
    let open = between(src, decl, ";");
    let items = between(open, "[", "]");
    items
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "undefined" => None,
            _ => Some(
                s.strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .expect(s)
                    .to_owned(),
            ),
        })
        .collect()
}

/// The double-quoted strings in `text`, in order.
fn quoted(text: &str) -> Vec<&str> {
    text.split('"').skip(1).step_by(2).collect()
}

/// `value` as JS prints it (1000, 1.3, Infinity).
fn js_number(value: f64) -> String {
    if value == f64::INFINITY {
        "Infinity".into()
    } else {
        format!("{value}")
    }
}

/// A core option's default as the docs write it: a number, true/false, an overflow name in
/// quotes, "off" for an object not given.
fn doc_default(ty: &str, value: f64) -> String {
    match ty {
        "number" | "count" => js_number(value),
        "boolean" => (value != 0.0).to_string(),
        "overflow" => format!("\"{}\"", overflow_by_index()[value as usize].as_str()),
        "mode" => ["\"off\"", "\"prefer\"", "\"required\""][value as usize].into(),
        "object" => {
            assert_eq!(
                value, 0.0,
                "an object option on by default: say how the docs write it"
            );
            "off".into()
        }
        _ => panic!("unknown JS type {ty}"),
    }
}

fn overflow_by_index() -> Vec<Overflow> {
    let all = [Overflow::DropOldest, Overflow::DropNewest, Overflow::Reject];
    for o in all {
        match o {
            Overflow::DropOldest | Overflow::DropNewest | Overflow::Reject => {}
        }
    }
    let mut v = all.to_vec();
    v.sort_by_key(|o| *o as u8);
    v
}

fn states() -> [State; 5] {
    let all = [
        State::Connecting,
        State::Open,
        State::Closing,
        State::Reconnecting,
        State::Closed,
    ];
    for s in all {
        match s {
            State::Connecting | State::Open | State::Closing | State::Reconnecting | State::Closed => {}
        }
    }
    all
}

fn retry_reasons() -> [RetryReason; 6] {
    use RetryReason::*;
    let all = [
        Closed,
        ConnectionTimeout,
        HeartbeatTimeout,
        MessageTooBig,
        ProtocolError,
        NoContinuity,
    ];
    for r in all {
        match r {
            Closed | ConnectionTimeout | HeartbeatTimeout | MessageTooBig | ProtocolError | NoContinuity => {}
        }
    }
    all
}

fn drop_reasons() -> [DropReason; 4] {
    use DropReason::*;
    let all = [Overflow, Disposed, Replaced, SessionLost];
    for d in all {
        match d {
            Overflow | Disposed | Replaced | SessionLost => {}
        }
    }
    all
}

fn session_starts() -> [SessionStart; 8] {
    use SessionStart::*;
    let all = [
        Resumed,
        New,
        Unknown,
        Expired,
        Auth,
        Overflow,
        Unsupported,
        NoWelcome,
    ];
    for s in all {
        match s {
            Resumed | New | Unknown | Expired | Auth | Overflow | Unsupported | NoWelcome => {}
        }
    }
    all
}

/// The `message` of the JS `error` event for each kind (None: the socket's own, if any).
fn error_message(kind: ErrorKind) -> Option<&'static str> {
    match kind {
        ErrorKind::Socket => None,
        // reconnecting-websocket's.
        ErrorKind::ConnectionTimeout => Some("TIMEOUT"),
        ErrorKind::MessageTooBig => Some("message too big"),
        // The server broke the continuity protocol; it does not speak it, and it is required.
        ErrorKind::ProtocolError => Some("protocol error"),
        ErrorKind::NoContinuity => Some("no continuity"),
    }
}

/// Checks that JS array `decl` of tether_socket.js lists `names` by variant index.
fn check_enum<T: Copy>(
    decl: &str,
    all: &[T],
    index: impl Fn(T) -> usize,
    name: impl Fn(T) -> Option<&'static str>,
) {
    let src = source("src/js/tether_socket.js");
    let mut js = js_array(&src, decl);
    // Then what the continuity entry adds: `NAME.push(...)` in the `if (CONTINUITY)` block.
    let array = decl.trim_start_matches("const ").trim_end_matches(" =");
    if let Some(pushed) = src.split_once(&format!("\n  {array}.push(")) {
        let items = pushed.1.split_once(");").expect("NAME.push(...);").0;
        js.extend(quoted(items).into_iter().map(|s| Some(s.to_owned())));
    }
    assert_eq!(
        js.len(),
        all.len(),
        "tether_socket.js `{decl}` must have one item per variant"
    );
    for &v in all {
        assert_eq!(
            js[index(v)].as_deref(),
            name(v),
            "tether_socket.js `{decl}` at index {}",
            index(v)
        );
    }
}

#[test]
fn options_js_lists_the_core_options_in_order() {
    let js = source("src/js/options.js");
    // The continuity protocol's options follow, in their own array (one entry has them).
    let mut table = between(&js, "const CORE_OPTIONS = [", "];").to_owned();
    table += between(&js, "const CONTINUITY_OPTIONS = [", "];");
    assert!(js.contains("if (CONTINUITY) CORE_OPTIONS.push(...CONTINUITY_OPTIONS);"));
    let js_rows: Vec<(&str, &str)> = quoted(&table).chunks(2).map(|p| (p[0], p[1])).collect();
    let core_rows: Vec<(&str, &str)> = Config::default().js_options().map(|(n, t, _)| (n, t)).collect();
    assert_eq!(
        js_rows, core_rows,
        "options.js CORE_OPTIONS must be Config::js_options, in order"
    );
}

#[test]
fn overflow_names_are_by_index() {
    let js = js_array(&source("src/js/options.js"), "const OVERFLOW =");
    let by_index = overflow_by_index();
    assert_eq!(
        js.len(),
        by_index.len(),
        "options.js OVERFLOW: one name per variant"
    );
    let at = Config::default()
        .js_options()
        .position(|(n, ..)| n == "overflow")
        .unwrap();
    for (i, o) in by_index.iter().enumerate() {
        assert_eq!(js[i].as_deref(), Some(o.as_str()), "options.js OVERFLOW[{i}]");
        assert_eq!(Overflow::parse(o.as_str()), Some(*o));
        // What Core makes of index i.
        let mut n = vec![f64::NAN; at + 1];
        n[at] = i as f64;
        assert_eq!(Config::from_js(&n).unwrap().queue.overflow, *o, "index {i}");
    }
    let mut n = vec![f64::NAN; at + 1];
    n[at] = by_index.len() as f64;
    assert_eq!(Config::from_js(&n).unwrap_err().option, "overflow");
}

#[test]
fn index_d_ts_says_the_core_defaults() {
    let dts = source("src/js/index.d.ts");
    let mut problems = Vec::new();
    for (name, ty, value) in Config::default().js_options() {
        let (interface, key) = match name.split_once('.') {
            Some(("heartbeat", key)) => ("HeartbeatOptions", key),
            Some(("continuity", key)) => ("ContinuityOptions", key),
            Some(_) => panic!("{name}: which interface of index.d.ts holds it?"),
            None => ("TetherSocketOptions", name),
        };
        let body = between(&dts, &format!("export interface {interface} {{"), "\n}");
        let Some(at) = body.find(&format!("\n  {key}?:")) else {
            problems.push(format!("{name}: not declared in {interface}"));
            continue;
        };
        let doc = body[..at].lines().last().unwrap_or("");
        let want = match ty {
            "object" => format!("{} by default", doc_default(ty, value)),
            _ => format!("(default {})", doc_default(ty, value)),
        };
        if !doc.contains(&want) {
            problems.push(format!("{name}: its doc must say `{want}`: {doc}"));
        }
    }
    assert!(problems.is_empty(), "src/js/index.d.ts:\n{}", problems.join("\n"));
}

#[test]
fn readme_options_table_says_the_core_defaults() {
    let readme = source("README.md");
    let table = between(&readme, "### Options and defaults\n", "\n\n");
    // The cells of each row.
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r[0].split(" / ").any(|c| c == format!("`{name}`")))
    };
    let mut problems = Vec::new();
    for (name, ty, value) in Config::default().js_options() {
        let want = doc_default(ty, value);
        match name.split_once('.') {
            // A field of an object option: `{ key: default, ... }` in the object's row.
            Some((object, key)) => match row(object) {
                Some(r) if r[2].contains(&format!("{key}: {want}")) => {}
                _ => problems.push(format!("{name}: the `{object}` row must say `{key}: {want}`")),
            },
            None => {
                let want = if ty == "overflow" {
                    format!("`{want}`")
                } else {
                    want
                };
                match row(name) {
                    Some(r) if r[1] == want => {}
                    Some(r) => problems.push(format!("{name}: default `{}`, the core's is `{want}`", r[1])),
                    None => problems.push(format!("{name}: no row")),
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "README.md's options table:\n{}",
        problems.join("\n")
    );
}

#[test]
fn action_kinds_are_the_same_numbers() {
    let rust = source("src/js/core.rs");
    let kinds: Vec<(String, u32)> = rust
        .lines()
        .filter_map(|l| l.strip_prefix("const KIND_"))
        .map(|l| {
            let (name, rest) = l.split_once(": u8 = ").expect(l);
            (name.to_owned(), rest.trim_end_matches(';').parse().expect(l))
        })
        .collect();
    assert!(kinds.len() >= 11, "the KIND_* constants of src/js/core.rs");
    // The run of `const NAME = n, ...;` lines that starts with CONNECT.
    let js = source("src/js/tether_socket.js");
    let start = js
        .find("\nconst CONNECT = ")
        .expect("tether_socket.js: const CONNECT = ...")
        + 1;
    let mut js_kinds = Vec::new();
    for line in js[start..].lines() {
        let Some(decls) = line.strip_prefix("const ").and_then(|l| l.strip_suffix(';')) else {
            break;
        };
        let parsed: Option<Vec<(String, u32)>> = decls
            .split(", ")
            .map(|d| {
                d.split_once(" = ")
                    .and_then(|(n, v)| Some((n.to_owned(), v.parse().ok()?)))
            })
            .collect();
        match parsed {
            Some(p) => js_kinds.extend(p),
            None => break,
        }
    }
    let mut rust_sorted = kinds.clone();
    rust_sorted.sort();
    js_kinds.sort();
    assert_eq!(
        js_kinds, rust_sorted,
        "tether_socket.js's action kinds must be src/js/core.rs's KIND_*"
    );
}

#[test]
fn enum_orders_are_the_same() {
    check_enum("const STATES =", &states(), |s| s as usize, |s| Some(s.as_str()));
    check_enum(
        "const RETRY_REASONS =",
        &retry_reasons(),
        |r| r as usize,
        |r| Some(r.as_str()),
    );
    check_enum(
        "const DROP_REASONS =",
        &drop_reasons(),
        |d| d as usize,
        |d| Some(d.as_str()),
    );
    check_enum(
        "const SESSION_STARTS =",
        &session_starts(),
        |s| s as usize,
        |s| Some(s.as_str()),
    );
    use ErrorKind::*;
    let kinds = [
        Socket,
        ConnectionTimeout,
        MessageTooBig,
        ProtocolError,
        NoContinuity,
    ];
    check_enum("const ERROR_MESSAGES =", &kinds, |k| k as usize, error_message);
}

#[test]
fn ready_states_are_the_same() {
    let js = source("src/js/tether_socket.js");
    let order = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];
    assert!(js.contains("[\"CONNECTING\", \"OPEN\", \"CLOSING\", \"CLOSED\"].forEach((name, value)"));
    for s in states() {
        let want = match s {
            State::Connecting | State::Reconnecting => "CONNECTING",
            State::Open => "OPEN",
            State::Closing => "CLOSING",
            State::Closed => "CLOSED",
        };
        assert_eq!(order[s.ready_state() as usize], want, "{s:?}");
    }
}

/// `Config::from_js` on any numbers: a config or an error naming an option of the table,
/// never a panic; a config it accepts survives `to_js` and back unchanged.
#[test]
fn from_js_takes_any_numbers() {
    use proptest::prelude::*;
    let names: Vec<&str> = Config::default().js_options().map(|(n, ..)| n).collect();
    let len = names.len();
    let special = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -1.0,
        -0.0,
        0.0,
        0.5,
        1.0,
        2.0,
        3.0,
        1e300,
        4294967296.0,
        f64::MAX,
        f64::MIN_POSITIVE,
    ];
    let value = prop_oneof![proptest::sample::select(special.to_vec()), any::<f64>()];
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&proptest::collection::vec(value, 0..len + 3), |n| {
            match Config::from_js(&n) {
                Ok(c) => {
                    prop_assert_eq!(c.validate(), Ok(()));
                    prop_assert_eq!(Config::from_js(&c.to_js()), Ok(c));
                }
                Err(e) => prop_assert!(names.contains(&e.option), "{}", e.option),
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn from_js_fills_defaults_and_names_the_bad_option() {
    let names: Vec<&str> = Config::default().js_options().map(|(n, ..)| n).collect();
    let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
    let with = |pairs: &[(&str, f64)]| {
        let mut n = vec![f64::NAN; names.len()];
        for &(name, v) in pairs {
            n[at(name)] = v;
        }
        Config::from_js(&n)
    };
    assert_eq!(with(&[]), Ok(Config::default()));
    assert_eq!(Config::from_js(&[]), Ok(Config::default()));
    // Core writes the resolved values back: the defaults, as JS numbers.
    let back = Config::default().to_js();
    assert_eq!(back[at("maxMessageBytes")], f64::INFINITY);
    assert_eq!(back[at("pauseWhenHidden")], 0.0);
    assert_eq!(back[at("minReconnectionDelay")], 1000.0);
    let err = |pairs: &[(&str, f64)]| with(pairs).unwrap_err().to_string();
    assert_eq!(
        err(&[("jitter", 2.0)]),
        "invalid option `jitter`: expected a number from 0 to 1"
    );
    assert_eq!(
        err(&[("minReconnectionDelay", -1.0)]),
        "invalid option `minReconnectionDelay`: expected a finite number of milliseconds >= 0"
    );
    for count in [
        "maxRetries",
        "maxEnqueuedMessages",
        "maxEnqueuedBytes",
        "maxMessageBytes",
    ] {
        for bad in [-1.0, 1.5, f64::NEG_INFINITY] {
            assert_eq!(
                err(&[(count, bad)]),
                format!("invalid option `{count}`: expected a whole number >= 0 or Infinity")
            );
        }
    }
    // Heartbeat fields count only with the heartbeat on; there they are checked.
    assert_eq!(with(&[("heartbeat.intervalMs", 0.0)]), Ok(Config::default()));
    let on = with(&[("heartbeat", 1.0), ("heartbeat.timeoutMs", 500.0)]).unwrap();
    let h = on.heartbeat.unwrap();
    assert_eq!((h.interval_ms, h.timeout_ms), (30_000.0, 500.0));
    assert_eq!(
        err(&[("heartbeat", 1.0), ("heartbeat.intervalMs", f64::INFINITY)]),
        "invalid option `heartbeat.intervalMs`: expected a finite number of milliseconds > 0"
    );
    let c = with(&[
        ("maxRetries", f64::INFINITY),
        ("maxEnqueuedBytes", 1e30),
        ("startClosed", 1.0),
    ])
    .unwrap();
    assert_eq!(
        (c.backoff.max_retries, c.queue.max_bytes, c.start_closed),
        (u32::MAX, u64::MAX, true)
    );
}

/// `snake_case` → `camelCase`.
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The JS names of `Core`'s methods (src/js/core.rs), with the machine method each forwards
/// to (`self.machine.x(`), if one.
fn core_methods() -> Vec<(String, Option<String>)> {
    let src = source("src/js/core.rs");
    // Every `#[wasm_bindgen] impl Core` block (the continuity one too), and the private one.
    let body = src
        .split_once("#[wasm_bindgen]\nimpl Core {")
        .expect("impl Core")
        .1;
    let mut out = Vec::new();
    let mut js_name = None;
    let mut current: Option<(String, Option<String>)> = None;
    for line in body.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#[wasm_bindgen(js_name = ") {
            js_name = Some(rest.trim_end_matches(")]").to_string());
        } else if let Some(rest) = line.strip_prefix("pub fn ") {
            out.extend(current.take());
            let rust = rest.split('(').next().unwrap();
            current = Some((js_name.take().unwrap_or_else(|| camel(rust)), None));
        } else if let (Some((_, forward @ None)), Some(at)) = (current.as_mut(), line.find("machine.")) {
            let called = line[at + "machine.".len()..].split('(').next().unwrap();
            if called.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !called.is_empty() {
                *forward = Some(called.to_string());
            }
        }
    }
    out.extend(current);
    out
}

#[test]
fn core_methods_have_the_machine_names() {
    // One name per concept: Core's method is the machine's, camelCase, without `handle_`
    // (src/core/mod.rs), except the observers of the fields JS reads and `new`.
    let methods = core_methods();
    assert!(methods.len() > 25, "{methods:?}");
    for (js, machine) in &methods {
        let Some(machine) = machine else { continue };
        let want = camel(machine.strip_prefix("handle_").unwrap_or(machine));
        // `new` builds the machine; `frameText` and `frameBinary` are `frame` for each kind.
        if js == "new" || (want == "frame" && (js == "frameText" || js == "frameBinary")) {
            continue;
        }
        assert_eq!(
            js, &want,
            "Core.{js} forwards to Machine::{machine}: name it `{want}`"
        );
    }
}

#[test]
fn the_js_driver_calls_only_core_methods() {
    let methods: Vec<String> = core_methods().into_iter().map(|(js, _)| js).collect();
    let driver = source("src/js/tether_socket.js") + &source("src/js/options.js");
    let mut called = Vec::new();
    for (at, _) in driver.match_indices("core.") {
        // Not a file name (src/js/core.rs) nor another variable (`#core.` is one).
        if driver[..at].ends_with(|c: char| c == '/' || c.is_ascii_alphanumeric()) {
            continue;
        }
        let name: String = driver[at + 5..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        // A call (`core.x(`) or a field getter (`core.id`).
        if !name.is_empty() && !called.contains(&name) {
            called.push(name);
        }
    }
    assert!(called.len() > 20, "{called:?}");
    for name in called {
        assert!(
            methods.contains(&name) || name == "free",
            "tether_socket.js calls core.{name}, which Core does not have"
        );
    }
}

#[test]
fn the_js_face_reads_data_headers_from_as_many_characters_as_the_codec_needs() {
    use tether_ws::core::continuity::MAX_DATA_HEADER_BYTES;
    let js = source("src/js/tether_socket.js");
    let want = format!("const HEADER_CHARS = {MAX_DATA_HEADER_BYTES};");
    assert!(js.contains(&want), "tether_socket.js must say `{want}`");
}

/// The two faces keep sessions in one layout (PROTOCOL.md, "Keeping a session across page
/// loads"), so that the facts each writes down are the same: the key prefix, the wait for
/// another tab's claim, and the separator before a message's number.
#[test]
fn both_faces_persist_in_one_layout() {
    let js = source("src/js/persist.js");
    let rust = source("src/browser/persist.rs");
    assert_eq!(
        between(&js, "const PREFIX = ", ";"),
        between(&rust, "const PREFIX: &str = ", ";")
    );
    assert_eq!(
        between(&js, "const CLAIM_MS = ", ";"),
        between(&rust, "pub const CLAIM_MS: u32 = ", ";")
    );
    assert!(
        js.contains(r##"this.#base + "#" + n"##),
        "persist.js names messages <key>#<n>"
    );
    assert!(
        rust.contains(r#"format!("{}#{n}", self.base)"#),
        "persist.rs names messages <key>#<n>"
    );
    for t in ["claim", "owned"] {
        assert!(
            js.contains(&format!(r#"t: "{t}""#)) || js.contains(&format!(r#"t === "{t}""#)),
            "{t} in persist.js"
        );
        assert!(rust.contains(&format!(r#""{t}""#)), "{t} in persist.rs");
    }
}
