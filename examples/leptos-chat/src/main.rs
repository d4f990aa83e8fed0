//! A live chat on tether-ws and Leptos (CSR): typed JSON messages over a reconnecting socket,
//! with the `use_typed_socket` hook (feature `leptos`).
//!
//! Connects to the test server's echo endpoint by default; `?ws=wss://...` overrides the URL.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tether_ws::leptos::use_typed_socket;

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
    // The socket, its state, retry count and last error as signals; closed when the
    // component goes.
    let chat = use_typed_socket::<ChatMessage, ChatMessage>(socket_url());
    let messages = RwSignal::new(Vec::new());
    chat.on_message(move |msg| messages.update(|list| list.push(msg.clone())));
    let draft = RwSignal::new(String::new());

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
        if chat.send.run(msg).is_ok() {
            draft.set(String::new());
        }
    };
    let state = move || chat.state.get().as_str();

    view! {
        <header>
            <h1>"tether-ws × Leptos chat"</h1>
            <p id="status" data-state=state class=state>
                {state} " · retries: " <span id="retries">{move || chat.retries.get()}</span>
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
        {move || chat.error.get().map(|e| view! { <p class="error">{e}</p> })}
    }
}

fn main() {
    console_error_panic_hook::set_once();
    mount_to_body(Chat);
}
