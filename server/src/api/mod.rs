//! The Images API v4 under `/client/v4/accounts/{account_id}/images/…`: the router and
//! authentication here, one module per resource.

mod direct_upload;
mod images;
mod keys;
mod list;
mod variants;

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;

use crate::envelope::ApiError;
use crate::state::AppState;

/// Most images an account may hold (shown by `stats`).
pub const IMAGE_ALLOWANCE: u64 = 100_000;

/// Most bytes of a variant's JSON body (its options are a few fields).
const MAX_JSON_BODY_BYTES: usize = 64 * 1024;

/// The API's routes, nested under `/client/v4/accounts/{account_id}/images`.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v2/direct_upload", post(direct_upload::create))
        .route("/v2", get(list::list_v2))
        .route("/v1", get(list::list_v1).post(images::upload))
        .route("/v1/stats", get(list::stats))
        .route("/v1/keys", get(keys::list))
        .route("/v1/keys/{name}", put(keys::put).delete(keys::delete))
        .route(
            "/v1/variants",
            get(variants::list)
                .post(variants::create)
                .layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES)),
        )
        .route(
            "/v1/variants/{variant}",
            get(variants::get)
                .patch(variants::update)
                .delete(variants::delete)
                .layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES)),
        )
        .route(
            "/v1/{*id}",
            get(images::get)
                .patch(images::update)
                .delete(images::delete),
        )
        // Forms read their bodies with their own bounds (see form.rs); the variant routes
        // above, which take JSON through an extractor, have theirs.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state, authenticate))
}

/// The API answers browsers only with test controls on: Cloudflare's API sends no CORS
/// headers (its token must never be in a page), but the widget's browser tests inspect what
/// the service holds.
pub fn test_cors() -> tower_http::cors::CorsLayer {
    tower_http::cors::CorsLayer::very_permissive()
}

/// Checks the account id in the path and the Bearer token (or `X-Auth-Key`).
async fn authenticate(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
    request: Request,
    next: Next,
) -> Response {
    let account = params
        .iter()
        .find(|(k, _)| k == "account_id")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let headers = request.headers();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_string())
        .or_else(|| {
            headers
                .get("x-auth-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
    match token {
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            10000,
            "Authentication error: no API token (send Authorization: Bearer <token>)",
        )
        .into_response(),
        Some(token) if !same_secret(&token, &state.config().api_token) => ApiError::new(
            StatusCode::FORBIDDEN,
            10000,
            "Authentication error: the API token is not valid",
        )
        .into_response(),
        Some(_) if account != state.config().account_id => ApiError::new(
            StatusCode::FORBIDDEN,
            5403,
            format!("Account '{account}' is not valid or not authorized for this token"),
        )
        .into_response(),
        Some(_) => next.run(request).await,
    }
}

/// Compares a presented token with the configured one in time that does not depend on where
/// they differ, so response timing cannot reveal the token byte by byte.
fn same_secret(presented: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    // An empty token never authenticates, whatever the configuration says.
    !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// A query string parsed into `T`, refused in the v4 envelope (400 / 5400) when it does not
/// parse, like every other answer of the API.
struct ApiQuery<T>(T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| {
                ApiError::bad_request(format!("Invalid query: {}", rejection.body_text()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    /// #14: the comparison is constant-time (subtle), and an empty token never matches, even
    /// a configuration that somehow holds an empty one (start-up refuses that too).
    #[test]
    fn only_the_whole_token_authenticates() {
        assert!(same_secret("local-dev-token", "local-dev-token"));
        assert!(!same_secret("", ""));
        assert!(!same_secret("local-dev-toke", "local-dev-token"));
        assert!(!same_secret("local-dev-token-", "local-dev-token"));
    }
}
