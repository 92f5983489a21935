//! The cookie mode (CONTRACT.md "Cookie extension"): Flask-JWT-Extended's cookie names, the
//! `csrf` claim and the `X-CSRF-TOKEN` double submit, through the `Router` with `oneshot`.
//!
//! The `Set-Cookie` lines are parsed here by hand (not with the library's `cookie` crate), and
//! every response read through [`set_cookies`] is checked to set each name at most once. Every
//! time rule runs on a [`FixedClock`](jwt_gate::FixedClock); nothing sleeps.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use common::{
    CHALLENGE, NOW, OTHER_SECRET, Reply, TestApp, User, assert_error, assert_user, b64, claims_for,
    segment_json, sign_json, sign_segments_with, token,
};
use jwt_gate::{
    CurrentIdentity, FixedClock, FreshIdentity, Jwt, JwtBuilder, JwtConfig, JwtError, MemoryStore,
    RevocationStore, TokenLocation, Tokens,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The app.

const ACCESS: &str = "access_token_cookie";
const ACCESS_CSRF: &str = "csrf_access_token";
const REFRESH: &str = "refresh_token_cookie";
const REFRESH_CSRF: &str = "csrf_refresh_token";
const FOUR: [&str; 4] = [ACCESS, ACCESS_CSRF, REFRESH, REFRESH_CSRF];

const ACCESS_LIFETIME: u64 = 300;
const REFRESH_LIFETIME: u64 = 30 * 24 * 60 * 60;

const MISSING_CSRF: &str = "Missing CSRF token";
const CSRF_MISMATCH: &str = "CSRF double submit tokens do not match";
const REVOKED: &str = "Token has been revoked";

/// The state-changing methods that the double submit guards.
const CSRF_METHODS: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];

async fn protected(CurrentIdentity(user): CurrentIdentity<User>) -> Json<Value> {
    Json(json!({"id": user.id, "username": user.username}))
}

async fn fresh(FreshIdentity(user): FreshIdentity<User>) -> Json<Value> {
    Json(json!({"id": user.id, "username": user.username}))
}

async fn optional(user: Option<CurrentIdentity<User>>) -> Json<Value> {
    Json(json!({"user": user.map(|CurrentIdentity(u)| u.username)}))
}

async fn public() -> Json<Value> {
    Json(json!({"ok": true}))
}

/// `/protected` on GET, POST, PUT, PATCH, DELETE and OPTIONS (one handler: the same checks and
/// body on every method), `GET /fresh`, `GET /optional`, `GET /public`, the routes of
/// `routes()`, and `json_errors` over all.
fn cookie_router(jwt: &Jwt<User>) -> Router {
    let app = Router::new()
        .route(
            "/protected",
            get(protected)
                .post(protected)
                .put(protected)
                .patch(protected)
                .delete(protected)
                .options(protected),
        )
        .route("/fresh", get(fresh))
        .route("/optional", get(optional))
        .route("/public", get(public))
        .merge(jwt.routes());
    jwt.json_errors(app).with_state(jwt.clone())
}

/// An app at `location`, on `clock`, with the lifecycle on `store` when given, the settings
/// `config` and the builder changed by `customize`.
fn build(
    location: TokenLocation,
    clock: &Arc<FixedClock>,
    store: Option<Arc<dyn RevocationStore>>,
    config: JwtConfig,
    customize: impl FnOnce(JwtBuilder<User>) -> JwtBuilder<User>,
) -> TestApp {
    let mut builder = common::builder(clock)
        .config(config)
        .token_location(location);
    if let Some(store) = store {
        builder = builder.revocation_store(store);
    }
    let jwt = customize(builder).build().expect("a valid app");
    let router = cookie_router(&jwt);
    TestApp {
        jwt,
        clock: Arc::clone(clock),
        router,
    }
}

/// `location` with every default, no lifecycle.
fn plain(location: TokenLocation) -> TestApp {
    build(
        location,
        &common::clock(),
        None,
        JwtConfig::default(),
        |b| b,
    )
}

/// `location` with the lifecycle on a fresh `MemoryStore`.
fn lifecycle(location: TokenLocation) -> TestApp {
    build(
        location,
        &common::clock(),
        Some(Arc::new(MemoryStore::new())),
        JwtConfig::default(),
        |b| b,
    )
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// `method path` with `headers`, no body.
fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).expect("a request")
}

/// `Cookie: <name>=<value>`.
fn cookie_pair(name: &str, value: &str) -> String {
    format!("{name}={value}")
}

/// `method path` with the access-token cookie `token` and `X-CSRF-TOKEN: <csrf>` when given.
fn with_cookie(method: &str, path: &str, token: &str, csrf: Option<&str>) -> Request<Body> {
    with_named_cookie(method, path, ACCESS, token, csrf)
}

/// `method path` with the cookie `name=token` and `X-CSRF-TOKEN: <csrf>` when given.
fn with_named_cookie(
    method: &str,
    path: &str,
    name: &str,
    token: &str,
    csrf: Option<&str>,
) -> Request<Body> {
    let cookie = cookie_pair(name, token);
    let mut headers = vec![("Cookie", cookie.as_str())];
    if let Some(csrf) = csrf {
        headers.push(("X-CSRF-TOKEN", csrf));
    }
    request(method, path, &headers)
}

/// `method path` with `Authorization: JWT <token>`.
fn with_header(method: &str, path: &str, token: &str) -> Request<Body> {
    let authorization = format!("JWT {token}");
    request(method, path, &[("Authorization", &authorization)])
}

async fn try_login(app: &TestApp, username: &str, password: &str) -> Reply {
    let body = json!({"username": username, "password": password}).to_string();
    app.post_json("/auth", &body).await
}

// ---------------------------------------------------------------------------------------------
// Set-Cookie, parsed by hand.

/// One `Set-Cookie` line: `name=value` and its attributes (names lower-cased, in order).
#[derive(Clone, Debug)]
struct SetCookie {
    line: String,
    name: String,
    value: String,
    attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    fn parse(line: &str) -> Self {
        let mut parts = line.split(';');
        let (name, value) = parts
            .next()
            .and_then(|pair| pair.split_once('='))
            .unwrap_or_else(|| panic!("no name=value in {line:?}"));
        let attributes = parts
            .map(|attribute| {
                let attribute = attribute.trim();
                match attribute.split_once('=') {
                    Some((n, v)) => (n.trim().to_ascii_lowercase(), Some(v.trim().to_owned())),
                    None => (attribute.to_ascii_lowercase(), None),
                }
            })
            .collect();
        Self {
            line: line.to_owned(),
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            attributes,
        }
    }

    /// Every occurrence of attribute `name` (lower case).
    fn all(&self, name: &str) -> Vec<&Option<String>> {
        self.attributes
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect()
    }

    /// Whether the flag attribute `name` is present (at most once, without a value).
    fn flag(&self, name: &str) -> bool {
        match self.all(name).as_slice() {
            [] => false,
            [None] => true,
            other => panic!("{name} is {other:?} in {:?}", self.line),
        }
    }

    /// The value of attribute `name` (present at most once).
    fn get(&self, name: &str) -> Option<&str> {
        match self.all(name).as_slice() {
            [] => None,
            [Some(value)] => Some(value),
            other => panic!("{name} is {other:?} in {:?}", self.line),
        }
    }
}

/// The `Set-Cookie` lines of `reply` by cookie name; each name is set at most once.
#[track_caller]
fn set_cookies(reply: &Reply) -> BTreeMap<String, SetCookie> {
    let mut cookies = BTreeMap::new();
    for value in reply.headers.get_all(SET_COOKIE) {
        let cookie = SetCookie::parse(value.to_str().expect("a text Set-Cookie"));
        let name = cookie.name.clone();
        assert!(
            cookies.insert(name.clone(), cookie).is_none(),
            "{name} is set twice in one response: {:?}",
            reply.headers
        );
    }
    cookies
}

#[track_caller]
fn assert_no_set_cookie(reply: &Reply) {
    assert_eq!(
        reply.headers.get_all(SET_COOKIE).iter().count(),
        0,
        "a Set-Cookie on {} {}: {:?}",
        reply.status,
        reply.text(),
        reply.headers
    );
}

/// What a cookie of the cookie mode must look like.
#[derive(Clone, Copy, Debug)]
struct Shape<'a> {
    http_only: bool,
    secure: bool,
    path: &'a str,
    max_age: u64,
}

