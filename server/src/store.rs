//! Records in SQLite and image files on disk. Everything the service knows survives a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use crate::variants::{Fit, MetadataPolicy, Variant};

/// One image record: a draft waiting for its one-time upload, or a stored image.
#[derive(Debug, Clone)]
pub struct Image {
    /// Image id (a UUID or a custom id).
    pub id: String,
    /// Creator given when the upload was created.
    pub creator: Option<String>,
    /// Private key-value metadata (a JSON object).
    pub meta: Option<Value>,
    /// Whether delivery needs a signed URL.
    pub require_signed_urls: bool,
    /// RFC 3339 time the record was created or the file arrived.
    pub uploaded: String,
    /// Insertion order, the cursor of list pages.
    pub seq: i64,
    /// Draft or stored, with what each state knows.
    pub state: ImageState,
}

/// Where an image is in its life: the two states cannot be mixed up, so no draft has a file
/// and no stored image has an expiry.
#[derive(Debug, Clone)]
pub enum ImageState {
    /// Created by a direct upload; its URL takes one file until `expires` (unix time).
    Draft {
        /// Unix time after which the upload URL is refused.
        expires: i64,
    },
    /// The file arrived and is stored.
    Stored(StoredFile),
}

impl Image {
    /// A draft: the record a direct upload creates before its file arrives.
    pub fn draft(id: String, uploaded: String, expires: i64) -> Self {
        Self::new(id, uploaded, ImageState::Draft { expires })
    }

    /// A stored image with nothing else set.
    pub fn stored(id: String, uploaded: String, file: StoredFile) -> Self {
        Self::new(id, uploaded, ImageState::Stored(file))
    }

    fn new(id: String, uploaded: String, state: ImageState) -> Self {
        Self {
            id,
            creator: None,
            meta: None,
            require_signed_urls: false,
            uploaded,
            seq: 0,
            state,
        }
    }

    /// The stored file, unless this is still a draft.
    pub fn file(&self) -> Option<&StoredFile> {
        match &self.state {
            ImageState::Stored(file) => Some(file),
            ImageState::Draft { .. } => None,
        }
    }

    /// Whether the upload has not arrived yet.
    pub fn is_draft(&self) -> bool {
        matches!(self.state, ImageState::Draft { .. })
    }

    /// Whether the image exists as Cloudflare shows it at unix time `now`: stored, or a draft
    /// whose upload URL has not expired (an expired draft is gone). The one rule for the API,
    /// the upload host and the store's claim (`expiry > now` there too).
    ///
    /// ```
    /// use direct_upload_server::store::Image;
    /// let draft = Image::draft("a".into(), "2026-01-01T00:00:00.000Z".into(), 100);
    /// assert!(draft.is_live(99));
    /// assert!(!draft.is_live(100));
    /// ```
    pub fn is_live(&self, now: i64) -> bool {
        match self.state {
            ImageState::Stored(_) => true,
            ImageState::Draft { expires } => expires > now,
        }
    }

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        let meta: Option<String> = row.get("meta")?;
        let state = if row.get::<_, bool>("draft")? {
            ImageState::Draft {
                expires: row.get::<_, Option<i64>>("expiry")?.unwrap_or(0),
            }
        } else {
            ImageState::Stored(StoredFile {
                blob_key: row
                    .get::<_, Option<String>>("blob_key")?
                    .unwrap_or_default(),
                filename: row
                    .get::<_, Option<String>>("filename")?
                    .unwrap_or_default(),
                content_type: row
                    .get::<_, Option<String>>("content_type")?
                    .unwrap_or_default(),
                width: row.get("width")?,
                height: row.get("height")?,
                size: row.get::<_, i64>("size")? as u64,
            })
        };
        Ok(Self {
            id: row.get("id")?,
            creator: row.get("creator")?,
            meta: meta.and_then(|text| serde_json::from_str(&text).ok()),
            require_signed_urls: row.get("require_signed_urls")?,
            uploaded: row.get("uploaded")?,
            seq: row.get("seq")?,
            state,
        })
    }
}

