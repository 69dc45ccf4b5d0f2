//! The widget's files kept across a reload (the `persist` option), in IndexedDB through
//! `js/persist.js`: File objects are stored as they are, never copied into wasm. Every call
//! is fire-and-forget except reading what was kept; storage that fails leaves the widget
//! working as without `persist` (the JS side warns once on the console).

use std::sync::atomic::{AtomicU32, Ordering};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::File;

use crate::api::{parse_image_record, ImageRecord};
use crate::i18n::format::push_number;

#[wasm_bindgen(module = "/js/persist.js")]
extern "C" {
    #[wasm_bindgen(js_name = keptFiles)]
    fn kept_files(scope: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = keepFile)]
    fn keep_file(scope: &str, key: u32, file: &File, tried: JsValue, image: JsValue, resumed: bool);
    #[wasm_bindgen(js_name = keepField)]
    fn keep_field(scope: &str, key: u32, field: &str, value: &JsValue);
    #[wasm_bindgen(js_name = forgetFile)]
    fn forget_file(scope: &str, key: u32);
    #[wasm_bindgen(js_name = forgetAll)]
    fn forget_all(scope: &str);
}

/// A file found in storage after a reload.
#[derive(Debug, Clone)]
pub struct KeptFile {
    /// The file itself.
    pub file: File,
    /// The image id of the last try that may have stored it.
    pub tried: Option<String>,
    /// Its stored image, if it was stored before the reload.
    pub image: Option<ImageRecord>,
}

/// One widget's kept files. `scope` tells widgets apart across a reload: the page's path,
/// the backend, and the widget's place among the page's widgets with that backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keeper {
    scope: String,
}

impl Keeper {
    /// The keeper of the next widget mounted on this page: widgets are told apart by their
    /// order of mounting, which a reload of the same page repeats.
    pub fn next(backend: &str) -> Self {
        // A plain static, not a `thread_local!`: the page has one thread, and each thread
        // local links its own access and initialisation code.
        static MOUNTED: AtomicU32 = AtomicU32::new(0);
        let nth = MOUNTED.fetch_add(1, Ordering::Relaxed);
        let path = web_sys::window()
            .and_then(|w| w.location().pathname().ok())
            .unwrap_or_default();
        let mut scope = path + " " + backend + " ";
        push_number(&mut scope, u64::from(nth));
        // Read now, before this page keeps anything (the JS side orders every write after it).
        let _ = kept_files(&scope);
        Self { scope }
    }

    /// What was kept before this page loaded (read and forgotten in one step: the widget
    /// keeps the files again under their new keys as it lists them).
    pub async fn take(&self) -> Vec<KeptFile> {
        let records = wasm_bindgen_futures::JsFuture::from(kept_files(&self.scope))
            .await
            .unwrap_or(JsValue::UNDEFINED);
        let field = |record: &JsValue, name: &str| {
            js_sys::Reflect::get(record, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
        };
        js_sys::Array::from(&records)
            .iter()
            .filter_map(|record| {
                let file = field(&record, "file").dyn_into::<File>().ok()?;
                let image = field(&record, "image")
                    .as_string()
                    .and_then(|text| parse_image_record(&text).ok());
                Some(KeptFile {
                    file,
                    tried: field(&record, "tried").as_string(),
                    image,
                })
            })
            .collect()
    }

    /// Keeps a file listed under `key`. A new file is written to storage once it has been in
    /// the batch for a few seconds (see `js/persist.js`: writing copies the file); a file
    /// `resumed` after a reload is written again at once.
    pub fn keep(
        &self,
        key: u32,
        file: &File,
        tried: Option<&str>,
        image: Option<&str>,
        resumed: bool,
    ) {
        let text = |value: Option<&str>| value.map_or(JsValue::NULL, JsValue::from_str);
        keep_file(&self.scope, key, file, text(tried), text(image), resumed);
    }

    /// Replaces the kept file (it was re-encoded to fit the limits).
    pub fn replace_file(&self, key: u32, file: &File) {
        keep_field(&self.scope, key, "file", file);
    }

    /// Notes the image id of a try that is being sent.
    pub fn tried(&self, key: u32, id: &str) {
        keep_field(&self.scope, key, "tried", &JsValue::from_str(id));
    }

    /// Notes the stored image (its record as JSON text).
    pub fn stored(&self, key: u32, image_json: &str) {
        keep_field(&self.scope, key, "image", &JsValue::from_str(image_json));
    }

    /// Forgets one file (removed, cancelled or refused).
    pub fn forget(&self, key: u32) {
        forget_file(&self.scope, key);
    }

    /// Forgets every file (the batch is complete).
    pub fn forget_all(&self) {
        forget_all(&self.scope);
    }
}
