//! Turning received bytes into a stored original: recognise, check limits, write to disk.

use crate::envelope::{ApiError, ApiResult};
use crate::form::FilePart;
use crate::imaging;
use crate::state::AppState;
use crate::store::StoredFile;

/// Checks an uploaded file and stores it under a fresh key. The headers are read first and
/// the limits enforced ([`imaging::examine`]); only then are the pixels checked
/// ([`imaging::verify`]), once that check's memory has been taken from the decode budget
/// shared with delivery. Both run on the blocking pool so that large images do not stall
/// other requests.
pub async fn ingest(state: &AppState, file: &FilePart) -> ApiResult<StoredFile> {
    let bytes = file.bytes.clone();
    let limits = state.config().decode_limits.clone();
    let examined = blocking(move || imaging::examine(&bytes, &limits)).await?;
    let permit = state.decode_budget().acquire(examined.verify_cost()).await;
    let bytes = file.bytes.clone();
    let inspected = blocking(move || {
        // Held by the decode itself: if the upload is abandoned meanwhile, the decode still
        // runs to its end and still counts.
        let _permit = permit;
        imaging::verify(&bytes, &examined)
    })
    .await?;
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

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("image check failed: {e}")))?
}

/// Removes a stored original that no record will point to.
pub fn remove_blob(state: &AppState, blob_key: &str) {
    let _ = std::fs::remove_file(state.store().image_path(blob_key));
}

/// Removes what a crash (kill -9, power loss) left half-written: originals being written
/// (`<blob>.partial`, see [`ingest`]) and rendered variants being cached
/// (`<blob>-<variant>.partial-<uuid>`, see the delivery module). Both are written aside and
/// renamed into place, so no record or cache lookup ever points at one; without this they
/// would stay on disk forever. Call it at start-up, before serving: a request in flight could
/// be writing one. Directories that do not exist are skipped. Returns how many were removed.
pub fn remove_orphans(dirs: &[&std::path::Path]) -> std::io::Result<usize> {
    let mut removed = 0;
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if (name.ends_with(".partial") || name.contains(".partial-"))
                && entry.file_type()?.is_file()
            {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => return Err(error),
                }
            }
        }
    }
    Ok(removed)
}