/// The attributes of every cookie: `SameSite=Lax`, `Secure` as configured, no `Domain`,
/// `HttpOnly` on token cookies only, the `Path` and the `Max-Age` of `shape`; nothing else but
/// an optional `Expires`.
#[track_caller]
fn assert_shape(cookie: &SetCookie, shape: Shape<'_>) {
    let line = &cookie.line;
    let known: BTreeSet<&str> = [
        "httponly", "secure", "samesite", "path", "max-age", "expires",
    ]
    .into_iter()
    .collect();
    for (name, _) in &cookie.attributes {
        assert!(known.contains(name.as_str()), "{name} in {line:?}");
    }
    assert!(cookie.all("domain").is_empty(), "a Domain in {line:?}");
    assert_eq!(cookie.get("samesite"), Some("Lax"), "{line:?}");
    assert_eq!(cookie.flag("secure"), shape.secure, "Secure in {line:?}");
    assert_eq!(
        cookie.flag("httponly"),
        shape.http_only,
        "HttpOnly in {line:?}"
    );
    assert_eq!(cookie.get("path"), Some(shape.path), "{line:?}");
    assert_eq!(
        cookie.get("max-age"),
        Some(shape.max_age.to_string().as_str()),
        "{line:?}"
    );
}

/// The shapes of the four cookies, for lifetimes `access` and `refresh` and the refresh path.
fn shapes(secure: bool, refresh_path: &str, access: u64, refresh: u64) -> [Shape<'_>; 4] {
    [
        Shape {
            http_only: true,
            secure,
            path: "/",
            max_age: access,
        },
        Shape {
            http_only: false,
            secure,
            path: "/",
            max_age: access,
        },
        Shape {
            http_only: true,
            secure,
            path: refresh_path,
            max_age: refresh,
        },
        Shape {
            http_only: false,
            secure,
            path: "/",
            max_age: refresh,
        },
    ]
}

/// Asserts that `reply` clears exactly the four cookies: empty values, `Max-Age=0`, the `Path`
/// they were set with, the same `Secure`, `HttpOnly` and `SameSite`, and an `Expires` (if any)
/// in the past.
#[track_caller]
fn assert_clears_four(reply: &Reply, secure: bool, refresh_path: &str) {
    let cookies = set_cookies(reply);
    let names: BTreeSet<&str> = cookies.keys().map(String::as_str).collect();
    assert_eq!(names, FOUR.into_iter().collect(), "{:?}", reply.headers);
    for (name, shape) in FOUR.iter().zip(shapes(secure, refresh_path, 0, 0)) {
        let cookie = &cookies[*name];
        assert_eq!(cookie.value, "", "{:?}", cookie.line);
        assert_shape(cookie, shape);
        if let Some(expires) = cookie.get("expires") {
            let at = http_date(expires);
            assert!(
                at < SystemTime::now(),
                "Expires {expires} is not in the past"
            );
        }
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as a time.
fn http_date(text: &str) -> SystemTime {
    let fields: Vec<&str> = text.split([' ', ':']).collect();
    let [_, day, month, year, hour, minute, second, "GMT"] = fields.as_slice() else {
        panic!("not an IMF-fixdate: {text:?}");
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = i64::try_from(months.iter().position(|m| m == month).expect("a month")).unwrap();
    let (year, day): (i64, i64) = (year.parse().unwrap(), day.parse().unwrap());
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if month < 2 {
        (year - 1, month + 10)
    } else {
        (year, month - 2)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400
        + hour.parse::<i64>().unwrap() * 3600
        + minute.parse::<i64>().unwrap() * 60
        + second.parse::<i64>().unwrap();
    UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).expect("after 1970"))
}

// ---------------------------------------------------------------------------------------------
// Sessions.

/// The tokens and CSRF values a response set in cookies.
#[derive(Clone, Debug)]
struct Session {
    access: String,
    access_csrf: String,
    refresh: Option<String>,
    refresh_csrf: Option<String>,
}

impl Session {
    /// From the `Set-Cookie` lines of a login or refresh answer (each CSRF cookie must hold
    /// the `csrf` claim of its token).
    #[track_caller]
    fn from_reply(reply: &Reply) -> Self {
        let cookies = set_cookies(reply);
        let value = |name: &str| cookies.get(name).map(|c| c.value.clone());
        let session = Self {
            access: value(ACCESS).expect("an access_token_cookie"),
            access_csrf: value(ACCESS_CSRF).expect("a csrf_access_token"),
            refresh: value(REFRESH),
            refresh_csrf: value(REFRESH_CSRF),
        };
        assert_eq!(session.refresh.is_some(), session.refresh_csrf.is_some());
        assert_eq!(csrf_claim(&session.access), session.access_csrf);
        if let (Some(refresh), Some(csrf)) = (&session.refresh, &session.refresh_csrf) {
            assert_eq!(&csrf_claim(refresh), csrf);
        }
        session
    }

    fn refresh(&self) -> &str {
        self.refresh.as_deref().expect("a refresh token")
    }

    fn refresh_csrf(&self) -> &str {
        self.refresh_csrf.as_deref().expect("a refresh csrf")
    }
}

/// A successful login of `username` on a cookie app.
async fn login_as(app: &TestApp, username: &str, password: &str) -> Session {
    let reply = try_login(app, username, password).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    Session::from_reply(&reply)
}

async fn login1(app: &TestApp) -> Session {
    login_as(app, "user1", "abcxyz").await
}

async fn login2(app: &TestApp) -> Session {
    login_as(app, "user2", "xyzabc").await
}

fn claims_of(token: &str) -> Value {
    segment_json(token, 1)
}

fn claim_names(token: &str) -> BTreeSet<String> {
    claims_of(token)
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

/// The `csrf` claim of `token`, which must be a string.
fn csrf_claim(token: &str) -> String {
    claims_of(token)["csrf"]
        .as_str()
        .unwrap_or_else(|| panic!("no string csrf claim in {}", claims_of(token)))
        .to_owned()
}

/// 16 to 128 characters of `A-Z a-z 0-9 - _`, and at least 21 of them (122 random bits need
/// at least 21 symbols of a 64-symbol alphabet).
#[track_caller]
fn assert_csrf_value(csrf: &str) {
    assert!(
        (16..=128).contains(&csrf.len()),
        "csrf {csrf:?}: {} characters",
        csrf.len()
    );
    assert!(
        csrf.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "csrf {csrf:?} has a character outside A-Z a-z 0-9 - _"
    );
    assert!(
        csrf.len() >= 21,
        "csrf {csrf:?} is too short to hold 122 random bits"
    );
}

/// Asserts a 401 `Invalid CSRF token` with `description`, the challenge, and no Set-Cookie.
#[track_caller]
fn assert_csrf_error(reply: &Reply, description: &str) {
    assert_error(reply, 401, "Invalid CSRF token", description);
    assert_no_set_cookie(reply);
}

#[track_caller]
fn assert_missing_token(reply: &Reply) {
    assert_error(
        reply,
        401,
        "Authorization Required",
        "Request does not contain an access token",
    );
    assert_no_set_cookie(reply);
}

#[track_caller]
fn assert_revoked(reply: &Reply) {
    assert_error(reply, 401, "Revoked token", REVOKED);
    assert_no_set_cookie(reply);
}

/// Asserts that `cookie` (from a cookie app) was refused exactly like `header` (the same token
/// in the `Authorization` header of a headers app): a 401 with the same body and challenge.
#[track_caller]
fn assert_same_refusal(cookie: &Reply, header: &Reply, what: &str) {
    assert_eq!(
        header.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        header.text()
    );
    assert_eq!(cookie.status, header.status, "{what}: {}", cookie.text());
    assert_eq!(cookie.json(), header.json(), "{what}");
    assert_eq!(cookie.challenge(), Some(CHALLENGE), "{what}");
    assert_eq!(cookie.challenge(), header.challenge(), "{what}");
    assert_no_set_cookie(cookie);
}

/// The body of a logout's 200: `{"message": "<text>"}`.
#[track_caller]
fn assert_logged_out(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 1, "{body}");
    assert!(object["message"].is_string(), "{body}");
}

// ---------------------------------------------------------------------------------------------
// Login and the cookies it sets.

#[tokio::test]
async fn a_cookie_login_answers_login_true_and_sets_the_access_pair() {
    let app = plain(TokenLocation::Cookies);
    let reply = try_login(&app, "user1", "abcxyz").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json(), json!({"login": true}));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("content-type"), Some("application/json"));

    let cookies = set_cookies(&reply);
    let names: BTreeSet<&str> = cookies.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from([ACCESS, ACCESS_CSRF]));
    let [access_shape, csrf_shape, ..] = shapes(true, "/refresh", ACCESS_LIFETIME, 0);
    assert_shape(&cookies[ACCESS], access_shape);
    assert_shape(&cookies[ACCESS_CSRF], csrf_shape);

    let session = Session::from_reply(&reply);
    // No token in the body, the token in the cookie.
    assert!(!reply.text().contains(&session.access));
    assert_eq!(
        claim_names(&session.access),
        ["csrf", "exp", "iat", "identity", "nbf"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
    let claims = claims_of(&session.access);
    assert_eq!(claims["identity"], 1);
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["nbf"], NOW);
    assert_eq!(claims["exp"], NOW + 300);
    assert_csrf_value(&session.access_csrf);
    assert_user(
        &app.send(with_cookie("GET", "/protected", &session.access, None))
            .await,
        1,
    );
}

