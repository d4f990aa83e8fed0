//! A live feed on tether-ws and Yew (CSR): the server pushes messages, the list grows.

use tether_ws::{Event, Message, Socket, State, Subscription};
use yew::prelude::*;

const FEED_URL: &str = "ws://127.0.0.1:8791/push?n=20&size=32&key=yew-example";

struct Feed {
    // Field order matters: the subscription is dropped before the socket. Both go when
    // the component is unmounted, which unsubscribes and closes the connection.
    _events: Option<Subscription>,
    socket: Option<Socket>,
    state: State,
    items: Vec<String>,
    error: Option<String>,
}

impl Component for Feed {
    type Message = Event;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let (socket, events, error) = match Socket::builder(FEED_URL).connect() {
            Ok(socket) => {
                // Forward every socket event to `update` as a component message.
                let link = ctx.link().clone();
                let guard = socket.on_event(move |e| link.send_message(e.clone()));
                (Some(socket), Some(guard), None)
            }
            Err(e) => (None, None, Some(e.to_string())),
        };
        let state = socket.as_ref().map_or(State::Closed, Socket::state);
        Feed {
            _events: events,
            socket,
            state,
            items: Vec::new(),
            error,
        }
    }

    fn update(&mut self, _ctx: &Context<Self>, event: Event) -> bool {
        match event {
            Event::Message(Message::Text(text)) => self.items.push(text),
            Event::Message(Message::Binary(bytes)) => self.items.push(format!("<{} bytes>", bytes.len())),
            Event::StateChange { to, .. } => self.state = to,
            Event::Error(e) => self.error = Some(e.to_string()),
            _ => return false, // nothing to re-render
        }
        true
    }

    fn view(&self, _ctx: &Context<Self>) -> Html {
        let state = self.state.as_str();
        let retries = self.socket.as_ref().map_or(0, Socket::retry_count);
        html! {
            <>
                <h1>{ "tether-ws × Yew feed" }</h1>
                <p id="status" class={state} data-state={state}>
                    { format!("{state} · {} received · retries: {retries}", self.items.len()) }
                </p>
                <ol id="feed">
                    { for self.items.iter().enumerate().map(|(i, text)| html! { <li key={i}>{ text }</li> }) }
                </ol>
                if let Some(e) = &self.error { <p class="error">{ e }</p> }
            </>
        }
    }
}

fn main() {
    console_error_panic_hook::set_once();
    yew::Renderer::<Feed>::new().render();
}
