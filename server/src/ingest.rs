//! Turning received bytes into a stored original: recognise, check limits, write to disk.

use crate::envelope::{ApiError, ApiResult};
use crate::form::FilePart;
use crate::imaging;
use crate::state::AppState;
use crate::store::StoredFile;

/// Checks an uploaded file and stores it under a fresh key. Decoding runs on the blocking
/// pool so that large images do not stall other requests.
pub async fn ingest(state: &AppState, file: &FilePart) -> ApiResult<StoredFile> {
    let bytes = file.bytes.clone();
    let inspected = tokio::task::spawn_blocking(move || imaging::inspect(&bytes))
        .await
        .map_err(|e| ApiError::internal(format!("image check failed: {e}")))??;
    let blob_key = uuid::Uuid::new_v4().simple().to_string();
    let path = state.store().image_path(&blob_key);
    // Write then rename, so a crash never leaves a half-written original under its final name.
    let partial = path.with_extension("partial");
    tokio::fs::write(&partial, &file.bytes).await?;
    tokio::fs::rename(&partial, &path).await?;
    let filename: String = file.filename.chars().take(255).collect();
    Ok(StoredFile {
        blob_key,
        filename,
        content_type: inspected.content_type.to_string(),
        width: inspected.width,
        height: inspected.height,
        size: file.bytes.len() as u64,
    })
}

/// Removes a stored original that no record will point to.
pub fn remove_blob(state: &AppState, blob_key: &str) {
    let _ = std::fs::remove_file(state.store().image_path(blob_key));
}
