//! The widget in headless Chromium against the real local service (started by
//! `scripts/test.sh`, which passes its URL in `DU_TEST_SERVICE`). Each test mounts the
//! component, gives it real files through the real `<input type=file>` and `change` event,
//! waits for the rows to finish, and asserts on what a person sees and on what the service holds.
#![cfg(target_arch = "wasm32")]

mod support;

use direct_upload::Restrictions;
use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{File, HtmlImageElement};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn uploads_a_photo_and_shows_its_variants() {
    let widget = mount(Setup::service());
    widget.choose(&[make_file(LANDSCAPE_JPG, "landscape.jpg", "image/jpeg")]);
    let rows = widget.wait_finished(1).await;
    assert_eq!(
        state_of(&rows[0]),
        "done",
        "the row must end done, not: {}",
        error_of(&rows[0])
    );

    // What a person sees: full progress, a done status, named variant links and a preview.
    let total: web_sys::HtmlProgressElement = widget
        .root
        .query_selector(".du__total")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert_eq!(
        total.value(),
        100.0,
        "the total progress bar must reach 100 %"
    );
    assert_eq!(widget.text(".du__status"), "All 1 uploaded");
    let links = rows[0].query_selector_all(".du__variant-link").unwrap();
    let mut names = Vec::new();
    for i in 0..links.length() {
        let link: web_sys::HtmlAnchorElement = links.item(i).unwrap().unchecked_into();
        names.push(link.text_content().unwrap());
        let response = gloo_net::http::Request::get(&link.href())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "variant link {} must load",
            link.href()
        );
        assert_eq!(
            response.headers().get("content-type").as_deref(),
            Some("image/jpeg")
        );
    }
    names.sort();
    assert_eq!(names, ["public", "thumbnail"]);
    assert_eq!(
        rows[0].query_selector_all(".du__copy").unwrap().length(),
        2,
        "each variant has a copy button"
    );
    // The picture shown is made from the visitor's own file, never loaded from the delivery host.
    rows[0].scroll_into_view();
    widget
        .wait_until(|w| w.root.query_selector(".du__preview-img").unwrap().is_some())
        .await;
    let preview: HtmlImageElement = rows[0]
        .query_selector(".du__preview-img")
        .unwrap()
        .expect("the stored file keeps its local preview")
        .unchecked_into();
    assert!(
        preview.src().starts_with("blob:"),
        "the preview is an object URL of the file: {}",
        preview.src()
    );
    let images = widget.root.query_selector_all("img").unwrap();
    for i in 0..images.length() {
        let image: HtmlImageElement = images.item(i).unwrap().unchecked_into();
        assert!(
            image.src().starts_with("blob:"),
            "no image is loaded from the delivery host: {}",
            image.src()
        );
    }
    assert_eq!(
        images_fetched_by_img(&widget.received.lock().unwrap().successes[0].id),
        Vec::<String>::new(),
        "the browser fetched no image of the stored file for an <img>"
    );

    // What the host page received.
    let received = widget.received.lock().unwrap();
    assert_eq!(received.successes.len(), 1);
    assert!(
        received.progress.iter().any(|s| s.percent() == 100),
        "progress reports reach 100 %"
    );
    assert_eq!(
        received.completions.len(),
        1,
        "the batch completes exactly once"
    );
    assert_eq!(received.completions[0].done, 1);
    let id = received.successes[0].id.clone();
    drop(received);

    // What the service holds: no longer a draft, and the very bytes of the file.
    let record: serde_json::Value = api_get(&format!("v1/{id}")).await.json().await.unwrap();
    assert_eq!(record["result"]["filename"], "landscape.jpg");
    assert!(
        record["result"].get("draft").is_none(),
        "the image must no longer be a draft: {record}"
    );
    let blob = api_get(&format!("v1/{id}/blob"))
        .await
        .binary()
        .await
        .unwrap();
    assert_eq!(
        blob, LANDSCAPE_JPG,
        "the stored bytes must equal the file's"
    );
}

