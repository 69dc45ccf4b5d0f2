//! Shared by the server's integration tests: a real instance on a free port with its own
//! data directory, an HTTP client, and real images made with the `image` crate.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;

use direct_upload_server::{start, Config, Running};
use image::{ImageFormat, Rgb, RgbImage};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

/// A running service and what a test needs to talk to it.
pub struct Service {
    pub running: Running,
    pub http: reqwest::Client,
    pub data_dir: tempfile::TempDir,
}

/// A config on a free loopback port with test controls on.
pub fn config(data_dir: &Path) -> Config {
    let mut config = Config::dev(data_dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.enable_test_controls = true;
    config
}

pub async fn service() -> Service {
    service_with(|_| {}).await
}

pub async fn service_with(adjust: impl FnOnce(&mut Config)) -> Service {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = config(data_dir.path());
    adjust(&mut config);
    let running = start(config).await.expect("the service starts");
    Service {
        running,
        http: reqwest::Client::new(),
        data_dir,
    }
}

impl Service {
    /// `…/client/v4/accounts/{account}/images/{path}`
    pub fn api(&self, path: &str) -> String {
        format!(
            "{}/accounts/{}/images/{path}",
            self.running.api_base(),
            self.running.account_id
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.urls.public)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(self.api(path))
            .bearer_auth(&self.running.api_token)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.api(path))
            .bearer_auth(&self.running.api_token)
    }

    pub fn patch(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .patch(self.api(path))
            .bearer_auth(&self.running.api_token)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .delete(self.api(path))
            .bearer_auth(&self.running.api_token)
    }

    /// Creates a direct upload with these form fields; returns `(id, uploadURL)`.
    pub async fn direct_upload(&self, fields: &[(&str, &str)]) -> (String, String) {
        let mut form = Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        let (status, body) = send(self.post("v2/direct_upload").multipart(form)).await;
        assert_eq!(status, 200, "direct_upload failed: {body}");
        (
            body["result"]["id"].as_str().unwrap().to_string(),
            body["result"]["uploadURL"].as_str().unwrap().to_string(),
        )
    }

    /// POSTs `bytes` as the `file` field to an upload URL, as a browser would.
    pub async fn upload_to(&self, url: &str, bytes: &[u8], filename: &str) -> (u16, Value) {
        let form = Form::new().part(
            "file",
            Part::bytes(bytes.to_vec()).file_name(filename.to_string()),
        );
        send(self.http.post(url).multipart(form)).await
    }

    /// Direct upload plus upload: the stored image's record.
    pub async fn uploaded(&self, bytes: &[u8], filename: &str, fields: &[(&str, &str)]) -> Value {
        let (_, url) = self.direct_upload(fields).await;
        let (status, body) = self.upload_to(&url, bytes, filename).await;
        assert_eq!(status, 200, "upload failed: {body}");
        body["result"].clone()
    }

    /// The stored original of an image, through `GET v1/{id}/blob`.
    pub async fn blob(&self, id: &str) -> Vec<u8> {
        self.get(&format!("v1/{id}/blob"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    }

    pub async fn stop(self) -> tempfile::TempDir {
        self.running.stop().await.unwrap();
        self.data_dir
    }
}

/// Sends a request; returns the status and the JSON body (Null if not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the service answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The first error code of a v4 envelope.
pub fn code(body: &Value) -> u64 {
    assert_eq!(body["success"], false, "expected an error envelope: {body}");
    body["errors"][0]["code"]
        .as_u64()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

pub fn message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A real image: a colour gradient `width`×`height`, seeded so that every seed differs.
pub fn image_bytes(width: u32, height: u32, seed: u8, format: ImageFormat) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x as u8).wrapping_add(seed),
            (y as u8).wrapping_mul(3),
            seed,
        ])
    });
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    image_bytes(width, height, 7, ImageFormat::Png)
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    image_bytes(width, height, 7, ImageFormat::Jpeg)
}

/// Decodes delivered bytes and returns their dimensions.
pub fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).expect("delivered bytes decode as an image");
    (image.width(), image.height())
}

/// GETs a delivery URL: status, headers and bytes.
pub async fn deliver(s: &Service, url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = s.http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

/// The URL of the variant `name` in an image record.
pub fn variant_url(record: &serde_json::Value, name: &str) -> String {
    record["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .find(|v| v.ends_with(&format!("/{name}")))
        .unwrap_or_else(|| panic!("no {name} variant in {record}"))
}

/// Starts the service binary with `args` on a free port (read from `--addr-file`); the
/// caller stops it. `prepare` runs in the child before exec (e.g. to lower a limit).
pub fn spawn_binary(
    data: &Path,
    args: &[&str],
    prepare: Option<fn() -> std::io::Result<()>>,
) -> (std::process::Child, std::net::SocketAddr) {
    let addr_file = data.join("addr");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_direct-upload-server"));
    command
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .arg("--data-dir")
        .arg(data.join("data"))
        .arg("--addr-file")
        .arg(&addr_file)
        .stdout(std::process::Stdio::null());
    if let Some(prepare) = prepare {
        // SAFETY: `prepare` only calls async-signal-safe functions (setrlimit).
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(prepare);
        }
    }
    let child = command.spawn().unwrap();
    let started = std::time::Instant::now();
    while !addr_file.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the server never wrote --addr-file"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let addr = std::fs::read_to_string(&addr_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (child, addr)
}
