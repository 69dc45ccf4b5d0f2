//! Shared by the browser tests: mounting the widget with options, giving it files the way a
//! browser does, waiting for rows, and asking the local service what it holds.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use direct_upload::core::paste::PasteScope;
use direct_upload::{
    BatchSummary, DirectUpload, FileFailure, ImageRecord, Lang, Restrictions, RetryPolicy,
};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DataTransfer, Element, File, FilePropertyBag, HtmlElement, HtmlInputElement};

/// The local service that scripts/test.sh started.
pub const SERVICE: &str = match option_env!("DU_TEST_SERVICE") {
    Some(url) => url,
    None => "http://127.0.0.1:8787",
};
pub const ACCOUNT_ID: &str = "023e105f4ecef8ad9ca31a8372d0c353";
pub const API_TOKEN: &str = "local-dev-token";
pub const LANDSCAPE_JPG: &[u8] = include_bytes!("../fixtures/landscape.jpg");
pub const BADGE_PNG: &[u8] = include_bytes!("../fixtures/badge.png");

pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

pub fn make_file(bytes: &[u8], name: &str, mime: &str) -> File {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = FilePropertyBag::new();
    options.set_type(mime);
    File::new_with_u8_array_sequence_and_options(&parts, name, &options).unwrap()
}

pub fn photo() -> File {
    make_file(LANDSCAPE_JPG, "landscape.jpg", "image/jpeg")
}

/// Retries for tests: `max` of them, quickly, and a stall timeout (0: none).
pub fn quick_retries(max: u32, stall_timeout_ms: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries: max,
        base_delay_ms: 30,
        max_delay_ms: 200,
        stall_timeout_ms,
    }
}

/// A unique name for this run, for test-control keys.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e12) as u64)
}

/// The widget's options for one test. Retries are off unless a test turns them on, so that
/// failure tests end at once.
#[derive(Clone)]
pub struct Setup {
    pub backend: String,
    pub restrictions: Restrictions,
    pub retry: RetryPolicy,
    pub concurrency: usize,
    pub lang: Lang,
    pub downscale: bool,
    pub verify: Option<String>,
    pub paste: PasteScope,
}

impl Setup {
    pub fn new(backend: impl Into<String>) -> Self {
        Self {
            backend: backend.into(),
            restrictions: Restrictions::default(),
            retry: RetryPolicy {
                max_retries: 0,
                base_delay_ms: 20,
                max_delay_ms: 100,
                stall_timeout_ms: 0,
            },
            concurrency: 3,
            lang: Lang::En,
            downscale: false,
            verify: None,
            paste: PasteScope::Page,
        }
    }

    /// The local service's own reference backend.
    pub fn service() -> Self {
        Self::new(format!("{SERVICE}/api/direct-upload"))
    }
}

/// What the host page received through the widget's callbacks.
#[derive(Default)]
pub struct Received {
    pub successes: Vec<ImageRecord>,
    pub failures: Vec<FileFailure>,
    pub progress: Vec<BatchSummary>,
    pub completions: Vec<BatchSummary>,
}

/// A widget mounted for one test; dropping it (at the end of the test) unmounts the widget,
/// aborting its requests, and removes its element, so widgets do not pile up in the page.
pub struct Mounted {
    pub root: HtmlElement,
    pub received: Arc<Mutex<Received>>,
    _unmount: Box<dyn std::any::Any>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.root.remove();
    }
}

/// The widget's real stylesheet, so that tests see the layout a visitor sees.
const STYLE: &str = include_str!("../../style/direct-upload.css");

pub fn mount(setup: Setup) -> Mounted {
    let document = web_sys::window().unwrap().document().unwrap();
    if document.get_element_by_id("du-test-style").is_none() {
        let style = document.create_element("style").unwrap();
        style.set_id("du-test-style");
        style.set_text_content(Some(STYLE));
        document.head().unwrap().append_child(&style).unwrap();
    }
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let received = Arc::new(Mutex::new(Received::default()));
    let (a, b, c, d) = (
        received.clone(),
        received.clone(),
        received.clone(),
        received.clone(),
    );
    let unmount = leptos::mount::mount_to(root.clone(), move || {
        let (a, b, c, d) = (a.clone(), b.clone(), c.clone(), d.clone());
        let s = setup.clone();
        view! {
            <DirectUpload
                backend=s.backend
                restrictions=s.restrictions
                retry=s.retry
                concurrency=s.concurrency
                lang=s.lang
                downscale=s.downscale
                verify=s.verify.unwrap_or_default()
                paste=s.paste
                on_success=Callback::new(move |image| a.lock().unwrap().successes.push(image))
                on_error=Callback::new(move |failure| b.lock().unwrap().failures.push(failure))
                on_progress=Callback::new(move |summary| c.lock().unwrap().progress.push(summary))
                on_complete=Callback::new(move |summary| d.lock().unwrap().completions.push(summary))
            />
        }
    });
    Mounted {
        root,
        received,
        _unmount: Box::new(unmount),
    }
}