#[tokio::test]
async fn a_cookie_login_with_the_lifecycle_sets_the_four_cookies() {
    for secure in [true, false] {
        let app = build(
            TokenLocation::Cookies,
            &common::clock(),
            Some(Arc::new(MemoryStore::new())),
            JwtConfig::default(),
            |b| b.secure_cookies(secure),
        );
        let reply = try_login(&app, "user1", "abcxyz").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.json(), json!({"login": true}));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let cookies = set_cookies(&reply);
        let names: BTreeSet<&str> = cookies.keys().map(String::as_str).collect();
        assert_eq!(names, FOUR.into_iter().collect());
        for (name, shape) in FOUR.iter().zip(shapes(
            secure,
            "/refresh",
            ACCESS_LIFETIME,
            REFRESH_LIFETIME,
        )) {
            assert_shape(&cookies[*name], shape);
        }
        let session = Session::from_reply(&reply);
        assert_eq!(claims_of(&session.access)["type"], "access");
        assert_eq!(claims_of(&session.access)["fresh"], true);
        assert_eq!(claims_of(session.refresh())["type"], "refresh");
        assert_csrf_value(&session.access_csrf);
        assert_csrf_value(session.refresh_csrf());
        assert_ne!(session.access_csrf, session.refresh_csrf());
    }
}

#[tokio::test]
async fn max_age_follows_the_token_lifetimes_and_the_refresh_path_the_refresh_rule() {
    let mut config = JwtConfig::default();
    config.expiration_delta = secs(120);
    config.refresh_expiration_delta = secs(7200);
    config.refresh_url_rule = "/session/renew".to_owned();
    for location in [TokenLocation::Cookies, TokenLocation::HeadersAndCookies] {
        let app = build(
            location,
            &common::clock(),
            Some(Arc::new(MemoryStore::new())),
            config.clone(),
            |b| b,
        );
        let reply = try_login(&app, "user1", "abcxyz").await;
        let cookies = set_cookies(&reply);
        for (name, shape) in FOUR.iter().zip(shapes(true, "/session/renew", 120, 7200)) {
            assert_shape(&cookies[*name], shape);
        }
        let session = Session::from_reply(&reply);
        assert_eq!(claims_of(&session.access)["exp"], NOW + 120);
        assert_eq!(claims_of(session.refresh())["exp"], NOW + 7200);

        // The refresh route is where the refresh cookie is scoped, and it reads that cookie.
        let refreshed = app
            .send(with_named_cookie(
                "POST",
                "/session/renew",
                REFRESH,
                session.refresh(),
                Some(session.refresh_csrf()),
            ))
            .await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
        let cookies = set_cookies(&refreshed);
        for (name, shape) in FOUR.iter().zip(shapes(true, "/session/renew", 120, 7200)) {
            assert_shape(&cookies[*name], shape);
        }
        let logout = app
            .send(with_cookie(
                "POST",
                "/logout",
                &Session::from_reply(&refreshed).access,
                Some(&Session::from_reply(&refreshed).access_csrf),
            ))
            .await;
        assert_logged_out(&logout);
        assert_clears_four(&logout, true, "/session/renew");
    }
}

#[tokio::test]
async fn the_lifetime_is_read_when_the_cookie_is_set() {
    let app = plain(TokenLocation::Cookies);
    app.jwt
        .update_config(|c| c.expiration_delta = secs(45))
        .unwrap();
    let reply = try_login(&app, "user1", "abcxyz").await;
    let cookies = set_cookies(&reply);
    assert_eq!(cookies[ACCESS].get("max-age"), Some("45"));
    assert_eq!(cookies[ACCESS_CSRF].get("max-age"), Some("45"));
    assert_eq!(
        claims_of(&Session::from_reply(&reply).access)["exp"],
        NOW + 45
    );
}

#[tokio::test]
async fn secure_cookies_false_drops_secure_from_every_cookie() {
    let app = build(
        TokenLocation::Cookies,
        &common::clock(),
        None,
        JwtConfig::default(),
        |b| b.secure_cookies(false),
    );
    let reply = try_login(&app, "user1", "abcxyz").await;
    let cookies = set_cookies(&reply);
    let [access_shape, csrf_shape, ..] = shapes(false, "/refresh", ACCESS_LIFETIME, 0);
    assert_shape(&cookies[ACCESS], access_shape);
    assert_shape(&cookies[ACCESS_CSRF], csrf_shape);
    let session = Session::from_reply(&reply);
    let logout = app
        .send(with_cookie(
            "POST",
            "/logout",
            &session.access,
            Some(&session.access_csrf),
        ))
        .await;
    assert_logged_out(&logout);
    assert_clears_four(&logout, false, "/refresh");
}

