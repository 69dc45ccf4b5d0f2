//! Named variants: how a delivered image is resized, and their API wire shape.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::envelope::ApiError;

/// How an image is fitted into a variant's width and height (Cloudflare's `fit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Shrink to fit inside the box, never enlarge.
    ScaleDown,
    /// Resize (up or down) to fit inside the box, keeping the aspect ratio.
    Contain,
    /// Resize to fill the box exactly, cropping what overflows.
    Cover,
    /// Like cover, but never enlarge: a smaller image is only cropped to the box.
    Crop,
    /// Contain, then pad to exactly the box.
    Pad,
}

impl Fit {
    /// Parses Cloudflare's name for a fit.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "scale-down" => Fit::ScaleDown,
            "contain" => Fit::Contain,
            "cover" => Fit::Cover,
            "crop" => Fit::Crop,
            "pad" => Fit::Pad,
            _ => return None,
        })
    }
    /// Cloudflare's name for this fit.
    pub fn as_str(self) -> &'static str {
        match self {
            Fit::ScaleDown => "scale-down",
            Fit::Contain => "contain",
            Fit::Cover => "cover",
            Fit::Crop => "crop",
            Fit::Pad => "pad",
        }
    }
}

/// What happens to the original's metadata (EXIF) on delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataPolicy {
    /// Keep all metadata.
    Keep,
    /// Keep only copyright.
    Copyright,
    /// Strip everything.
    None,
}

impl MetadataPolicy {
    /// Parses Cloudflare's name for a metadata policy.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "keep" => MetadataPolicy::Keep,
            "copyright" => MetadataPolicy::Copyright,
            "none" => MetadataPolicy::None,
            _ => return None,
        })
    }
    /// Cloudflare's name for this policy.
    pub fn as_str(self) -> &'static str {
        match self {
            MetadataPolicy::Keep => "keep",
            MetadataPolicy::Copyright => "copyright",
            MetadataPolicy::None => "none",
        }
    }
}

/// A named variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Its name, the last segment of a delivery URL.
    pub id: String,
    /// How the image is fitted.
    pub fit: Fit,
    /// Box width in pixels.
    pub width: u32,
    /// Box height in pixels.
    pub height: u32,
    /// Metadata policy.
    pub metadata: MetadataPolicy,
    /// Served without a signature even for images that require signed URLs.
    pub never_require_signed_urls: bool,
}

/// Most variants an account may have.
pub const MAX_VARIANTS: usize = 100;

impl Variant {
    /// The variants a new account starts with.
    pub fn defaults() -> Vec<Variant> {
        vec![
            Variant {
                id: "public".into(),
                fit: Fit::ScaleDown,
                width: 1366,
                height: 768,
                metadata: MetadataPolicy::None,
                never_require_signed_urls: false,
            },
            Variant {
                id: "thumbnail".into(),
                fit: Fit::Cover,
                width: 200,
                height: 200,
                metadata: MetadataPolicy::None,
                never_require_signed_urls: false,
            },
        ]
    }

    /// The API's JSON for this variant.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "options": {
                "fit": self.fit.as_str(),
                "metadata": self.metadata.as_str(),
                "width": self.width,
                "height": self.height,
            },
            "neverRequireSignedURLs": self.never_require_signed_urls,
        })
    }
}

/// The body of a variant create or update request.
#[derive(Debug, Deserialize, Serialize)]
pub struct VariantBody {
    /// Name (create only; on update the path names it).
    pub id: Option<String>,
    /// Resize options.
    pub options: Option<VariantOptions>,
    /// See [`Variant::never_require_signed_urls`].
    #[serde(rename = "neverRequireSignedURLs")]
    pub never_require_signed_urls: Option<bool>,
}

/// The `options` object of a variant.
#[derive(Debug, Deserialize, Serialize)]
pub struct VariantOptions {
    /// Fit name.
    pub fit: Option<String>,
    /// Metadata policy name.
    pub metadata: Option<String>,
    /// Box width.
    pub width: Option<u32>,
    /// Box height.
    pub height: Option<u32>,
}

impl VariantBody {
    /// Builds a variant from this body, on top of `base` for an update.
    pub fn into_variant(self, id: String, base: Option<&Variant>) -> Result<Variant, ApiError> {
        if id.is_empty()
            || id.len() > 99
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ApiError::bad_request(
                "Variant name must be 1 to 99 characters of letters, digits, '-' and '_'",
            ));
        }
        let options = self.options;
        if base.is_none() && options.is_none() {
            return Err(ApiError::bad_request(
                "A variant needs 'options' with fit, width and height",
            ));
        }
        let fit = match options.as_ref().and_then(|o| o.fit.as_deref()) {
            Some(name) => Fit::parse(name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Unknown fit '{name}': use scale-down, contain, cover, crop or pad"
                ))
            })?,
            None => base.map(|b| b.fit).unwrap_or(Fit::ScaleDown),
        };
        let metadata = match options.as_ref().and_then(|o| o.metadata.as_deref()) {
            Some(name) => MetadataPolicy::parse(name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Unknown metadata '{name}': use keep, copyright or none"
                ))
            })?,
            None => base.map(|b| b.metadata).unwrap_or(MetadataPolicy::None),
        };
        let size = |value: Option<u32>, fallback: Option<u32>, name: &str| match value.or(fallback)
        {
            Some(v) if (1..=12_000).contains(&v) => Ok(v),
            Some(v) => Err(ApiError::bad_request(format!(
                "Variant {name} {v} must be between 1 and 12000"
            ))),
            None => Err(ApiError::bad_request(format!(
                "Variant options need a {name}"
            ))),
        };
        let width = size(
            options.as_ref().and_then(|o| o.width),
            base.map(|b| b.width),
            "width",
        )?;
        let height = size(
            options.as_ref().and_then(|o| o.height),
            base.map(|b| b.height),
            "height",
        )?;
        Ok(Variant {
            id,
            fit,
            width,
            height,
            metadata,
            never_require_signed_urls: self
                .never_require_signed_urls
                .or(base.map(|b| b.never_require_signed_urls))
                .unwrap_or(false),
        })
    }
}
