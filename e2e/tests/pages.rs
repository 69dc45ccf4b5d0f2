//! The product as a visitor uses it: the built demo and a plain HTML page that embeds
//! `<direct-upload>`, in headless Chromium driven over WebDriver (Debian's chromedriver, the
//! fantoccini client), against the real local service serving `dist/` (scripts/build.sh).
//! Screenshots of the main states go to `docs/screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use direct_upload_server::{start, Config, Running};
use fantoccini::{elements::Element, Client, ClientBuilder, Locator};
use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn fixture(name: &str) -> String {
    repo()
        .join("tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A browser, a chromedriver and a local service serving the built pages.
struct Visit {
    client: Client,
    driver: tokio::process::Child,
    service: Running,
    _data: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

impl Visit {
    async fn new() -> Visit {
        Self::with_browser_flags(&[]).await
    }

    /// A visit in a browser started with extra flags (e.g. a dark colour scheme).
    async fn with_browser_flags(flags: &[&str]) -> Visit {
        let dist = repo().join("dist");
        assert!(
            dist.join("index.html").exists() && dist.join("embed/direct-upload.js").exists(),
            "run scripts/build.sh first: {dist:?} is not built"
        );
        let data = tempfile::tempdir().unwrap();
        let mut config = Config::dev(data.path());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.static_dir = Some(dist);
        config.enable_test_controls = true;
        let service = start(config).await.expect("the service starts");

        let port = {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let driver = tokio::process::Command::new(
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()),
        )
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts (apt-get install chromium-driver)");
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1000,1000",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend(flags.iter().map(|f| f.to_string()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), json!({ "args": args }));
        let mut client = None;
        for _ in 0..100 {
            match ClientBuilder::native()
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(connected) => {
                    client = Some(connected);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let client = client.expect("chromedriver accepts a session");
        Visit {
            client,
            driver,
            service,
            _data: data,
            _profile: profile,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.service.urls.public)
    }

    async fn open(&self, path: &str) {
        self.client.goto(&self.url(path)).await.unwrap();
        self.client
            .wait()
            .for_element(Locator::Css(".du__announcer"))
            .await
            .expect("the widget appears (its code loaded and mounted over the drawn drop zone)");
    }

    /// Reloads the page, as the visitor does, and waits for the widget to be back.
    async fn reload(&self) {
        self.client.refresh().await.unwrap();
        self.client
            .wait()
            .for_element(Locator::Css(".du__announcer"))
            .await
            .unwrap();
    }

    /// Chooses files through the real `<input type=file>`, as a person does in the dialog.
    async fn choose(&self, files: &[String]) {
        let input = self.client.find(Locator::Css(".du__input")).await.unwrap();
        input.send_keys(&files.join("\n")).await.unwrap();
    }

    /// The local service's list of the images stored for a backend `creator` key.
    async fn stored_for(&self, key: &str) -> Value {
        self.api(&format!("v2?creator={key}")).await
    }

    /// `GET` of the local service's Images API at `path` (under `…/images/`).
    async fn api(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!(
                "{}/accounts/{}/images/{path}",
                self.service.api_base(),
                self.service.account_id
            ))
            .bearer_auth(&self.service.api_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    async fn states(&self) -> Vec<String> {
        let value = self
            .js("return [...document.querySelectorAll('.du__file')].map(r => r.dataset.state)")
            .await;
        serde_json::from_value(value).unwrap()
    }

    /// Waits (bounded: a minute, since two browsers and two services share two cores while
    /// the tests run) until the rows are in exactly these states.
    async fn wait_for_states(&self, expected: &[&str]) {
        for _ in 0..1200 {
            if self.states().await == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "rows never reached {expected:?}; they are {:?}",
            self.states().await
        );
    }

    /// Waits (bounded: 10 s, past `js/persist.js`'s 3 s before a file is copied) until the
    /// page keeps `count` files in IndexedDB, and returns how many it keeps then.
    async fn kept_records_become(&self, count: i64) -> i64 {
        let mut kept = -1;
        for _ in 0..200 {
            kept = self.js(KEPT_RECORDS).await.as_i64().unwrap_or(-1);
            if kept == count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        kept
    }

    /// Makes the next `count` uploads stall: the host reads each file, stores nothing and
    /// answers late (after a minute), until [`Visit::faults_off`].
    async fn stall_uploads(&self, count: u32) {
        let set = reqwest::Client::new()
            .post(self.faults())
            .json(&json!({"seed": 1, "rate": 1, "kinds": ["host_stall"], "limit": count, "host_stall_ms": 60000}))
            .send()
            .await
            .unwrap();
        assert!(set.status().is_success(), "{:?}", set.text().await);
    }

    /// The host recovers from [`Visit::stall_uploads`].
    async fn faults_off(&self) {
        reqwest::Client::new()
            .delete(self.faults())
            .send()
            .await
            .unwrap();
    }

    fn faults(&self) -> String {
        format!("{}/_local/faults", self.service.urls.public)
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = repo().join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no {css}"))
    }

    async fn end(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
        let _ = self.service.stop().await;
    }
}

#[tokio::test]
async fn the_demo_uploads_a_chosen_photo_and_its_variant_opens() {
    let visit = Visit::new().await;
    visit.open("/").await;
    visit.screenshot("empty").await;
    visit
        .choose(&[fixture("landscape.jpg"), fixture("badge.png")])
        .await;
    visit.wait_for_states(&["done", "done"]).await;
    assert_eq!(
        visit.find(".du__status").await.text().await.unwrap(),
        "All 2 uploaded"
    );

    let names: Vec<String> = serde_json::from_value(visit.js("return [...document.querySelectorAll('.du__file')[0].querySelectorAll('.du__variant-link')].map(a => a.textContent)").await).unwrap();
    assert_eq!(names, ["public", "thumbnail"]);
    visit
        .js("document.querySelectorAll('.du__preview-img').forEach(i => i.decode && i.decode())")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    visit.screenshot("done").await;

    // Open the public variant as a person following the link would: the browser shows the image.
    let href = visit
        .find(".du__variant-link")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    visit.client.goto(&href).await.unwrap();
    let shown = visit.js("const i = document.querySelector('img'); return i && i.complete ? [i.naturalWidth, i.naturalHeight] : null").await;
    assert_eq!(
        shown,
        json!([640, 427]),
        "the public variant of a 640x427 photo is shown as is (scale-down)"
    );
    visit.end().await;
}

#[tokio::test]
async fn the_demo_takes_dropped_files_and_explains_refusals() {
    let visit = Visit::new().await;
    visit.open("/").await;
    // A drop as the browser delivers it: a DataTransfer holding real files.
    let done = visit
        .client
        .execute_async(
            r#"
            const finish = arguments[arguments.length - 1];
            (async () => {
                const transfer = new DataTransfer();
                transfer.items.add(new File(['just text'], 'notes.png', {type: 'image/png'}));
                const png = await (await fetch('data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==')).blob();
                transfer.items.add(new File([png], 'dot.png', {type: 'image/png'}));
                const zone = document.querySelector('.du__dropzone');
                zone.dispatchEvent(new DragEvent('dragenter', {bubbles: true, dataTransfer: transfer}));
                zone.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: transfer}));
            })().then(() => finish(true), (e) => finish(String(e)));
            "#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(done, json!(true));
    visit.wait_for_states(&["failed", "done"]).await;
    let error = visit.find(".du__error").await.text().await.unwrap();
    assert_eq!(
        error,
        "Refused before upload: the file is not an image of an accepted type"
    );
    visit.screenshot("errors").await;
    visit.end().await;
}

#[tokio::test]
async fn a_plain_html_page_uploads_with_one_element_and_reports_events() {
    let visit = Visit::new().await;
    visit.open("/plain.html").await;
    visit.choose(&[fixture("landscape.jpg")]).await;
    visit.wait_for_states(&["done"]).await;
    visit
        .client
        .wait()
        .for_element(Locator::Css(".event--upload-complete"))
        .await
        .unwrap();
    let events: Vec<String> = serde_json::from_value(visit.js("return [...document.querySelectorAll('.event')].map(e => e.className.replace('event event--', ''))").await).unwrap();
    assert_eq!(
        events,
        ["upload-start", "upload-success", "upload-complete"]
    );
    let success = visit
        .find(".event--upload-success")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        success.contains("\"filename\":\"landscape.jpg\"") && success.contains("/public"),
        "{success}"
    );
    let state = visit
        .js("return document.querySelector('direct-upload').state")
        .await;
    assert_eq!(state["summary"]["done"], 1);
    assert_eq!(state["files"][0]["state"], "done");

    // Removing the element takes the widget and its handle with it.
    visit
        .js("document.querySelector('direct-upload').remove()")
        .await;
    assert_eq!(
        visit
            .js("return document.querySelectorAll('.du').length")
            .await,
        json!(0)
    );
    visit.end().await;
}

#[tokio::test]
async fn on_a_plain_page_an_upload_can_be_cancelled_and_retried_and_attributes_apply_live() {
    let visit = Visit::new().await;
    visit.open("/plain.html").await;
    // A live attribute change: a backend whose first URL's upload never gets an answer.
    let key = format!("e2e-{}", std::process::id());
    visit
        .js(&format!("document.querySelector('direct-upload').setAttribute('backend', '/_local/flaky-backend?key={key}&fail=1&mode=stall'); document.querySelector('direct-upload').setAttribute('lang', 'de')"))
        .await;
    visit.choose(&[fixture("landscape.jpg")]).await;
    visit.wait_for_states(&["uploading"]).await;
    assert_eq!(
        visit.find(".du__choose").await.text().await.unwrap(),
        "Bilder auswählen",
        "lang applied live"
    );
    visit.screenshot("uploading").await;
    visit.find(".du__cancel").await.click().await.unwrap();
    visit.wait_for_states(&["cancelled"]).await;
    visit.find(".du__retry").await.click().await.unwrap();
    visit.wait_for_states(&["done"]).await;
    // Exactly one image stored for this backend key: the cancelled try left nothing behind.
    let list = visit.stored_for(&key).await;
    assert_eq!(list["result"]["images"].as_array().unwrap().len(), 1);
    visit.end().await;
}

/// How many files the widgets of the page keep in IndexedDB (`js/persist.js`'s store): each
/// is one record of what is known of it and, beside it, one entry holding the `File`, which a
/// new try or a stored image does not write again. -2 when the two do not pair up.
const KEPT_RECORDS: &str = "return new Promise((resolve) => {
    const open = indexedDB.open('direct-upload');
    open.onsuccess = () => {
        const all = open.result.transaction('files').objectStore('files').getAll();
        all.onsuccess = () => {
            open.result.close();
            const records = all.result.filter((r) => r.key % 1 === 0 && !('file' in r));
            const files = all.result.filter((r) => r.key % 1 === 0.5 && r.file instanceof File);
            resolve(records.length === files.length && records.length + files.length === all.result.length ? records.length : -2);
        };
    };
    open.onerror = () => resolve(-1);
})";

/// A reload in the middle of a batch loses nothing and stores nothing twice: the file stored
/// before it comes back done with its variant links, the files that were being sent come
/// back, are asked about (their tries stored nothing), sent again and stored once each; once
/// the batch is complete, nothing is kept, so a second reload shows an empty list.
#[tokio::test]
async fn a_reload_in_the_middle_of_a_batch_resumes_it_and_stores_each_file_once() {
    let visit = Visit::new().await;
    visit.open("/plain.html").await;
    // Two uploads stall (the host reads the file, stores nothing, answers late); the third
    // goes through.
    visit.stall_uploads(2).await;
    visit
        .choose(&[
            fixture("landscape.jpg"),
            fixture("badge.png"),
            fixture("rotated-exif6.jpg"),
        ])
        .await;
    for _ in 0..400 {
        let mut states = visit.states().await;
        states.sort();
        if states == ["done", "uploading", "uploading"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut before = visit.states().await;
    before.sort();
    assert_eq!(before, ["done", "uploading", "uploading"]);

    // The browser holds the three files once they have been kept a few seconds (a batch that
    // ends sooner never copies its files into storage).
    assert_eq!(
        visit.kept_records_become(3).await,
        3,
        "the three files are kept in IndexedDB"
    );

    // The visitor reloads; meanwhile the host recovers.
    visit.faults_off().await;
    visit.reload().await;
    visit.wait_for_states(&["done", "done", "done"]).await;
    let names: Vec<String> = serde_json::from_value(
        visit
            .js("return [...document.querySelectorAll('.du__file')].map(r => r.querySelector('.du__name').textContent)")
            .await,
    )
    .unwrap();
    assert_eq!(
        names,
        ["landscape.jpg", "badge.png", "rotated-exif6.jpg"],
        "in their order"
    );
    assert_eq!(
        visit
            .js("return [...document.querySelectorAll('.du__file')].filter(r => r.querySelector('.du__variant-link')).length")
            .await,
        json!(3),
        "every file shows its variant links, the one stored before the reload too"
    );
    let stats = visit.api("v1/stats").await;
    assert_eq!(
        stats["result"]["count"]["current"], 3,
        "three files, three images: none lost, none twice"
    );

    // The batch is complete: nothing is kept for another reload (forgotten within the
    // storage's next write, 50 ms, so the test waits for it rather than racing it).
    assert_eq!(
        visit.kept_records_become(0).await,
        0,
        "a completed batch leaves nothing in IndexedDB"
    );
    visit.reload().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(visit.states().await, Vec::<String>::new());
    visit.end().await;
}

/// Two tabs of one page: the second leaves alone the files the first keeps while it sends
/// them (it would otherwise take them, send them again and store each twice), and once the
/// first tab is closed it resumes them, each stored once.
#[tokio::test]
async fn a_second_tab_leaves_the_first_tabs_kept_files_alone_until_it_is_closed() {
    let visit = Visit::new().await;
    visit.open("/plain.html").await;
    // Both uploads stall: the host reads each file, stores nothing and answers late.
    visit.stall_uploads(2).await;
    visit
        .choose(&[fixture("landscape.jpg"), fixture("badge.png")])
        .await;
    visit.wait_for_states(&["uploading", "uploading"]).await;
    assert_eq!(
        visit.kept_records_become(2).await,
        2,
        "the first tab keeps both"
    );
    let first = visit.client.window().await.unwrap();

    // The same page in a second tab, while the first is still sending.
    let second = visit.client.new_window(true).await.unwrap().handle;
    visit.client.switch_to_window(second.clone()).await.unwrap();
    visit.open("/plain.html").await;
    // It waits for the first tab's hold on them (a reload's page waits the same way, for
    // milliseconds): nothing of theirs shows up meanwhile.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(
        visit.states().await,
        Vec::<String>::new(),
        "the second tab lists none of the first tab's files"
    );
    assert_eq!(
        visit.js(KEPT_RECORDS).await,
        json!(2),
        "and leaves them in storage"
    );

    // The host recovers; the first tab is closed mid-batch: the second takes over its files.
    visit.faults_off().await;
    visit.client.switch_to_window(first).await.unwrap();
    visit.client.close_window().await.unwrap();
    visit.client.switch_to_window(second).await.unwrap();
    visit.wait_for_states(&["done", "done"]).await;
    let stats = visit.api("v1/stats").await;
    assert_eq!(
        stats["result"]["count"]["current"], 2,
        "two files, two images: none lost, none twice"
    );
    visit.end().await;
}

/// A page with the widget still goes into the back/forward cache: Back shows the very page
/// left, not a reload of it. (Seen to fail with an `unload` listener added to the page, which
/// keeps a page out of Chromium's cache.)
#[tokio::test]
async fn the_page_is_kept_in_the_back_forward_cache() {
    let visit = Visit::new().await;
    visit.open("/plain.html").await;
    visit.js("window.leftHere = 42; return null").await;
    visit
        .client
        .goto(&visit.url("/plain.html?another"))
        .await
        .unwrap();
    visit.client.back().await.unwrap();
    visit
        .client
        .wait()
        .for_element(Locator::Css(".du__announcer"))
        .await
        .unwrap();
    assert_eq!(
        visit.js("return window.leftHere ?? null").await,
        json!(42),
        "Back restored the page from the cache (a reload would have lost its script state)"
    );
    visit.end().await;
}

/// The computed value of a CSS property of the first element matching `css`.
async fn computed(visit: &Visit, css: &str, property: &str) -> String {
    let script = format!("return getComputedStyle(document.querySelector('{css}')).getPropertyValue('{property}').trim()");
    visit
        .js(&script)
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A CSS duration in milliseconds: the minified stylesheet may write `160ms` as `.16s`.
fn millis(duration: &str) -> u64 {
    let duration = duration.trim();
    let (number, scale) = match duration.strip_suffix("ms") {
        Some(number) => (number, 1.0),
        None => (duration.trim_end_matches('s'), 1000.0),
    };
    (number
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("not a duration: {duration}"))
        * scale)
        .round() as u64
}

#[tokio::test]
async fn the_theme_follows_custom_properties_dark_mode_and_reduced_motion() {
    let light = Visit::new().await;
    light.open("/plain.html").await;
    assert_eq!(
        computed(&light, ".du__choose", "background-color").await,
        "rgb(243, 128, 32)"
    );
    assert_eq!(millis(&computed(&light, ".du", "--du-duration").await), 160);
    // A site themes it by setting a custom property on the element or an ancestor.
    light.js("document.querySelector('direct-upload').style.setProperty('--du-accent', 'rgb(10, 120, 60)')").await;
    // The colour change is animated (--du-duration, 160 ms): read it once it has settled.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        computed(&light, ".du__choose", "background-color").await,
        "rgb(10, 120, 60)"
    );
    light.end().await;

    let dark = Visit::with_browser_flags(&[
        "--blink-settings=preferredColorScheme=0",
        "--force-prefers-reduced-motion",
    ])
    .await;
    dark.open("/plain.html").await;
    assert_eq!(
        computed(&dark, ".du", "--du-bg").await,
        "#161a22",
        "dark colours under prefers-color-scheme: dark"
    );
    assert_eq!(
        millis(&computed(&dark, ".du", "--du-duration").await),
        0,
        "no transitions under prefers-reduced-motion"
    );
    dark.end().await;
}

#[tokio::test]
async fn the_javascript_api_mounts_reads_state_and_destroys() {
    let visit = Visit::new().await;
    visit.open("/plain.html").await;
    let result = visit
        .client
        .execute_async(
            r#"
            const finish = arguments[arguments.length - 1];
            (async () => {
                const { mount } = await import('/embed/direct-upload.js');
                const host = document.createElement('div');
                host.id = 'from-code';
                document.body.append(host);
                const widget = await mount(host, { backend: '/api/direct-upload', maxFiles: 1 });
                const png = await (await fetch('data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==')).blob();
                const done = new Promise((resolve) => host.addEventListener('upload-complete', (e) => resolve(e.detail)));
                widget.addFiles([new File([png], 'a.png', {type: 'image/png'}), new File([png], 'b.png', {type: 'image/png'})]);
                const summary = await done;
                const state = widget.state();
                widget.destroy();
                let threw = false;
                try { await mount(document.createElement('div'), {}); } catch (e) { threw = String(e); }
                return { summary, state, left: host.querySelectorAll('.du').length, threw };
            })().then(finish, (e) => finish({ error: String(e) }));
            "#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(result["summary"]["done"], 1, "{result}");
    assert_eq!(
        result["summary"]["failed"], 1,
        "maxFiles: 1 refuses the second file: {result}"
    );
    assert_eq!(result["state"]["files"][0]["state"], "done");
    assert!(
        result["state"]["files"][1]["error"]
            .as_str()
            .unwrap()
            .contains("at most 1 files"),
        "{result}"
    );
    assert_eq!(result["left"], 0, "destroy() removes the widget");
    assert!(
        result["threw"].as_str().unwrap().contains("backend"),
        "a missing backend is explained: {result}"
    );
    visit.end().await;
}

#[tokio::test]
async fn unknown_and_malformed_attributes_and_options_are_named_in_a_warning() {
    let visit = Visit::new().await;
    visit.open("/plain.html").await;
    let warnings = visit
        .client
        .execute_async(
            r#"
            const finish = arguments[arguments.length - 1];
            (async () => {
                const warnings = [];
                console.warn = (message) => warnings.push(String(message));
                const { mount, ready } = await import('/embed/direct-upload.js');
                await ready;
                const element = document.createElement('direct-upload');
                element.setAttribute('backend', '/api/direct-upload');
                element.setAttribute('max-filez', '3');
                element.setAttribute('max-files', 'three');
                element.setAttribute('headers', '{not json');
                element.setAttribute('data-section', 'kept quiet');
                document.body.append(element);
                await new Promise((resolve) => setTimeout(resolve, 200));
                const widget = await mount(document.createElement('div'), { backend: '/api/direct-upload', maxFilez: 2 });
                widget.destroy();
                element.remove();
                return warnings;
            })().then(finish, (e) => finish([String(e)]));
            "#,
            vec![],
        )
        .await
        .unwrap();
    let warnings: Vec<String> = serde_json::from_value(warnings).unwrap();
    for expected in [
        "unknown attribute \"max-filez\"",
        "max-files=\"three\" is not a whole number",
        "headers is not JSON",
        "unknown option \"maxFilez\"",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(expected)),
            "no warning containing {expected}: {warnings:?}"
        );
    }
    assert!(
        !warnings.iter().any(|w| w.contains("data-section")),
        "global attributes are not warned about: {warnings:?}"
    );
    visit.end().await;
}

#[tokio::test]
async fn a_file_dropped_before_the_widgets_code_arrives_is_uploaded_not_lost() {
    let visit = Visit::new().await;
    visit.open("/plain.html").await;
    let key = format!("e2e-early-{}", std::process::id());
    // The element draws its drop zone at once from HTML; the drop lands on that drop zone,
    // in the same task, before the widget's code can have mounted (mounting always waits).
    let result = visit
        .client
        .execute_async(
            &format!(
                r#"
            const finish = arguments[arguments.length - 1];
            (async () => {{
                const png = await (await fetch('data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==')).blob();
                const element = document.createElement('direct-upload');
                element.setAttribute('backend', '/_local/flaky-backend?key={key}&fail=0');
                element.style.display = 'block';
                element.style.marginTop = '4000px';
                document.body.append(element);
                const zone = element.querySelector('.du__dropzone');
                const drawn = zone !== null && element.querySelector('.du__choose').textContent;
                const transfer = new DataTransfer();
                transfer.items.add(new File([png], 'early.png', {{type: 'image/png'}}));
                zone.dispatchEvent(new DragEvent('drop', {{bubbles: true, cancelable: true, dataTransfer: transfer}}));
                const mountedAtDrop = element.handle != null;
                const summary = await new Promise((resolve) => element.addEventListener('upload-complete', (e) => resolve(e.detail), {{once: true}}));
                return {{drawn, mountedAtDrop, done: summary.done, files: summary.files}};
            }})().then(finish, (e) => finish(String(e)));
            "#
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(result["drawn"], json!("Choose images"), "{result}");
    assert_eq!(result["mountedAtDrop"], json!(false), "{result}");
    assert_eq!(
        (result["files"].clone(), result["done"].clone()),
        (json!(1), json!(1)),
        "{result}"
    );
    let list = visit.stored_for(&key).await;
    assert_eq!(
        list["result"]["images"].as_array().unwrap().len(),
        1,
        "stored once: {list}"
    );
    visit.end().await;
}

#[tokio::test]
async fn at_320_px_wide_in_light_and_dark_the_widget_fits_and_its_buttons_are_big_enough() {
    for (name, flags) in [
        ("narrow-light", &[][..]),
        (
            "narrow-dark",
            &["--blink-settings=preferredColorScheme=0"][..],
        ),
    ] {
        let visit = Visit::with_browser_flags(flags).await;
        visit.client.set_window_size(320, 900).await.unwrap();
        visit.open("/plain.html").await;
        visit.choose(&[fixture("landscape.jpg")]).await;
        visit.wait_for_states(&["done"]).await;
        let layout = visit
            .js(r#"
                const page = document.documentElement;
                const buttons = [...document.querySelectorAll('.du button')]
                    .filter((b) => b.offsetParent !== null)
                    .map((b) => b.getBoundingClientRect());
                const wide = [...document.querySelectorAll('body *')]
                    .filter((e) => e.getBoundingClientRect().right > page.clientWidth + 1)
                    .map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
                    .slice(0, 8);
                const smallOnes = [...document.querySelectorAll('.du button')]
                    .filter((b) => b.offsetParent !== null)
                    .filter((b) => { const r = b.getBoundingClientRect(); return r.width < 24 || r.height < 24; })
                    .map((b) => b.className + ' ' + Math.round(b.getBoundingClientRect().width) + 'x' + Math.round(b.getBoundingClientRect().height));
                return {
                    wide,
                    smallOnes,
                    width: page.clientWidth,
                    overflow: page.scrollWidth - page.clientWidth,
                    buttons: buttons.length,
                    small: buttons.filter((r) => r.width < 24 || r.height < 24).length,
                };
            "#)
            .await;
        assert!(layout["width"].as_u64().unwrap() <= 320, "{name}: {layout}");
        assert_eq!(
            layout["overflow"], 0,
            "{name}: no horizontal scroll: {layout}"
        );
        assert!(layout["buttons"].as_u64().unwrap() >= 2, "{name}: {layout}");
        assert_eq!(
            layout["small"], 0,
            "{name}: every button at least 24 × 24 px: {layout}"
        );
        visit.screenshot(name).await;
        visit.end().await;
    }
}

// Accessibility of the built widget as visitors meet it: axe-core in every state, in light,
// dark and forced colours and at 320 px; what forced colours must keep visible; 200 % zoom.

/// axe-core, the copy the wasm accessibility tests compile in (tests/a11y; scripts/lib.sh's
/// `ensure_axe` installs it).
fn axe_source() -> String {
    let path = repo().join("tests/a11y/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("axe-core is missing ({path:?}: {e}): run `npm ci` in tests/a11y (scripts/test.sh does)")
    })
}

/// The rules tests/accessibility.rs runs: WCAG 2.0 to 2.2, A and AA, and best practices.
/// `region` is off: the widget is a part of a page, which puts it in its own landmarks.
const AXE_OPTIONS: &str = r#"{"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}, "rules": {"region": {"enabled": false}}}"#;

/// Colour arithmetic for scripts run in the page: `rgb` parses a computed colour, `contrast`
/// is WCAG's contrast ratio of two opaque colours, and `backdrop` is the first opaque
/// background behind an element (the page's canvas if there is none).
const COLOUR_JS: &str = r#"
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const opaque = (c) => { const v = rgb(c); return v.length >= 3 && (v.length < 4 || v[3] > 0); };
    const luminance = (c) => {
        const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        const [r, g, b] = rgb(c);
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const contrast = (a, b) => {
        const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100;
    };
    const backdrop = (e) => {
        for (; e; e = e.parentElement) {
            const c = getComputedStyle(e).backgroundColor;
            if (opaque(c)) return c;
        }
        const probe = document.createElement('div');
        probe.style.backgroundColor = 'Canvas';
        document.body.append(probe);
        const canvas = getComputedStyle(probe).backgroundColor;
        probe.remove();
        return canvas;
    };
"#;

/// A copy of a fixture under a long name, as cameras and phones name photos: the name has to
/// ellipsize in its row while the size, status and buttons stay in view.
const LONG_NAME: &str = "holiday-2024-08-17-sunset-over-the-harbour-from-the-old-lighthouse.jpg";

impl Visit {
    /// Brings the page's widget to one row in each state a visitor meets, in this order:
    /// stored (variant links and copy buttons), refused before upload (no retry), failed at
    /// the backend (a retry button), waiting to retry, uploading and queued. All against the
    /// real local service: its test controls give a backend that fails, or one whose upload
    /// URL takes the file and never answers; the widget's attributes change live between
    /// the choices, as a page may change them.
    async fn every_state(&self) {
        let files = tempfile::tempdir().unwrap();
        let long = files.path().join(LONG_NAME);
        std::fs::copy(fixture("landscape.jpg"), &long).unwrap();
        let long = long.to_string_lossy().into_owned();
        let notes = files.path().join("notes.png");
        std::fs::write(&notes, "just text, not a picture").unwrap();
        let notes = notes.to_string_lossy().into_owned();
        let key = format!(
            "a11y-{}-{}",
            std::process::id(),
            KEYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let set = |attributes: String| async move {
            self.js(&format!(
                "const e = document.querySelector('direct-upload'); {attributes}"
            ))
            .await;
        };
        let attr = |name: &str, value: &str| format!("e.setAttribute('{name}', '{value}');");

        // The page allows 5 files; this list has 6.
        set(attr("max-files", "10")).await;
        self.choose(&[long.clone(), notes]).await;
        self.wait_for_states(&["done", "failed"]).await;

        // A backend answering 503, with no automatic retries: failed, with a retry button.
        set(attr("max-retries", "0")
            + &attr(
                "backend",
                &format!("/_local/flaky-backend?key={key}-failed&fail=99"),
            ))
        .await;
        self.choose(&[fixture("badge.png")]).await;
        self.wait_for_states(&["done", "failed", "failed"]).await;

        // The same, with retries ten minutes apart: waiting to retry, with its passing error.
        set(attr("max-retries", "5")
            + &attr("retry-delay-ms", "600000")
            + &attr("max-delay-ms", "600000")
            + &attr(
                "backend",
                &format!("/_local/flaky-backend?key={key}-waiting&fail=99"),
            ))
        .await;
        self.choose(&[fixture("badge.png")]).await;
        self.wait_for_states(&["done", "failed", "failed", "retrying"])
            .await;

        // One upload at a time to a URL that never answers (and no stall timeout): the first
        // file chosen stays uploading and the second queued, whichever check ends first
        // (files start in the order chosen).
        set(attr("concurrency", "1")
            + &attr("stall-timeout-ms", "0")
            + &attr(
                "backend",
                &format!("/_local/flaky-backend?key={key}-stalled&fail=99&mode=stall"),
            ))
        .await;
        self.choose(&[long, fixture("badge.png")]).await;
        let last_two =
            |states: &[String]| states.get(4..).map(<[String]>::to_vec).unwrap_or_default();
        for _ in 0..1200 {
            if last_two(&self.states().await) == ["uploading", "queued"] {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let states = self.states().await;
        assert_eq!(
            states[..4],
            ["done", "failed", "failed", "retrying"],
            "{states:?}"
        );
        assert_eq!(last_two(&states), ["uploading", "queued"], "{states:?}");
        // The stored file's preview is drawn from the visitor's file: wait for it, so that
        // what axe and the screenshots see is what a visitor sees.
        self.js("return Promise.all([...document.querySelectorAll('.du__preview-img')].map((i) => i.decode().catch(() => null)))")
            .await;
    }

    /// axe-core's violations inside the page's widgets, one line per element: rule, impact,
    /// the element and what is wrong with it.
    async fn axe(&self) -> Vec<String> {
        self.js(&format!(
            "if (!window.axe) {{ {} }} return true;",
            axe_source()
        ))
        .await;
        let found = self
            .client
            .execute_async(
                &format!(
                    r#"
                const finish = arguments[arguments.length - 1];
                axe.run({{include: [['.du']]}}, {AXE_OPTIONS}).then(
                    (r) => finish(r.violations.flatMap((v) => v.nodes.map((n) =>
                        `${{v.id}} (${{v.impact}}) at ${{n.target.join(' ')}}: ${{v.help}}. ${{n.failureSummary.replace(/\s+/g, ' ')}}`))),
                    (e) => finish(['axe did not run: ' + e]));
            "#
                ),
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }

    /// A screenshot of one element (it is scrolled into view), kept in docs/screenshots.
    async fn screenshot_of(&self, css: &str, name: &str) {
        let png = self.find(css).await.screenshot().await.unwrap();
        std::fs::write(repo().join(format!("docs/screenshots/{name}.png")), png).unwrap();
    }
}

/// The flaky test backend counts calls per key across every service this test process
/// starts, so each visit takes new keys.
static KEYS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Flags for a dark colour scheme (as the theme test asks for it), and for forced colours:
/// `--force-high-contrast` puts Chromium in forced-colours mode on every platform, not only
/// the media query (`forced-colors: active`) but the forced system colours themselves, as on
/// Windows with a contrast theme; with `--force-dark-mode` its palette is the dark one.
/// (This Chromium ignores `--force-prefers-forced-colors`; CDP's `Emulation.setEmulatedMedia`
/// would go through chromedriver's vendor endpoint, where a flag needs nothing more.)
const DARK: &[&str] = &["--blink-settings=preferredColorScheme=0"];
const FORCED_LIGHT: &[&str] = &["--force-high-contrast"];
const FORCED_DARK: &[&str] = &["--force-high-contrast", "--force-dark-mode"];

#[tokio::test]
async fn in_every_state_axe_finds_nothing_in_light_dark_and_forced_colours_and_at_320_px() {
    let mut report = Vec::new();
    for (mode, flags, width) in [
        ("light", &[][..], None),
        ("dark", DARK, None),
        ("forced colours, light", FORCED_LIGHT, None),
        ("forced colours, dark", FORCED_DARK, None),
        ("320 px, light", &[][..], Some(320)),
        ("320 px, dark", DARK, Some(320)),
    ] {
        let visit = Visit::with_browser_flags(flags).await;
        if let Some(width) = width {
            visit.client.set_window_size(width, 1000).await.unwrap();
        }
        visit.open("/plain.html").await;
        // The browser is in the mode this pass checks: a flag it ignored would pass unseen.
        let media = visit
            .js("return [matchMedia('(prefers-color-scheme: dark)').matches, matchMedia('(forced-colors: active)').matches, document.documentElement.clientWidth]")
            .await;
        assert_eq!(
            (media[0].as_bool().unwrap(), media[1].as_bool().unwrap()),
            (
                flags.contains(&"--force-dark-mode") || flags == DARK,
                flags.contains(&"--force-high-contrast")
            ),
            "{mode}: the browser's colour scheme and forced colours: {media}"
        );
        if let Some(width) = width {
            assert!(
                media[2].as_u64().unwrap() <= width as u64,
                "{mode}: {media}"
            );
        }
        visit.every_state().await;
        let found = visit.axe().await;
        for line in &found {
            eprintln!("axe, {mode}: {line}");
        }
        report.extend(found.into_iter().map(|line| format!("{mode}: {line}")));
        if flags == FORCED_LIGHT {
            visit.screenshot("forced-colors-light").await;
        } else if flags == FORCED_DARK {
            visit.screenshot("forced-colors-dark").await;
        }
        visit.end().await;
    }
    assert!(
        report.is_empty(),
        "axe-core found {} violation(s):\n{}",
        report.len(),
        report.join("\n")
    );
}

/// WCAG's contrast ratio of two colours.
fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let luminance = |c: [u8; 3]| {
        let f = |v: u8| {
            let v = v as f64 / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2])
    };
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

#[tokio::test]
async fn in_forced_colours_focus_rings_progress_bars_borders_and_the_drop_highlight_stay_visible() {
    for (mode, flags) in [("light", FORCED_LIGHT), ("dark", FORCED_DARK)] {
        let visit = Visit::with_browser_flags(flags).await;
        visit.open("/plain.html").await;
        visit.every_state().await;
        let seen = visit
            .js(&format!(
                r#"{COLOUR_JS}
                return (async () => {{
                const forced = matchMedia('(forced-colors: active)').matches;
                // The focus ring of each kind of control. Focus from a script shows as keyboard
                // focus while no pointer has been used; `shown` checks that it does.
                const focus = ['.du__choose', '.du__clear', '.du__variant-link', '.du__copy', '.du__retry', '.du__cancel'].map((css) => {{
                    const e = document.querySelector(css);
                    e.focus();
                    const s = getComputedStyle(e);
                    const ring = {{css, shown: e.matches(':focus-visible'), style: s.outlineStyle, width: parseFloat(s.outlineWidth),
                        contrast: contrast(s.outlineColor, backdrop(e.parentElement))}};
                    e.blur();
                    return ring;
                }});
                // The edges a person finds things by: the drop zone, the list, between rows,
                // around each button.
                const edge = (css, e = document.querySelector(css)) => {{
                    const s = getComputedStyle(e);
                    return {{css, style: s.borderTopStyle, width: parseFloat(s.borderTopWidth), contrast: contrast(s.borderTopColor, backdrop(e.parentElement))}};
                }};
                const borders = ['.du__dropzone', '.du__choose', '.du__clear', '.du__files', '.du__file + .du__file', '.du__copy', '.du__retry', '.du__cancel'].map((css) => edge(css));
                // Files dragged over the drop zone: its edge changes (read once the widget has
                // restyled it and the change's transition has ended).
                const zone = document.querySelector('.du__dropzone');
                const look = () => getComputedStyle(zone).borderTopColor + ' ' + getComputedStyle(zone).borderTopStyle;
                const idle = look();
                zone.dispatchEvent(new DragEvent('dragenter', {{bubbles: true, dataTransfer: new DataTransfer()}}));
                await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
                await Promise.all(zone.getAnimations().map((a) => a.finished));
                const active = {{...edge('.du__dropzone'), look: look(), idle, class: zone.className}};
                zone.dispatchEvent(new DragEvent('dragleave', {{bubbles: true, dataTransfer: new DataTransfer()}}));
                // What is behind each progress bar, for the pixels read below.
                const bars = ['.du__total', '.du__file[data-state="uploading"] .du__progress', '.du__file[data-state="queued"] .du__progress']
                    .map((css) => ({{css, behind: rgb(backdrop(document.querySelector(css).parentElement)).slice(0, 3)}}));
                return {{forced, focus, borders, active, bars}};
                }})();
            "#
            ))
            .await;
        assert_eq!(
            seen["forced"], true,
            "{mode}: forced colours are on: {seen}"
        );
        for ring in seen["focus"].as_array().unwrap() {
            assert!(
                ring["shown"] == true
                    && ring["style"] != "none"
                    && ring["width"].as_f64().unwrap() >= 2.0
                    && ring["contrast"].as_f64().unwrap() >= 3.0,
                "{mode}: a focus ring of at least 2 px, 3:1 against what is around it: {ring}"
            );
        }
        for border in seen["borders"].as_array().unwrap() {
            assert!(
                border["style"] != "none"
                    && border["width"].as_f64().unwrap() >= 1.0
                    && border["contrast"].as_f64().unwrap() >= 3.0,
                "{mode}: a visible edge, 3:1 against what is around it: {border}"
            );
        }
        let active = &seen["active"];
        assert!(
            active["look"] != active["idle"] && active["contrast"].as_f64().unwrap() >= 3.0,
            "{mode}: the drop zone shows that files are over it: {active}"
        );

        // The progress bars as drawn: along its whole length, each bar stands out 3:1 from
        // what is behind it (by its fill or its track), and a bar partly done shows where:
        // its done part and its empty part differ 3:1.
        for bar in seen["bars"].as_array().unwrap() {
            let css = bar["css"].as_str().unwrap();
            let behind: [u8; 3] = serde_json::from_value(bar["behind"].clone()).unwrap();
            let done = format!("const b = document.querySelector('{css}'); return b.value / b.max");
            // The fraction as it was when the screenshot was taken: read before and after (an
            // upload's progress may move once in between).
            let mut taken = None;
            for _ in 0..10 {
                let before = visit.js(&done).await;
                let png = visit.find(css).await.screenshot().await.unwrap();
                if visit.js(&done).await == before {
                    taken = Some((png, before.as_f64().unwrap()));
                    break;
                }
            }
            let (png, fraction) = taken.unwrap_or_else(|| panic!("{mode}: {css} never held still"));
            let pixels = image::load_from_memory(&png).unwrap().to_rgb8();
            let (width, height) = pixels.dimensions();
            let pixels = &pixels;
            let column = |x: u32| (0..height).map(move |y| pixels.get_pixel(x, y).0);
            let shown = (0..width)
                .filter(|&x| column(x).any(|p| contrast(p, behind) >= 3.0))
                .count();
            assert!(
                shown as f64 >= 0.95 * width as f64,
                "{mode}: the progress bar {css} shows along its length: {shown} of its {width} columns of pixels stand out 3:1 from {behind:?}"
            );
            if fraction > 0.05 && fraction < 0.95 {
                let filled = (width as f64 * fraction / 2.0) as u32;
                let empty = (width as f64 * (1.0 + fraction) / 2.0) as u32;
                let apart = column(filled)
                    .zip(column(empty))
                    .map(|(a, b)| contrast(a, b))
                    .fold(0.0, f64::max);
                assert!(
                    apart >= 3.0,
                    "{mode}: the progress bar {css}, {:.0} % done, shows how much: its done and empty parts differ {apart:.2}:1",
                    fraction * 100.0
                );
            } else {
                assert!(
                    css != ".du__total",
                    "{mode}: the total bar is partly done ({fraction}), so the check above ran"
                );
            }
        }
        visit.end().await;
    }
}

/// 200 % zoom in a window 1280 px wide lays a page out 640 CSS px wide with two device pixels
/// to the CSS pixel. A browser started with `--force-device-scale-factor=2` in a window 640
/// CSS px wide (window sizes are in CSS px) is exactly that layout: the same viewport width
/// for media and container queries and rem, and a screenshot 1280 pixels wide. (CSS `zoom`
/// on the page would not be: it keeps the viewport 1280 px wide.)
#[tokio::test]
async fn at_200_percent_zoom_the_widget_fits_its_buttons_are_big_enough_and_no_text_is_cut() {
    for lang in ["en", "de"] {
        let visit = Visit::with_browser_flags(&["--force-device-scale-factor=2"]).await;
        visit.client.set_window_size(640, 1400).await.unwrap();
        visit.open("/plain.html").await;
        visit
            .js(&format!(
                "document.querySelector('direct-upload').setAttribute('lang', '{lang}')"
            ))
            .await;
        let screen = visit
            .js("return [document.documentElement.clientWidth, devicePixelRatio]")
            .await;
        assert!(
            (625..=640).contains(&screen[0].as_u64().unwrap()) && screen[1] == 2,
            "{lang}: a page 640 CSS px wide (less a scroll bar) at 2 device pixels each: {screen}"
        );
        visit.every_state().await;
        let layout = visit
            .js(r#"
                const page = document.documentElement;
                const widget = document.querySelector('.du');
                const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
                const describe = (e) => `${e.tagName.toLowerCase()}.${e.getAttribute('class') || ''} "${(e.textContent || '').trim().slice(0, 40)}"`;
                const parts = [...widget.querySelectorAll('*')]
                    .filter((e) => shown(e) && !e.closest('.du__announcer, .du__input'));
                const box = (e) => e.getBoundingClientRect();
                const within = (inner, outer) => inner.width > 0 && inner.height > 0
                    && inner.left >= outer.left - 0.5 && inner.right <= outer.right + 0.5
                    && inner.top >= outer.top - 0.5 && inner.bottom <= outer.bottom + 0.5;
                return {
                    overflow: page.scrollWidth - page.clientWidth,
                    outside: parts.filter((e) => box(e).left < -0.5 || box(e).right > page.clientWidth + 0.5).map(describe),
                    scrolling: [widget, ...parts]
                        .filter((e) => e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
                        .map(describe),
                    small: [...widget.querySelectorAll('button')].filter(shown)
                        .filter((b) => box(b).width < 24 || box(b).height < 24)
                        .map((b) => `${describe(b)} ${Math.round(box(b).width)}x${Math.round(box(b).height)}`),
                    // Text a box cuts off (names may shorten with an ellipsis; they are checked below).
                    cut: parts
                        .filter((e) => !(e instanceof SVGElement) && !e.matches('.du__name'))
                        .filter((e) => getComputedStyle(e).overflowX !== 'visible' || getComputedStyle(e).overflowY !== 'visible')
                        .filter((e) => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
                        .map((e) => `${describe(e)} ${e.scrollWidth}x${e.scrollHeight} in ${e.clientWidth}x${e.clientHeight}`),
                    rows: [...widget.querySelectorAll('.du__file')].map((row) => {
                        const name = row.querySelector('.du__name');
                        const status = row.querySelector('.du__file-status');
                        const buttons = [...row.querySelectorAll('.du__actions button')].filter(shown);
                        return {
                            state: row.dataset.state,
                            name: name.textContent,
                            title: name.title,
                            shortened: name.scrollWidth > name.clientWidth,
                            ellipsis: getComputedStyle(name).textOverflow,
                            status: status.textContent,
                            statusShown: within(box(status), box(row)) && status.scrollWidth <= status.clientWidth + 1,
                            buttons: buttons.length,
                            buttonsShown: buttons.every((b) => within(box(b), box(row)) && box(b).right <= page.clientWidth),
                        };
                    }),
                };
            "#)
            .await;
        assert_eq!(
            layout["overflow"], 0,
            "{lang}: the page does not scroll sideways: {layout}"
        );
        assert_eq!(
            layout["outside"],
            json!([]),
            "{lang}: nothing of the widget is outside the page: {layout}"
        );
        assert_eq!(
            layout["scrolling"],
            json!([]),
            "{lang}: nothing in the widget scrolls sideways: {layout}"
        );
        assert_eq!(
            layout["small"],
            json!([]),
            "{lang}: every button at least 24 × 24 CSS px: {layout}"
        );
        assert_eq!(
            layout["cut"],
            json!([]),
            "{lang}: no text is cut off: {layout}"
        );
        let rows = layout["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 6, "{lang}: {layout}");
        for row in rows {
            assert!(
                row["status"].as_str().unwrap().trim() != "" && row["statusShown"] == true,
                "{lang}: each row's status is shown whole: {row}"
            );
            assert!(
                row["buttons"].as_u64().unwrap() >= 1 && row["buttonsShown"] == true,
                "{lang}: each row's buttons are inside it and on the page: {row}"
            );
            if row["shortened"] == true {
                assert!(
                    row["ellipsis"] == "ellipsis" && row["title"] == row["name"],
                    "{lang}: a long name ends in an ellipsis and is whole in its tooltip: {row}"
                );
            }
        }
        assert!(
            rows.iter()
                .any(|row| row["name"] == LONG_NAME && row["shortened"] == true),
            "{lang}: the long name is shortened, so the check above ran: {layout}"
        );
        visit
            .screenshot_of("direct-upload", &format!("zoom-200-{lang}"))
            .await;
        visit.end().await;
    }
}
