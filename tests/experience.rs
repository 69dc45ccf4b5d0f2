//! Everything a user expects from an upload widget, in headless Chromium against the real
//! local service, driven through real DOM events (a real `DataTransfer` for drop and paste).
#![cfg(target_arch = "wasm32")]

mod support;

use direct_upload::core::paste::PasteScope;
use direct_upload::{Lang, Restrictions};
use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{
    ClipboardEvent, ClipboardEventInit, DragEvent, DragEventInit, HtmlElement, ImageEncodeOptions,
    OffscreenCanvas,
};

wasm_bindgen_test_configure!(run_in_browser);

fn drag_event(kind: &str, files: &[web_sys::File]) -> DragEvent {
    let init = DragEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_data_transfer(Some(&transfer(files)));
    DragEvent::new_with_event_init_dict(kind, &init).unwrap()
}

/// Makes a real image of `width`×`height` in the browser; `noise` makes it hard to compress.
async fn canvas_image(
    width: u32,
    height: u32,
    mime: &str,
    quality: f64,
    noise: bool,
) -> web_sys::File {
    let canvas = OffscreenCanvas::new(width, height).unwrap();
    let context: web_sys::OffscreenCanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    if noise {
        let mut pixels = vec![0u8; (width * height * 4) as usize];
        let mut seed: u32 = 12345;
        for chunk in pixels.chunks_mut(4) {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            chunk.copy_from_slice(&[
                (seed >> 24) as u8,
                (seed >> 16) as u8,
                (seed >> 8) as u8,
                255,
            ]);
        }
        let data = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
            wasm_bindgen::Clamped(&pixels),
            width,
            height,
        )
        .unwrap();
        context.put_image_data(&data, 0.0, 0.0).unwrap();
    } else {
        context.set_fill_style_str("#f38020");
        context.fill_rect(0.0, 0.0, width as f64, height as f64);
    }
    let options = ImageEncodeOptions::new();
    options.set_type(mime);
    options.set_quality(quality);
    let blob: web_sys::Blob = wasm_bindgen_futures::JsFuture::from(
        canvas.convert_to_blob_with_options(&options).unwrap(),
    )
    .await
    .unwrap()
    .unchecked_into();
    let parts = js_sys::Array::of1(&blob);
    let props = web_sys::FilePropertyBag::new();
    props.set_type(mime);
    web_sys::File::new_with_blob_sequence_and_options(&parts, "made.jpg", &props).unwrap()
}

#[wasm_bindgen_test]
async fn dropping_files_uploads_them_and_the_highlight_does_not_flicker_over_children() {
    let widget = mount(Setup::service());
    let zone = widget.find(".du__dropzone");
    let child = widget.find(".du__hint");
    let active = |w: &Mounted| {
        w.find(".du__dropzone")
            .class_list()
            .contains("du__dropzone--active")
    };
    zone.dispatch_event(&drag_event("dragenter", &[])).unwrap();
    child.dispatch_event(&drag_event("dragenter", &[])).unwrap();
    zone.dispatch_event(&drag_event("dragleave", &[])).unwrap();
    leptos::task::tick().await;
    assert!(
        active(&widget),
        "moving onto a child element must keep the highlight"
    );
    child.dispatch_event(&drag_event("dragleave", &[])).unwrap();
    leptos::task::tick().await;
    assert!(!active(&widget), "leaving the zone removes the highlight");

    zone.dispatch_event(&drag_event("dragenter", &[])).unwrap();
    zone.dispatch_event(&drag_event(
        "drop",
        &[photo(), make_file(BADGE_PNG, "badge.png", "image/png")],
    ))
    .unwrap();
    let rows = widget.wait_finished(2).await;
    assert_eq!(
        widget.states(),
        ["done", "done"],
        "{}",
        widget.root.inner_html()
    );
    assert!(!active(&widget), "a drop ends the highlight");
    assert_eq!(rows.len(), 2);
}

/// Pastes one PNG named `name` on `target`, as Ctrl-V (Cmd-V) does where the focus is.
fn paste_on(target: &web_sys::Element, name: &str) {
    let init = ClipboardEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_clipboard_data(Some(&transfer(&[make_file(BADGE_PNG, name, "image/png")])));
    let paste = ClipboardEvent::new_with_event_init_dict("paste", &init).unwrap();
    target.dispatch_event(&paste).unwrap();
}

