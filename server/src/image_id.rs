//! The rules an image id must follow, shared by the Images API (custom ids) and the
//! reference backend (ids a browser asks about), so that no id can step out of its path.

/// Why an id is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdProblem {
    /// Longer than 1024 characters.
    #[error("it must be at most 1024 characters")]
    TooLong,
    /// Empty.
    #[error("it cannot be empty")]
    Empty,
    /// Starts or ends with `/`.
    #[error("it cannot start or end with '/'")]
    EdgeSlash,
    /// Holds an empty, `.` or `..` path segment.
    #[error("it cannot hold empty, '.' or '..' path segments")]
    DotSegment,
    /// Holds a control character.
    #[error("it cannot hold control characters")]
    Control,
    /// Is a UUID (those are Cloudflare's own ids).
    #[error("it cannot be a UUID")]
    Uuid,
}

/// Checks the rules every id follows: at most 1024 characters, no leading or trailing `/`, no
/// empty, `.` or `..` segment, no control character.
///
/// ```
/// use direct_upload_server::image_id::{check_path, IdProblem};
/// assert_eq!(check_path("albums/2026/cat.jpg"), Ok(()));
/// assert_eq!(check_path("../v2"), Err(IdProblem::DotSegment));
/// ```
pub fn check_path(id: &str) -> Result<(), IdProblem> {
    if id.is_empty() {
        return Err(IdProblem::Empty);
    }
    if id.chars().count() > 1024 {
        return Err(IdProblem::TooLong);
    }
    if id.starts_with('/') || id.ends_with('/') {
        return Err(IdProblem::EdgeSlash);
    }
    if id
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(IdProblem::DotSegment);
    }
    if id.chars().any(char::is_control) {
        return Err(IdProblem::Control);
    }
    Ok(())
}

/// Checks a custom id: the path rules, and not a UUID.
///
/// ```
/// use direct_upload_server::image_id::{check_custom, IdProblem};
/// assert_eq!(check_custom("products/42"), Ok(()));
/// assert_eq!(check_custom("2cdc28f0-017a-49c4-9ed7-87056c83901a"), Err(IdProblem::Uuid));
/// ```
pub fn check_custom(id: &str) -> Result<(), IdProblem> {
    check_path(id)?;
    if uuid::Uuid::parse_str(id).is_ok() {
        return Err(IdProblem::Uuid);
    }
    Ok(())
}