#[tokio::test]
async fn a_headers_and_cookies_login_answers_the_header_body_and_sets_the_same_tokens() {
    // Without the lifecycle.
    let app = plain(TokenLocation::HeadersAndCookies);
    let reply = try_login(&app, "user1", "abcxyz").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let session = Session::from_reply(&reply);
    assert_eq!(body["access_token"], session.access.as_str());
    assert_eq!(set_cookies(&reply).len(), 2);
    assert_eq!(
        claim_names(&session.access),
        ["csrf", "exp", "iat", "identity", "nbf"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
    assert_csrf_value(&session.access_csrf);
    // The token of the body works in the header, the cookie's in the cookie.
    assert_user(&app.protected(&session.access).await, 1);
    assert_user(
        &app.send(with_cookie("GET", "/protected", &session.access, None))
            .await,
        1,
    );

    // With the lifecycle.
    let app = lifecycle(TokenLocation::HeadersAndCookies);
    let reply = try_login(&app, "user2", "xyzabc").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    let session = Session::from_reply(&reply);
    assert_eq!(body["access_token"], session.access.as_str());
    assert_eq!(body["refresh_token"], session.refresh());
    assert_eq!(set_cookies(&reply).len(), 4);
}

#[tokio::test]
async fn the_auth_response_hook_keeps_the_cookies_and_sees_the_mode_body() {
    let user_id = |b: JwtBuilder<User>| {
        b.auth_response(|tokens: Tokens, user: &User| {
            let mut body = tokens.body();
            body.insert("user_id".to_owned(), Value::from(user.id));
            Json(body)
        })
    };
    let app = build(
        TokenLocation::Cookies,
        &common::clock(),
        None,
        JwtConfig::default(),
        user_id,
    );
    let reply = try_login(&app, "user2", "xyzabc").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json(), json!({"login": true, "user_id": 2}));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let session = Session::from_reply(&reply);
    assert_user(
        &app.send(with_cookie("GET", "/protected", &session.access, None))
            .await,
        2,
    );

    let app = build(
        TokenLocation::HeadersAndCookies,
        &common::clock(),
        None,
        JwtConfig::default(),
        user_id,
    );
    let reply = try_login(&app, "user1", "abcxyz").await;
    let session = Session::from_reply(&reply);
    assert_eq!(
        reply.json(),
        json!({"access_token": session.access, "user_id": 1})
    );
}

#[tokio::test]
async fn a_login_answer_that_is_not_a_200_sets_no_cookie() {
    let app = build(
        TokenLocation::Cookies,
        &common::clock(),
        None,
        JwtConfig::default(),
        |b| {
            b.auth_response(|_: Tokens, _: &User| {
                (StatusCode::FORBIDDEN, Json(json!({"message": "not today"})))
            })
        },
    );
    let reply = try_login(&app, "user1", "abcxyz").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_no_set_cookie(&reply);
}

#[tokio::test]
async fn a_failed_login_sets_no_cookie() {
    for app in [
        plain(TokenLocation::Cookies),
        lifecycle(TokenLocation::Cookies),
        lifecycle(TokenLocation::HeadersAndCookies),
    ] {
        let wrong = try_login(&app, "user1", "wrong").await;
        assert_error(&wrong, 401, "Bad Request", "Invalid credentials");
        assert_no_set_cookie(&wrong);
        for (content_type, body, status) in [
            (
                Some("text/plain"),
                r#"{"username":"user1","password":"abcxyz"}"#,
                415,
            ),
            (Some("application/json"), "{", 400),
            (Some("application/json"), "[1]", 400),
            (None, "", 415),
        ] {
            let reply = app
                .send(common::post("/auth", content_type, body.to_owned()))
                .await;
            assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
            assert_no_set_cookie(&reply);
        }
        let get = app.send(request("GET", "/auth", &[])).await;
        assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_no_set_cookie(&get);
    }
}

// ---------------------------------------------------------------------------------------------
// The csrf claim.

#[tokio::test]
async fn every_token_gets_a_new_csrf_claim() {
    let app = lifecycle(TokenLocation::Cookies);
    let mut seen = HashSet::new();
    for _ in 0..10 {
        for session in [login1(&app).await, login2(&app).await] {
            for csrf in [
                session.access_csrf.clone(),
                session.refresh_csrf().to_owned(),
            ] {
                assert_csrf_value(&csrf);
                assert!(seen.insert(csrf.clone()), "csrf {csrf:?} issued twice");
            }
            let refreshed = app
                .send(with_named_cookie(
                    "POST",
                    "/refresh",
                    REFRESH,
                    session.refresh(),
                    Some(session.refresh_csrf()),
                ))
                .await;
            assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
            let next = Session::from_reply(&refreshed);
            for csrf in [next.access_csrf.clone(), next.refresh_csrf().to_owned()] {
                assert_csrf_value(&csrf);
                assert!(seen.insert(csrf.clone()), "csrf {csrf:?} issued twice");
            }
        }
    }
    // Tokens issued by `issue` outside a login carry one too.
    let issued = app.jwt.issue(&common::user(1)).unwrap();
    assert!(seen.insert(csrf_claim(&issued)));
    assert_csrf_value(&csrf_claim(&issued));
}

#[tokio::test]
async fn a_payload_hook_cannot_choose_the_csrf_claim() {
    let app = build(
        TokenLocation::Cookies,
        &common::clock(),
        None,
        JwtConfig::default(),
        |b| {
            b.payload(|_: &User| {
                json!({"csrf": "chosen-by-the-app-0123456789", "role": "admin"})
                    .as_object()
                    .unwrap()
                    .clone()
            })
        },
    );
    let session = login1(&app).await;
    assert_ne!(session.access_csrf, "chosen-by-the-app-0123456789");
    assert_csrf_value(&session.access_csrf);
    assert_eq!(claims_of(&session.access)["role"], "admin");
    let fixed = app
        .send(with_cookie(
            "POST",
            "/protected",
            &session.access,
            Some("chosen-by-the-app-0123456789"),
        ))
        .await;
    assert_csrf_error(&fixed, CSRF_MISMATCH);
}

// ---------------------------------------------------------------------------------------------
// Headers mode: nothing of the cookie mode.

#[tokio::test]
async fn the_headers_mode_sets_no_cookie_issues_no_csrf_and_reads_no_cookie() {
    let clock = common::clock();
    let cookie_app = build(
        TokenLocation::Cookies,
        &clock,
        None,
        JwtConfig::default(),
        |b| b,
    );
    let cookie_token = login1(&cookie_app).await.access;
    for headers_app in [
        plain(TokenLocation::Headers),
        TestApp::with(|b| b.token_location(TokenLocation::Headers)),
        TestApp::new(),
    ] {
        let reply = try_login(&headers_app, "user1", "abcxyz").await;
        assert_no_set_cookie(&reply);
        let token = reply.json()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(reply.json().as_object().unwrap().len(), 1);
        assert_eq!(
            claim_names(&token),
            ["exp", "iat", "identity", "nbf"]
                .into_iter()
                .map(str::to_owned)
                .collect()
        );
        let ok = headers_app.protected(&token).await;
        assert_user(&ok, 1);
        assert_no_set_cookie(&ok);
        // A valid token in the cookie is no token at all.
        let cookie = headers_app
            .send(with_cookie("GET", "/protected", &cookie_token, None))
            .await;
        assert_missing_token(&cookie);
        // No logout route without the lifecycle.
        let logout = headers_app
            .send(with_header("POST", "/logout", &token))
            .await;
        assert_eq!(logout.status, StatusCode::NOT_FOUND, "{}", logout.text());
        assert_no_set_cookie(&logout);
    }
    assert!(claims_of(&TestApp::new().jwt.issue(&common::user(1)).unwrap())["csrf"].is_null());
}

#[tokio::test]
async fn the_headers_mode_with_the_lifecycle_sets_no_cookie_anywhere() {
    let app = lifecycle(TokenLocation::Headers);
    let reply = try_login(&app, "user1", "abcxyz").await;
    assert_no_set_cookie(&reply);
    let body = reply.json();
    let (access, refresh) = (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert!(claims_of(&access).get("csrf").is_none());
    assert!(claims_of(&refresh).get("csrf").is_none());
    // The refresh cookie is not read either.
    assert_missing_token(
        &app.send(with_named_cookie(
            "POST", "/refresh", REFRESH, &refresh, None,
        ))
        .await,
    );
    let refreshed = app.send(with_header("POST", "/refresh", &refresh)).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
    assert_no_set_cookie(&refreshed);
    let access2 = refreshed.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(claims_of(&access2).get("csrf").is_none());
    // POST with a header token and no CSRF header: fine, there is no double submit.
    let post = app.send(with_header("POST", "/protected", &access2)).await;
    assert_user(&post, 1);
    let logout = app.send(with_header("POST", "/logout", &access2)).await;
    assert_logged_out(&logout);
    assert_no_set_cookie(&logout);
    let access3 = try_login(&app, "user1", "abcxyz").await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let all = app.send(with_header("POST", "/logout-all", &access3)).await;
    assert_logged_out(&all);
    assert_no_set_cookie(&all);
}

// ---------------------------------------------------------------------------------------------
// Where the token is read.

#[tokio::test]
async fn the_cookies_mode_ignores_the_authorization_header_entirely() {
    let app = plain(TokenLocation::Cookies);
    let session = login1(&app).await;
    let header_app = plain(TokenLocation::Headers);
    let header_token = header_app.jwt.issue(&common::user(2)).unwrap();
    let cookie_token = app.jwt.issue(&common::user(2)).unwrap();

    // A valid token in the header and no cookie: the missing-token 401.
    for token in [&header_token, &cookie_token, &session.access] {
        assert_missing_token(&app.send(with_header("GET", "/protected", token)).await);
        assert_missing_token(&app.send(with_header("POST", "/logout", token)).await);
    }
    assert_eq!(
        app.send(with_header("GET", "/optional", &cookie_token))
            .await
            .json(),
        json!({"user": null})
    );

    // Whatever the header holds, the cookie decides.
    let cookie = cookie_pair(ACCESS, &session.access);
    let other = format!("JWT {cookie_token}");
    for authorization in [
        "JWT",
        "Bearer abc",
        "JWT not.a.token",
        "JWT a b",
        "garbage",
        other.as_str(),
    ] {
        let reply = app
            .send(request(
                "GET",
                "/protected",
                &[("Cookie", &cookie), ("Authorization", authorization)],
            ))
            .await;
        assert_user(&reply, 1);
        // The header's token never stands in for the CSRF check either.
        let post = app
            .send(request(
                "POST",
                "/protected",
                &[("Cookie", &cookie), ("Authorization", authorization)],
            ))
            .await;
        assert_csrf_error(&post, MISSING_CSRF);
    }
    // Several Authorization headers are ignored too.
    let mut several = request("GET", "/protected", &[("Cookie", &cookie)]);
    for value in ["JWT a", "JWT b"] {
        several
            .headers_mut()
            .append(AUTHORIZATION, value.parse().unwrap());
    }
    assert_user(&app.send(several).await, 1);
}

#[tokio::test]
async fn headers_and_cookies_a_present_authorization_header_decides_alone() {
    let clock = common::clock();
    let app = build(
        TokenLocation::HeadersAndCookies,
        &clock,
        None,
        JwtConfig::default(),
        |b| b,
    );
    let headers_app = build(
        TokenLocation::Headers,
        &clock,
        None,
        JwtConfig::default(),
        |b| b,
    );
    let session = login1(&app).await;
    let cookie = cookie_pair(ACCESS, &session.access);
    let user2 = app.jwt.issue(&common::user(2)).unwrap();

    // A valid header: its token, no CSRF needed, even on state-changing methods.
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert_user(
            &app.send(with_header(method, "/protected", &user2)).await,
            2,
        );
        let both = app
            .send(request(
                method,
                "/protected",
                &[
                    ("Cookie", &cookie),
                    ("Authorization", &format!("JWT {user2}")),
                ],
            ))
            .await;
        assert_user(&both, 2);
    }

    // A bad header is its own 401 even next to a valid cookie and the right CSRF header: no
    // fallback to the cookie.
    let expired = sign_json(
        common::HS256_HEADER,
        &json!({"identity": 1, "iat": NOW - 1000, "nbf": NOW - 1000, "exp": NOW - 500}).to_string(),
    );
    let unknown = token(&claims_for(&json!(99)));
    let bad_headers = [
        "JWT".to_owned(),
        "Bearer abc".to_owned(),
        "JWT a b".to_owned(),
        "JWT not-a-token".to_owned(),
        format!("JWT {expired}"),
        format!("JWT {unknown}"),
    ];
    for bad in &bad_headers {
        for method in ["GET", "POST"] {
            let reply = app
                .send(request(
                    method,
                    "/protected",
                    &[
                        ("Cookie", &cookie),
                        ("X-CSRF-TOKEN", &session.access_csrf),
                        ("Authorization", bad),
                    ],
                ))
                .await;
            let header_only = headers_app
                .send(request("GET", "/protected", &[("Authorization", bad)]))
                .await;
            assert_same_refusal(&reply, &header_only, bad);
        }
    }
    // Several Authorization headers are a present header too.
    let mut several = request("GET", "/protected", &[("Cookie", &cookie)]);
    for value in ["JWT a", "JWT b"] {
        several
            .headers_mut()
            .append(AUTHORIZATION, value.parse().unwrap());
    }
    assert_error(
        &app.send(several).await,
        401,
        "Invalid JWT header",
        "Multiple authorization headers",
    );

    // A blank header is no header: the cookie is read, with its CSRF rule.
    for blank in ["", " ", "  \t "] {
        let get = app
            .send(request(
                "GET",
                "/protected",
                &[("Cookie", &cookie), ("Authorization", blank)],
            ))
            .await;
        assert_user(&get, 1);
        let post = app
            .send(request(
                "POST",
                "/protected",
                &[("Cookie", &cookie), ("Authorization", blank)],
            ))
            .await;
        assert_csrf_error(&post, MISSING_CSRF);
        let post = app
            .send(request(
                "POST",
                "/protected",
                &[
                    ("Cookie", &cookie),
                    ("Authorization", blank),
                    ("X-CSRF-TOKEN", &session.access_csrf),
                ],
            ))
            .await;
        assert_user(&post, 1);
    }

    // No header: the cookie, with its CSRF rule.
    assert_user(
        &app.send(with_cookie("GET", "/protected", &session.access, None))
            .await,
        1,
    );
    assert_csrf_error(
        &app.send(with_cookie("POST", "/protected", &session.access, None))
            .await,
        MISSING_CSRF,
    );
    // Neither: the missing-token 401.
    assert_missing_token(&app.send(request("GET", "/protected", &[])).await);
}

#[tokio::test]
async fn an_empty_cookie_counts_as_absent() {
    for location in [TokenLocation::Cookies, TokenLocation::HeadersAndCookies] {
        let app = lifecycle(location);
        let session = login1(&app).await;
        for cookies in [
            "access_token_cookie=".to_owned(),
            "other=1; access_token_cookie=".to_owned(),
            format!(
                "access_token_cookie=; {ACCESS_CSRF}={}",
                session.access_csrf
            ),
        ] {
            let get = app
                .send(request("GET", "/protected", &[("Cookie", &cookies)]))
                .await;
            assert_missing_token(&get);
            let post = app
                .send(request(
                    "POST",
                    "/protected",
                    &[("Cookie", &cookies), ("X-CSRF-TOKEN", &session.access_csrf)],
                ))
                .await;
            assert_missing_token(&post);
            let optional = app
                .send(request("GET", "/optional", &[("Cookie", &cookies)]))
                .await;
            assert_eq!(optional.json(), json!({"user": null}));
        }
        let refresh = app
            .send(request(
                "POST",
                "/refresh",
                &[
                    ("Cookie", "refresh_token_cookie="),
                    ("X-CSRF-TOKEN", session.refresh_csrf()),
                ],
            ))
            .await;
        assert_missing_token(&refresh);
    }
}

#[tokio::test]
async fn the_cookie_is_found_among_others_and_across_cookie_headers() {
    let app = plain(TokenLocation::Cookies);
    let session = login1(&app).await;
    let mixed = format!("theme=dark; {ACCESS}={}; lang=en", session.access);
    assert_user(
        &app.send(request("GET", "/protected", &[("Cookie", &mixed)]))
            .await,
        1,
    );
    let mut split = request("GET", "/protected", &[("Cookie", "theme=dark")]);
    split.headers_mut().append(
        COOKIE,
        cookie_pair(ACCESS, &session.access).parse().unwrap(),
    );
    assert_user(&app.send(split).await, 1);
    // Another cookie's name is not the access cookie.
    let wrong_name = cookie_pair("access_token", &session.access);
    assert_missing_token(
        &app.send(request("GET", "/protected", &[("Cookie", &wrong_name)]))
            .await,
    );
}

// ---------------------------------------------------------------------------------------------
// A cookie token is checked like a header token.

/// Bad tokens of every kind, signed by hand at NOW.
fn bad_tokens() -> Vec<(&'static str, String)> {
    let valid = token(&claims_for(&json!(1)));
    let (header, payload, _) = {
        let mut parts = valid.split('.');
        (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    };
    let mut tampered_claims = claims_for(&json!(1));
    tampered_claims["identity"] = json!(2);
    let tampered = format!(
        "{header}.{}.{}",
        b64(tampered_claims.to_string()),
        valid.rsplit('.').next().unwrap()
    );
    let mut expired = claims_for(&json!(1));
    expired["exp"] = json!(NOW - 11);
    let mut not_yet = claims_for(&json!(1));
    not_yet["nbf"] = json!(NOW + 60);
    vec![
        ("garbage", "not-a-token".to_owned()),
        ("two segments", format!("{header}.{payload}")),
        ("tampered payload", tampered),
        (
            "another secret",
            sign_segments_with("HS256", OTHER_SECRET, &header, &payload),
        ),
        (
            "another alg",
            sign_segments_with(
                "HS512",
                common::SECRET,
                &b64(r#"{"typ":"JWT","alg":"HS512"}"#),
                &payload,
            ),
        ),
        (
            "alg none",
            format!("{}.{payload}.", b64(r#"{"typ":"JWT","alg":"none"}"#)),
        ),
        ("expired", token(&expired)),
        ("not yet valid", token(&not_yet)),
        ("no exp", token(&common::without_claim("exp"))),
        ("unknown identity", token(&claims_for(&json!(99)))),
        ("identity of another type", token(&claims_for(&json!("1")))),
    ]
}

#[tokio::test]
async fn a_bad_cookie_token_is_refused_exactly_like_the_same_header_token() {
    let clock = common::clock();
    let headers_app = build(
        TokenLocation::Headers,
        &clock,
        None,
        JwtConfig::default(),
        |b| b,
    );
    for location in [TokenLocation::Cookies, TokenLocation::HeadersAndCookies] {
        let app = build(location, &clock, None, JwtConfig::default(), |b| b);
        for (what, bad) in bad_tokens() {
            let header = headers_app
                .send(with_header("GET", "/protected", &bad))
                .await;
            for path in ["/protected", "/optional", "/fresh"] {
                let cookie = app.send(with_cookie("GET", path, &bad, None)).await;
                assert_same_refusal(&cookie, &header, &format!("{location} {what} {path}"));
            }
            if what == "unknown identity" || what == "identity of another type" {
                continue; // POST: see the_csrf_check_runs_after_the_identity_check
            }
            let logout = app
                .send(with_cookie("POST", "/logout", &bad, Some("x")))
                .await;
            assert_same_refusal(&logout, &header, &format!("{location} {what} logout"));
        }
    }
}

#[tokio::test]
async fn the_csrf_check_runs_after_the_signature_and_time_checks() {
    let clock = common::clock();
    let headers_app = build(
        TokenLocation::Headers,
        &clock,
        None,
        JwtConfig::default(),
        |b| b,
    );
    let app = build(
        TokenLocation::Cookies,
        &clock,
        None,
        JwtConfig::default(),
        |b| b,
    );
    for (what, bad) in bad_tokens() {
        if what == "unknown identity" || what == "identity of another type" {
            continue; // see the_csrf_check_runs_after_the_identity_check
        }
        let header = headers_app
            .send(with_header("GET", "/protected", &bad))
            .await;
        for method in CSRF_METHODS {
            for csrf in [None, Some(""), Some("wrong")] {
                let reply = app
                    .send(with_cookie(method, "/protected", &bad, csrf))
                    .await;
                assert_same_refusal(&reply, &header, &format!("{what} {method} {csrf:?}"));
            }
        }
    }
}

#[tokio::test]
async fn the_csrf_check_runs_after_the_identity_check() {
    // CONTRACT.md: a cookie token is checked like a header token ("... the identity ...")
    // and "the check runs after the token checks": a token naming no user gets its own 401
    // whatever the CSRF header says.
    let clock = common::clock();
    let headers_app = build(
        TokenLocation::Headers,
        &clock,
        None,
        JwtConfig::default(),
        |b| b,
    );
    let app = build(
        TokenLocation::Cookies,
        &clock,
        None,
        JwtConfig::default(),
        |b| b,
    );
    let mut unknown = claims_for(&json!(99));
    unknown["csrf"] = json!("a-csrf-value-of-twenty-two");
    let unknown = token(&unknown);
    let header = headers_app
        .send(with_header("GET", "/protected", &unknown))
        .await;
    common::assert_unknown_identity(&header);
    for csrf in [None, Some("wrong"), Some("a-csrf-value-of-twenty-two")] {
        for path in ["/protected", "/logout"] {
            let reply = app.send(with_cookie("POST", path, &unknown, csrf)).await;
            assert_same_refusal(&reply, &header, &format!("POST {path} with {csrf:?}"));
        }
    }
}

#[tokio::test]
async fn a_cookie_token_expires_with_the_leeway_like_a_header_token() {
    let clock = common::clock();
    let headers_app = build(
        TokenLocation::Headers,
        &clock,
        None,
        JwtConfig::default(),
        |b| b,
    );
    let app = build(
        TokenLocation::Cookies,
        &clock,
        None,
        JwtConfig::default(),
        |b| b,
    );
    let session = login1(&app).await;
    // exp = NOW + 300, leeway 10: good up to NOW + 310 included.
    clock.advance(secs(310));
    assert_user(
        &app.send(with_cookie("GET", "/protected", &session.access, None))
            .await,
        1,
    );
    assert_user(
        &app.send(with_cookie(
            "POST",
            "/protected",
            &session.access,
            Some(&session.access_csrf),
        ))
        .await,
        1,
    );
    clock.advance(secs(1));
    let header = headers_app
        .send(with_header("GET", "/protected", &session.access))
        .await;
    common::assert_invalid_token(&header, "Signature has expired");
    for (method, csrf) in [
        ("GET", None),
        ("POST", None),
        ("POST", Some(session.access_csrf.as_str())),
        ("DELETE", Some("wrong")),
    ] {
        let reply = app
            .send(with_cookie(method, "/protected", &session.access, csrf))
            .await;
        assert_same_refusal(&reply, &header, method);
    }
    let logout = app
        .send(with_cookie(
            "POST",
            "/logout",
            &session.access,
            Some(&session.access_csrf),
        ))
        .await;
    assert_same_refusal(&logout, &header, "logout");
}

#[tokio::test]
async fn lifecycle_checks_apply_to_cookie_tokens_like_header_tokens() {
    let clock = common::clock();
    let store: Arc<dyn RevocationStore> = Arc::new(MemoryStore::new());
    let headers_app = build(
        TokenLocation::Headers,
        &clock,
        Some(Arc::clone(&store)),
        JwtConfig::default(),
        |b| b,
    );
    let app = build(
        TokenLocation::Cookies,
        &clock,
        Some(Arc::clone(&store)),
        JwtConfig::default(),
        |b| b,
    );
    let session = login1(&app).await;

    // A refresh token in the access cookie, an access token in the refresh cookie.
    let header = headers_app
        .send(with_header("GET", "/protected", session.refresh()))
        .await;
    common::assert_invalid_token(&header, "Access token required");
    let cookie = app
        .send(with_cookie("GET", "/protected", session.refresh(), None))
        .await;
    assert_same_refusal(&cookie, &header, "refresh token as access");
    let cookie = app
        .send(with_cookie(
            "POST",
            "/protected",
            session.refresh(),
            Some(session.refresh_csrf()),
        ))
        .await;
    assert_same_refusal(&cookie, &header, "refresh token as access, POST");
    let header = headers_app
        .send(with_header("POST", "/refresh", &session.access))
        .await;
    common::assert_invalid_token(&header, "Refresh token required");
    let cookie = app
        .send(with_named_cookie(
            "POST",
            "/refresh",
            REFRESH,
            &session.access,
            Some(&session.access_csrf),
        ))
        .await;
    assert_same_refusal(&cookie, &header, "access token at refresh");

    // Freshness: a refreshed access token is not fresh.
    let refreshed = app
        .send(with_named_cookie(
            "POST",
            "/refresh",
            REFRESH,
            session.refresh(),
            Some(session.refresh_csrf()),
        ))
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
    assert_eq!(refreshed.json(), json!({"refresh": true}));
    let next = Session::from_reply(&refreshed);
    assert_eq!(claims_of(&next.access)["fresh"], false);
    assert_user(
        &app.send(with_cookie("GET", "/fresh", &session.access, None))
            .await,
        1,
    );
    let header = headers_app
        .send(with_header("GET", "/fresh", &next.access))
        .await;
    assert_error(&header, 401, "Fresh token required", "Fresh token required");
    let cookie = app
        .send(with_cookie("GET", "/fresh", &next.access, None))
        .await;
    assert_same_refusal(&cookie, &header, "not fresh");

    // Reuse of the spent refresh cookie: 401, the family revoked.
    let reuse = app
        .send(with_named_cookie(
            "POST",
            "/refresh",
            REFRESH,
            session.refresh(),
            Some(session.refresh_csrf()),
        ))
        .await;
    assert_error(
        &reuse,
        401,
        "Revoked token",
        "Refresh token reuse detected; the session has been revoked",
    );
    assert_no_set_cookie(&reuse);

    // Revoked: the same answer as the header token, whatever the CSRF header.
    let header = headers_app
        .send(with_header("GET", "/protected", &next.access))
        .await;
    assert_revoked(&header);
    for (method, csrf) in [
        ("GET", None),
        ("POST", None),
        ("POST", Some(next.access_csrf.as_str())),
        ("PUT", Some("wrong")),
    ] {
        let cookie = app
            .send(with_cookie(method, "/protected", &next.access, csrf))
            .await;
        assert_same_refusal(&cookie, &header, &format!("revoked {method}"));
    }
    let optional = app
        .send(with_cookie("GET", "/optional", &next.access, None))
        .await;
    assert_same_refusal(&optional, &header, "revoked at optional");
}

#[tokio::test]
async fn optional_auth_reads_the_cookie() {
    let app = lifecycle(TokenLocation::Cookies);
    let session = login2(&app).await;
    assert_eq!(
        app.send(request("GET", "/optional", &[])).await.json(),
        json!({"user": null})
    );
    let reply = app
        .send(with_cookie("GET", "/optional", &session.access, None))
        .await;
    assert_eq!(reply.json(), json!({"user": "user2"}));
    assert_no_set_cookie(&reply);
    let bad = app
        .send(with_cookie("GET", "/optional", "not-a-token", None))
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.challenge(), Some(CHALLENGE));
}

// ---------------------------------------------------------------------------------------------
// The double submit.

#[tokio::test]
async fn state_changing_methods_need_the_csrf_header_equal_to_the_claim() {
    let app = plain(TokenLocation::Cookies);
    let session = login1(&app).await;
    let get = app
        .send(with_cookie("GET", "/protected", &session.access, None))
        .await;
    assert_user(&get, 1);
    for method in CSRF_METHODS {
        let missing = app
            .send(with_cookie(method, "/protected", &session.access, None))
            .await;
        assert_csrf_error(&missing, MISSING_CSRF);
        let empty = app
            .send(with_cookie(method, "/protected", &session.access, Some("")))
            .await;
        assert_csrf_error(&empty, MISSING_CSRF);
        let wrong = app
            .send(with_cookie(
                method,
                "/protected",
                &session.access,
                Some("wrong"),
            ))
            .await;
        assert_csrf_error(&wrong, CSRF_MISMATCH);
        // Same checks, same body as GET.
        let right = app
            .send(with_cookie(
                method,
                "/protected",
                &session.access,
                Some(&session.access_csrf),
            ))
            .await;
        assert_user(&right, 1);
        assert_eq!(right.json(), get.json());
        assert_no_set_cookie(&right);
        // The header's name is case-insensitive.
        let cookie = cookie_pair(ACCESS, &session.access);
        for name in ["x-csrf-token", "X-Csrf-Token", "X-CSRF-TOKEN"] {
            let reply = app
                .send(request(
                    method,
                    "/protected",
                    &[("Cookie", &cookie), (name, &session.access_csrf)],
                ))
                .await;
            assert_user(&reply, 1);
        }
    }
}

#[tokio::test]
async fn only_the_exact_claim_matches() {
    let app = lifecycle(TokenLocation::Cookies);
    let session = login1(&app).await;
    let again = login1(&app).await;
    let other_user = login2(&app).await;
    let claim = session.access_csrf.clone();
    let mut longer = claim.clone();
    longer.push('x');
    let near_misses = [
        ("a random value", "0123456789abcdef0123456789".to_owned()),
        ("another login's", again.access_csrf.clone()),
        ("another user's", other_user.access_csrf.clone()),
        ("the refresh token's", session.refresh_csrf().to_owned()),
        ("another login's refresh", again.refresh_csrf().to_owned()),
        (
            "the claim without its last character",
            claim[..claim.len() - 1].to_owned(),
        ),
        ("the claim and one more", longer),
        ("the claim upper-cased", claim.to_ascii_uppercase()),
        ("the token itself", session.access.clone()),
    ];
    for method in CSRF_METHODS {
        for (what, value) in &near_misses {
            if value == &claim {
                continue; // an upper-case claim may equal itself
            }
            let reply = app
                .send(with_cookie(
                    method,
                    "/protected",
                    &session.access,
                    Some(value),
                ))
                .await;
            assert_eq!(
                reply.json()["description"],
                CSRF_MISMATCH,
                "{method} with {what}"
            );
            assert_csrf_error(&reply, CSRF_MISMATCH);
        }
    }
    // At /refresh the refresh token's claim, not the access token's.
    let refresh = app
        .send(with_named_cookie(
            "POST",
            "/refresh",
            REFRESH,
            session.refresh(),
            Some(&session.access_csrf),
        ))
        .await;
    assert_csrf_error(&refresh, CSRF_MISMATCH);
    let refresh = app
        .send(with_named_cookie(
            "POST",
            "/refresh",
            REFRESH,
            session.refresh(),
            Some(again.refresh_csrf()),
        ))
        .await;
    assert_csrf_error(&refresh, CSRF_MISMATCH);
    // A failed CSRF check spends nothing: the right claim still refreshes.
    let refresh = app
        .send(with_named_cookie(
            "POST",
            "/refresh",
            REFRESH,
            session.refresh(),
            Some(session.refresh_csrf()),
        ))
        .await;
    assert_eq!(refresh.status, StatusCode::OK, "{}", refresh.text());
}

#[tokio::test]
async fn a_cookie_token_without_a_csrf_claim_never_passes_the_double_submit() {
    let app = plain(TokenLocation::Cookies);
    // Valid, signed with the app's secret, but minted without a csrf claim.
    let no_csrf = token(&claims_for(&json!(1)));
    assert_user(
        &app.send(with_cookie("GET", "/protected", &no_csrf, None))
            .await,
        1,
    );
    let head = app
        .send(with_cookie("HEAD", "/protected", &no_csrf, None))
        .await;
    assert_eq!(head.status, StatusCode::OK);
    for method in CSRF_METHODS {
        assert_csrf_error(
            &app.send(with_cookie(method, "/protected", &no_csrf, None))
                .await,
            MISSING_CSRF,
        );
        for value in ["anything", "null", "undefined"] {
            assert_csrf_error(
                &app.send(with_cookie(method, "/protected", &no_csrf, Some(value)))
                    .await,
                CSRF_MISMATCH,
            );
        }
    }
    // A csrf claim that is not a string does not match its own text either.
    let mut numeric = claims_for(&json!(1));
    numeric["csrf"] = json!(12_345_678_901_234_567_u64);
    let numeric = token(&numeric);
    assert_csrf_error(
        &app.send(with_cookie(
            "POST",
            "/protected",
            &numeric,
            Some("12345678901234567"),
        ))
        .await,
        CSRF_MISMATCH,
    );
    // A token minted by a headers app (no csrf claim) is no way around the check.
    let headers_token = plain(TokenLocation::Headers)
        .jwt
        .issue(&common::user(1))
        .unwrap();
    assert_csrf_error(
        &app.send(with_cookie(
            "DELETE",
            "/protected",
            &headers_token,
            Some("x"),
        ))
        .await,
        CSRF_MISMATCH,
    );
}

#[tokio::test]
async fn get_head_and_options_are_never_csrf_checked() {
    let app = plain(TokenLocation::Cookies);
    let session = login1(&app).await;
    for method in ["GET", "HEAD", "OPTIONS"] {
        for csrf in [None, Some(""), Some("wrong")] {
            let reply = app
                .send(with_cookie(method, "/protected", &session.access, csrf))
                .await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{method} {csrf:?}: {}",
                reply.text()
            );
            assert_no_set_cookie(&reply);
        }
    }
}

#[tokio::test]
async fn a_form_field_or_a_query_parameter_never_replaces_the_header() {
    let app = plain(TokenLocation::Cookies);
    let session = login1(&app).await;
    let csrf = &session.access_csrf;
    let cookie = cookie_pair(ACCESS, &session.access);
    let query = format!("/protected?csrf_token={csrf}&X-CSRF-TOKEN={csrf}&x-csrf-token={csrf}");
    for method in CSRF_METHODS {
        let form = Request::builder()
            .method(method)
            .uri(&query)
            .header(COOKIE, &cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf_token={csrf}&X-CSRF-TOKEN={csrf}&csrf_access_token={csrf}"
            )))
            .unwrap();
        assert_csrf_error(&app.send(form).await, MISSING_CSRF);
        let json_body = Request::builder()
            .method(method)
            .uri("/protected")
            .header(COOKIE, &cookie)
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"csrf_token": csrf, "X-CSRF-TOKEN": csrf}).to_string(),
            ))
            .unwrap();
        assert_csrf_error(&app.send(json_body).await, MISSING_CSRF);
        // Other headers that look alike do not count either.
        let lookalike = app
            .send(request(
                method,
                "/protected",
                &[
                    ("Cookie", &cookie),
                    ("X-CSRFToken", csrf),
                    ("X-XSRF-TOKEN", csrf),
                    ("CSRF-Token", csrf),
                ],
            ))
            .await;
        assert_csrf_error(&lookalike, MISSING_CSRF);
    }
}

