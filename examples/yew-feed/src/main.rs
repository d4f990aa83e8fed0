//! A live feed on tether-ws and Yew (CSR): the server pushes messages, the list grows. A
//! function component with the `use_socket` hook (feature `yew`).

use std::rc::Rc;

use tether_ws::yew::use_socket;
use tether_ws::Message;
use yew::prelude::*;

const FEED_URL: &str = "ws://127.0.0.1:8791/push?n=20&size=32&key=yew-example";

/// The messages received so far.
#[derive(Default, PartialEq)]
struct Items(Vec<String>);

impl Reducible for Items {
    type Action = String;

    fn reduce(self: Rc<Self>, item: String) -> Rc<Self> {
        let mut items = self.0.clone();
        items.push(item);
        Rc::new(Items(items))
    }
}

#[component]
fn Feed() -> Html {
    // The socket and what it shows; closed when the component is unmounted.
    let feed = use_socket(FEED_URL);
    let items = use_reducer(Items::default);
    // Every message (`feed.message` is only the latest).
    let add = items.dispatcher();
    feed.on_message(move |m| {
        add.dispatch(match m {
            Message::Text(text) => text.clone(),
            Message::Binary(bytes) => format!("<{} bytes>", bytes.len()),
        })
    });

    let state = feed.state.as_str();
    html! {
        <>
            <h1>{ "tether-ws × Yew feed" }</h1>
            <p id="status" class={state} data-state={state}>
                { format!("{state} · {} received · retries: {}", items.0.len(), feed.retries) }
            </p>
            <ol id="feed">
                { for items.0.iter().enumerate().map(|(i, text)| html! { <li key={i}>{ text }</li> }) }
            </ol>
            if let Some(e) = &feed.error { <p class="error">{ e }</p> }
        </>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    yew::Renderer::<Feed>::new().render();
}
