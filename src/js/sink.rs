//! Turns driver events into the TetherSocket's events. Listeners live in JS (a `Hub`, in
//! events.js), which calls them with the browser's rules (`once`, `{handleEvent}` objects,
//! `signal`, duplicates ignored, a throwing listener reported without affecting the others),
//! and takes messages straight from the socket, without entering wasm.

use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent};

use crate::browser::Sink;
use crate::core::{CloseInfo, Event, State};

#[wasm_bindgen(module = "/src/js/events.js")]
extern "C" {
    /// The listeners and on* handlers of one TetherSocket.
    pub type Hub;
    #[wasm_bindgen(constructor)]
    pub fn new() -> Hub;
    #[wasm_bindgen(method, catch)]
    pub fn add(this: &Hub, kind: &JsValue, listener: &JsValue, options: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    pub fn remove(this: &Hub, kind: &JsValue, listener: &JsValue, options: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, js_name = getOn)]
    pub fn get_on(this: &Hub, index: u32) -> JsValue;
    #[wasm_bindgen(method, js_name = setOn)]
    pub fn set_on(this: &Hub, index: u32, handler: &JsValue);
    #[wasm_bindgen(method, js_name = keepOnly)]
    pub fn keep_only(this: &Hub, kind: &str);
    #[wasm_bindgen(method)]
    pub fn dispose(this: &Hub);
    #[wasm_bindgen(method)]
    fn route(this: &Hub, core: &js_sys::Function, limit: f64) -> js_sys::Function;
    #[wasm_bindgen(method)]
    fn message(this: &Hub, event: &MessageEvent);
    #[wasm_bindgen(method, js_name = fireOpen)]
    fn fire_open(this: &Hub);
    #[wasm_bindgen(method, js_name = fireError)]
    fn fire_error(this: &Hub);
    #[wasm_bindgen(method, js_name = fireClose)]
    fn fire_close(this: &Hub, code: u16, reason: &str, was_clean: bool);
    #[wasm_bindgen(method, js_name = fireReconnecting)]
    fn fire_reconnecting(this: &Hub, attempt: u32, delay_ms: f64, reason: &str);
    #[wasm_bindgen(method, js_name = fireStateChange)]
    fn fire_state_change(this: &Hub, from: &str, to: &str);
    #[wasm_bindgen(method, js_name = fireDrop)]
    fn fire_drop(this: &Hub, data: &JsValue, reason: &str);
    #[wasm_bindgen(method, js_name = fireRequeue)]
    fn fire_requeue(this: &Hub, count: u32, bytes: f64);

    #[wasm_bindgen(js_name = callHook)]
    fn call_hook(hook: &js_sys::Function, arg: &JsValue, fallback: bool) -> bool;
    #[wasm_bindgen(js_name = isFunction)]
    pub fn is_function(v: &JsValue) -> bool;
    #[wasm_bindgen(js_name = redactUrl)]
    fn redact_url(url: &str) -> String;
}

/// The JS face's [`Sink`].
pub struct JsSink {
    pub hub: Hub,
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
    ) -> Self {
        JsSink {
            hub: Hub::new(),
            should_reconnect,
            is_pong,
            debug_url: debug.then(|| redact_url(url)),
        }
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
        let hub = &self.hub;
        match event {
            Event::Open => hub.fire_open(),
            Event::Error(_) => hub.fire_error(),
            Event::Close(c) => hub.fire_close(c.code, &c.reason, c.was_clean),
            Event::Reconnecting {
                attempt,
                delay_ms,
                reason,
            } => hub.fire_reconnecting(attempt, delay_ms, reason.as_str()),
            Event::StateChange { from, to } => {
                self.log_state(from, to);
                hub.fire_state_change(from.as_str(), to.as_str())
            }
            Event::Dropped { payload, reason } => hub.fire_drop(&payload, reason.as_str()),
            Event::Requeued { count, bytes } => hub.fire_requeue(count as u32, bytes as f64),
        }
    }

    fn message(&self, event: &MessageEvent) {
        self.hub.message(event);
    }

    fn message_route(&self, core: &js_sys::Function, limit: f64) -> Option<js_sys::Function> {
        Some(self.hub.route(core, limit))
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
