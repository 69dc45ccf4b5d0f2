//! The file list built for long batches, in headless Chromium against the real local
//! service: a thousand files scroll inside the widget as a screenful of rows, and the status
//! line counts what is stored.
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

/// A widget whose uploads never finish: one file holds the only slot with a URL that stalls,
/// so every other file stays in the list, queued.
fn stalling(key: &str) -> Setup {
    Setup {
        concurrency: 1,
        retry: quick_retries(0, 0),
        ..Setup::new(format!(
            "{SERVICE}/_local/flaky-backend?key={key}&fail=100000&mode=stall"
        ))
    }
}

/// Where an element is on the screen, top and bottom, in CSS pixels.
fn top_and_bottom(element: &web_sys::Element) -> (f64, f64) {
    let measure: js_sys::Function = js_sys::Reflect::get(element, &"getBoundingClientRect".into())
        .unwrap()
        .unchecked_into();
    let rect = measure.call0(element).unwrap();
    let side = |name: &str| {
        js_sys::Reflect::get(&rect, &name.into())
            .unwrap()
            .as_f64()
            .unwrap()
    };
    (side("top"), side("bottom"))
}

#[wasm_bindgen_test]
async fn a_thousand_files_scroll_inside_the_widget_as_a_screenful_of_rows() {
    let widget = mount(stalling(&unique("thousand")));
    let files: Vec<_> = (1..=1_000)
        .map(|i| make_file(BADGE_PNG, &format!("file-{i:04}.png"), "image/png"))
        .collect();
    widget.choose(&files);
    widget
        .wait_until(|w| w.text(".du__status").starts_with("0 of 1000 stored"))
        .await;

    let rendered = widget.rows().len();
    assert!(
        (8..100).contains(&rendered),
        "a screenful of rows is in the page, not a thousand: {rendered}"
    );
    let list: HtmlElement = widget.find(".du__files").unchecked_into();
    assert!(
        list.scroll_height() > 10 * list.client_height(),
        "the list scrolls inside the widget and measures all 1,000 rows: {} of {} px in view; {}",
        list.client_height(),
        list.scroll_height(),
        list.outer_html().chars().take(400).collect::<String>()
    );
    let first = &widget.rows()[0];
    assert_eq!(
        first.get_attribute("aria-setsize").as_deref(),
        Some("1000"),
        "screen readers hear how long the whole list is"
    );
    assert_eq!(
        first.text_content().map(|t| t.contains("file-0001.png")),
        Some(true)
    );

    list.set_scroll_top(list.scroll_height());
    let last_row = |w: &Mounted| {
        w.rows().into_iter().find(|row| {
            row.text_content()
                .unwrap_or_default()
                .contains("file-1000.png")
        })
    };
    widget.wait_until(|w| last_row(w).is_some()).await;
    let row = last_row(&widget).unwrap();
    assert_eq!(row.get_attribute("aria-posinset").as_deref(), Some("1000"));
    let (shown, frame) = (top_and_bottom(&row), top_and_bottom(&list));
    assert!(
        shown.0 >= frame.0 && shown.1 <= frame.1 + 1.0,
        "the last file's row is in the list's view once scrolled to the bottom"
    );
    assert!(
        widget.rows().len() < 100,
        "scrolling swapped rows instead of adding them"
    );
    assert!(
        !widget.text(".du__files").contains("file-0001.png"),
        "the first rows left the page once scrolled away"
    );
}

#[wasm_bindgen_test]
async fn the_status_line_counts_stored_files_of_all() {
    // Two slots; the first URL handed out stalls, the others work: two files are stored
    // while the third never finishes.
    let key = unique("counted");
    let widget = mount(Setup {
        concurrency: 2,
        retry: quick_retries(0, 0),
        ..Setup::new(format!(
            "{SERVICE}/_local/flaky-backend?key={key}&fail=1&mode=stall"
        ))
    });
    widget.choose(&[
        make_file(BADGE_PNG, "one.png", "image/png"),
        make_file(BADGE_PNG, "two.png", "image/png"),
        make_file(BADGE_PNG, "three.png", "image/png"),
    ]);
    widget
        .wait_until(|w| w.states().iter().filter(|s| *s == "done").count() == 2)
        .await;
    // The status line follows at the list's pace (within 100 ms, see `core::pace`).
    let mut status = widget.text(".du__status");
    for _ in 0..12 {
        if status.starts_with("2 of 3 stored") {
            break;
        }
        sleep(25).await;
        status = widget.text(".du__status");
    }
    assert!(
        status.starts_with("2 of 3 stored"),
        "within 300 ms the status line counts what is stored: {status}"
    );
    assert!(
        widget.rows().len() == 3
            && widget
                .rows()
                .iter()
                .all(|row| row.get_attribute("aria-setsize").is_none()),
        "a short list renders every row"
    );
}

