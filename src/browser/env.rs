//! The page's connectivity, visibility and lifecycle, as inputs for the state machine (the JS
//! face's `#watchEnv`).

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
    /// `pagehide` on the global object, or `freeze` on the document (watched with
    /// continuity: acks owed go out, and a persisted session's record is written).
    Unload,
    /// `pageshow` on the global object (watched with continuity); the flag is `persisted`:
    /// the page is back from the back/forward cache.
    PageShow(bool),
}

/// Listeners for `online`, `offline`, (if asked for) `visibilitychange`, and with continuity
/// `visibilitychange`, `pagehide`, `pageshow` and `freeze`; removed on drop.
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
            // With continuity, acks owed go out before the page goes or is frozen, and a page
            // back from the back/forward cache resumes at once.
            if continuity {
                let f = on_change.clone();
                listeners.push(Listener::new(target, "pagehide", move |_| f(EnvChange::Unload)));
                let f = on_change.clone();
                listeners.push(Listener::new(target, "pageshow", move |e| {
                    let persisted = e
                        .dyn_ref::<web_sys::PageTransitionEvent>()
                        .is_some_and(web_sys::PageTransitionEvent::persisted);
                    f(EnvChange::PageShow(persisted))
                }));
            }
        }
        if watch_visibility || continuity {
            if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
                let f = on_change.clone();
                listeners.push(Listener::new(&doc, "visibilitychange", move |_| {
                    f(EnvChange::Visibility(super::bindings::is_visible()))
                }));
                if continuity {
                    let f = on_change.clone();
                    listeners.push(Listener::new(&doc, "freeze", move |_| f(EnvChange::Unload)));
                }
            }
        }
        EnvWatch {
            _listeners: listeners,
        }
    }
}