fn body() -> web_sys::Element {
    web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .body()
        .unwrap()
        .into()
}

#[wasm_bindgen_test]
async fn pasting_files_uploads_them() {
    let widget = mount(Setup::service());
    // Focus is on the widget's button, as after a keyboard user tabs to it.
    paste_on(&widget.find(".du__choose"), "pasted.png");
    widget.wait_finished(1).await;
    assert_eq!(widget.states(), ["done"]);
    assert!(widget.text(".du__name").contains("pasted.png"));
}

#[wasm_bindgen_test]
async fn files_pasted_anywhere_on_the_page_go_to_the_widget_but_not_from_a_text_field() {
    let widget = mount(Setup::service());
    let document = web_sys::window().unwrap().document().unwrap();
    let field = document.create_element("textarea").unwrap();
    body().append_child(&field).unwrap();
    paste_on(&field, "into-the-field.png");
    sleep(100).await;
    assert!(
        widget.rows().is_empty(),
        "a paste into a text field belongs to the field"
    );
    paste_on(&body(), "on-the-page.png");
    widget.wait_finished(1).await;
    assert_eq!(widget.states(), ["done"]);
    assert!(widget.text(".du__name").contains("on-the-page.png"));
    field.remove();
}

#[wasm_bindgen_test]
async fn with_two_widgets_a_page_paste_goes_to_the_one_used_last_and_paste_off_declines() {
    let first = mount(Setup::service());
    let second = mount(Setup::service());
    paste_on(&body(), "unclaimed.png");
    sleep(100).await;
    assert!(
        first.rows().is_empty() && second.rows().is_empty(),
        "two widgets, neither used: no guessing where a screenshot goes"
    );
    // The visitor tabs to the second widget.
    second
        .find(".du__choose")
        .unchecked_into::<HtmlElement>()
        .focus()
        .unwrap();
    paste_on(&body(), "for-the-second.png");
    second.wait_finished(1).await;
    assert!(second.text(".du__name").contains("for-the-second.png"));
    assert!(first.rows().is_empty());
    drop((first, second));

    let declining = mount(Setup {
        paste: PasteScope::Off,
        ..Setup::service()
    });
    paste_on(&body(), "page.png");
    paste_on(&declining.find(".du__choose"), "inside.png");
    sleep(100).await;
    assert!(
        declining.rows().is_empty(),
        "paste=\"off\" takes no pasted files"
    );
}

#[wasm_bindgen_test]
async fn the_zone_and_its_button_open_the_picker() {
    let widget = mount(Setup::service());
    let opened = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = opened.clone();
    let listener =
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| counter.set(counter.get() + 1));
    widget
        .find(".du__input")
        .add_event_listener_with_callback("click", listener.as_ref().unchecked_ref())
        .unwrap();
    listener.forget();
    widget.click(".du__hint");
    assert_eq!(
        opened.get(),
        1,
        "clicking anywhere in the zone opens the picker"
    );
    // Enter and Space on a focused button fire its click.
    widget.click(".du__choose");
    assert_eq!(opened.get(), 2, "the button opens the picker exactly once");
    let button: HtmlElement = widget.find(".du__choose").unchecked_into();
    assert_eq!(
        button.tag_name(),
        "BUTTON",
        "a real button is focusable and keyboard-operable"
    );
}

#[wasm_bindgen_test]
async fn files_are_checked_by_their_bytes_and_the_limits_before_sending() {
    let restrictions = Restrictions::default().size(1, 5_000).max_files(3);
    let widget = mount(Setup {
        restrictions,
        ..Setup::service()
    });
    let wide = canvas_image(12_001, 2, "image/png", 1.0, false).await;
    widget.choose(&[
        make_file(BADGE_PNG, "badge.txt", "text/plain"), // a PNG whatever its name says
        make_file(b"plain text, no picture", "fake.png", "image/png"), // not an image whatever its name says
        photo(),                                         // 11.7 KB: over the 5 KB set here
        make_file(BADGE_PNG, "fourth.png", "image/png"), // one file too many
    ]);
    let rows = widget.wait_finished(4).await;
    assert_eq!(widget.states(), ["done", "failed", "failed", "failed"]);
    assert_eq!(
        error_of(&rows[1]),
        "Refused before upload: the file is not an image of an accepted type"
    );
    assert_eq!(
        error_of(&rows[2]),
        "Refused before upload: 12 KB is larger than 5.0 KB"
    );
    assert_eq!(
        error_of(&rows[3]),
        "Refused before upload: at most 3 files can be added"
    );
    assert!(
        rows[1].query_selector(".du__retry").unwrap().is_none(),
        "a refused file offers no retry"
    );

    let widget = mount(Setup::service());
    widget.choose(&[wide]);
    let rows = widget.wait_finished(1).await;
    assert_eq!(
        error_of(&rows[0]),
        "Refused before upload: 12001×2 pixels: a side is longer than 12000 pixels"
    );
}

