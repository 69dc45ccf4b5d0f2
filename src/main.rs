//! The demo page that `trunk serve` builds: the widget against the local service.

use direct_upload::DirectUpload;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

fn main() {
    console_error_panic_hook_lite();
    let target = document()
        .get_element_by_id("uploader")
        .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok())
        .unwrap_or_else(|| document().body().expect("a page has a body"));
    leptos::mount::mount_to(target, || view! { <DirectUpload backend="/api/direct-upload"/> }).forget();
}

/// Panics show in the console instead of as `unreachable` (without a dependency for it).
fn console_error_panic_hook_lite() {
    std::panic::set_hook(Box::new(|info| web_sys::console::error_1(&info.to_string().into())));
}
