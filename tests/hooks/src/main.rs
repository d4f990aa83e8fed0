//! Natively: prints the server-rendered page of one app,
//!     tether-hooks-app leptos|yew <ws url> <module url>
//! which loads <module url> (this binary built for wasm32, through wasm-bindgen) and
//! hydrates itself with the same URL. On wasm32: the functions that page calls.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [app, url, module] = &args[..] else {
        eprintln!("usage: tether-hooks-app leptos|yew <ws url> <module url>");
        std::process::exit(2);
    };
    let (body, entry) = match app.as_str() {
        "leptos" => (tether_hooks_app::render_leptos(url), "hydrateLeptos"),
        "yew" => (tether_hooks_app::render_yew(url), "hydrateYew"),
        _ => {
            eprintln!("unknown app {app:?}: leptos or yew");
            std::process::exit(2);
        }
    };
    let js = |s: &str| format!("{s:?}"); // a JS string literal (no quotes or controls inside)
                                         // The page records what hydration changed in the server's DOM, for the test to read
                                         // (window.hydration): the mutations from the hydrate call until the app's first effect
                                         // (which calls window.hydrated), all before any event of its socket. Not changes: an
                                         // attribute set to the value it had, a text set to the text it was, and the comments a
                                         // framework leaves as markers for itself and removes when hydrating.
    print!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>tether-ws hooks: {app}</title>\
         <link rel=\"icon\" href=\"data:,\">\
         <script type=\"module\">\
         import init, {{ {entry} }} from {module};\
         await init();\
         const records = [];\
         const seen = new MutationObserver((r) => records.push(...r));\
         seen.observe(document.body, {{ subtree: true, childList: true, characterData: true, characterDataOldValue: true, attributes: true, attributeOldValue: true }});\
         const shown = (n) => n.nodeType !== Node.COMMENT_NODE && !(n.nodeType === Node.TEXT_NODE && n.data === \"\");\
         const nodes = (list) => [...list].filter(shown).map((n) => n.nodeName);\
         const change = (r) => {{\
           if (r.type === \"attributes\") {{\
             const now = r.target.getAttribute(r.attributeName);\
             return now === r.oldValue ? [] : [`${{r.target.nodeName}} ${{r.attributeName}}: ${{r.oldValue}} -> ${{now}}`];\
           }}\
           if (r.type === \"characterData\") {{\
             return r.target.data === r.oldValue ? [] : [`text: ${{r.oldValue}} -> ${{r.target.data}}`];\
           }}\
           const added = nodes(r.addedNodes), removed = nodes(r.removedNodes);\
           return added.length || removed.length ? [`${{r.target.nodeName}} children: +${{added}} -${{removed}}`] : [];\
         }};\
         window.hydrated = () => {{\
           records.push(...seen.takeRecords());\
           window.hydration = {{ changes: records.flatMap(change) }};\
           seen.disconnect();\
         }};\
         {entry}({url});\
         </script></head><body>{body}</body></html>",
        module = js(module),
        url = js(url),
    );
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(target_arch = "wasm32")]
mod client {
    use wasm_bindgen::prelude::*;

    /// Hydrates the Leptos page (its `<body>`).
    #[wasm_bindgen(js_name = hydrateLeptos)]
    pub fn hydrate_leptos(url: String) {
        console_error_panic_hook::set_once();
        leptos::mount::hydrate_body(move || {
            use leptos::prelude::*;
            view! { <tether_hooks_app::leptos_app::App url=url /> }
        });
    }

    /// Hydrates the Yew page (its `<body>`).
    #[wasm_bindgen(js_name = hydrateYew)]
    pub fn hydrate_yew(url: String) {
        use tether_hooks_app::yew_app::{App, AppProps};

        console_error_panic_hook::set_once();
        if let Some(body) = leptos::prelude::document().body() {
            let props = AppProps { url: url.into() };
            // (The handle may go: the app lives as long as the page.)
            let _ = yew::Renderer::<App>::with_root_and_props(body.into(), props).hydrate();
        }
    }
}
