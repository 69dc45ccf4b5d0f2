//! The one list of the widget's options for pages without Rust: each option's JavaScript
//! name, its `<direct-upload>` attribute, its kind, default and meaning. The element's
//! attribute lists in `js/direct-upload.js`, [`EmbedOptions`](crate::embed::EmbedOptions),
//! the props of `<DirectUpload/>` (each option names the prop that carries it) and both of the
//! README's tables are pinned to it by tests, so adding an option is one entry here (plus its
//! field), and a copy that drifts fails the build's tests.

/// How an option's value is written in an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text, as written.
    Text,
    /// A whole number.
    Number,
    /// JSON (an object).
    Json,
    /// Comma-separated values (a list in the JavaScript API).
    List,
    /// Present means on (`downscale="false"` means off).
    Flag,
}

impl Kind {
    /// The kind as the README names it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Number => "number",
            Kind::Json => "JSON",
            Kind::List => "comma-separated (array in JS)",
            Kind::Flag => "flag",
        }
    }
}

/// One option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// Name in the JavaScript API (`mount(el, {maxFiles: 5})`).
    pub name: &'static str,
    /// Attribute of `<direct-upload>` (`max-files="5"`).
    pub attribute: &'static str,
    /// How the value is written.
    pub kind: Kind,
    /// The default, as the README shows it.
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
    /// Where `<DirectUpload/>` takes it: a prop, or a field of the `restrictions` or `retry`
    /// prop (`restrictions.max_files`). A test checks the component and the README have it.
    pub prop: &'static str,
}

const fn option(
    name: &'static str,
    attribute: &'static str,
    kind: Kind,
    default: &'static str,
    doc: &'static str,
    prop: &'static str,
) -> OptionSpec {
    OptionSpec {
        name,
        attribute,
        kind,
        default,
        doc,
        prop,
    }
}

/// Every option of the JavaScript API and the element, in the README's order.
///
/// ```
/// use direct_upload::options::OPTIONS;
///
/// let max_files = OPTIONS.iter().find(|o| o.name == "maxFiles").unwrap();
/// assert_eq!(max_files.attribute, "max-files");
/// ```
pub const OPTIONS: &[OptionSpec] = &[
    option(
        "backend",
        "backend",
        Kind::Text,
        "required",
        "URL that answers `{id, uploadURL}`",
        "backend",
    ),
    option(
        "headers",
        "headers",
        Kind::Json,
        "none",
        "extra headers on backend requests (e.g. a CSRF token)",
        "headers",
    ),
    option(
        "credentials",
        "credentials",
        Kind::Text,
        "`same-origin`",
        "fetch credentials of backend requests: `omit`, `same-origin` or `include`",
        "credentials",
    ),
    option(
        "body",
        "body",
        Kind::Json,
        "`{}`",
        "JSON body of the backend request, e.g. `{\"metadata\": {\"album\": \"x\"}}`",
        "body",
    ),
    option(
        "verify",
        "verify",
        Kind::Text,
        "none",
        "after each upload, `GET {verify}/{id}` must show the image is no longer a draft; a retry after a lost answer asks it first, so no image is stored twice",
        "verify",
    ),
    option(
        "concurrency",
        "concurrency",
        Kind::Number,
        "`3`",
        "files uploading at once",
        "concurrency",
    ),
    option(
        "lang",
        "lang",
        Kind::Text,
        "`en`",
        "language of every word: `en` or `de`",
        "lang",
    ),
    option(
        "downscale",
        "downscale",
        Kind::Flag,
        "off",
        "re-encode images over the limits to fit instead of refusing them",
        "downscale",
    ),
    option(
        "paste",
        "paste",
        Kind::Text,
        "`page`",
        "where pasted files are taken from: `page` (anywhere outside text fields; with several widgets, the one used last), `widget` (focus inside it) or `off`",
        "paste",
    ),
    option(
        "persist",
        "persist",
        Kind::Text,
        "`resume`",
        "files not yet stored are kept across a reload (IndexedDB) and resumed: `resume` or `off`; with `verify`, a file being sent is asked about first, so none is stored twice",
        "persist",
    ),
    option(
        "capture",
        "capture",
        Kind::Text,
        "none",
        "on phones, offer the camera instead of the file picker: `environment` (rear) or `user` (front)",
        "capture",
    ),
    option(
        "accept",
        "accept",
        Kind::List,
        "PNG, JPEG, GIF, WebP, SVG",
        "accepted MIME types, found from the bytes",
        "restrictions.accept",
    ),
    option(
        "maxFiles",
        "max-files",
        Kind::Number,
        "none",
        "most files in the list",
        "restrictions.max_files",
    ),
    option(
        "minSize",
        "min-size",
        Kind::Number,
        "`1`",
        "smallest file, in bytes",
        "restrictions.min_bytes",
    ),
    option(
        "maxSize",
        "max-size",
        Kind::Number,
        "`10485760`",
        "largest file, in bytes (never above Cloudflare's 10 MB)",
        "restrictions.max_bytes",
    ),
    option(
        "maxSide",
        "max-side",
        Kind::Number,
        "`12000`",
        "longest side in pixels (never above Cloudflare's 12,000)",
        "restrictions.max_side",
    ),
    option(
        "maxPixels",
        "max-pixels",
        Kind::Number,
        "`100000000`",
        "most pixels (never above Cloudflare's 100 megapixels)",
        "restrictions.max_pixels",
    ),
    option(
        "maxRetries",
        "max-retries",
        Kind::Number,
        "`3`",
        "automatic retries of a passing failure, each with a fresh URL",
        "retry.max_retries",
    ),
    option(
        "retryDelayMs",
        "retry-delay-ms",
        Kind::Number,
        "`1000`",
        "wait before the first retry; each further retry doubles it",
        "retry.base_delay_ms",
    ),
    option(
        "maxDelayMs",
        "max-delay-ms",
        Kind::Number,
        "`30000`",
        "longest wait between retries",
        "retry.max_delay_ms",
    ),
    option(
        "stallTimeoutMs",
        "stall-timeout-ms",
        Kind::Number,
        "`30000`",
        "an upload with no progress for this long (a file up to 256 KiB: not done within it) is aborted and retried (`0`: never)",
        "retry.stall_timeout_ms",
    ),
];

