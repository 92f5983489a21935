//! Fixtures shared by the fuzz targets: one secret, one fixed "now", the contract's user, an
//! HMAC independent of the library's to sign tokens by hand, and the invariants every target
//! asserts about errors and responses.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use jwt_gate::{
    Algorithm, Claims, Credentials, CurrentIdentity, FixedClock, FreshIdentity, Identity, Jwt,
    JwtBuilder, JwtError, Keys, MemoryStore,
};
use serde_json::{Value, json};

/// The HMAC secret of every target.
pub const SECRET: &str = "fuzzing-secret-0123456789abcdef-0123456789";
/// The fixed "now" of every target, in Unix seconds (the seeds' tokens are valid at it).
pub const NOW: i64 = 1_700_000_000;
/// The one user: id 1, `user1` / `abcxyz`.
pub const USERNAME: &str = "user1";
/// The password of [`USERNAME`].
pub const PASSWORD: &str = "abcxyz";

/// The user type of the targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The `identity` claim.
    pub id: i64,
}

impl Identity for User {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
}

/// A builder with `keys`, a [`FixedClock`] at [`NOW`] and the two callbacks (which never fail:
/// a 500 is then always a bug).
pub fn builder_with(keys: Keys) -> JwtBuilder<User> {
    Jwt::builder(keys)
        .clock(FixedClock::at_unix_seconds(NOW))
        .authenticate(|c: Credentials| async move {
            Ok::<_, Infallible>(
                (c.username == USERNAME && c.password == PASSWORD).then_some(User { id: 1 }),
            )
        })
        .identity(|claims: Claims<i64>| async move {
            Ok::<_, Infallible>((claims.identity == 1).then_some(User { id: 1 }))
        })
}

/// [`builder_with`] HS256 keys under [`SECRET`].
pub fn builder() -> JwtBuilder<User> {
    builder_with(keys(Algorithm::HS256))
}

/// Keys for `algorithm` under [`SECRET`].
pub fn keys(algorithm: Algorithm) -> Keys {
    Keys::hmac(algorithm, SECRET).expect("a valid secret")
}

/// The default `Jwt` (HS256, no revocation store), built once.
pub fn jwt() -> &'static Jwt<User> {
    static JWT: OnceLock<Jwt<User>> = OnceLock::new();
    JWT.get_or_init(|| builder().build().expect("a valid Jwt"))
}

/// A current-thread runtime with a paused clock (sleeps end at once), built once.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a runtime")
    })
}

/// base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `b64(header).b64(payload).<signature>` with a valid signature under [`SECRET`], computed
/// with the `hmac` crate (not the library's backend).
pub fn sign(algorithm: Algorithm, header: &[u8], payload: &[u8]) -> String {
    fn mac<M: Mac + hmac::digest::KeyInit>(input: &str) -> Vec<u8> {
        let mut mac = <M as Mac>::new_from_slice(SECRET.as_bytes()).expect("any key length");
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = match algorithm {
        Algorithm::HS384 => mac::<Hmac<sha2::Sha384>>(&input),
        Algorithm::HS512 => mac::<Hmac<sha2::Sha512>>(&input),
        _ => mac::<Hmac<sha2::Sha256>>(&input),
    };
    format!("{input}.{}", b64(signature))
}

/// Every refusal is a 4xx with a non-empty description, and renders through the error
/// handler as the same 4xx.
pub fn assert_client_error(jwt: &Jwt<User>, error: &JwtError) {
    let status = error.status();
    assert!(status.is_client_error(), "{status} for {error:?}");
    assert!(!error.to_string().is_empty(), "{error:?}");
    assert!(!error.title().is_empty(), "{error:?}");
    let response = jwt.error_response(error);
    assert_eq!(response.status(), status, "{error:?}");
    if status == StatusCode::UNAUTHORIZED {
        assert!(
            response
                .headers()
                .contains_key(http::header::WWW_AUTHENTICATE),
            "{error:?}"
        );
    }
}

/// PyJWT's `int()` of a JSON number, as the library documents it: fractions truncated, out of
/// range saturated; `None` for anything that is not a number.
pub fn numeric_date(value: &Value) -> Option<i64> {
    let number = value.as_number()?;
    Some(if let Some(i) = number.as_i64() {
        i
    } else if number.as_u64().is_some() {
        i64::MAX
    } else {
        number.as_f64().map_or(0, |f| f.trunc() as i64)
    })
}

/// How deep `value` nests arrays and objects (a scalar is 0).
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The test application: `/protected`, `/fresh`, `/optional`, the routes of `routes()` and
/// `json_errors` over all.
pub fn router(jwt: &Jwt<User>) -> Router {
    async fn protected(CurrentIdentity(user): CurrentIdentity<User>) -> Json<Value> {
        Json(json!({"id": user.id}))
    }
    async fn fresh(FreshIdentity(user): FreshIdentity<User>) -> Json<Value> {
        Json(json!({"id": user.id}))
    }
    async fn optional(user: Option<CurrentIdentity<User>>) -> Json<Value> {
        Json(json!({"user": user.map(|CurrentIdentity(u)| u.id)}))
    }
    let app = Router::new()
        .route("/protected", get(protected))
        .route("/optional", get(optional))
        .merge(if jwt.revocation_store().is_some() {
            Router::new().route("/fresh", get(fresh))
        } else {
            Router::new()
        })
        .merge(jwt.routes());
    jwt.json_errors(app).with_state(jwt.clone())
}

/// A `Jwt` with the lifecycle on (a new, empty [`MemoryStore`]).
pub fn lifecycle_jwt() -> Jwt<User> {
    builder()
        .revocation_store(Arc::new(MemoryStore::new()))
        .build()
        .expect("a valid Jwt")
}

/// A finished response with its body read.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: bytes::Bytes,
}

/// Sends `request` through `router` on [`runtime`] and reads the body.
pub fn send(router: &Router, request: http::Request<Body>) -> Reply {
    use tower::ServiceExt as _;
    runtime().block_on(async {
        let response: Response<Body> = router
            .clone()
            .oneshot(request)
            .await
            .expect("an infallible router");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("a readable body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    })
}

/// The invariants of any response: 200 or 4xx, never 5xx; an error body in the default
/// handler's shape with the response's status; a 401 with a challenge.
pub fn assert_reply(reply: &Reply, head: bool) {
    let status = reply.status;
    assert!(
        status == StatusCode::OK || status.is_client_error(),
        "status {status}: {:?}",
        String::from_utf8_lossy(&reply.body)
    );
    if head {
        return;
    }
    let body: Value = serde_json::from_slice(&reply.body)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {:?}", reply.body));
    if status.is_client_error() {
        assert_eq!(body["status_code"], status.as_u16(), "{body}");
        assert!(body["error"].is_string(), "{body}");
        assert!(body["description"].is_string(), "{body}");
        assert_eq!(body.as_object().map(|o| o.len()), Some(3), "{body}");
    }
    if status == StatusCode::UNAUTHORIZED {
        assert_eq!(
            reply
                .headers
                .get(http::header::WWW_AUTHENTICATE)
                .map(|v| v.as_bytes()),
            Some(&br#"JWT realm="Login Required""#[..]),
            "{body}"
        );
    }
}

/// A body that arrives in several frames (as a chunked upload does).
#[derive(Debug)]
pub struct Chunked(pub std::collections::VecDeque<bytes::Bytes>);

impl http_body::Body for Chunked {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(
            self.0
                .pop_front()
                .map(|chunk| Ok(http_body::Frame::data(chunk))),
        )
    }
}