#[tokio::test]
async fn the_csrf_cookies_are_never_read() {
    let app = lifecycle(TokenLocation::Cookies);
    let session = login1(&app).await;
    let csrf = &session.access_csrf;
    // The matching header without any CSRF cookie passes.
    assert_user(
        &app.send(with_cookie(
            "POST",
            "/protected",
            &session.access,
            Some(csrf),
        ))
        .await,
        1,
    );
    // A CSRF cookie (right or wrong) changes nothing: only the header counts.
    let with_csrf_cookie = |csrf_cookie: &str| {
        format!(
            "{ACCESS}={}; {ACCESS_CSRF}={csrf_cookie}; {REFRESH_CSRF}={csrf_cookie}",
            session.access
        )
    };
    let right_cookie = with_csrf_cookie(csrf);
    assert_csrf_error(
        &app.send(request("POST", "/protected", &[("Cookie", &right_cookie)]))
            .await,
        MISSING_CSRF,
    );
    let wrong_cookie = with_csrf_cookie("forged-value-0123456789abc");
    assert_user(
        &app.send(request(
            "POST",
            "/protected",
            &[("Cookie", &wrong_cookie), ("X-CSRF-TOKEN", csrf)],
        ))
        .await,
        1,
    );
    // A header equal to a forged CSRF cookie is still not the claim.
    assert_csrf_error(
        &app.send(request(
            "POST",
            "/protected",
            &[
                ("Cookie", &wrong_cookie),
                ("X-CSRF-TOKEN", "forged-value-0123456789abc"),
            ],
        ))
        .await,
        CSRF_MISMATCH,
    );
    // At /refresh: the refresh claim in the header, no csrf_refresh_token cookie needed.
    let refresh = app
        .send(with_named_cookie(
            "POST",
            "/refresh",
            REFRESH,
            session.refresh(),
            Some(session.refresh_csrf()),
        ))
        .await;
    assert_eq!(refresh.status, StatusCode::OK, "{}", refresh.text());
}

