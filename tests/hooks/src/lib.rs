//! Two small apps on the tether-ws hooks, one per framework, each the same on the server
//! and in the browser: a toggle that mounts and unmounts a component holding a socket to
//! the test server's echo endpoint, which shows the hook's state, retries, queued count and
//! last message, counts every message its `on_message` handler sees, and sends on a click
//! (one message, or five at once). Remounted (not hydrated) it also sends a greeting in
//! its first render, before its socket exists: the hook holds it until then.

/// Tells the page (its `window.hydrated`, if any) that the app has hydrated: called from the
/// app's first effect, which runs after the hydrating render, and before any event of the
/// socket can have arrived.
fn hydrated() {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::prelude::*;

        #[wasm_bindgen]
        extern "C" {
            #[wasm_bindgen(catch, js_namespace = window, js_name = hydrated)]
            fn page_hydrated() -> Result<(), JsValue>;
        }
        let _ = page_hydrated();
    }
}

/// The Leptos app (`tether_ws::leptos::use_typed_socket`).
pub mod leptos_app {
    use leptos::prelude::*;
    use serde::{Deserialize, Serialize};
    use tether_ws::leptos::use_typed_socket;

    /// What goes over the wire, as JSON.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    pub struct Line {
        pub text: String,
    }

    #[component]
    pub fn App(url: String) -> impl IntoView {
        let shown = RwSignal::new(true);
        let remounted = RwSignal::new(false);
        let toggle = move |_| {
            remounted.set(true);
            shown.update(|s| *s = !*s);
        };
        Effect::new(|_| super::hydrated());
        view! {
            <main>
                <h1>"tether-ws hooks × Leptos"</h1>
                <button id="toggle" on:click=toggle>"Toggle"</button>
                <Show when=move || shown.get()>
                    <Echo url=url.clone() greet=remounted.get_untracked() />
                </Show>
            </main>
        }
    }

    #[component]
    fn Echo(url: String, greet: bool) -> impl IntoView {
        let echo = use_typed_socket::<Line, Line>(url);
        if greet {
            // (Before the socket exists: held, then sent when it is made.)
            let _ = echo.send.run(Line {
                text: "mounted".into(),
            });
        }
        // Every message, counted (the `message` signal holds only the latest).
        let received = RwSignal::new(0);
        echo.on_message(move |_| received.update(|n| *n += 1));
        let burst = move |_| {
            for i in 1..=5 {
                let _ = echo.send.run(Line {
                    text: format!("burst {i}"),
                });
            }
        };
        let state = move || echo.state.get().as_str();
        view! {
            <section id="echo">
                <p>"state: " <span id="state" data-state=state>{state}</span></p>
                <p>"retries: " <span id="retries">{move || echo.retries.get()}</span></p>
                <p>"queued: " <span id="queued">{move || echo.queued.get()}</span></p>
                <p>"message: " <span id="message">{move || echo.message.get().map(|l| l.text)}</span></p>
                <p>"received: " <span id="received">{move || received.get()}</span></p>
                <button id="send" on:click=move |_| { let _ = echo.send.run(Line { text: "hello".into() }); }>
                    "Send"
                </button>
                <button id="burst" on:click=burst>"Send 5"</button>
            </section>
        }
    }
}

/// The Yew app (`tether_ws::yew::use_socket`, raw messages).
pub mod yew_app {
    use tether_ws::yew::use_socket;
    use tether_ws::Message;
    use yew::prelude::*;

    #[derive(Properties, PartialEq, Clone)]
    pub struct AppProps {
        pub url: AttrValue,
    }

    #[component]
    pub fn App(props: &AppProps) -> Html {
        let shown = use_state(|| true);
        let remounted = use_state(|| false);
        let toggle = {
            let (shown, remounted) = (shown.clone(), remounted.clone());
            Callback::from(move |_| {
                remounted.set(true);
                shown.set(!*shown);
            })
        };
        use_effect_with((), |_| super::hydrated());
        html! {
            <main>
                <h1>{ "tether-ws hooks × Yew" }</h1>
                <button id="toggle" onclick={toggle}>{ "Toggle" }</button>
                if *shown { <Echo url={props.url.clone()} greet={*remounted} /> }
            </main>
        }
    }

