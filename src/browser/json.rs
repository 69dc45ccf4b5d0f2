//! JSON through the browser's own `JSON` and `Reflect`, not serde_json: the wire rules in
//! [`crate::core::wire`] read answers through [`JsJson`], and events and `state()` build
//! their plain objects with [`object`]. Measured: serde_json costs about 20 KB gzip in the
//! bundle, this about 1 KB.

use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::wire::{whole_number, JsonRead};

/// A value `JSON.parse` made.
#[derive(Debug, Clone)]
pub struct JsJson(pub JsValue);

impl JsonRead for JsJson {
    fn parse(text: &str) -> Option<Self> {
        JSON::parse(text).ok().map(JsJson)
    }

    fn field(&self, name: &str) -> Option<Self> {
        if !self.0.is_object() {
            return None;
        }
        let value = Reflect::get(&self.0, &JsValue::from_str(name)).ok()?;
        (!value.is_undefined() && !value.is_null()).then_some(JsJson(value))
    }

    fn items(&self) -> Vec<Self> {
        match self.0.dyn_ref::<Array>() {
            Some(array) => array.iter().map(JsJson).collect(),
            None => Vec::new(),
        }
    }

    fn members(&self) -> Vec<(String, Self)> {
        if !self.is_object() {
            return Vec::new();
        }
        Object::entries(self.0.unchecked_ref())
            .iter()
            .filter_map(|entry| {
                let pair: Array = entry.dyn_into().ok()?;
                Some((pair.get(0).as_string()?, JsJson(pair.get(1))))
            })
            .collect()
    }

    fn text(&self) -> Option<String> {
        self.0.as_string()
    }

    fn whole(&self) -> Option<u64> {
        whole_number(self.0.as_f64()?)
    }

    fn flag(&self) -> Option<bool> {
        self.0.as_bool()
    }

    fn is_object(&self) -> bool {
        self.0.is_object() && !Array::is_array(&self.0)
    }
}

/// A plain object with these members, for event details and `state()`.
pub fn object(members: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (name, value) in members {
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object.into()
}

/// A JavaScript array of strings.
pub fn strings<'a>(items: impl IntoIterator<Item = &'a String>) -> JsValue {
    items
        .into_iter()
        .map(|item| JsValue::from_str(item))
        .collect::<Array>()
        .into()
}

/// A whole number as a JavaScript number (exact below 2^53).
pub fn number(value: u64) -> JsValue {
    JsValue::from_f64(value as f64)
}

/// Text, or `null`.
pub fn text_or_null(value: Option<&str>) -> JsValue {
    value.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}
