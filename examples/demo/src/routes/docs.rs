//! `GET /openapi.json` and `GET /docs` (DEMO-API.md §3): the OpenAPI 3.1 document of the API,
//! derived from the handlers' `#[utoipa::path]` annotations, and Swagger UI rendering it. Swagger
//! UI's files are bundled into the binary at build time (`utoipa-swagger-ui`'s `vendored` and
//! `debug-embed`): nothing is downloaded, neither when building nor when serving.

use std::sync::{Arc, LazyLock};

use axum::Json;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use jwt_gate::JWT_SECURITY;
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::Config;

use super::{items, stores, users};
use crate::error::{ApiError, ErrorBody};

/// Where the document is served.
const OPENAPI_PATH: &str = "/openapi.json";

/// The document: every route of DEMO-API.md §3, the representations, the error body, and
/// jwt-gate's security scheme, required by the protected operations only.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "demo: stores and items",
        description = "The stores-and-items REST API of the Flask course, on axum and jwt-gate. \
            Log in with `POST /login`, then send `Authorization: JWT <access_token>` to the \
            protected operations (in Swagger UI: *Authorize*, and enter `JWT ` followed by the \
            token). Every error is `{\"message\": \"<text>\", \"code\": <status>}`; an unknown \
            path is 404 and another method on a known path is 405."
    ),
    paths(
        super::health,
        users::register,
        login,
        users::me,
        items::get,
        items::post,
        items::put,
        items::delete,
        items::list,
        stores::get,
        stores::post,
        stores::delete,
        stores::list,
        openapi_json,
        page,
    ),
    components(schemas(ErrorBody<'static>)),
    modifiers(&JWT_SECURITY),
    tags(
        (name = "users", description = "Registration, login and the current user"),
        (name = "items", description = "Items, by name"),
        (name = "stores", description = "Stores, by name, with their items"),
        (name = "service", description = "Health and this documentation"),
    ),
)]
struct ApiDoc;

/// Built once, on first use.
static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// Swagger UI's settings (written into its `swagger-initializer.js`): the document to show,
/// and no online validator (by default the page would send the document's URL to
/// validator.swagger.io): the page loads nothing but its own files and the document.
static SWAGGER_CONFIG: LazyLock<Arc<Config<'static>>> =
    LazyLock::new(|| Arc::new(Config::new([OPENAPI_PATH]).validator_url("none")));

/// `{"status": "ok"}`.
#[derive(ToSchema)]
#[schema(example = json!({"status": "ok"}))]
#[expect(dead_code, reason = "documents the body of GET /health")]
pub(super) struct Health {
    /// `ok`.
    status: String,
}

/// `{"message": "<text>"}`: a success without a representation.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documents a success body")]
pub(super) struct Message {
    /// What was done.
    message: String,
}

/// The body of `POST /register`. Keys not listed are ignored.
#[derive(ToSchema)]
#[schema(example = json!({
    "username": "joe", "email": "joe@example.com", "password": "correct horse battery"
}))]
#[expect(dead_code, reason = "documents a request body read as a JSON object")]
pub(super) struct RegisterRequest {
    /// Unique (compared exactly); at most 80 characters, no control character.
    #[schema(min_length = 1, max_length = 80)]
    username: String,
    /// Unique (compared ignoring ASCII case); at most 254 characters, exactly one `@` with
    /// something on each side, no whitespace or control character.
    #[schema(min_length = 3, max_length = 254)]
    email: String,
    /// 8 to 128 characters; stored as an argon2id hash.
    #[schema(min_length = 8, max_length = 128, format = Password)]
    password: String,
}

/// The body of `POST /login`: exactly these two keys, each a non-empty string; anything else
/// is 401 `Invalid credentials`.
#[derive(ToSchema)]
#[schema(example = json!({"email": "joe@example.com", "password": "correct horse battery"}))]
#[expect(dead_code, reason = "documents jwt-gate's login body")]
pub(super) struct LoginRequest {
    /// The email as registered, matched ignoring ASCII case.
    #[schema(min_length = 1)]
    email: String,
    /// The user's password.
    #[schema(min_length = 1, format = Password)]
    password: String,
}

/// The answer to a successful login.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documents jwt-gate's login answer")]
pub(super) struct LoginResponse {
    /// An HS256 JWT with the claims `identity` (the user id), `iat`, `nbf` and `exp`; send it
    /// as `Authorization: JWT <access_token>`.
    access_token: String,
    /// The id of the user logged in.
    #[schema(minimum = 1)]
    user_id: i64,
}

/// The body of `POST` and `PUT /item/<name>`. Keys not listed are ignored.
#[derive(ToSchema)]
#[schema(example = json!({"price": 12.5, "store_id": 1}))]
#[expect(dead_code, reason = "documents a request body read as a JSON object")]
pub(super) struct ItemRequest {
    /// A JSON number (not a string), finite, at least 0.
    #[schema(minimum = 0)]
    price: f64,
    /// The id of an existing store: a JSON integer, written without fraction or exponent.
    store_id: i64,
}