#[wasm_bindgen_test]
async fn uploads_run_within_the_concurrency_limit() {
    let widget = mount(Setup {
        concurrency: 2,
        ..Setup::service()
    });
    let files: Vec<_> = (0..6)
        .map(|i| make_file(BADGE_PNG, &format!("{i}.png"), "image/png"))
        .collect();
    widget.choose(&files);
    widget.wait_finished(6).await;
    assert_eq!(widget.states(), ["done"; 6]);
    let received = widget.received.lock().unwrap();
    let most = received.progress.iter().map(|s| s.uploading).max().unwrap();
    assert_eq!(most, 2, "at most two files hold a slot, and two did");
}

#[wasm_bindgen_test]
async fn passing_failures_are_retried_with_a_fresh_url_and_land_once() {
    let key = unique("retry");
    let retry = quick_retries(3, 0);
    let widget = mount(Setup {
        retry,
        ..Setup::new(format!(
            "{SERVICE}/_local/flaky-backend?key={key}&fail=2&status=503"
        ))
    });
    widget.choose(&[photo()]);
    widget.wait_finished(1).await;
    assert_eq!(widget.states(), ["done"]);
    assert_eq!(
        backend_calls(&key).await,
        3,
        "two failed tries, then a fresh URL that worked"
    );
    assert_eq!(
        stored_for(&key).await.len(),
        1,
        "the file landed exactly once"
    );
}

#[wasm_bindgen_test]
async fn permanent_failures_are_not_retried_but_can_be_retried_by_hand() {
    let key = unique("permanent");
    let retry = quick_retries(3, 0);
    let widget = mount(Setup {
        retry,
        ..Setup::new(format!(
            "{SERVICE}/_local/flaky-backend?key={key}&fail=1&status=400"
        ))
    });
    widget.choose(&[photo()]);
    let rows = widget.wait_finished(1).await;
    assert_eq!(widget.states(), ["failed"]);
    assert!(
        error_of(&rows[0]).starts_with("Backend error (HTTP 400, code 5400)"),
        "{}",
        error_of(&rows[0])
    );
    assert_eq!(
        backend_calls(&key).await,
        1,
        "a 4xx is not retried automatically"
    );
    widget.click(".du__retry");
    widget.wait_until(|w| w.states() == ["done"]).await;
    assert_eq!(backend_calls(&key).await, 2);
    assert_eq!(stored_for(&key).await.len(), 1);
}

#[wasm_bindgen_test]
async fn a_stalled_upload_is_aborted_and_retried() {
    let key = unique("stall");
    let retry = quick_retries(2, 600);
    let widget = mount(Setup {
        retry,
        ..Setup::new(format!(
            "{SERVICE}/_local/flaky-backend?key={key}&fail=1&mode=stall"
        ))
    });
    widget.choose(&[photo()]);
    widget.wait_finished(1).await;
    assert_eq!(widget.states(), ["done"], "{}", widget.root.inner_html());
    assert_eq!(
        backend_calls(&key).await,
        2,
        "the stalled URL was abandoned for a fresh one"
    );
    assert_eq!(stored_for(&key).await.len(), 1);
}

