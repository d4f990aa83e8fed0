//! Turns driver events into DOM events on the socket's own `EventTarget`, which gives
//! listeners exactly the browser's semantics (`once`, `{handleEvent}` objects, `signal`,
//! duplicates ignored, a throwing listener reported without affecting the others).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, EventTarget, MessageEvent};

use crate::browser::Sink;
use crate::core::{CloseInfo, Event, State};

#[wasm_bindgen(module = "/src/js/events.js")]
extern "C" {
    #[wasm_bindgen(js_name = fireOpen)]
    fn fire_open(target: &EventTarget, handler: &JsValue);
    #[wasm_bindgen(js_name = fireError)]
    fn fire_error(target: &EventTarget, handler: &JsValue);
    #[wasm_bindgen(js_name = fireMessage)]
    fn fire_message(target: &EventTarget, handler: &JsValue, source: &MessageEvent);
    #[wasm_bindgen(js_name = fireClose)]
    fn fire_close(target: &EventTarget, handler: &JsValue, code: u16, reason: &str, was_clean: bool);
    #[wasm_bindgen(js_name = fireReconnecting)]
    fn fire_reconnecting(target: &EventTarget, attempt: u32, delay_ms: f64, reason: &str);
    #[wasm_bindgen(js_name = fireStateChange)]
    fn fire_state_change(target: &EventTarget, from: &str, to: &str);
    #[wasm_bindgen(js_name = fireDrop)]
    fn fire_drop(target: &EventTarget, data: &JsValue, reason: &str);
    #[wasm_bindgen(js_name = fireRequeue)]
    fn fire_requeue(target: &EventTarget, count: u32, bytes: f64);
    #[wasm_bindgen(js_name = callHook)]
    fn call_hook(hook: &js_sys::Function, arg: &JsValue, fallback: bool) -> bool;
    #[wasm_bindgen(js_name = isFunction)]
    pub fn is_function(v: &JsValue) -> bool;
    #[wasm_bindgen(js_name = redactUrl)]
    fn redact_url(url: &str) -> String;
}

/// The `on*` handler properties.
#[derive(Default)]
pub struct Handlers {
    pub open: JsValue,
    pub message: JsValue,
    pub close: JsValue,
    pub error: JsValue,
}

/// The JS face's [`Sink`].
pub struct JsSink {
    pub target: EventTarget,
    pub handlers: RefCell<Handlers>,
    pub should_reconnect: Option<js_sys::Function>,
    pub is_pong: Option<js_sys::Function>,
    /// The redacted URL for debug logs, when `debug` is on.
    pub debug_url: Option<String>,
}

impl JsSink {
    pub fn new(
        should_reconnect: Option<js_sys::Function>,
        is_pong: Option<js_sys::Function>,
        debug: bool,
        url: &str,
    ) -> Result<Self, JsValue> {
        Ok(JsSink {
            target: EventTarget::new()?,
            handlers: RefCell::new(Handlers::default()),
            should_reconnect,
            is_pong,
            debug_url: debug.then(|| redact_url(url)),
        })
    }

    /// A clone of one handler, so none is borrowed while it runs.
    fn handler(&self, pick: fn(&Handlers) -> &JsValue) -> JsValue {
        pick(&self.handlers.borrow()).clone()
    }

    fn log_state(&self, from: State, to: State) {
        if let Some(url) = &self.debug_url {
            let line = js_sys::Array::of4(
                &"[tether-ws]".into(),
                &url.into(),
                &from.as_str().into(),
                &JsValue::from_str(to.as_str()),
            );
            web_sys::console::debug(&line);
        }
    }
}

impl Sink for JsSink {
    fn event(&self, event: Event<JsValue>) {
        let t = &self.target;
        match event {
            Event::Open => fire_open(t, &self.handler(|h| &h.open)),
            Event::Error(_) => fire_error(t, &self.handler(|h| &h.error)),
            Event::Close(c) => fire_close(t, &self.handler(|h| &h.close), c.code, &c.reason, c.was_clean),
            Event::Reconnecting {
                attempt,
                delay_ms,
                reason,
            } => fire_reconnecting(t, attempt, delay_ms, reason.as_str()),
            Event::StateChange { from, to } => {
                self.log_state(from, to);
                fire_state_change(t, from.as_str(), to.as_str())
            }
            Event::Dropped { payload, reason } => fire_drop(t, &payload, reason.as_str()),
            Event::Requeued { count, bytes } => fire_requeue(t, count as u32, bytes as f64),
        }
    }

    fn message(&self, event: &MessageEvent) {
        fire_message(&self.target, &self.handler(|h| &h.message), event);
    }

    fn counts_as_reply(&self, data: &JsValue) -> bool {
        match &self.is_pong {
            Some(f) => call_hook(f, data, false),
            None => true,
        }
    }

    fn should_reconnect(&self, _info: &CloseInfo, event: Option<&CloseEvent>) -> Option<bool> {
        let f = self.should_reconnect.as_ref()?;
        let arg = event.map_or(JsValue::UNDEFINED, |e| e.clone().into());
        Some(call_hook(f, &arg, true))
    }
}
