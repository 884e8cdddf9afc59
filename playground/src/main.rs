//! Starts the playground in the browser.

fn main() {
    #[cfg(target_arch = "wasm32")]
    yew::Renderer::<pushproxy_playground::App>::new().render();

    #[cfg(not(target_arch = "wasm32"))]
    eprintln!(
        "the playground runs in a browser: `scripts/playground.sh` builds it for WebAssembly and serves it on localhost"
    );
}