/// The README's table of options, made from [`OPTIONS`] (a test checks the README holds it).
pub fn readme_table() -> String {
    let mut table = String::from(
        "| attribute | JS option | kind | default | what it does |\n| --- | --- | --- | --- | --- |\n",
    );
    for o in OPTIONS {
        table.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} |\n",
            o.attribute,
            o.name,
            o.kind.name(),
            o.default,
            o.doc
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in a JavaScript `const NAME = ["a", "b"];` line of the element's script.
    fn js_list(script: &str, constant: &str) -> Vec<String> {
        let start = format!("const {constant} = [");
        let line = script
            .lines()
            .find(|l| l.starts_with(&start))
            .unwrap_or_else(|| panic!("js/direct-upload.js has no {constant} list"));
        line[start.len()..line.find(']').unwrap()]
            .split(',')
            .map(|n| n.trim().trim_matches('"').to_string())
            .filter(|n| !n.is_empty())
            .collect()
    }

    fn attributes_of(kind: Kind) -> Vec<String> {
        OPTIONS
            .iter()
            .filter(|o| o.kind == kind)
            .map(|o| o.attribute.to_string())
            .collect()
    }

    #[test]
    fn the_elements_attribute_lists_are_the_option_list() {
        let script = include_str!("../js/direct-upload.js");
        for (constant, kind) in [
            ("TEXTS", Kind::Text),
            ("NUMBERS", Kind::Number),
            ("JSONS", Kind::Json),
            ("LISTS", Kind::List),
            ("FLAGS", Kind::Flag),
        ] {
            assert_eq!(
                js_list(script, constant),
                attributes_of(kind),
                "js/direct-upload.js {constant} must list the {kind:?} options of src/options.rs"
            );
        }
    }

    #[test]
    fn the_javascript_names_are_the_attributes_in_camel_case() {
        for o in OPTIONS {
            let mut camel = String::new();
            let mut upper = false;
            for c in o.attribute.chars() {
                match c {
                    '-' => upper = true,
                    c if upper => {
                        camel.push(c.to_ascii_uppercase());
                        upper = false;
                    }
                    c => camel.push(c),
                }
            }
            assert_eq!(
                camel, o.name,
                "the element turns {} into {camel}",
                o.attribute
            );
        }
    }

    /// A document that answers nothing and notes every name it is asked for.
    #[derive(Default)]
    struct Asked(std::cell::RefCell<Vec<String>>);

    impl crate::core::wire::JsonRead for &Asked {
        fn parse(_: &str) -> Option<Self> {
            None
        }
        fn field(&self, name: &str) -> Option<Self> {
            self.0.borrow_mut().push(name.to_string());
            None
        }
        fn items(&self) -> Vec<Self> {
            Vec::new()
        }
        fn members(&self) -> Vec<(String, Self)> {
            Vec::new()
        }
        fn text(&self) -> Option<String> {
            None
        }
        fn whole(&self) -> Option<u64> {
            None
        }
        fn flag(&self) -> Option<bool> {
            None
        }
        fn is_object(&self) -> bool {
            true
        }
    }

    #[test]
    fn embed_options_read_exactly_these_names() {
        let asked = Asked::default();
        crate::embed::EmbedOptions::read(&&asked);
        let mut read = asked.0.take();
        read.sort();
        let mut listed: Vec<String> = OPTIONS.iter().map(|o| o.name.to_string()).collect();
        listed.sort();
        assert_eq!(
            read, listed,
            "EmbedOptions::read must read every option of OPTIONS, and no other"
        );
    }

    #[test]
    fn every_option_is_read_from_a_value_of_its_kind() {
        // An object setting every listed option to a value of its kind changes every field.
        let mut all = serde_json::Map::new();
        for o in OPTIONS {
            let sample = match o.kind {
                Kind::Text => serde_json::json!("x"),
                Kind::Number => serde_json::json!(7),
                Kind::Json if o.name == "body" => serde_json::json!("{}"),
                Kind::Json => serde_json::json!({"X-A": "b"}),
                Kind::List => serde_json::json!(["image/png"]),
                Kind::Flag => serde_json::json!(true),
            };
            all.insert(o.name.to_string(), sample);
        }
        let read = crate::embed::EmbedOptions::read(&serde_json::Value::Object(all));
        let unset = crate::embed::EmbedOptions::default();
        // Debug prints each field on its own line: compare them one by one.
        let (read, unset) = (format!("{read:#?}"), format!("{unset:#?}"));
        for (got, default) in read
            .lines()
            .zip(unset.lines())
            .filter(|(l, _)| l.contains(':'))
        {
            assert_ne!(
                got, default,
                "an option of the list did not reach its field"
            );
        }
    }

    #[test]
    fn the_leptos_component_and_its_readme_table_take_every_option() {
        let source = include_str!("components/widget.rs");
        // Only the component's parameter list: the settings it builds name the fields too.
        let start = source
            .find("pub fn DirectUpload(")
            .expect("widget.rs has DirectUpload");
        let end = start + source[start..].find(") -> impl IntoView").unwrap();
        let component = &source[start..end];
        let readme = include_str!("../README.md");
        let fields = [
            ("restrictions", include_str!("core/validate.rs")),
            ("retry", include_str!("core/state.rs")),
        ];
        for o in OPTIONS {
            let prop = o.prop.split('.').next().unwrap();
            assert!(
                component.contains(&format!("    {prop}: ")),
                "<DirectUpload/> has no prop `{prop}` for the option {}",
                o.name
            );
            assert!(
                readme.contains(&format!("| `{prop}` |")),
                "the README's Leptos table has no row for `{prop}` ({})",
                o.name
            );
            if let Some((_, field)) = o.prop.split_once('.') {
                let source = fields.iter().find(|(p, _)| *p == prop).unwrap().1;
                assert!(
                    source.contains(&format!("pub {field}: ")),
                    "`{prop}` has no field `{field}` for the option {}",
                    o.name
                );
            }
        }
    }

    /// The property lines (`name?: type;`) of `export interface NAME { … }` in the types.
    fn ts_interface<'a>(types: &'a str, name: &str) -> Vec<&'a str> {
        let start = format!("export interface {name} {{\n");
        let body = &types[types
            .find(&start)
            .unwrap_or_else(|| panic!("js/direct-upload.d.ts has no interface {name}"))
            + start.len()..];
        body[..body.find("\n}").unwrap()]
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("/**") && !l.starts_with('*'))
            .collect()
    }

    /// The values `paste` takes (see `PasteScope::from_name`).
    const PASTE: &str = r#""page" | "widget" | "off""#;

    /// The values `persist` takes.
    const PERSIST: &str = r#""resume" | "off""#;

    /// The values `capture` takes (the HTML `capture` attribute's).
    const CAPTURE: &str = r#""user" | "environment""#;

    /// The TypeScript types of an option's value, in the JavaScript API and as an attribute.
    fn ts_types(o: &OptionSpec) -> (&'static str, &'static str) {
        match o.kind {
            Kind::Text if o.name == "credentials" => ("RequestCredentials", "RequestCredentials"),
            Kind::Text if o.name == "paste" => (PASTE, PASTE),
            Kind::Text if o.name == "capture" => (CAPTURE, CAPTURE),
            Kind::Text if o.name == "persist" => (PERSIST, PERSIST),
            Kind::Text => ("string", "string"),
            Kind::Number => ("number", "NumberAttribute"),
            Kind::Json if o.name == "body" => ("Record<string, unknown>", "string"),
            Kind::Json => ("Record<string, string>", "string"),
            Kind::List => ("string[]", "string"),
            Kind::Flag => ("boolean", r#"boolean | "" | "true" | "false""#),
        }
    }

    #[test]
    fn the_types_list_every_option_with_the_type_of_its_kind() {
        let types = include_str!("../js/direct-upload.d.ts");
        let options = ts_interface(types, "DirectUploadOptions");
        let attributes = ts_interface(types, "DirectUploadAttributes");
        let mut expected_options = Vec::new();
        let mut expected_attributes = Vec::new();
        for o in OPTIONS {
            let optional = if o.default == "required" { "" } else { "?" };
            let (value, attribute) = ts_types(o);
            let key = if o.attribute.contains('-') {
                format!("\"{}\"", o.attribute)
            } else {
                o.attribute.to_string()
            };
            expected_options.push(format!("{}{optional}: {value};", o.name));
            expected_attributes.push(format!("{key}{optional}: {attribute};"));
        }
        assert_eq!(
            options, expected_options,
            "js/direct-upload.d.ts DirectUploadOptions must list the options of src/options.rs, in order, with their kinds' types"
        );
        assert_eq!(
            attributes, expected_attributes,
            "js/direct-upload.d.ts DirectUploadAttributes must list the attributes of src/options.rs, in order, with their kinds' types"
        );
    }

    /// The quoted words of `source` that follow `before`, e.g. the names in `self.on("…"`.
    fn quoted_after<'a>(source: &'a str, before: &str) -> Vec<&'a str> {
        source
            .split(before)
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .collect()
    }

    #[test]
    fn the_types_name_every_event_detail_field_state_and_method() {
        let types = include_str!("../js/direct-upload.d.ts");
        let embed = include_str!("embed.rs");
        // Its code, without the tests and the comments (whose examples name other things).
        let embed: String = embed[..embed.find("#[cfg(test)]").unwrap()]
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(|l| format!("{l}\n"))
            .collect();
        let embed = embed.as_str();
        let events = quoted_after(embed, "self.on(\"");
        assert_eq!(events.len(), 5, "src/embed.rs fires five events");
        for event in events {
            assert!(
                types.contains(&format!("  \"{event}\": CustomEvent<")),
                "js/direct-upload.d.ts DirectUploadEventMap has no {event}"
            );
        }
        // Every field of every detail and of state(): `("fileName", …)` in src/embed.rs.
        let fields = embed.split("(\"").skip(1).filter_map(|rest| {
            let (field, after) = rest.split_once('"')?;
            let identifier = field.chars().all(|c| c.is_ascii_alphanumeric());
            (identifier && after.starts_with(", ")).then_some(field)
        });
        for field in fields {
            assert!(
                types.contains(&format!("  {field}: ")) || types.contains(&format!("  {field}?: ")),
                "js/direct-upload.d.ts names no field {field}, which src/embed.rs puts in a detail or in state()"
            );
        }
        let state = include_str!("core/state.rs");
        let names = &state[state.find("pub fn name(&self)").unwrap()..];
        for name in quoted_after(&names[..names.find("\n    }").unwrap()], "=> \"") {
            assert!(
                types.contains(&format!("  | \"{name}\"")),
                "js/direct-upload.d.ts FileStateName lacks {name}"
            );
        }
        // The handle's methods (their JavaScript names), as wasm-bindgen exports them.
        let handle = &embed[embed.find("impl WidgetHandle {").unwrap()..];
        let lines: Vec<&str> = handle.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.strip_prefix("pub fn ") else {
                continue;
            };
            let name = &rest[..rest.find('(').unwrap()];
            let js = lines[i - 1]
                .strip_prefix("#[wasm_bindgen(js_name = ")
                .map_or(name, |n| n.trim_end_matches(")]"));
            assert!(
                ts_interface(types, "WidgetHandle")
                    .iter()
                    .any(|l| l.starts_with(&format!("{js}("))),
                "js/direct-upload.d.ts WidgetHandle has no {js}()"
            );
        }
        // What the entry exports.
        let script = include_str!("../js/direct-upload.js");
        for line in script.lines().filter(|l| l.starts_with("export ")) {
            let words: Vec<&str> = line.split([' ', '(']).collect();
            let (kind, name) = match words[1] {
                "async" => (words[2], words[3]),
                kind => (kind, words[2]),
            };
            assert!(
                types.contains(&format!("export declare {kind} {name}")),
                "js/direct-upload.d.ts does not declare the entry's export {name}"
            );
        }
    }

    #[test]
    fn the_readme_shows_the_option_list() {
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&readme_table()),
            "README.md must hold the table made by options::readme_table():\n{}",
            readme_table()
        );
    }
}