#[tokio::test]
async fn csrf_errors_go_through_the_error_handler_with_the_challenge() {
    let app = build(
        TokenLocation::Cookies,
        &common::clock(),
        None,
        JwtConfig::default(),
        |b| {
            b.error_handler(|error: &JwtError| {
                (
                    error.status(),
                    Json(json!({"message": error.to_string(), "code": error.status().as_u16()})),
                )
            })
        },
    );
    let session = login1(&app).await;
    for (csrf, description) in [(None, MISSING_CSRF), (Some("wrong"), CSRF_MISMATCH)] {
        let reply = app
            .send(with_cookie("POST", "/protected", &session.access, csrf))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.json(), json!({"message": description, "code": 401}));
        assert_eq!(reply.challenge(), Some(CHALLENGE));
        assert_no_set_cookie(&reply);
    }
}

// ---------------------------------------------------------------------------------------------
// Refresh.

#[tokio::test]
async fn refresh_reads_the_refresh_cookie_and_its_csrf_and_sets_four_new_cookies() {
    let app = lifecycle(TokenLocation::Cookies);
    let session = login1(&app).await;
    let refresh = |csrf: Option<&str>| {
        with_named_cookie("POST", "/refresh", REFRESH, session.refresh(), csrf)
    };
    assert_csrf_error(&app.send(refresh(None)).await, MISSING_CSRF);
    assert_csrf_error(&app.send(refresh(Some(""))).await, MISSING_CSRF);
    // The access cookie is not read at /refresh.
    let access_only = app
        .send(with_cookie(
            "POST",
            "/refresh",
            &session.access,
            Some(&session.access_csrf),
        ))
        .await;
    assert_missing_token(&access_only);
    // Nor is the Authorization header in cookies mode.
    assert_missing_token(
        &app.send(with_header("POST", "/refresh", session.refresh()))
            .await,
    );

    let reply = app.send(refresh(Some(session.refresh_csrf()))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json(), json!({"refresh": true}));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let cookies = set_cookies(&reply);
    let names: BTreeSet<&str> = cookies.keys().map(String::as_str).collect();
    assert_eq!(names, FOUR.into_iter().collect());
    for (name, shape) in
        FOUR.iter()
            .zip(shapes(true, "/refresh", ACCESS_LIFETIME, REFRESH_LIFETIME))
    {
        assert_shape(&cookies[*name], shape);
    }
    let next = Session::from_reply(&reply);
    assert_ne!(next.access, session.access);
    assert_ne!(next.refresh(), session.refresh());
    assert_ne!(next.access_csrf, session.access_csrf);
    assert_ne!(next.refresh_csrf(), session.refresh_csrf());
    assert!(!reply.text().contains(&next.access));
    assert_user(
        &app.send(with_cookie(
            "POST",
            "/protected",
            &next.access,
            Some(&next.access_csrf),
        ))
        .await,
        1,
    );
    // Rotation goes on with the new refresh cookie.
    let again = app
        .send(with_named_cookie(
            "POST",
            "/refresh",
            REFRESH,
            next.refresh(),
            Some(next.refresh_csrf()),
        ))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(set_cookies(&again).len(), 4);
}