#[wasm_bindgen_test]
async fn queued_and_running_uploads_can_be_cancelled() {
    let key = unique("cancel");
    // Every URL stalls, and only one file runs at a time: one running, one queued.
    let retry = quick_retries(0, 0);
    let widget = mount(Setup {
        retry,
        concurrency: 1,
        ..Setup::new(format!(
            "{SERVICE}/_local/flaky-backend?key={key}&fail=99&mode=stall"
        ))
    });
    widget.choose(&[photo(), make_file(BADGE_PNG, "second.png", "image/png")]);
    // Whichever file finished its checks first runs; the other waits for the slot.
    let sorted = |w: &Mounted| {
        let mut states = w.states();
        states.sort();
        states
    };
    widget
        .wait_until(|w| sorted(w) == ["queued", "uploading"])
        .await;
    let cancel_in = |state: &str| -> HtmlElement {
        let row = widget
            .rows()
            .into_iter()
            .find(|r| state_of(r) == state)
            .unwrap();
        row.query_selector(".du__cancel")
            .unwrap()
            .unwrap()
            .unchecked_into()
    };
    cancel_in("queued").click();
    cancel_in("uploading").click();
    widget.wait_finished(2).await;
    assert_eq!(widget.states(), ["cancelled", "cancelled"]);
    assert_eq!(
        backend_calls(&key).await,
        2,
        "one URL for the running file and one asked ahead for the next, never more"
    );
    assert_eq!(
        stored_for(&key).await.len(),
        0,
        "nothing was posted to either URL"
    );
    assert_eq!(widget.text(".du__file-status"), "Cancelled");
}

#[wasm_bindgen_test]
async fn a_cancelled_file_retried_is_kept_for_a_reload_again() {
    let key = unique("cancel-kept");
    let backend = format!("{SERVICE}/_local/flaky-backend?key={key}&fail=99&mode=stall");
    let widget = mount(Setup::new(backend.clone()));
    widget.choose(&[photo()]);
    widget.wait_until(|w| w.states() == ["uploading"]).await;
    widget.click(".du__cancel");
    widget.wait_until(|w| w.states() == ["cancelled"]).await;
    widget.click(".du__retry");
    widget.wait_until(|w| w.states() == ["uploading"]).await;
    // Written once it has been in the batch for 3 s (js/persist.js), bounded.
    let mut kept = 0.0;
    for _ in 0..60 {
        kept = kept_count(&backend).await;
        if kept == 1.0 {
            break;
        }
        sleep(100).await;
    }
    assert_eq!(
        kept, 1.0,
        "the retried file is kept again, so a reload resumes it"
    );
}

#[wasm_bindgen_test]
async fn finished_files_can_be_cleared_and_removed() {
    let widget = mount(Setup::service());
    widget.choose(&[photo(), make_file(b"nope", "bad.png", "image/png")]);
    widget.wait_finished(2).await;
    widget.click(".du__clear");
    leptos::task::tick().await;
    assert_eq!(
        widget.states(),
        ["failed"],
        "clearing keeps files that still need attention"
    );
    widget.click(".du__remove");
    leptos::task::tick().await;
    assert!(widget.rows().is_empty());
}

#[wasm_bindgen_test]
async fn verification_asks_the_backend_before_showing_done() {
    let confirmed = mount(Setup {
        verify: Some(format!("{SERVICE}/api/images")),
        ..Setup::service()
    });
    confirmed.choose(&[photo()]);
    confirmed.wait_finished(1).await;
    assert_eq!(confirmed.states(), ["done"]);

    let doubted = mount(Setup {
        verify: Some(format!("{SERVICE}/_local/draft-record")),
        ..Setup::service()
    });
    doubted.choose(&[photo()]);
    let rows = doubted.wait_finished(1).await;
    assert_eq!(doubted.states(), ["failed"]);
    assert!(
        error_of(&rows[0]).starts_with("Backend could not confirm the upload"),
        "{}",
        error_of(&rows[0])
    );
}

/// A file cancelled while the backend is asked to confirm it stays cancelled, and the page
/// hears of no success (the upload host has it, but the visitor said no).
#[wasm_bindgen_test]
async fn cancelling_during_verification_reports_no_success() {
    let key = unique("verify-cancel");
    let widget = mount(Setup {
        verify: Some(format!("{SERVICE}/_local/slow-record/3000")),
        ..Setup::new(format!("{SERVICE}/_local/flaky-backend?key={key}&fail=0"))
    });
    widget.choose(&[photo()]);
    // Once the service holds the file, the widget is waiting for the (3 s) confirmation.
    let mut stored = false;
    for _ in 0..400 {
        if !stored_for(&key).await.is_empty() {
            stored = true;
            break;
        }
        sleep(25).await;
    }
    assert!(stored, "the upload reached the service");
    // Still waiting for the confirmation (the row shows it at the list's pace, within 100 ms).
    widget.wait_until(|w| w.states() == ["uploading"]).await;
    widget.click(".du__cancel");
    sleep(3_500).await;
    leptos::task::tick().await;
    assert_eq!(widget.states(), ["cancelled"]);
    assert!(
        widget.received.lock().unwrap().successes.is_empty(),
        "no success for a cancelled file"
    );
}

