//! A DOM event listener that removes itself when dropped.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::EventTarget;

/// An `addEventListener` registration; dropping it calls `removeEventListener` and frees the
/// closure, so nothing outlives its owner.
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(web_sys::Event)>,
    /// The JS function registered in front of `callback`, if any.
    front: Option<js_sys::Function>,
}

impl Listener {
    /// Listens for `kind` events on `target`.
    pub fn new(target: &EventTarget, kind: &'static str, f: impl FnMut(web_sys::Event) + 'static) -> Self {
        Self::with_front(target, kind, f, |_| None)
    }

    /// Like [`Listener::new`], but `front` may give a JS function to register instead of the
    /// closure, which it receives to call when it needs to.
    pub fn with_front(
        target: &EventTarget,
        kind: &'static str,
        f: impl FnMut(web_sys::Event) + 'static,
        front: impl FnOnce(&js_sys::Function) -> Option<js_sys::Function>,
    ) -> Self {
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        let front = front(callback.as_ref().unchecked_ref());
        let listener = front.as_ref().unwrap_or(callback.as_ref().unchecked_ref());
        // Only fails for a non-callable listener, which neither ever is.
        let _ = target.add_event_listener_with_callback(kind, listener);
        Listener {
            target: target.clone(),
            kind,
            callback,
            front,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let listener = self
            .front
            .as_ref()
            .unwrap_or(self.callback.as_ref().unchecked_ref());
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, listener);
    }
}
