//! The page's connectivity and visibility, as inputs for the state machine.

use wasm_bindgen::JsCast;

use super::listener::Listener;

/// Which page-level change happened.
#[derive(Clone, Copy)]
pub enum EnvChange {
    /// `online` on the global object.
    Online,
    /// `offline` on the global object.
    Offline,
    /// `visibilitychange` on the document; the flag is the new visibility.
    Visibility(bool),
    /// `pagehide` on the global object (watched with continuity: acks owed go out).
    Unload,
}

/// Listeners for `online`, `offline`, (if asked for) `visibilitychange`, and with continuity
/// `visibilitychange` and `pagehide`; removed on drop.
pub struct EnvWatch {
    _listeners: Vec<Listener>,
}

impl EnvWatch {
    /// Starts watching. In contexts without these events (no global `EventTarget`), watches
    /// nothing.
    pub fn new(
        watch_visibility: bool,
        continuity: bool,
        on_change: impl Fn(EnvChange) + Clone + 'static,
    ) -> Self {
        let mut listeners = Vec::new();
        let global = js_sys::global();
        if let Some(target) = global.dyn_ref::<web_sys::EventTarget>() {
            for (kind, change) in [("online", EnvChange::Online), ("offline", EnvChange::Offline)] {
                let f = on_change.clone();
                listeners.push(Listener::new(target, kind, move |_| f(change)));
            }
            // With continuity, acks owed go out before the page goes.
            if continuity {
                let f = on_change.clone();
                listeners.push(Listener::new(target, "pagehide", move |_| f(EnvChange::Unload)));
            }
        }
        if watch_visibility || continuity {
            if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
                let f = on_change.clone();
                listeners.push(Listener::new(&doc, "visibilitychange", move |_| {
                    f(EnvChange::Visibility(super::bindings::is_visible()))
                }));
            }
        }
        EnvWatch {
            _listeners: listeners,
        }
    }
}