/// What is known of an uploaded file when it is attached to a record.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// Name of the file under `images/`.
    pub blob_key: String,
    /// Original file name as the uploader sent it.
    pub filename: String,
    /// MIME type found from the bytes.
    pub content_type: String,
    /// Pixel width.
    pub width: u32,
    /// Pixel height.
    pub height: u32,
    /// Size in bytes.
    pub size: u64,
}

/// Why a one-time upload could not be attached to its draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimRefusal {
    /// No record with that id.
    Unknown,
    /// A file has already been uploaded through this URL.
    AlreadyUsed,
    /// The URL's expiry has passed (the unix time it expired).
    Expired(i64),
}

/// Order of a cursor list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

/// The database and the image directory, shared by every handler.
#[derive(Clone)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
    images_dir: PathBuf,
    cache_dir: PathBuf,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS images (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    filename TEXT,
    creator TEXT,
    meta TEXT,
    require_signed_urls INTEGER NOT NULL DEFAULT 0,
    uploaded TEXT NOT NULL,
    draft INTEGER NOT NULL,
    expiry INTEGER,
    blob_key TEXT,
    content_type TEXT,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS images_creator ON images (creator, seq);
CREATE TABLE IF NOT EXISTS variants (
    id TEXT PRIMARY KEY,
    fit TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    never_require_signed_urls INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signing_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// Why the store could not do what it was asked. It speaks of records and files, never of
/// HTTP: each surface maps it to its own answer (`From<StoreError> for ApiError`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
    /// An image with this id exists already.
    #[error("Resource already exists: an image with id '{0}' already exists")]
    ImageExists(String),
    /// A variant with this name exists already.
    #[error("Variant '{0}' already exists")]
    VariantExists(String),
}

impl Store {
    /// Opens (or creates) the store in `data_dir`, seeding the default variants once.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let images_dir = data_dir.join("images");
        let cache_dir = data_dir.join("cache");
        std::fs::create_dir_all(&images_dir)?;
        std::fs::create_dir_all(&cache_dir)?;
        let connection = Connection::open(data_dir.join("images.sqlite3"))?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.execute_batch(SCHEMA)?;
        let store = Self {
            connection: Arc::new(Mutex::new(connection)),
            images_dir,
            cache_dir,
        };
        if store.setting("variants_seeded")?.is_none() {
            for variant in Variant::defaults() {
                store.insert_variant(&variant)?;
            }
            store.set_setting("variants_seeded", "1")?;
        }
        Ok(store)
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (every write is one
        // statement or one transaction), so a poisoned lock is safe to reuse.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Path of a stored original.
    pub fn image_path(&self, blob_key: &str) -> PathBuf {
        self.images_dir.join(blob_key)
    }

    /// Directory for rendered variants, safe to empty at any time.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// A named setting, if set.
    pub fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT value FROM settings WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Sets a named setting.
    pub fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.upsert("settings", name, value)
    }

    /// Inserts or replaces `name = value` in one of the two name/value tables.
    fn upsert(&self, table: &'static str, name: &str, value: &str) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {table} (name, value) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET value = excluded.value"
        );
        self.db().execute(&sql, params![name, value])?;
        Ok(())
    }

    /// Inserts a new record (draft or complete); a taken id is a 5409 conflict.
    pub fn insert_image(&self, row: &Image) -> Result<Image, StoreError> {
        let file = row.file();
        let expires = match row.state {
            ImageState::Draft { expires } => Some(expires),
            ImageState::Stored(_) => None,
        };
        let db = self.db();
        let inserted = db.execute(
            "INSERT INTO images (id, filename, creator, meta, require_signed_urls, uploaded, draft,
                                 expiry, blob_key, content_type, width, height, size)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT(id) DO NOTHING",
            params![
                row.id,
                file.map(|f| &f.filename),
                row.creator,
                row.meta.as_ref().map(Value::to_string),
                row.require_signed_urls,
                row.uploaded,
                row.is_draft(),
                expires,
                file.map(|f| &f.blob_key),
                file.map(|f| &f.content_type),
                file.map_or(0, |f| f.width),
                file.map_or(0, |f| f.height),
                file.map_or(0, |f| f.size as i64),
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::ImageExists(row.id.clone()));
        }
        let seq = db.last_insert_rowid();
        Ok(Image { seq, ..row.clone() })
    }

    /// The record with this id, drafts included.
    pub fn get(&self, id: &str) -> Result<Option<Image>, StoreError> {
        Ok(self
            .db()
            .query_row("SELECT * FROM images WHERE id = ?1", [id], Image::from_row)
            .optional()?)
    }

    /// Attaches an uploaded file to its draft, exactly once: the check and the write are one
    /// statement, so of two racing uploads to the same URL only one can win.
    pub fn claim_draft(
        &self,
        id: &str,
        now_unix: i64,
        uploaded: &str,
        file: &StoredFile,
    ) -> Result<Result<Image, ClaimRefusal>, StoreError> {
        let db = self.db();
        let changed = db.execute(
            "UPDATE images SET draft = 0, uploaded = ?3, filename = ?4, blob_key = ?5,
                    content_type = ?6, width = ?7, height = ?8, size = ?9, expiry = NULL
             WHERE id = ?1 AND draft = 1 AND expiry > ?2",
            params![
                id,
                now_unix,
                uploaded,
                file.filename,
                file.blob_key,
                file.content_type,
                file.width,
                file.height,
                file.size as i64
            ],
        )?;
        let row = db
            .query_row("SELECT * FROM images WHERE id = ?1", [id], Image::from_row)
            .optional()?;
        Ok(match (changed, row) {
            (1, Some(row)) => Ok(row),
            (_, None) => Err(ClaimRefusal::Unknown),
            (_, Some(row)) => match row.state {
                ImageState::Stored(_) => Err(ClaimRefusal::AlreadyUsed),
                ImageState::Draft { expires } => Err(ClaimRefusal::Expired(expires)),
            },
        })
    }

    /// Changes metadata and/or requireSignedURLs; `None` leaves a field as it is.
    pub fn update(
        &self,
        id: &str,
        meta: Option<&Value>,
        require_signed_urls: Option<bool>,
    ) -> Result<Option<Image>, StoreError> {
        let db = self.db();
        if let Some(meta) = meta {
            db.execute(
                "UPDATE images SET meta = ?2 WHERE id = ?1",
                params![id, meta.to_string()],
            )?;
        }
        if let Some(flag) = require_signed_urls {
            db.execute(
                "UPDATE images SET require_signed_urls = ?2 WHERE id = ?1",
                params![id, flag],
            )?;
        }
        Ok(db
            .query_row("SELECT * FROM images WHERE id = ?1", [id], Image::from_row)
            .optional()?)
    }

    /// Deletes a record and its stored file; false when there was none.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let blob: Option<Option<String>> = {
            let db = self.db();
            let blob = db
                .query_row("SELECT blob_key FROM images WHERE id = ?1", [id], |row| {
                    row.get(0)
                })
                .optional()?;
            db.execute("DELETE FROM images WHERE id = ?1", [id])?;
            blob
        };
        match blob {
            None => Ok(false),
            Some(key) => {
                if let Some(key) = key {
                    // The record is gone; a file left behind would only waste space.
                    let _ = std::fs::remove_file(self.image_path(&key));
                    self.clear_cache_for(&key);
                }
                Ok(true)
            }
        }
    }

    /// Deletes drafts whose upload URL expired before `expired_before` (unix time); returns how
    /// many went. Drafts carry no file, so only their rows go.
    pub fn purge_expired_drafts(&self, expired_before: i64) -> Result<usize, StoreError> {
        Ok(self.db().execute(
            "DELETE FROM images WHERE draft = 1 AND expiry < ?1",
            [expired_before],
        )?)
    }

    /// Removes every rendered variant of one original.
    pub fn clear_cache_for(&self, blob_key: &str) {
        if let Ok(entries) = std::fs::read_dir(&self.cache_dir) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(blob_key) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Removes every rendered variant (after a variant's options change).
    pub fn clear_cache(&self) {
        if let Ok(entries) = std::fs::read_dir(&self.cache_dir) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// One page (1-based) of uploaded images, oldest first.
    pub fn list_page(&self, page: u32, per_page: u32) -> Result<Vec<Image>, StoreError> {
        let db = self.db();
        let mut statement =
            db.prepare("SELECT * FROM images WHERE draft = 0 ORDER BY seq LIMIT ?1 OFFSET ?2")?;
        let offset = (page.saturating_sub(1) as i64) * per_page as i64;
        let rows = statement
            .query_map(params![per_page, offset], Image::from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Uploaded images after the cursor `after` (a `seq`), in the given order.
    pub fn list_after(
        &self,
        after: Option<i64>,
        per_page: u32,
        order: SortOrder,
        creator: Option<&str>,
    ) -> Result<Vec<Image>, StoreError> {
        let db = self.db();
        let (comparison, direction, start) = match order {
            SortOrder::Asc => (">", "ASC", i64::MIN),
            SortOrder::Desc => ("<", "DESC", i64::MAX),
        };
        let sql = format!(
            "SELECT * FROM images WHERE draft = 0 AND seq {comparison} ?1
             AND (?2 IS NULL OR creator = ?2) ORDER BY seq {direction} LIMIT ?3"
        );
        let mut statement = db.prepare(&sql)?;
        let rows = statement
            .query_map(
                params![after.unwrap_or(start), creator, per_page],
                Image::from_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// How many uploaded (non-draft) images are stored.
    pub fn count_uploaded(&self) -> Result<u64, StoreError> {
        let count: i64 =
            self.db()
                .query_row("SELECT COUNT(*) FROM images WHERE draft = 0", [], |row| {
                    row.get(0)
                })?;
        Ok(count as u64)
    }

    /// Every signing key as `(name, value)`, by name.
    pub fn signing_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        let db = self.db();
        let mut statement = db.prepare("SELECT name, value FROM signing_keys ORDER BY name")?;
        let keys = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(keys)
    }

    /// Creates or replaces a signing key.
    pub fn put_signing_key(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.upsert("signing_keys", name, value)
    }

    /// Deletes a signing key; false when there was none.
    pub fn delete_signing_key(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .db()
            .execute("DELETE FROM signing_keys WHERE name = ?1", [name])?
            == 1)
    }

    /// Every named variant, by name.
    pub fn variants(&self) -> Result<Vec<Variant>, StoreError> {
        let db = self.db();
        let mut statement = db.prepare("SELECT * FROM variants ORDER BY id")?;
        let rows = statement
            .query_map([], variant_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// One named variant.
    pub fn variant(&self, id: &str) -> Result<Option<Variant>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT * FROM variants WHERE id = ?1",
                [id],
                variant_from_row,
            )
            .optional()?)
    }

    /// Creates a variant; a taken name is a 5409 conflict.
    pub fn insert_variant(&self, variant: &Variant) -> Result<(), StoreError> {
        let inserted = self.db().execute(
            "INSERT INTO variants (id, fit, width, height, metadata, never_require_signed_urls)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO NOTHING",
            params![
                variant.id,
                variant.fit.as_str(),
                variant.width,
                variant.height,
                variant.metadata.as_str(),
                variant.never_require_signed_urls
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::VariantExists(variant.id.clone()));
        }
        Ok(())
    }

    /// Replaces a variant's options; false when there is no such variant.
    pub fn update_variant(&self, variant: &Variant) -> Result<bool, StoreError> {
        let changed = self.db().execute(
            "UPDATE variants SET fit = ?2, width = ?3, height = ?4, metadata = ?5,
                    never_require_signed_urls = ?6 WHERE id = ?1",
            params![
                variant.id,
                variant.fit.as_str(),
                variant.width,
                variant.height,
                variant.metadata.as_str(),
                variant.never_require_signed_urls
            ],
        )?;
        Ok(changed == 1)
    }

    /// Deletes a variant; false when there was none.
    pub fn delete_variant(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .db()
            .execute("DELETE FROM variants WHERE id = ?1", [id])?
            == 1)
    }
}

fn variant_from_row(row: &Row<'_>) -> rusqlite::Result<Variant> {
    let fit: String = row.get("fit")?;
    let metadata: String = row.get("metadata")?;
    Ok(Variant {
        id: row.get("id")?,
        fit: Fit::parse(&fit).unwrap_or(Fit::ScaleDown),
        width: row.get("width")?,
        height: row.get("height")?,
        metadata: MetadataPolicy::parse(&metadata).unwrap_or(MetadataPolicy::None),
        never_require_signed_urls: row.get("never_require_signed_urls")?,
    })
}