/// While an upload runs, previews give way to it (they decode for a tenth of the time at
/// most) but still come: with one upload stalled for good, every row gets its preview.
#[wasm_bindgen_test]
async fn previews_keep_coming_while_an_upload_runs() {
    let widget = mount(stalling(&unique("previews-while-uploading")));
    let files: Vec<_> = (0..4)
        .map(|i| make_file(BADGE_PNG, &format!("{i}.png"), "image/png"))
        .collect();
    widget.choose(&files);
    widget
        .wait_until(|w| {
            let previews = w.root.query_selector_all(".du__preview-img").unwrap();
            previews.length() == 4 && w.states().first().map(String::as_str) == Some("uploading")
        })
        .await;
    assert_eq!(
        widget.states(),
        ["uploading", "queued", "queued", "queued"],
        "the first file is still on the wire, the others wait for its slot"
    );
}

/// How many times the page has asked the browser to decode `file`, and how many of those the
/// browser refused: the real `createImageBitmap`, wrapped once per page to note what it is
/// given and which decodes it refuses.
fn decodes_of(file: &web_sys::File) -> (usize, usize) {
    js_sys::eval(
        "if (!window.__duDecoded) { window.__duDecoded = []; window.__duRefused = []; \
         const real = window.createImageBitmap.bind(window); \
         window.createImageBitmap = (blob, ...rest) => { \
           window.__duDecoded.push(blob); \
           const decoded = real(blob, ...rest); \
           decoded.catch(() => window.__duRefused.push(blob)); \
           return decoded; }; }",
    )
    .unwrap();
    let count = |name: &str| {
        let list: js_sys::Array = js_sys::Reflect::get(&web_sys::window().unwrap(), &name.into())
            .unwrap()
            .unchecked_into();
        let file: &wasm_bindgen::JsValue = file.as_ref();
        list.iter().filter(|blob| blob == file).count()
    };
    (count("__duDecoded"), count("__duRefused"))
}

/// A PNG whose header is sound (so the file check passes on its header alone) and whose
/// pixels are not: the browser refuses to decode it.
fn broken_png() -> web_sys::File {
    let mut bytes = BADGE_PNG[..33].to_vec(); // signature and IHDR
    bytes.extend([0, 0, 0, 8]);
    bytes.extend(b"IDAT");
    bytes.extend([0xff; 8]); // not a zlib stream
    bytes.extend([0; 4]);
    bytes.extend([0, 0, 0, 0]);
    bytes.extend(b"IEND");
    bytes.extend([0xae, 0x42, 0x60, 0x82]);
    make_file(&bytes, "broken.png", "image/png")
}

/// A preview the browser refuses is not asked for again each time its row changes: a decode
/// the browser refuses can cost a long task, and a row changes many times.
#[wasm_bindgen_test]
async fn a_preview_the_browser_refuses_is_asked_for_once() {
    decodes_of(&broken_png()); // wraps the decoder before anything is chosen
    let widget = mount(stalling(&unique("refused-preview")));
    let stalled = make_file(BADGE_PNG, "stalled.png", "image/png");
    let broken = broken_png();
    widget.choose(&[stalled, broken.clone()]);
    widget
        .wait_until(|w| {
            w.states() == ["uploading", "queued"]
                && w.root
                    .query_selector_all(".du__preview-img")
                    .unwrap()
                    .length()
                    == 1
                && decodes_of(&broken) == (1, 1)
        })
        .await;
    // The refusal has landed: change the row twice, cancelled, then queued again.
    let press = |selector: &str| {
        let rows = widget.rows();
        let button = rows[1].query_selector(selector).unwrap().unwrap();
        button.unchecked_into::<HtmlElement>().click();
    };
    press(".du__cancel");
    widget
        .wait_until(|w| w.states() == ["uploading", "cancelled"])
        .await;
    press(".du__retry");
    widget
        .wait_until(|w| w.states() == ["uploading", "queued"])
        .await;
    sleep(300).await;
    assert_eq!(
        decodes_of(&broken),
        (1, 1),
        "the refused preview was asked for again"
    );
    assert!(
        widget.rows()[1]
            .query_selector(".du__preview-img")
            .unwrap()
            .is_none(),
        "no preview is shown for a file the browser cannot decode"
    );
}
