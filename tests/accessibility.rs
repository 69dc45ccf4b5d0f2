//! axe-core (from npm, run in the same headless Chromium) finds no accessibility violations
//! in the widget's main states, styled with its real stylesheet.
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const AXE: &str = include_str!("a11y/node_modules/axe-core/axe.min.js");

fn install() {
    let window = web_sys::window().unwrap();
    if js_sys::Reflect::has(&window, &"axe".into()).unwrap() {
        return;
    }
    js_sys::eval(AXE).expect("axe-core loads");
}

/// Runs axe on `element`; returns one line per violation (rule, impact, nodes).
async fn violations(element: &web_sys::Element) -> Vec<String> {
    let axe = js_sys::Reflect::get(&web_sys::window().unwrap(), &"axe".into()).unwrap();
    let run: js_sys::Function = js_sys::Reflect::get(&axe, &"run".into())
        .unwrap()
        .unchecked_into();
    let options = js_sys::JSON::parse(r#"{"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}, "rules": {"region": {"enabled": false}}}"#).unwrap();
    let promise: js_sys::Promise = run.call2(&axe, element, &options).unwrap().unchecked_into();
    let results = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("axe runs");
    let list: js_sys::Array = js_sys::Reflect::get(&results, &"violations".into())
        .unwrap()
        .unchecked_into();
    list.iter()
        .map(|v| {
            let field = |name: &str| {
                js_sys::Reflect::get(&v, &name.into())
                    .ok()
                    .and_then(|x| x.as_string())
                    .unwrap_or_default()
            };
            let nodes: js_sys::Array = js_sys::Reflect::get(&v, &"nodes".into())
                .unwrap()
                .unchecked_into();
            let targets: Vec<String> = nodes
                .iter()
                .map(|n| {
                    js_sys::JSON::stringify(&js_sys::Reflect::get(&n, &"html".into()).unwrap())
                        .unwrap()
                        .into()
                })
                .collect();
            format!(
                "{} ({}): {} — {}",
                field("id"),
                field("impact"),
                field("help"),
                targets.join(" | ")
            )
        })
        .collect()
}

#[wasm_bindgen_test]
async fn no_violations_when_empty_uploading_done_or_failed() {
    install();
    let key = unique("a11y");
    let widget = mount(Setup::service());
    assert_eq!(
        violations(&widget.root).await,
        Vec::<String>::new(),
        "empty widget"
    );

    widget.choose(&[
        photo(),
        make_file(b"not a picture", "notes.png", "image/png"),
    ]);
    widget.wait_finished(2).await;
    // The files' previews and thumbnails have loaded by now or never will; check what is shown.
    sleep(200).await;
    assert_eq!(
        violations(&widget.root).await,
        Vec::<String>::new(),
        "done and failed rows"
    );

    let retry = quick_retries(0, 0);
    let busy = mount(Setup {
        retry,
        ..Setup::new(format!(
            "{SERVICE}/_local/flaky-backend?key={key}&fail=99&mode=stall"
        ))
    });
    busy.choose(&[photo()]);
    busy.wait_until(|w| w.states() == ["uploading"]).await;
    assert_eq!(
        violations(&busy.root).await,
        Vec::<String>::new(),
        "an upload in progress"
    );
    busy.click(".du__cancel");
}