#[wasm_bindgen_test]
async fn a_photo_over_the_limits_is_downscaled_in_the_browser() {
    // About 24 megapixels of noise as a JPEG: far over 10 MB.
    let huge = canvas_image(6_000, 4_000, "image/jpeg", 1.0, true).await;
    assert!(
        huge.size() > 10.0 * 1024.0 * 1024.0,
        "the test photo must be over 10 MB, is {}",
        huge.size()
    );

    let refused = mount(Setup::service());
    refused.choose(&[huge.clone()]);
    let rows = refused.wait_finished(1).await;
    assert!(
        error_of(&rows[0]).contains("is larger than 10 MB"),
        "{}",
        error_of(&rows[0])
    );

    let widget = mount(Setup {
        downscale: true,
        ..Setup::service()
    });
    widget.choose(&[huge]);
    widget.wait_finished(1).await;
    assert_eq!(widget.states(), ["done"], "{}", widget.root.inner_html());
    let id = widget.received.lock().unwrap().successes[0].id.clone();
    let blob = api_get(&format!("v1/{id}/blob"))
        .await
        .binary()
        .await
        .unwrap();
    assert!(
        blob.len() <= 10 * 1024 * 1024,
        "the stored image fits Cloudflare's limit: {} bytes",
        blob.len()
    );
    assert_eq!(&blob[..3], &[0xFF, 0xD8, 0xFF], "a JPEG stays a JPEG");
}

#[wasm_bindgen_test]
async fn previews_are_made_only_for_visible_rows_and_revoked_when_removed() {
    let key = unique("previews");
    // Uploads stall, so the rows stay and show their local previews.
    let setup = Setup {
        concurrency: 1,
        ..Setup::new(format!(
            "{SERVICE}/_local/flaky-backend?key={key}&fail=999&mode=stall"
        ))
    };
    let widget = mount(setup);
    widget.root.style().set_property("height", "300px").unwrap();
    widget
        .root
        .style()
        .set_property("overflow", "auto")
        .unwrap();
    widget.root.scroll_into_view();
    let files: Vec<_> = (0..30)
        .map(|i| make_file(LANDSCAPE_JPG, &format!("{i}.jpg"), "image/jpeg"))
        .collect();
    widget.choose(&files);
    widget
        .wait_until(|w| w.root.query_selector(".du__preview-img").unwrap().is_some())
        .await;
    sleep(300).await;
    let previews = widget
        .root
        .query_selector_all(".du__preview-img")
        .unwrap()
        .length();
    assert!(
        previews >= 1 && previews < 15,
        "only rows in view get a preview, got {previews} of 30"
    );

    // The first row's own preview (rows in view get theirs one at a time).
    let first_preview = |w: &Mounted| {
        w.rows()
            .first()
            .and_then(|row| row.query_selector(".du__preview-img").unwrap())
    };
    widget.wait_until(|w| first_preview(w).is_some()).await;
    let first: web_sys::HtmlImageElement = first_preview(&widget).unwrap().unchecked_into();
    let url = first.src();
    assert!(url.starts_with("blob:"), "previews are object URLs: {url}");
    assert!(
        gloo_net::http::Request::get(&url).send().await.is_ok(),
        "the preview URL is alive while shown"
    );
    let press = |selector: &str| {
        let button: HtmlElement = widget.rows()[0]
            .query_selector(selector)
            .unwrap()
            .unwrap()
            .unchecked_into();
        button.click();
    };
    press(".du__cancel");
    widget
        .wait_until(|w| w.states().first().map(String::as_str) == Some("cancelled"))
        .await;
    press(".du__remove");
    // The row goes (its view is disposed on the executor's next turns), and with it its
    // preview's object URL: bounded, a URL still alive after a second fails the test.
    let mut revoked = false;
    for _ in 0..40 {
        if gloo_net::http::Request::get(&url).send().await.is_err() {
            revoked = true;
            break;
        }
        sleep(25).await;
    }
    assert!(revoked, "a removed row's preview URL is revoked");
    for row in widget.rows() {
        let cancel: Option<HtmlElement> = row
            .query_selector(".du__cancel")
            .unwrap()
            .map(|e| e.unchecked_into());
        if let Some(cancel) = cancel {
            cancel.click();
        }
    }
}