/// `POST /login`: jwt-gate's login route (`Jwt::routes`), documented here.
#[utoipa::path(
    post,
    path = "/login",
    tag = "users",
    operation_id = "login",
    summary = "Logs in",
    description = "Exactly the keys `email` and `password`, each a non-empty string; a missing \
        or extra key, an unknown email or a wrong password all answer 401 \
        `Invalid credentials`. With `LOGIN_THROTTLE` set, too many failures answer 429.",
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A token", body = LoginResponse),
        (status = 400, description = "A body that is not valid JSON or not an object", body = ErrorBody<'static>),
        (status = 401, description = "`Invalid credentials`", body = ErrorBody<'static>,
            headers(("WWW-Authenticate" = String, description = "`JWT realm=\"Login Required\"`"))),
        (status = 413, description = "A body over 65536 bytes", body = ErrorBody<'static>),
        (status = 415, description = "A body that is not `application/json`", body = ErrorBody<'static>),
        (status = 429, description = "`Too many failed login attempts; retry later`", body = ErrorBody<'static>,
            headers(("Retry-After" = u64, description = "Seconds until a failure slot frees"))),
    ),
)]
#[expect(
    dead_code,
    reason = "documents jwt-gate's login route, which has no handler here"
)]
fn login() {}

/// `GET /openapi.json`: the document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    operation_id = "openapi",
    summary = "This OpenAPI 3.1 document",
    responses((status = 200, description = "The document", content_type = "application/json", body = Object)),
)]
pub(super) async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(&DOCUMENT)
}

/// `GET /docs`: Swagger UI's page, its asset URLs made relative to `/docs/`.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "service",
    operation_id = "docs",
    summary = "Swagger UI for this document",
    description = "An HTML page; its scripts and styles are served under `/docs/`, from the \
        binary.",
    responses((status = 200, description = "The page", content_type = "text/html", body = String)),
)]
pub(super) async fn page() -> Result<Response, ApiError> {
    let index = swagger_file("index.html")?.ok_or_else(|| missing("index.html"))?;
    let index = std::str::from_utf8(&index.bytes).map_err(|error| ApiError::internal(&error))?;
    let html = HeaderValue::from_static("text/html; charset=utf-8");
    Ok(([(CONTENT_TYPE, html)], under_docs(index)).into_response())
}

/// `GET /docs/<file>`: one of Swagger UI's files (its `swagger-initializer.js` pointing at
/// `/openapi.json`), or 404.
pub(super) async fn asset(uri: Uri) -> Result<Response, ApiError> {
    // The route is `/docs/{file}`: the file is the last segment, as sent (the names are ASCII;
    // an encoded one is simply not found).
    let file = uri.path().rsplit('/').next().unwrap_or_default();
    let found = swagger_file(file)?.ok_or_else(|| ApiError::not_found("Not found"))?;
    let content_type = HeaderValue::try_from(found.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok(([(CONTENT_TYPE, content_type)], found.bytes).into_response())
}

fn swagger_file(file: &str) -> Result<Option<utoipa_swagger_ui::SwaggerFile<'static>>, ApiError> {
    utoipa_swagger_ui::serve(file, Arc::clone(&SWAGGER_CONFIG))
        .map_err(|error| ApiError::internal(&error))
}

fn missing(file: &str) -> ApiError {
    ApiError::internal(&format_args!("Swagger UI has no {file}"))
}

/// `html` with every relative `href="…"` and `src="…"` moved under `docs/`: Swagger UI's
/// `index.html` refers to its files relatively (`./swagger-ui.css`, `index.css`), for a page
/// at `/docs/`; the page is served at `/docs`, whose relative URLs start at `/`.
fn under_docs(html: &str) -> String {
    const ATTRIBUTES: [&str; 2] = ["href=\"", "src=\""];
    let mut out = String::with_capacity(html.len() + 128);
    let mut rest = html;
    while let Some(start) = ATTRIBUTES
        .iter()
        .filter_map(|attribute| rest.find(attribute).map(|at| at + attribute.len()))
        .min()
    {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let value = rest.split('"').next().unwrap_or_default();
        let scheme = value
            .split(['/', '?', '#'])
            .next()
            .is_some_and(|first| first.contains(':'));
        if !value.starts_with(['/', '#']) && !scheme {
            out.push_str("docs/");
            rest = rest.strip_prefix("./").unwrap_or(rest);
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls_move_under_docs() {
        let html = r##"<link href="./swagger-ui.css" /><link href="index.css" />
<script src="./swagger-ui-bundle.js"> </script><a href="/abs">x</a><a href="#top">y</a>
<img src="https://example.com/a.png"><img src="data:image/png;base64,AA">"##;
        assert_eq!(
            under_docs(html),
            r##"<link href="docs/swagger-ui.css" /><link href="docs/index.css" />
<script src="docs/swagger-ui-bundle.js"> </script><a href="/abs">x</a><a href="#top">y</a>
<img src="https://example.com/a.png"><img src="data:image/png;base64,AA">"##
        );
    }

    #[test]
    fn the_bundled_page_loads_its_files_from_docs() {
        let index = swagger_file("index.html").unwrap().unwrap();
        let page = under_docs(std::str::from_utf8(&index.bytes).unwrap());
        assert!(
            page.contains(r#"src="docs/swagger-initializer.js""#),
            "{page}"
        );
        assert!(!page.contains("\"./"), "{page}");
        let initializer = swagger_file("swagger-initializer.js").unwrap().unwrap();
        let initializer = std::str::from_utf8(&initializer.bytes).unwrap();
        assert!(
            initializer.contains(r#""url": "/openapi.json""#),
            "{initializer}"
        );
        assert!(
            initializer.contains(r#""validatorUrl": "none""#),
            "{initializer}"
        );
    }
}
