//! A live chat on tether-ws and Leptos (CSR): typed JSON messages over a reconnecting socket.
//!
//! Connects to the test server's echo endpoint by default; `?ws=wss://...` overrides the URL.

use futures::StreamExt;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};
use tether_ws::{Event, Socket, TypedEvent, TypedSocket};

const DEFAULT_URL: &str = "ws://127.0.0.1:8791/echo?key=leptos-example";

/// What goes over the wire, as JSON, in both directions.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ChatMessage {
    from: String,
    text: String,
}

/// The socket URL: the page's `?ws=` parameter, else the default.
fn socket_url() -> String {
    let search = window().location().search().unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|q| q.get("ws"))
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

#[component]
fn Chat() -> impl IntoView {
    let messages = RwSignal::new(Vec::<ChatMessage>::new());
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);

    // The socket is !Send (Rc inside): keep it in a local arena slot owned by this
    // component. It is dropped (and closed) when the component is disposed.
    let chat: TypedSocket<ChatMessage, ChatMessage> = match Socket::builder(socket_url()).connect() {
        Ok(socket) => TypedSocket::new(socket),
        Err(e) => return view! { <p class="error">"Cannot connect: " {e.to_string()}</p> }.into_any(),
    };
    let state = RwSignal::new(chat.socket().state());
    let retries = RwSignal::new(0u32);
    let mut events = chat.events();
    let chat = StoredValue::new_local(chat);

    // Feed the signals from the event stream. It ends when the socket is dropped.
    spawn_local(async move {
        while let Some(event) = events.next().await {
            match event {
                TypedEvent::Message(msg) => messages.update(|list| list.push(msg)),
                TypedEvent::DecodeError { error: e, .. } => error.set(Some(e)),
                TypedEvent::Other(Event::StateChange { to, .. }) => state.set(to),
                _ => {}
            }
            if let Some(n) = chat.try_with_value(|c| c.socket().retry_count()) {
                retries.set(n);
            }
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked().trim().to_owned();
        if text.is_empty() {
            return;
        }
        // Queued by tether-ws while not open, flushed in order on reconnect.
        let msg = ChatMessage {
            from: "me".into(),
            text,
        };
        match chat.with_value(|c| c.send(&msg)) {
            Ok(_) => draft.set(String::new()),
            Err(e) => error.set(Some(e.to_string())),
        }
    };

    view! {
        <header>
            <h1>"tether-ws × Leptos chat"</h1>
            <p id="status" data-state=move || state.get().as_str() class=move || state.get().as_str()>
                {move || state.get().as_str()}
                " · retries: " <span id="retries">{move || retries.get()}</span>
            </p>
        </header>
        <ul id="messages">
            <For each=move || messages.get().into_iter().enumerate() key=|(i, _)| *i let((_, m))>
                <li><b>{m.from}": "</b>{m.text}</li>
            </For>
        </ul>
        <form id="composer" on:submit=submit>
            <input id="text" placeholder="Say something" autocomplete="off" bind:value=draft />
            <button type="submit">"Send"</button>
        </form>
        {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
    }
    .into_any()
}

fn main() {
    console_error_panic_hook::set_once();
    mount_to_body(Chat);
}
