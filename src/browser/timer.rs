//! Time and chance, as the retry schedule needs them.

/// Resolves after `ms` milliseconds (a `setTimeout`); at once where there is no window.
pub async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// A number uniform in [0, 1), for the retry jitter.
pub fn random() -> f64 {
    js_sys::Math::random()
}
