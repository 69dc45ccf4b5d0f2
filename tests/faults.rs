//! One injected fault at a time (the service's `/_local/faults`, limited to a single fault),
//! against the real widget in headless Chromium: the path the file's row takes through its
//! states, and what the service holds afterwards. The promise under test: whatever fails and
//! wherever, the file is stored exactly once and the row ends done; an image stored by a try
//! whose answer was lost is looked up through the backend, never uploaded a second time.
//!
//! The whole batch under many faults at once is the chaos run (`scripts/chaos.sh`).
#![cfg(target_arch = "wasm32")]

mod support;

use direct_upload::RetryPolicy;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// What one faulted upload came to.
struct Outcome {
    /// The row's states, each change once, from the first seen to the last.
    path: Vec<String>,
    /// What `GET /_local/faults` said afterwards.
    report: serde_json::Value,
    /// Images the service stored for this test's file.
    stored: usize,
    /// Successes the page heard of.
    successes: usize,
    /// One-time URLs the flaky backend gave for this test's file (`None` for the backend's
    /// own faults, which go through the reference backend): each send by the widget takes a
    /// fresh one, while Chromium re-sending a request by itself reuses its URL.
    urls: Option<u64>,
}

async fn faults(method: &str, body: Option<String>) -> serde_json::Value {
    let url = format!("{SERVICE}/_local/faults");
    let request = match method {
        "POST" => gloo_net::http::Request::post(&url)
            .header("content-type", "application/json")
            .body(body.unwrap_or_default())
            .unwrap(),
        "DELETE" => gloo_net::http::Request::delete(&url).build().unwrap(),
        _ => gloo_net::http::Request::get(&url).build().unwrap(),
    };
    let response = request.send().await.expect("the test controls answer");
    assert!(
        response.ok(),
        "{method} /_local/faults: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// Uploads one photo while exactly one fault of `kind` is injected, recording the row's path.
/// Through the flaky backend (which never fails here, and marks what is stored with a key)
/// unless the fault is the backend's own.
async fn one_fault(kind: &str) -> Outcome {
    let key = unique(kind);
    let backend = if kind.starts_with("backend") {
        format!("{SERVICE}/api/direct-upload")
    } else {
        format!("{SERVICE}/_local/flaky-backend?key={key}&fail=0")
    };
    faults(
        "POST",
        Some(format!(
            r#"{{"seed": 1, "rate": 1, "kinds": ["{kind}"], "limit": 1, "backend_timeout_ms": 300, "host_stall_ms": 5000}}"#
        )),
    )
    .await;
    let widget = mount(Setup {
        verify: Some(format!("{SERVICE}/api/images")),
        retry: RetryPolicy {
            max_retries: 3,
            // Long enough for the waiting state to be drawn (150 to 300 ms; the list shows
            // changes every 100 ms), short enough for a quick test.
            base_delay_ms: 300,
            max_delay_ms: 600,
            stall_timeout_ms: 1_000,
        },
        ..Setup::new(backend)
    });
    widget.choose(&[make_file(
        LANDSCAPE_JPG,
        &format!("{key}.jpg"),
        "image/jpeg",
    )]);
    let mut path: Vec<String> = Vec::new();
    for _ in 0..2_000 {
        let now = widget.states().pop().unwrap_or_default();
        if !now.is_empty() && path.last() != Some(&now) {
            path.push(now.clone());
        }
        if matches!(now.as_str(), "done" | "failed" | "cancelled") {
            break;
        }
        sleep(5).await;
    }
    let report = faults("GET", None).await;
    faults("DELETE", None).await;
    let success_ids: Vec<String> = widget
        .received
        .lock()
        .unwrap()
        .successes
        .iter()
        .map(|image| image.id.clone())
        .collect();
    let stored = if kind.starts_with("backend") {
        // The reference backend marks nothing with a key: count the images the page heard of
        // that the service holds as uploaded (that no other exists is shown by the upload
        // host's request count, which the test checks).
        let mut held = 0;
        for id in &success_ids {
            let record: serde_json::Value =
                api_get(&format!("v1/{id}")).await.json().await.unwrap();
            if record["success"] == true && record["result"].get("draft").is_none() {
                held += 1;
            }
        }
        held
    } else {
        stored_for(&key).await.len()
    };
    let successes = success_ids.len();
    let urls = if kind.starts_with("backend") {
        None
    } else {
        Some(backend_calls(&key).await)
    };
    Outcome {
        path,
        report,
        stored,
        successes,
        urls,
    }
}

/// The checks every fault shares: it was injected once, the row ended done, one success was
/// heard, and one image is stored.
fn assert_stored_once(kind: &str, outcome: &Outcome) {
    assert_eq!(
        outcome.report["injected"][kind], 1,
        "exactly one {kind} was injected: {}",
        outcome.report
    );
    assert_eq!(
        outcome.path.last().map(String::as_str),
        Some("done"),
        "the row ends done after {kind}; its path: {:?}",
        outcome.path
    );
    assert_eq!(outcome.successes, 1, "the page hears of one success");
    assert_eq!(outcome.stored, 1, "one image is stored after {kind}");
}

/// After the retry's wait, the file is not sent again: its earlier image was found stored.
/// The row may go through a short state between two showings of the list without drawing
/// it, so the flaky backend's count is the proof: the one URL the file was sent with.
fn assert_not_sent_again(kind: &str, outcome: &Outcome) {
    assert_eq!(
        outcome.urls,
        Some(1),
        "{kind}: one URL, so no second upload by the widget"
    );
    let wait = outcome
        .path
        .iter()
        .position(|state| state == "retrying")
        .unwrap_or_else(|| panic!("{kind}: the lost answer is noticed: {:?}", outcome.path));
    assert!(
        !outcome.path[wait..]
            .iter()
            .any(|state| state == "uploading"),
        "{kind}: no second upload after the wait: {:?}",
        outcome.path
    );
}

#[wasm_bindgen_test]
async fn backend_failures_are_retried_with_a_fresh_url() {
    for kind in ["backend_500", "backend_503", "backend_timeout"] {
        let outcome = one_fault(kind).await;
        assert_stored_once(kind, &outcome);
        // The URL is asked for while the file is checked, so the failure may show first as
        // the wait.
        assert!(
            outcome.path.contains(&"retrying".to_string()),
            "{kind}: the URL request fails, then waits: {:?}",
            outcome.path
        );
        assert_eq!(
            outcome.report["requests"]["backend"], 2,
            "{kind}: a second URL"
        );
        assert_eq!(
            outcome.report["requests"]["host"], 1,
            "{kind}: the upload host saw one upload, so one image at most"
        );
    }
}

#[wasm_bindgen_test]
async fn an_upload_cut_off_before_it_was_stored_is_sent_again_and_stored_once() {
    for kind in [
        "host_reset_before_read",
        "host_reset_mid_body",
        "host_stall",
    ] {
        let outcome = one_fault(kind).await;
        assert_stored_once(kind, &outcome);
        // Chromium itself may resend a request whose reused connection closed unanswered
        // (with the same URL); otherwise the widget notices, waits, finds the image still a
        // draft, and sends it with a fresh URL.
        let resent_by_the_widget = outcome.path.contains(&"retrying".to_string());
        assert_eq!(
            outcome.urls,
            Some(if resent_by_the_widget { 2 } else { 1 }),
            "{kind}: sent again after the wait with a fresh URL, or resent by Chromium: {:?}",
            outcome.path
        );
    }
}

#[wasm_bindgen_test]
async fn an_upload_stored_but_unanswered_is_looked_up_and_never_sent_twice() {
    for kind in [
        "host_reset_after_store",
        "host_500_after_store",
        "host_502_after_store",
    ] {
        let outcome = one_fault(kind).await;
        assert_stored_once(kind, &outcome);
        assert_not_sent_again(kind, &outcome);
    }
}

#[wasm_bindgen_test]
async fn a_confirmation_that_failed_is_asked_again_without_a_second_upload() {
    let outcome = one_fault("verify_5xx").await;
    assert_stored_once("verify_5xx", &outcome);
    assert_not_sent_again("verify_5xx", &outcome);
    assert_eq!(
        outcome.report["requests"]["host"], 1,
        "the upload host saw one upload"
    );
}
