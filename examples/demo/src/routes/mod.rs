//! The routes of DEMO-API.md §3, and the HTTP layers around them.

mod docs;
mod items;
mod stores;
mod users;

use axum::extract::FromRef;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use axum::{Json, Router};
use jwt_gate::Jwt;
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::db::{Db, User};

pub(crate) use users::valid_email;

/// What the handlers and jwt-gate's extractors read.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub(crate) jwt: Jwt<User>,
    pub(crate) db: Db,
}

impl FromRef<AppState> for Jwt<User> {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}

impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route, jwt-gate's JSON 404/405/431, a request id on every request and response, and
/// a trace span per request (method, path and request id only: never headers or bodies).
pub(crate) fn router(state: AppState) -> Router {
    let jwt = state.jwt.clone();
    let routes = Router::new()
        .route("/health", get(health))
        .route("/register", axum::routing::post(users::register))
        .route("/me", get(users::me))
        .route(
            "/item/{name}",
            get(items::get)
                .post(items::post)
                .put(items::put)
                .delete(items::delete),
        )
        .route("/items", get(items::list))
        .route(
            "/store/{name}",
            get(stores::get).post(stores::post).delete(stores::delete),
        )
        .route("/stores", get(stores::list))
        .route("/openapi.json", get(docs::openapi_json))
        .route("/docs", get(docs::page))
        .route("/docs/{file}", get(docs::asset))
        .merge(jwt.routes())
        .with_state(state);
    jwt.json_errors(routes).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(span))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
    )
}

/// `GET /health`: the server is up.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    operation_id = "health",
    summary = "Whether the server is up",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = docs::Health)),
)]
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

fn span<B>(request: &Request<B>) -> Span {
    // A client's own request id is logged only if it looks like an id, so that nothing a
    // client sends (a token, say) reaches the log through it.
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id,
    )
}
