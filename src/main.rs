//! The demo page that `trunk serve` builds: the widget against the local service.

use direct_upload::{DirectUpload, Lang};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

fn main() {
    console_error_panic_hook_lite();
    let target = document()
        .get_element_by_id("uploader")
        .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok())
        .unwrap_or_else(|| document().body().expect("a page has a body"));
    // The page's language picks the widget's; photos over Cloudflare's limits are downscaled
    // in the browser, and each upload is confirmed with the backend before it shows as done.
    let lang = Lang::from_tag(
        &document()
            .document_element()
            .and_then(|e| e.get_attribute("lang"))
            .unwrap_or_default(),
    );
    leptos::mount::mount_to(target, move || {
        view! { <DirectUpload backend="/api/direct-upload" verify="/api/images" downscale=true lang=lang/> }
    })
    .forget();
}

/// Panics show in the console instead of as `unreachable` (without a dependency for it).
fn console_error_panic_hook_lite() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into())
    }));
}