#[wasm_bindgen_test]
async fn every_string_comes_in_german_with_german_numbers() {
    let widget = mount(Setup {
        lang: Lang::De,
        ..Setup::service()
    });
    assert_eq!(widget.text(".du__choose"), "Bilder auswählen");
    widget.choose(&[
        make_file(BADGE_PNG, "abzeichen.png", "image/png"),
        make_file(b"kein Bild", "x.png", "image/png"),
    ]);
    let rows = widget.wait_finished(2).await;
    assert_eq!(widget.text(".du__size"), "1,2 KB");
    assert_eq!(
        widget.text(".du__status"),
        "1 hochgeladen, 1 fehlgeschlagen"
    );
    assert_eq!(
        error_of(&rows[1]),
        "Vor dem Upload abgelehnt: die Datei ist kein Bild eines zulässigen Typs"
    );
    assert_eq!(
        widget.find(".du").get_attribute("lang").as_deref(),
        Some("de")
    );
}

#[wasm_bindgen_test]
async fn results_are_announced_politely_without_progress_noise() {
    let widget = mount(Setup::service());
    let announcer = widget.find(".du__announcer");
    assert_eq!(
        announcer.get_attribute("aria-live").as_deref(),
        Some("polite")
    );
    widget.choose(&[photo()]);
    widget.wait_finished(1).await;
    leptos::task::tick().await;
    assert_eq!(widget.text(".du__announcer"), "All 1 uploaded");
    assert!(
        widget
            .find(".du__status")
            .get_attribute("aria-live")
            .is_none(),
        "the busy status line is not live"
    );
}

#[wasm_bindgen_test]
async fn exif_orientation_is_respected_when_re_encoding() {
    // Stored as 120×60 with EXIF orientation 6: a person sees it 60×120, upright.
    const ROTATED: &[u8] = include_bytes!("fixtures/rotated-exif6.jpg");
    let restrictions = Restrictions {
        max_side: 100,
        ..Restrictions::default()
    };
    let widget = mount(Setup {
        restrictions,
        downscale: true,
        ..Setup::service()
    });
    widget.choose(&[make_file(ROTATED, "phone.jpg", "image/jpeg")]);
    widget.wait_finished(1).await;
    assert_eq!(widget.states(), ["done"], "{}", widget.root.inner_html());
    let id = widget.received.lock().unwrap().successes[0].id.clone();
    let stored = api_get(&format!("v1/{id}/blob"))
        .await
        .binary()
        .await
        .unwrap();
    let blob = direct_upload::image_tools::blob_from_bytes(&stored, "image/jpeg").unwrap();
    // The re-encoded file carries no EXIF any more: its pixels themselves are upright.
    let size = direct_upload::image_tools::pixel_size(&blob).await;
    assert_eq!(
        size,
        Some((50, 100)),
        "re-encoded upright, fitted into 100 px"
    );
}