#[tokio::test]
async fn headers_and_cookies_refresh_answers_the_pair_and_sets_the_same_tokens() {
    let app = lifecycle(TokenLocation::HeadersAndCookies);
    let session = login1(&app).await;
    // From the cookie (CSRF needed).
    let reply = app
        .send(with_named_cookie(
            "POST",
            "/refresh",
            REFRESH,
            session.refresh(),
            Some(session.refresh_csrf()),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let next = Session::from_reply(&reply);
    assert_eq!(
        reply.json(),
        json!({"access_token": next.access, "refresh_token": next.refresh()})
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    // From the header (no CSRF needed), next to a refresh cookie that is not read.
    let authorization = format!("JWT {}", next.refresh());
    let reply = app
        .send(request(
            "POST",
            "/refresh",
            &[
                ("Authorization", &authorization),
                ("Cookie", &cookie_pair(REFRESH, session.refresh())),
            ],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let third = Session::from_reply(&reply);
    assert_eq!(set_cookies(&reply).len(), 4);
    assert_eq!(
        reply.json(),
        json!({"access_token": third.access, "refresh_token": third.refresh()})
    );
    assert_eq!(
        claims_of(third.refresh())["fam"],
        claims_of(session.refresh())["fam"]
    );
}

// ---------------------------------------------------------------------------------------------
// Logout.

#[tokio::test]
async fn logout_exists_without_the_lifecycle_and_clears_the_four_cookies() {
    let app = plain(TokenLocation::Cookies);
    let session = login1(&app).await;
    // Refused: nothing cleared.
    assert_missing_token(&app.send(request("POST", "/logout", &[])).await);
    assert_csrf_error(
        &app.send(with_cookie("POST", "/logout", &session.access, None))
            .await,
        MISSING_CSRF,
    );
    assert_csrf_error(
        &app.send(with_cookie(
            "POST",
            "/logout",
            &session.access,
            Some("wrong"),
        ))
        .await,
        CSRF_MISMATCH,
    );
    let get = app
        .send(with_cookie("GET", "/logout", &session.access, None))
        .await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_no_set_cookie(&get);

    let reply = app
        .send(with_cookie(
            "POST",
            "/logout",
            &session.access,
            Some(&session.access_csrf),
        ))
        .await;
    assert_logged_out(&reply);
    // The four names, refresh ones included although no refresh cookie was ever set.
    assert_clears_four(&reply, true, "/refresh");
}

#[tokio::test]
async fn headers_and_cookies_logout_with_the_header_clears_the_cookies_too() {
    for app in [
        plain(TokenLocation::HeadersAndCookies),
        lifecycle(TokenLocation::HeadersAndCookies),
    ] {
        let reply = try_login(&app, "user1", "abcxyz").await;
        let token = reply.json()["access_token"].as_str().unwrap().to_owned();
        let logout = app.send(with_header("POST", "/logout", &token)).await;
        assert_logged_out(&logout);
        assert_clears_four(&logout, true, "/refresh");
    }
}

#[tokio::test]
async fn lifecycle_logout_by_cookie_revokes_and_clears() {
    let app = lifecycle(TokenLocation::Cookies);
    let session = login1(&app).await;
    let other = login1(&app).await;
    let reply = app
        .send(with_cookie(
            "POST",
            "/logout",
            &session.access,
            Some(&session.access_csrf),
        ))
        .await;
    assert_logged_out(&reply);
    assert_clears_four(&reply, true, "/refresh");
    // The access cookie and the refresh cookie of that login are revoked.
    assert_revoked(
        &app.send(with_cookie("GET", "/protected", &session.access, None))
            .await,
    );
    assert_revoked(
        &app.send(with_named_cookie(
            "POST",
            "/refresh",
            REFRESH,
            session.refresh(),
            Some(session.refresh_csrf()),
        ))
        .await,
    );
    // A second logout with the revoked cookie: 401, nothing cleared.
    assert_revoked(
        &app.send(with_cookie(
            "POST",
            "/logout",
            &session.access,
            Some(&session.access_csrf),
        ))
        .await,
    );
    // Another login of the same user is untouched.
    assert_user(
        &app.send(with_cookie("GET", "/protected", &other.access, None))
            .await,
        1,
    );
}

#[tokio::test]
async fn lifecycle_logout_all_by_cookie_revokes_every_session_and_clears() {
    let app = lifecycle(TokenLocation::Cookies);
    let first = login1(&app).await;
    let second = login1(&app).await;
    let user2 = login2(&app).await;
    assert_csrf_error(
        &app.send(with_cookie("POST", "/logout-all", &first.access, None))
            .await,
        MISSING_CSRF,
    );
    let get = app
        .send(with_cookie("GET", "/logout-all", &first.access, None))
        .await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_no_set_cookie(&get);
    assert_error(
        &app.send(with_cookie(
            "POST",
            "/logout-all",
            first.refresh(),
            Some(first.refresh_csrf()),
        ))
        .await,
        401,
        "Invalid token",
        "Access token required",
    );

    let reply = app
        .send(with_cookie(
            "POST",
            "/logout-all",
            &first.access,
            Some(&first.access_csrf),
        ))
        .await;
    assert_logged_out(&reply);
    assert_clears_four(&reply, true, "/refresh");
    for session in [&first, &second] {
        assert_revoked(
            &app.send(with_cookie("GET", "/protected", &session.access, None))
                .await,
        );
    }
    assert_user(
        &app.send(with_cookie("GET", "/protected", &user2.access, None))
            .await,
        2,
    );
    let refused = app
        .send(with_cookie(
            "POST",
            "/logout-all",
            &first.access,
            Some(&first.access_csrf),
        ))
        .await;
    assert_revoked(&refused);
}

// ---------------------------------------------------------------------------------------------
// Nowhere else.

#[tokio::test]
async fn no_other_route_and_no_error_sets_or_clears_a_cookie() {
    for location in [TokenLocation::Cookies, TokenLocation::HeadersAndCookies] {
        let app = lifecycle(location);
        let session = login1(&app).await;
        let cookie = cookie_pair(ACCESS, &session.access);
        let csrf = session.access_csrf.as_str();
        let requests = [
            request("GET", "/public", &[("Cookie", &cookie)]),
            request("GET", "/protected", &[("Cookie", &cookie)]),
            request("HEAD", "/protected", &[("Cookie", &cookie)]),
            request(
                "POST",
                "/protected",
                &[("Cookie", &cookie), ("X-CSRF-TOKEN", csrf)],
            ),
            request("POST", "/protected", &[("Cookie", &cookie)]),
            request("GET", "/fresh", &[("Cookie", &cookie)]),
            request("GET", "/optional", &[("Cookie", &cookie)]),
            request("GET", "/optional", &[]),
            request("GET", "/nowhere", &[("Cookie", &cookie)]),
            request("POST", "/public", &[("Cookie", &cookie)]),
            request("GET", "/refresh", &[("Cookie", &cookie)]),
            request("GET", "/protected", &[]),
            request("POST", "/refresh", &[]),
            request("POST", "/logout", &[]),
            request("POST", "/logout-all", &[]),
            request(
                "POST",
                "/logout",
                &[("Cookie", "access_token_cookie=x.y.z")],
            ),
        ];
        for request in requests {
            let line = format!("{} {}", request.method(), request.uri());
            let reply = app.send(request).await;
            assert_eq!(
                reply.headers.get_all(SET_COOKIE).iter().count(),
                0,
                "{location} {line}: {:?}",
                reply.headers
            );
        }
    }
}
