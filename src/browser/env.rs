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
}

/// Listeners for `online`, `offline` and (if asked for) `visibilitychange`; removed on drop.
pub struct EnvWatch {
    _listeners: Vec<Listener>,
}

impl EnvWatch {
    /// Starts watching. In contexts without these events (no global `EventTarget`), watches
    /// nothing.
    pub fn new(watch_visibility: bool, on_change: impl Fn(EnvChange) + Clone + 'static) -> Self {
        let mut listeners = Vec::new();
        let global = js_sys::global();
        if let Some(target) = global.dyn_ref::<web_sys::EventTarget>() {
            for (kind, change) in [("online", EnvChange::Online), ("offline", EnvChange::Offline)] {
                let f = on_change.clone();
                listeners.push(Listener::new(target, kind, move |_| f(change)));
            }
        }
        if watch_visibility {
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