#[wasm_bindgen_test]
async fn destroying_a_mounted_widget_frees_its_previews_and_markup() {
    let key = unique("destroy");
    let document = web_sys::window().unwrap().document().unwrap();
    let host: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    let options = js_sys::JSON::parse(&format!(
        r#"{{"backend": "{SERVICE}/_local/flaky-backend?key={key}&fail=99&mode=stall", "maxRetries": 0, "stallTimeoutMs": 0}}"#
    ))
    .unwrap();
    let mut handle = direct_upload::embed::mount_widget(host.clone(), options).expect("mounts");
    choose_in(&host, &[photo()]);
    let mut preview = None;
    for _ in 0..200 {
        leptos::task::tick().await;
        // The row must be in view for its preview to be made, as for a person scrolling to it.
        if let Some(row) = host.query_selector(".du__file").unwrap() {
            row.scroll_into_view();
        }
        if let Some(img) = host.query_selector(".du__preview-img").unwrap() {
            preview = Some(img.unchecked_into::<web_sys::HtmlImageElement>().src());
            break;
        }
        sleep(25).await;
    }
    let preview = preview.unwrap_or_else(|| {
        let height = web_sys::window().unwrap().inner_height().unwrap().as_f64().unwrap();
        let scroll = web_sys::window().unwrap().scroll_y().unwrap();
        panic!("no local preview; host at offsetTop {} (scroll {scroll}, viewport {height}); it shows: {}", host.offset_top(), host.inner_html())
    });
    assert!(gloo_net::http::Request::get(&preview).send().await.is_ok());
    handle.destroy();
    leptos::task::tick().await;
    assert!(
        host.query_selector(".du").unwrap().is_none(),
        "the markup is gone"
    );
    assert!(
        gloo_net::http::Request::get(&preview).send().await.is_err(),
        "the preview's object URL is revoked"
    );
    assert!(
        handle.state().is_null(),
        "the handle does nothing once destroyed"
    );
}