    /// Messages seen by the hook's `on_message`.
    #[derive(Default, PartialEq)]
    struct Count(u32);

    impl Reducible for Count {
        type Action = ();
        fn reduce(self: std::rc::Rc<Self>, (): ()) -> std::rc::Rc<Self> {
            std::rc::Rc::new(Count(self.0 + 1))
        }
    }

    #[derive(Properties, PartialEq)]
    struct EchoProps {
        url: AttrValue,
        greet: bool,
    }

    #[component]
    fn Echo(props: &EchoProps) -> Html {
        let echo = use_socket(props.url.as_str());
        let greeted = use_mut_ref(|| false);
        if props.greet && !*greeted.borrow() {
            // (In the first render, before the socket exists: held, then sent.)
            *greeted.borrow_mut() = true;
            let _ = echo.send.emit(Message::from("mounted"));
        }
        // Every message, counted (the `message` field holds only the latest).
        let received = use_reducer(Count::default);
        let count = received.dispatcher();
        echo.on_message(move |_| count.dispatch(()));
        let send = {
            let send = echo.send.clone();
            Callback::from(move |_| {
                let _ = send.emit(Message::from("hello"));
            })
        };
        let burst = {
            let send = echo.send.clone();
            Callback::from(move |_| {
                for i in 1..=5 {
                    let _ = send.emit(Message::from(format!("burst {i}")));
                }
            })
        };
        let message = match echo.message.as_deref() {
            Some(Message::Text(text)) => text.clone(),
            Some(Message::Binary(bytes)) => format!("{} bytes", bytes.len()),
            None => String::new(),
        };
        let state = echo.state.as_str();
        html! {
            <section id="echo">
                <p>{ "state: " }<span id="state" data-state={state}>{ state }</span></p>
                <p>{ "retries: " }<span id="retries">{ echo.retries }</span></p>
                <p>{ "queued: " }<span id="queued">{ echo.queued }</span></p>
                <p>{ "message: " }<span id="message">{ message }</span></p>
                <p>{ "received: " }<span id="received">{ received.0 }</span></p>
                <button id="send" onclick={send}>{ "Send" }</button>
                <button id="burst" onclick={burst}>{ "Send 5" }</button>
            </section>
        }
    }
}

/// The Leptos app rendered on the server (leptos `ssr`), as the body of its page.
#[cfg(not(target_arch = "wasm32"))]
pub fn render_leptos(url: &str) -> String {
    use leptos::prelude::*;

    let owner = Owner::new();
    let html = owner.with(|| view! { <leptos_app::App url=url.to_owned() /> }.to_html());
    owner.cleanup();
    html
}

/// The Yew app rendered on the server (yew `ssr`), as the body of its page.
#[cfg(not(target_arch = "wasm32"))]
pub fn render_yew(url: &str) -> String {
    use yew_app::{App, AppProps};

    let url = url.to_owned();
    let renderer = yew::ServerRenderer::<App>::with_props(move || AppProps { url: url.into() });
    futures::executor::block_on(renderer.render())
}

/// On the server the hooks render what the first client render shows (so hydration
/// matches) and make no socket: no web-sys is touched natively, and nothing panics.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    const SHOWN: [&str; 5] = [
        r#"<span id="state" data-state="connecting">connecting</span>"#,
        r#"<span id="retries">0</span>"#,
        r#"<span id="queued">0</span>"#,
        r#"<span id="message">"#,
        r#"<span id="received">0</span>"#,
    ];

    #[test]
    fn leptos_renders_connecting_on_the_server() {
        let html = super::render_leptos("ws://127.0.0.1:1/echo");
        for shown in SHOWN {
            assert!(html.contains(shown), "{shown} not in {html}");
        }
        // (Rendered twice, as a server does for every request: nothing is left behind.)
        assert_eq!(super::render_leptos("ws://127.0.0.1:1/echo"), html);
    }

    #[test]
    fn yew_renders_connecting_on_the_server() {
        let html = super::render_yew("ws://127.0.0.1:1/echo");
        for shown in SHOWN {
            assert!(html.contains(shown), "{shown} not in {html}");
        }
        assert_eq!(super::render_yew("ws://127.0.0.1:1/echo"), html);
    }
}