/// Chooses `files` through the file input of the widget inside `host`, as a person does.
pub fn choose_in(host: &Element, files: &[File]) {
    let input: HtmlInputElement = host
        .query_selector(".du__input")
        .unwrap()
        .expect("the widget has a file input")
        .unchecked_into();
    input.set_files(transfer(files).files().as_ref());
    input
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
}

pub fn transfer(files: &[File]) -> DataTransfer {
    let transfer = DataTransfer::new().unwrap();
    for file in files {
        transfer.items().add_with_file(file).unwrap();
    }
    transfer
}

impl Mounted {
    pub fn find(&self, selector: &str) -> Element {
        self.root
            .query_selector(selector)
            .unwrap()
            .unwrap_or_else(|| panic!("no {selector} in {}", self.root.inner_html()))
    }

    /// Chooses files the way the browser does: set the input's FileList, fire `change`.
    pub fn choose(&self, files: &[File]) {
        choose_in(&self.root, files);
    }

    pub fn rows(&self) -> Vec<Element> {
        let list = self.root.query_selector_all(".du__file").unwrap();
        (0..list.length())
            .filter_map(|i| list.item(i))
            .map(|n| n.unchecked_into())
            .collect()
    }

    pub fn text(&self, selector: &str) -> String {
        self.root
            .query_selector(selector)
            .unwrap()
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    pub fn states(&self) -> Vec<String> {
        self.rows().iter().map(state_of).collect()
    }

    /// Waits until `count` rows exist and all are finished; panics with the DOM if they never do.
    pub async fn wait_finished(&self, count: usize) -> Vec<Element> {
        self.wait_until(|m| {
            let states = m.states();
            states.len() == count
                && states
                    .iter()
                    .all(|s| matches!(s.as_str(), "done" | "failed" | "cancelled"))
        })
        .await;
        self.rows()
    }

    /// Waits until `condition` holds (bounded, so that a broken widget fails instead of hanging).
    pub async fn wait_until(&self, condition: impl Fn(&Mounted) -> bool) {
        for _ in 0..800 {
            leptos::task::tick().await;
            if condition(self) {
                return;
            }
            sleep(25).await;
        }
        panic!(
            "the widget never reached the expected state; it shows: {}",
            self.root.inner_html()
        );
    }

    pub fn click(&self, selector: &str) {
        let element: HtmlElement = self.find(selector).unchecked_into();
        element.click();
    }
}

pub fn state_of(row: &Element) -> String {
    row.get_attribute("data-state").unwrap_or_default()
}

pub fn error_of(row: &Element) -> String {
    row.query_selector(".du__error")
        .unwrap()
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

pub async fn api_get(path: &str) -> gloo_net::http::Response {
    gloo_net::http::Request::get(&format!(
        "{SERVICE}/client/v4/accounts/{ACCOUNT_ID}/images/{path}"
    ))
    .header("Authorization", &format!("Bearer {API_TOKEN}"))
    .send()
    .await
    .expect("the local service answers")
}

/// Images the service stored with `creator` (the flaky backend sets it to its key).
pub async fn stored_for(creator: &str) -> Vec<serde_json::Value> {
    let body: serde_json::Value = api_get(&format!("v2?creator={creator}"))
        .await
        .json()
        .await
        .unwrap();
    body["result"]["images"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// How often the flaky backend was asked for a URL under `key`.
pub async fn backend_calls(key: &str) -> u64 {
    let body: serde_json::Value =
        gloo_net::http::Request::get(&format!("{SERVICE}/_local/flaky-backend/count?key={key}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    body["calls"].as_u64().unwrap()
}