/// Every failure kind a visitor can meet: the `upload-error` event a page receives, and the
/// `state()` it can read, say what the screen says, in the widget's language (German here).
/// (`UploadError::Browser`, a failing browser API, cannot be provoked from a page; its text
/// comes from the same `Lang::error` as every other kind.)
#[wasm_bindgen_test]
async fn error_events_say_what_the_screen_says_in_the_widgets_language() {
    let key = unique("words");
    let service = format!("{SERVICE}/api/direct-upload");
    let not_an_image = || make_file(b"just some text, not a picture", "notes.png", "image/png");
    let cases: Vec<(&str, String, web_sys::File)> = vec![
        (
            "refused before upload",
            format!(r#""backend": "{service}""#),
            not_an_image(),
        ),
        (
            "backend unreachable",
            r#""backend": "http://127.0.0.1:9/api/direct-upload""#.to_string(),
            photo(),
        ),
        (
            "backend status",
            format!(r#""backend": "{SERVICE}/_local/fail?status=500""#),
            photo(),
        ),
        (
            "backend answer unusable",
            format!(r#""backend": "{SERVICE}/_local/fail?status=200""#),
            photo(),
        ),
        (
            "upload host status",
            format!(r#""backend": "{SERVICE}/_local/direct-upload?state=used""#),
            photo(),
        ),
        (
            "stalled",
            format!(
                r#""backend": "{SERVICE}/_local/flaky-backend?key={key}&fail=99&mode=stall", "stallTimeoutMs": 300"#
            ),
            photo(),
        ),
        (
            "not confirmed",
            format!(r#""backend": "{service}", "verify": "{SERVICE}/_local/draft-record""#),
            photo(),
        ),
    ];
    let document = web_sys::window().unwrap().document().unwrap();
    for (kind, options, file) in cases {
        let host: HtmlElement = document.create_element("div").unwrap().unchecked_into();
        document.body().unwrap().append_child(&host).unwrap();
        let heard = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
        let listener = {
            let heard = heard.clone();
            Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |event: web_sys::CustomEvent| {
                let message = js_sys::Reflect::get(&event.detail(), &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_default();
                heard.borrow_mut().push(message);
            })
        };
        host.add_event_listener_with_callback("upload-error", listener.as_ref().unchecked_ref())
            .unwrap();
        let options =
            js_sys::JSON::parse(&format!(r#"{{{options}, "lang": "de", "maxRetries": 0}}"#))
                .unwrap();
        let mut handle = direct_upload::embed::mount_widget(host.clone(), options).expect("mounts");
        choose_in(&host, &[file]);
        let mut on_screen = None;
        for _ in 0..400 {
            leptos::task::tick().await;
            let shown = host
                .query_selector(".du__error:not(.du__error--passing)")
                .unwrap()
                .and_then(|e| e.text_content());
            if shown.is_some() && !heard.borrow().is_empty() {
                on_screen = shown;
                break;
            }
            sleep(25).await;
        }
        let on_screen =
            on_screen.unwrap_or_else(|| panic!("{kind}: no failure shown; {}", host.inner_html()));
        let heard = heard.borrow().clone();
        assert_eq!(
            heard,
            vec![on_screen.clone()],
            "{kind}: the event says what the screen says"
        );
        assert!(
            !on_screen.contains("Upload host error") && !on_screen.contains("Backend error"),
            "{kind}: the text is German, not the English developer wording: {on_screen}"
        );
        let state = handle.state();
        let files = js_sys::Reflect::get(&state, &"files".into()).unwrap();
        let first = js_sys::Reflect::get(&files, &0.into()).unwrap();
        let error = js_sys::Reflect::get(&first, &"error".into())
            .unwrap()
            .as_string();
        assert_eq!(
            error.as_deref(),
            Some(on_screen.as_str()),
            "{kind}: state() says it too"
        );
        handle.destroy();
        host.remove_event_listener_with_callback("upload-error", listener.as_ref().unchecked_ref())
            .unwrap();
        host.remove();
    }
}

#[wasm_bindgen_test]
async fn the_capture_option_lets_phones_offer_the_camera() {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let handle = leptos::mount::mount_to(root.clone(), || {
        use leptos::prelude::*;
        view! { <direct_upload::DirectUpload backend="/api/direct-upload" capture="environment"/> }
    });
    let input = root.query_selector(".du__input").unwrap().unwrap();
    assert_eq!(
        input.get_attribute("capture").as_deref(),
        Some("environment")
    );
    drop(handle);
    root.remove();
}

#[wasm_bindgen(inline_js = "export function kept_in_storage(backend) {
    return new Promise((resolve) => {
        const open = indexedDB.open('direct-upload');
        open.onsuccess = () => {
            const all = open.result.transaction('files').objectStore('files').getAll();
            all.onsuccess = () => {
                open.result.close();
                // Each kept File is an entry of its own, beside its file's record.
                resolve(all.result.filter((record) => record.scope.includes(backend) && record.file instanceof File).length);
            };
        };
        open.onerror = () => resolve(-1);
    });
}")]
extern "C" {
    /// How many files the keepers of `backend` have in IndexedDB.
    fn kept_in_storage(backend: &str) -> js_sys::Promise;
}

async fn kept_count(backend: &str) -> f64 {
    wasm_bindgen_futures::JsFuture::from(kept_in_storage(backend))
        .await
        .unwrap()
        .as_f64()
        .unwrap()
}

#[wasm_bindgen_test]
async fn a_new_file_is_copied_into_storage_after_a_few_seconds_and_a_resumed_one_at_once() {
    let backend = "/kept-files-test-backend";
    let keeper = direct_upload::browser::persist::Keeper::next(backend);
    let file = make_file(BADGE_PNG, "badge.png", "image/png");
    keeper.keep(1, &file, None, None, false);
    keeper.keep(2, &file, Some("an-image-id"), None, true);
    sleep(800).await;
    assert_eq!(
        kept_count(backend).await,
        1.0,
        "within its first seconds only the file resumed after a reload is written"
    );
    sleep(3_000).await;
    assert_eq!(
        kept_count(backend).await,
        2.0,
        "the new file is written once it has been kept for 3 s"
    );
    keeper.forget(2);
    sleep(400).await;
    assert_eq!(
        kept_count(backend).await,
        1.0,
        "a forgotten file leaves storage at once"
    );
    keeper.forget_all();
    sleep(400).await;
    assert_eq!(
        kept_count(backend).await,
        0.0,
        "a completed batch leaves none"
    );
}

/// Without BYOB readers for a file's stream (Safari before 26.4), a small file's first bytes
/// are read through a slice: the file is still recognised, checked and stored.
#[wasm_bindgen_test]
async fn without_byob_readers_a_small_file_is_still_checked_and_stored() {
    js_sys::eval(
        "window.__duByob = window.ReadableStreamBYOBReader; \
         window.ReadableStreamBYOBReader = function () { throw new TypeError('no BYOB readers here'); };",
    )
    .unwrap();
    let widget = mount(Setup::service());
    widget.choose(&[make_file(BADGE_PNG, "badge.png", "image/png")]);
    let rows = widget.wait_finished(1).await;
    js_sys::eval("window.ReadableStreamBYOBReader = window.__duByob;").unwrap();
    assert_eq!(widget.states(), ["done"], "{}", error_of(&rows[0]));
}