#[wasm_bindgen_test]
async fn uploads_several_files_at_once_and_keeps_going_past_a_bad_one() {
    // The bad file is refused in the browser (its bytes are not an image, whatever its name).
    let widget = mount(Setup::service());
    widget.choose(&[
        make_file(BADGE_PNG, "badge.png", "image/png"),
        make_file(b"just some notes, not a picture", "notes.png", "image/png"),
        make_file(LANDSCAPE_JPG, "second.jpg", "image/jpeg"),
    ]);
    let rows = widget.wait_finished(3).await;
    let states: Vec<String> = rows.iter().map(state_of).collect();
    assert_eq!(states, ["done", "failed", "done"]);
    assert_eq!(
        error_of(&rows[1]),
        "Refused before upload: the file is not an image of an accepted type"
    );
    assert_eq!(widget.text(".du__status"), "2 uploaded, 1 failed");
    let total: web_sys::HtmlProgressElement = widget
        .root
        .query_selector(".du__total")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert_eq!(
        total.value(),
        100.0,
        "a batch with a failed file still ends at 100 %"
    );
    let received = widget.received.lock().unwrap();
    assert_eq!(received.failures.len(), 1);
    assert_eq!(received.failures[0].file_name, "notes.png");
    assert!(matches!(
        received.failures[0].error,
        direct_upload::UploadError::Rejected(_)
    ));
}

/// The URLs the page loaded for `<img>` elements that name the image `id` (the browser's
/// resource timing list records every request, also of elements gone since).
fn images_fetched_by_img(id: &str) -> Vec<String> {
    let performance =
        js_sys::Reflect::get(&web_sys::window().unwrap(), &"performance".into()).unwrap();
    let entries_by_type: js_sys::Function =
        js_sys::Reflect::get(&performance, &"getEntriesByType".into())
            .unwrap()
            .unchecked_into();
    let entries: js_sys::Array = entries_by_type
        .call1(&performance, &"resource".into())
        .unwrap()
        .unchecked_into();
    let field = |entry: &wasm_bindgen::JsValue, name: &str| {
        js_sys::Reflect::get(entry, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    entries
        .iter()
        .filter(|entry| field(entry, "initiatorType") == "img")
        .map(|entry| field(&entry, "name"))
        .filter(|url| url.contains(id))
        .collect()
}

async fn single_failure(setup: Setup, file: File) -> String {
    let widget = mount(setup);
    widget.choose(&[file]);
    let rows = widget.wait_finished(1).await;
    assert_eq!(state_of(&rows[0]), "failed");
    assert!(
        rows[0].query_selector(".du__retry").unwrap().is_some(),
        "a failed file offers a retry button"
    );
    error_of(&rows[0])
}

#[wasm_bindgen_test]
async fn backend_down_is_reported_as_the_backend_being_unreachable() {
    // Port 9 (discard) has no listener here: the connection is refused.
    let message = single_failure(Setup::new("http://127.0.0.1:9/api/direct-upload"), photo()).await;
    assert!(message.starts_with("Backend unreachable"), "got: {message}");
}

#[wasm_bindgen_test]
async fn backend_500_is_reported_with_its_status() {
    let message = single_failure(
        Setup::new(format!("{SERVICE}/_local/fail?status=500")),
        photo(),
    )
    .await;
    assert_eq!(
        message,
        "Backend error (HTTP 500): 500 Internal Server Error"
    );
}

#[wasm_bindgen_test]
async fn a_used_upload_url_is_refused_by_the_upload_host() {
    let message = single_failure(
        Setup::new(format!("{SERVICE}/_local/direct-upload?state=used")),
        photo(),
    )
    .await;
    assert!(
        message.starts_with(
            "Upload host error (HTTP 409, code 5409): This upload URL has already been used"
        ),
        "got: {message}"
    );
}

#[wasm_bindgen_test]
async fn an_expired_upload_url_is_refused_by_the_upload_host() {
    let message = single_failure(
        Setup::new(format!("{SERVICE}/_local/direct-upload?state=expired")),
        photo(),
    )
    .await;
    assert!(
        message.starts_with("Upload host error (HTTP 410, code 5400): This upload URL expired at"),
        "got: {message}"
    );
}

#[wasm_bindgen_test]
async fn a_file_over_10_mb_is_refused_with_5413() {
    let mut bytes = vec![0u8; 11 * 1024 * 1024];
    bytes[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    // With the browser's own checks off, the upload host is the judge.
    let setup = Setup {
        restrictions: Restrictions::off(),
        ..Setup::service()
    };
    let message = single_failure(setup, make_file(&bytes, "huge.png", "image/png")).await;
    assert!(
        message.starts_with("Upload host error (HTTP 413, code 5413)"),
        "got: {message}"
    );
}

#[wasm_bindgen_test]
async fn a_file_that_is_not_an_image_is_refused_with_5455() {
    let file = make_file(b"%PDF-1.7 not an image", "invoice.pdf", "application/pdf");
    let setup = Setup {
        restrictions: Restrictions::off(),
        ..Setup::service()
    };
    let message = single_failure(setup, file).await;
    assert!(
        message.starts_with("Upload host error (HTTP 415, code 5455)"),
        "got: {message}"
    );
}
