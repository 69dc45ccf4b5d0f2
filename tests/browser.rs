//! The widget in headless Chromium against the real local service (started by
//! `scripts/test.sh`, which passes its URL in `DU_TEST_SERVICE`). Each test mounts the
//! component, gives it real files through the real `<input type=file>` and `change` event,
//! waits for the rows to finish, and asserts on what a person sees and on what the service holds.
#![cfg(target_arch = "wasm32")]

use std::sync::{Arc, Mutex};

use direct_upload::{BatchSummary, DirectUpload, FileFailure, ImageRecord};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{DataTransfer, Element, File, FilePropertyBag, HtmlElement, HtmlImageElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

const SERVICE: &str = match option_env!("DU_TEST_SERVICE") {
    Some(url) => url,
    None => "http://127.0.0.1:8787",
};
const ACCOUNT_ID: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const API_TOKEN: &str = "local-dev-token";
const LANDSCAPE_JPG: &[u8] = include_bytes!("fixtures/landscape.jpg");
const BADGE_PNG: &[u8] = include_bytes!("fixtures/badge.png");

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn make_file(bytes: &[u8], name: &str, mime: &str) -> File {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = FilePropertyBag::new();
    options.set_type(mime);
    File::new_with_u8_array_sequence_and_options(&parts, name, &options).unwrap()
}

/// What the host page received through the widget's callbacks.
#[derive(Default)]
struct Received {
    successes: Vec<ImageRecord>,
    failures: Vec<FileFailure>,
    progress: Vec<BatchSummary>,
    completions: Vec<BatchSummary>,
}

struct Mounted {
    root: HtmlElement,
    received: Arc<Mutex<Received>>,
}

fn mount(backend: String) -> Mounted {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let received = Arc::new(Mutex::new(Received::default()));
    let (a, b, c, d) = (received.clone(), received.clone(), received.clone(), received.clone());
    leptos::mount::mount_to(root.clone(), move || {
        let (a, b, c, d) = (a.clone(), b.clone(), c.clone(), d.clone());
        view! {
            <DirectUpload
                backend=backend.clone()
                on_success=Callback::new(move |image| a.lock().unwrap().successes.push(image))
                on_error=Callback::new(move |failure| b.lock().unwrap().failures.push(failure))
                on_progress=Callback::new(move |summary| c.lock().unwrap().progress.push(summary))
                on_complete=Callback::new(move |summary| d.lock().unwrap().completions.push(summary))
            />
        }
    })
    .forget();
    Mounted { root, received }
}

impl Mounted {
    /// Chooses files the way the browser does: set the input's FileList, fire `change`.
    fn choose(&self, files: &[File]) {
        let input: HtmlInputElement = self.root.query_selector(".du__input").unwrap().expect("the widget has a file input").unchecked_into();
        let transfer = DataTransfer::new().unwrap();
        for file in files {
            transfer.items().add_with_file(file).unwrap();
        }
        input.set_files(transfer.files().as_ref());
        input.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    }

    fn rows(&self) -> Vec<Element> {
        let list = self.root.query_selector_all(".du__file").unwrap();
        (0..list.length()).filter_map(|i| list.item(i)).map(|n| n.unchecked_into()).collect()
    }

    fn text(&self, selector: &str) -> String {
        self.root.query_selector(selector).unwrap().and_then(|e| e.text_content()).unwrap_or_default()
    }

    /// Waits until `count` rows exist and all are finished; panics with the DOM if they never do.
    async fn wait_finished(&self, count: usize) -> Vec<Element> {
        for _ in 0..600 {
            leptos::task::tick().await;
            let rows = self.rows();
            let finished = rows
                .iter()
                .filter(|r| matches!(r.get_attribute("data-state").as_deref(), Some("done" | "failed" | "cancelled")))
                .count();
            if rows.len() == count && finished == count {
                return rows;
            }
            sleep(50).await;
        }
        panic!("the uploads did not finish; the widget shows: {}", self.root.inner_html());
    }
}

fn state_of(row: &Element) -> String {
    row.get_attribute("data-state").unwrap_or_default()
}

fn error_of(row: &Element) -> String {
    row.query_selector(".du__error").unwrap().and_then(|e| e.text_content()).unwrap_or_default()
}

async fn api_get(path: &str) -> gloo_net::http::Response {
    gloo_net::http::Request::get(&format!("{SERVICE}/client/v4/accounts/{ACCOUNT_ID}/images/{path}"))
        .header("Authorization", &format!("Bearer {API_TOKEN}"))
        .send()
        .await
        .expect("the local service answers")
}

#[wasm_bindgen_test]
async fn uploads_a_photo_and_shows_its_variants() {
    let widget = mount(format!("{SERVICE}/api/direct-upload"));
    widget.choose(&[make_file(LANDSCAPE_JPG, "landscape.jpg", "image/jpeg")]);
    let rows = widget.wait_finished(1).await;
    assert_eq!(state_of(&rows[0]), "done", "the row must end done, not: {}", error_of(&rows[0]));

    // What a person sees: full progress, a done status, named variant links and a thumbnail.
    let total: web_sys::HtmlProgressElement = widget.root.query_selector(".du__total").unwrap().unwrap().unchecked_into();
    assert_eq!(total.value(), 100.0, "the total progress bar must reach 100 %");
    assert_eq!(widget.text(".du__status"), "All 1 uploaded");
    let links = rows[0].query_selector_all(".du__variant-link").unwrap();
    let mut names = Vec::new();
    for i in 0..links.length() {
        let link: web_sys::HtmlAnchorElement = links.item(i).unwrap().unchecked_into();
        names.push(link.text_content().unwrap());
        let response = gloo_net::http::Request::get(&link.href()).send().await.unwrap();
        assert_eq!(response.status(), 200, "variant link {} must load", link.href());
        assert_eq!(response.headers().get("content-type").as_deref(), Some("image/jpeg"));
    }
    names.sort();
    assert_eq!(names, ["public", "thumbnail"]);
    assert_eq!(rows[0].query_selector_all(".du__copy").unwrap().length(), 2, "each variant has a copy button");
    let thumb: HtmlImageElement = rows[0].query_selector(".du__thumb").unwrap().expect("a thumbnail is shown").unchecked_into();
    for _ in 0..100 {
        if thumb.complete() && thumb.natural_width() > 0 {
            break;
        }
        sleep(50).await;
    }
    assert_eq!((thumb.natural_width(), thumb.natural_height()), (200, 200), "the thumbnail variant is 200x200");

    // What the host page received.
    let received = widget.received.lock().unwrap();
    assert_eq!(received.successes.len(), 1);
    assert!(received.progress.iter().any(|s| s.percent() == 100), "progress reports reach 100 %");
    assert_eq!(received.completions.len(), 1, "the batch completes exactly once");
    assert_eq!(received.completions[0].done, 1);
    let id = received.successes[0].id.clone();
    drop(received);

    // What the service holds: no longer a draft, and the very bytes of the file.
    let record: serde_json::Value = api_get(&format!("v1/{id}")).await.json().await.unwrap();
    assert_eq!(record["result"]["filename"], "landscape.jpg");
    assert!(record["result"].get("draft").is_none(), "the image must no longer be a draft: {record}");
    let blob = api_get(&format!("v1/{id}/blob")).await.binary().await.unwrap();
    assert_eq!(blob, LANDSCAPE_JPG, "the stored bytes must equal the file's");
}

#[wasm_bindgen_test]
async fn uploads_several_files_at_once_and_keeps_going_past_a_bad_one() {
    let widget = mount(format!("{SERVICE}/api/direct-upload"));
    widget.choose(&[
        make_file(BADGE_PNG, "badge.png", "image/png"),
        make_file(b"just some notes, not a picture", "notes.png", "image/png"),
        make_file(LANDSCAPE_JPG, "second.jpg", "image/jpeg"),
    ]);
    let rows = widget.wait_finished(3).await;
    let states: Vec<String> = rows.iter().map(state_of).collect();
    assert_eq!(states, ["done", "failed", "done"]);
    assert!(error_of(&rows[1]).starts_with("Upload host error (HTTP 415, code 5455)"), "got: {}", error_of(&rows[1]));
    assert_eq!(widget.text(".du__status"), "2 uploaded, 1 failed");
    let total: web_sys::HtmlProgressElement = widget.root.query_selector(".du__total").unwrap().unwrap().unchecked_into();
    assert_eq!(total.value(), 100.0, "a batch with a failed file still ends at 100 %");
    let received = widget.received.lock().unwrap();
    assert_eq!(received.failures.len(), 1);
    assert_eq!(received.failures[0].file_name, "notes.png");
    assert_eq!(received.failures[0].error.code(), Some(5455));
}

async fn single_failure(backend: String, file: File) -> String {
    let widget = mount(backend);
    widget.choose(&[file]);
    let rows = widget.wait_finished(1).await;
    assert_eq!(state_of(&rows[0]), "failed");
    assert!(rows[0].query_selector(".du__retry").unwrap().is_some(), "a failed file offers a retry button");
    error_of(&rows[0])
}

fn photo() -> File {
    make_file(LANDSCAPE_JPG, "landscape.jpg", "image/jpeg")
}

#[wasm_bindgen_test]
async fn backend_down_is_reported_as_the_backend_being_unreachable() {
    // Port 9 (discard) has no listener here: the connection is refused.
    let message = single_failure("http://127.0.0.1:9/api/direct-upload".into(), photo()).await;
    assert!(message.starts_with("Backend unreachable"), "got: {message}");
}

#[wasm_bindgen_test]
async fn backend_500_is_reported_with_its_status() {
    let message = single_failure(format!("{SERVICE}/_local/fail?status=500"), photo()).await;
    assert_eq!(message, "Backend error (HTTP 500): 500 Internal Server Error");
}

#[wasm_bindgen_test]
async fn a_used_upload_url_is_refused_by_the_upload_host() {
    let message = single_failure(format!("{SERVICE}/_local/direct-upload?state=used"), photo()).await;
    assert!(message.starts_with("Upload host error (HTTP 409, code 5409): This upload URL has already been used"), "got: {message}");
}

#[wasm_bindgen_test]
async fn an_expired_upload_url_is_refused_by_the_upload_host() {
    let message = single_failure(format!("{SERVICE}/_local/direct-upload?state=expired"), photo()).await;
    assert!(message.starts_with("Upload host error (HTTP 410, code 5400): This upload URL expired at"), "got: {message}");
}

#[wasm_bindgen_test]
async fn a_file_over_10_mb_is_refused_with_5413() {
    let mut bytes = vec![0u8; 11 * 1024 * 1024];
    bytes[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    let message = single_failure(format!("{SERVICE}/api/direct-upload"), make_file(&bytes, "huge.png", "image/png")).await;
    assert!(message.starts_with("Upload host error (HTTP 413, code 5413)"), "got: {message}");
}

#[wasm_bindgen_test]
async fn a_file_that_is_not_an_image_is_refused_with_5455() {
    let file = make_file(b"%PDF-1.7 not an image", "invoice.pdf", "application/pdf");
    let message = single_failure(format!("{SERVICE}/api/direct-upload"), file).await;
    assert!(message.starts_with("Upload host error (HTTP 415, code 5455)"), "got: {message}");
}
