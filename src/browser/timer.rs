//! Time and chance: timeouts, animation frames, the clock and the retry jitter.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// Resolves after `ms` milliseconds (a `setTimeout`); at once where there is no window.
pub async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| match web_sys::window() {
        Some(window) => {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
        None => {
            let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Runs `work` before the next paint (`requestAnimationFrame`): updates that arrive faster
/// than the screen refreshes are gathered and shown once per frame.
pub fn on_next_frame(work: impl FnOnce() + 'static) {
    let Some(window) = web_sys::window() else {
        return work();
    };
    let callback = Closure::once_into_js(work);
    let _ = window.request_animation_frame(callback.unchecked_ref());
}

/// Milliseconds since the epoch (the browser's clock), for the age of a URL asked ahead.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Milliseconds on the page's monotonic clock (`performance.now()`), for the list's and the
/// previews' pace: a wall clock set back mid-batch would freeze them.
pub fn monotonic_ms() -> u64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or_else(now_ms, |performance| performance.now() as u64)
}

/// A number uniform in [0, 1), for the retry jitter.
pub fn random() -> f64 {
    js_sys::Math::random()
}
