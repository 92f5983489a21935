//! The cookie extension over HTTP against the built `contract-server` (CONTRACT.md "Cookie
//! extension"): `APP_TOKEN_LOCATION` and `APP_COOKIE_SECURE`, a browser-like flow with a cookie
//! jar, the routes that exist only with cookies, and the seed's custom shapes in cookie mode.

// Test helpers: a malformed answer is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{BINARY, Response, Server, free_port};
use serde_json::{Value, json};

const ACCESS: &str = "access_token_cookie";
const ACCESS_CSRF: &str = "csrf_access_token";
const REFRESH: &str = "refresh_token_cookie";
const REFRESH_CSRF: &str = "csrf_refresh_token";
const FOUR: [&str; 4] = [ACCESS, ACCESS_CSRF, REFRESH, REFRESH_CSRF];
const CHALLENGE: &str = r#"JWT realm="Login Required""#;
const USER1: &str = r#"{"username":"user1","password":"abcxyz"}"#;

fn error(status: u16, title: &str, description: &str) -> Value {
    json!({"status_code": status, "error": title, "description": description})
}

fn missing_csrf() -> Value {
    error(401, "Invalid CSRF token", "Missing CSRF token")
}

fn csrf_mismatch() -> Value {
    error(
        401,
        "Invalid CSRF token",
        "CSRF double submit tokens do not match",
    )
}

fn missing_token() -> Value {
    error(
        401,
        "Authorization Required",
        "Request does not contain an access token",
    )
}

fn revoked() -> Value {
    error(401, "Revoked token", "Token has been revoked")
}

/// One `Set-Cookie` line: name, value and attributes (names lower-cased).
#[derive(Clone, Debug)]
struct SetCookie {
    line: String,
    value: String,
    attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    fn get(&self, name: &str) -> Option<&str> {
        let values: Vec<&Option<String>> = self
            .attributes
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        match values.as_slice() {
            [] => None,
            [Some(value)] => Some(value),
            other => panic!("{name}: {other:?} in {:?}", self.line),
        }
    }

    fn flag(&self, name: &str) -> bool {
        let count = self.attributes.iter().filter(|(n, _)| n == name).count();
        assert!(count <= 1, "{name} twice in {:?}", self.line);
        self.attributes
            .iter()
            .any(|(n, v)| n == name && v.is_none())
    }
}

/// The `Set-Cookie` lines of `response` by name; each name at most once.
#[track_caller]
fn set_cookies(response: &Response) -> BTreeMap<String, SetCookie> {
    let mut cookies = BTreeMap::new();
    for (name, line) in &response.headers {
        if name != "set-cookie" {
            continue;
        }
        let mut parts = line.split(';');
        let (cookie, value) = parts.next().unwrap().split_once('=').unwrap();
        let attributes = parts
            .map(|a| match a.trim().split_once('=') {
                Some((n, v)) => (n.trim().to_ascii_lowercase(), Some(v.trim().to_owned())),
                None => (a.trim().to_ascii_lowercase(), None),
            })
            .collect();
        let parsed = SetCookie {
            line: line.clone(),
            value: value.trim().to_owned(),
            attributes,
        };
        assert!(
            cookies.insert(cookie.trim().to_owned(), parsed).is_none(),
            "{cookie} set twice: {:?}",
            response.headers
        );
    }
    cookies
}

#[track_caller]
fn assert_no_set_cookie(response: &Response) {
    assert!(
        response.header("set-cookie").is_none(),
        "a Set-Cookie on {} {}: {:?}",
        response.status,
        response.body,
        response.headers
    );
}

/// The attributes the contract fixes for `name`: `(HttpOnly, Path)`.
fn fixed(name: &str) -> (bool, &'static str) {
    match name {
        ACCESS => (true, "/"),
        REFRESH => (true, "/refresh"),
        _ => (false, "/"),
    }
}

/// Asserts `cookie` (named `name`): `SameSite=Lax`, `Secure` as `secure`, no `Domain`,
/// `HttpOnly` and `Path` as fixed for its name, `Max-Age` = `max_age`.
#[track_caller]
fn assert_attributes(name: &str, cookie: &SetCookie, secure: bool, max_age: u64) {
    let line = &cookie.line;
    let (http_only, path) = fixed(name);
    for (attribute, _) in &cookie.attributes {
        assert!(
            [
                "httponly", "secure", "samesite", "path", "max-age", "expires"
            ]
            .contains(&attribute.as_str()),
            "{attribute} in {line:?}"
        );
    }
    assert_eq!(cookie.get("samesite"), Some("Lax"), "{line:?}");
    assert_eq!(cookie.flag("secure"), secure, "{line:?}");
    assert_eq!(cookie.flag("httponly"), http_only, "{line:?}");
    assert_eq!(cookie.get("path"), Some(path), "{line:?}");
    assert_eq!(
        cookie.get("max-age"),
        Some(max_age.to_string().as_str()),
        "{line:?}"
    );
}

/// Asserts that `response` sets exactly `names` with the lifetimes `access` and `refresh`.
#[track_caller]
fn assert_sets(response: &Response, names: &[&str], secure: bool, access: u64, refresh: u64) {
    let cookies = set_cookies(response);
    let got: Vec<&str> = cookies.keys().map(String::as_str).collect();
    let mut want = names.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{:?}", response.headers);
    for (name, cookie) in &cookies {
        let lifetime = if name.contains("refresh") {
            refresh
        } else {
            access
        };
        assert!(!cookie.value.is_empty(), "{:?}", cookie.line);
        assert_attributes(name, cookie, secure, lifetime);
    }
}

/// Asserts that `response` clears the four cookies.
#[track_caller]
fn assert_clears(response: &Response, secure: bool) {
    let cookies = set_cookies(response);
    let got: Vec<&str> = cookies.keys().map(String::as_str).collect();
    let mut want = FOUR.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{:?}", response.headers);
    for (name, cookie) in &cookies {
        assert_eq!(cookie.value, "", "{:?}", cookie.line);
        assert_attributes(name, cookie, secure, 0);
    }
}

// ---------------------------------------------------------------------------------------------
// A cookie jar, as a browser keeps one for 127.0.0.1.

#[derive(Debug, Default)]
struct Jar {
    /// name → (value, path).
    cookies: BTreeMap<String, (String, String)>,
}

impl Jar {
    /// Stores the `Set-Cookie` lines of `response`; `Max-Age=0` deletes.
    fn update(&mut self, response: &Response) {
        for (name, cookie) in set_cookies(response) {
            if cookie.get("max-age") == Some("0") {
                self.cookies.remove(&name);
            } else {
                let path = cookie.get("path").unwrap_or("/").to_owned();
                self.cookies.insert(name, (cookie.value, path));
            }
        }
    }

    /// The `Cookie` header a browser sends to `path`.
    fn header_for(&self, path: &str) -> String {
        self.cookies
            .iter()
            .filter(|(_, (_, scope))| {
                path == scope
                    || scope == "/"
                    || path
                        .strip_prefix(scope.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .map(|(name, (value, _))| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn value(&self, name: &str) -> String {
        self.cookies
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in the jar"))
            .0
            .clone()
    }

    /// `method path` with the cookies for `path` and `extra` headers; keeps what it sets.
    fn send(
        &mut self,
        server: &Server,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
    ) -> Response {
        let cookie = self.header_for(path);
        let mut headers = extra.to_vec();
        if !cookie.is_empty() {
            headers.push(("Cookie", &cookie));
        }
        let response = server.request(method, path, &headers, None);
        self.update(&response);
        response
    }

    fn login(&mut self, server: &Server, body: &str) -> Response {
        let cookie = self.header_for("/auth");
        let mut headers = vec![("Content-Type", "application/json")];
        if !cookie.is_empty() {
            headers.push(("Cookie", &cookie));
        }
        let response = server.request("POST", "/auth", &headers, Some(body));
        self.update(&response);
        response
    }
}

fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A token with PyJWT's header and `claims`, signed HS256 with the contract's default secret.
fn sign(claims: &Value) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let input = format!(
        "{}.{}",
        b64(br#"{"typ":"JWT","alg":"HS256"}"#),
        b64(claims.to_string().as_bytes())
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(DEFAULT_SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// The contract's secret when `JWT_SECRET_KEY` is unset.
const DEFAULT_SECRET: &str = "super-secret-test-key-0123456789abcdef";

fn now() -> i64 {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(seconds).unwrap()
}

fn cookie(name: &str, value: &str) -> String {
    format!("{name}={value}")
}

#[track_caller]
fn assert_401(response: &Response, body: &Value) {
    assert_eq!(response.status, 401, "{}", response.body);
    assert_eq!(&response.json(), body);
    assert_eq!(response.header("www-authenticate"), Some(CHALLENGE));
    assert_no_set_cookie(response);
}

#[track_caller]
fn assert_user1(response: &Response) {
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json(), json!({"id": 1, "username": "user1"}));
    assert_no_set_cookie(response);
}

// ---------------------------------------------------------------------------------------------
// The variables.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Headers,
    Cookies,
    Both,
}

/// Asserts the behaviour of `server` is the one of `mode`.
fn assert_mode(server: &Server, mode: Mode, what: &str) {
    let login = server.login(USER1);
    assert_eq!(login.status, 200, "{what}: {}", login.body);
    let body = login.json();
    let protected_post =
        |headers: &[(&str, &str)]| server.request("POST", "/protected", headers, None);
    match mode {
        Mode::Headers => {
            assert_no_set_cookie(&login);
            let token = body["access_token"].as_str().unwrap();
            assert_eq!(body.as_object().unwrap().len(), 1, "{what}: {body}");
            assert!(claims(token).get("csrf").is_none(), "{what}");
            let post = server.with_token("POST", "/protected", token);
            assert_eq!(post.status, 405, "{what}");
            assert_eq!(
                post.json(),
                error(405, "Method Not Allowed", "Method not allowed")
            );
            // Cookies are never read.
            let by_cookie = server.request(
                "GET",
                "/protected",
                &[("Cookie", &cookie(ACCESS, token))],
                None,
            );
            assert_401(&by_cookie, &missing_token());
            assert_eq!(server.with_token("POST", "/logout", token).status, 404);
        }
        Mode::Cookies => {
            assert_eq!(body, json!({"login": true}), "{what}");
            assert_sets(&login, &[ACCESS, ACCESS_CSRF], true, 300, 0);
            let cookies = set_cookies(&login);
            let token = &cookies[ACCESS].value;
            assert_eq!(
                claims(token)["csrf"].as_str(),
                Some(cookies[ACCESS_CSRF].value.as_str())
            );
            // The header is ignored.
            assert_401(
                &server.with_token("GET", "/protected", token),
                &missing_token(),
            );
            let by_cookie = cookie(ACCESS, token);
            assert_401(&protected_post(&[("Cookie", &by_cookie)]), &missing_csrf());
        }
        Mode::Both => {
            let cookies = set_cookies(&login);
            assert_sets(&login, &[ACCESS, ACCESS_CSRF], true, 300, 0);
            let token = &cookies[ACCESS].value;
            assert_eq!(body, json!({"access_token": token}), "{what}");
            // The header works without CSRF, the cookie needs it.
            assert_user1(&server.with_token("POST", "/protected", token));
            let by_cookie = cookie(ACCESS, token);
            assert_401(&protected_post(&[("Cookie", &by_cookie)]), &missing_csrf());
        }
    }
}

#[test]
fn app_token_location_lists_in_any_order_with_repeats_and_spaces() {
    let cases: [(Option<&str>, Mode); 14] = [
        (None, Mode::Headers),
        (Some(""), Mode::Headers),
        (Some("headers"), Mode::Headers),
        (Some(" headers "), Mode::Headers),
        (Some("headers,headers"), Mode::Headers),
        (Some("cookies"), Mode::Cookies),
        (Some(" cookies"), Mode::Cookies),
        (Some("cookies,cookies"), Mode::Cookies),
        (Some("cookies , cookies "), Mode::Cookies),
        (Some("headers,cookies"), Mode::Both),
        (Some("cookies,headers"), Mode::Both),
        (Some(" cookies ,headers "), Mode::Both),
        (Some("headers,cookies,headers"), Mode::Both),
        (Some("cookies, cookies, headers"), Mode::Both),
    ];
    for (value, mode) in cases {
        let vars: Vec<(&str, &str)> = value
            .map(|v| vec![("APP_TOKEN_LOCATION", v)])
            .unwrap_or_default();
        let server = Server::start(&vars);
        assert_mode(&server, mode, &format!("APP_TOKEN_LOCATION={value:?}"));
    }
}

/// A secret that is not the contract's well-known default (which earns a warning in the log).
const OWN_SECRET: &str = "cookie-test-secret-0123456789abcdefghij";

/// Starts the binary with `vars` and asserts exit status 2 with a one-line error naming
/// `variable`. With a secret of its own the whole of stderr is that line; with the default
/// secret the log may also hold its warning about that secret (a log line, not the error).
#[track_caller]
fn assert_refused(vars: &[(&str, &str)], variable: &str) {
    for own_secret in [true, false] {
        let mut command = Command::new(BINARY);
        command.env_clear().env("PORT", free_port().to_string());
        if own_secret {
            command.env("JWT_SECRET_KEY", OWN_SECRET);
        }
        for (name, value) in vars {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{vars:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|line| own_secret || !is_log_line(line))
            .filter(|line| !line.trim().is_empty())
            .collect();
        assert_eq!(errors.len(), 1, "{vars:?}: {stderr}");
        assert!(errors[0].contains(variable), "{vars:?}: {stderr}");
    }
}

/// A line of the tracing log (`<RFC 3339 time>  WARN target: ...`).
fn is_log_line(line: &str) -> bool {
    line.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && [" TRACE ", " DEBUG ", " INFO ", " WARN ", " ERROR "]
            .iter()
            .any(|level| line.contains(level))
}

#[test]
fn bad_token_locations_and_cookie_secure_values_exit_2_naming_the_variable() {
    for value in [
        "cookie",
        "Cookies",
        "COOKIES",
        "Headers",
        "headers,",
        ",cookies",
        ",",
        " , ",
        "headers,,cookies",
        "query_string",
        "json",
        "cookies,json",
        "headers;cookies",
        "headers cookies",
        "yes",
        "1",
        "2",
    ] {
        assert_refused(&[("APP_TOKEN_LOCATION", value)], "APP_TOKEN_LOCATION");
        // Whatever the other variables say.
        assert_refused(
            &[
                ("APP_TOKEN_LOCATION", value),
                ("APP_LIFECYCLE", "1"),
                ("APP_COOKIE_SECURE", "0"),
            ],
            "APP_TOKEN_LOCATION",
        );
    }
    for value in [
        "yes", "no", "true", "false", "on", "off", "2", "-1", " 1", "01", "Secure",
    ] {
        for location in [
            None,
            Some("headers"),
            Some("cookies"),
            Some("headers,cookies"),
        ] {
            let mut vars = vec![("APP_COOKIE_SECURE", value)];
            if let Some(location) = location {
                vars.push(("APP_TOKEN_LOCATION", location));
            }
            assert_refused(&vars, "APP_COOKIE_SECURE");
        }
    }
}

#[test]
fn app_cookie_secure_switches_secure_on_every_cookie() {
    for (value, secure) in [
        (None, true),
        (Some(""), true),
        (Some("1"), true),
        (Some("0"), false),
    ] {
        let mut vars = vec![("APP_TOKEN_LOCATION", "cookies"), ("APP_LIFECYCLE", "1")];
        if let Some(value) = value {
            vars.push(("APP_COOKIE_SECURE", value));
        }
        let server = Server::start(&vars);
        let mut jar = Jar::default();
        let login = jar.login(&server, USER1);
        assert_eq!(login.status, 200, "{}", login.body);
        assert_sets(&login, &FOUR, secure, 300, 2_592_000);
        let csrf = jar.value(REFRESH_CSRF);
        let refresh = jar.send(&server, "POST", "/refresh", &[("X-CSRF-TOKEN", &csrf)]);
        assert_eq!(refresh.status, 200, "{}", refresh.body);
        assert_sets(&refresh, &FOUR, secure, 300, 2_592_000);
        let csrf = jar.value(ACCESS_CSRF);
        let logout = jar.send(&server, "POST", "/logout", &[("X-CSRF-TOKEN", &csrf)]);
        assert_eq!(logout.status, 200, "{}", logout.body);
        assert_clears(&logout, secure);
    }
}

// ---------------------------------------------------------------------------------------------
// A whole session over HTTP.

#[test]
fn a_cookie_session_login_protected_csrf_refresh_logout() {
    let server = Server::start(&[
        ("APP_TOKEN_LOCATION", "cookies"),
        ("APP_LIFECYCLE", "1"),
        ("JWT_EXPIRATION_DELTA", "600"),
        ("JWT_REFRESH_EXPIRATION_DELTA", "86400"),
    ]);
    let mut jar = Jar::default();
    let login = jar.login(&server, USER1);
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.json(), json!({"login": true}));
    assert_eq!(login.header("cache-control"), Some("no-store"));
    assert_sets(&login, &FOUR, true, 600, 86_400);
    // The server adds no CORS headers.
    assert!(
        !login
            .headers
            .iter()
            .any(|(name, _)| name.starts_with("access-control-")),
        "{:?}",
        login.headers
    );
    let access = jar.value(ACCESS);
    let access_csrf = jar.value(ACCESS_CSRF);
    assert_eq!(claims(&access)["csrf"].as_str(), Some(access_csrf.as_str()));
    assert_eq!(
        claims(&jar.value(REFRESH))["csrf"].as_str(),
        Some(jar.value(REFRESH_CSRF).as_str())
    );
    // The refresh cookie does not travel to other paths.
    assert!(!jar.header_for("/protected").contains(REFRESH));
    assert!(jar.header_for("/refresh").contains(REFRESH));

    assert_user1(&jar.send(&server, "GET", "/protected", &[]));
    let head = jar.send(&server, "HEAD", "/protected", &[]);
    assert_eq!(head.status, 200);
    assert_no_set_cookie(&head);
    assert_eq!(
        jar.send(&server, "GET", "/optional", &[]).json(),
        json!({"id": 1})
    );
    assert_user1(&jar.send(&server, "GET", "/fresh", &[]));

    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        assert_401(
            &jar.send(&server, method, "/protected", &[]),
            &missing_csrf(),
        );
        assert_401(
            &jar.send(&server, method, "/protected", &[("X-CSRF-TOKEN", "")]),
            &missing_csrf(),
        );
        assert_401(
            &jar.send(&server, method, "/protected", &[("X-CSRF-TOKEN", "nope")]),
            &csrf_mismatch(),
        );
        let refresh_csrf = jar.value(REFRESH_CSRF);
        assert_401(
            &jar.send(
                &server,
                method,
                "/protected",
                &[("X-CSRF-TOKEN", &refresh_csrf)],
            ),
            &csrf_mismatch(),
        );
        // The header's name is case-insensitive on the wire.
        for name in ["X-CSRF-TOKEN", "x-csrf-token", "X-Csrf-Token"] {
            assert_user1(&jar.send(&server, method, "/protected", &[(name, &access_csrf)]));
        }
    }
    // A query parameter or a form field is not the header.
    let form = server.request(
        "POST",
        &format!("/protected?csrf_token={access_csrf}&X-CSRF-TOKEN={access_csrf}"),
        &[
            ("Cookie", &jar.header_for("/protected")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(&format!(
            "csrf_token={access_csrf}&X-CSRF-TOKEN={access_csrf}"
        )),
    );
    assert_401(&form, &missing_csrf());
    // The CSRF cookie is never read: only the access cookie and the header.
    let bare = server.request(
        "POST",
        "/protected",
        &[
            ("Cookie", &cookie(ACCESS, &access)),
            ("X-CSRF-TOKEN", &access_csrf),
        ],
        None,
    );
    assert_user1(&bare);

    // Refresh: the refresh cookie and its CSRF value.
    assert_401(
        &jar.send(
            &server,
            "POST",
            "/refresh",
            &[("X-CSRF-TOKEN", &access_csrf)],
        ),
        &csrf_mismatch(),
    );
    let old_refresh = jar.value(REFRESH);
    let old_refresh_csrf = jar.value(REFRESH_CSRF);
    let refresh = jar.send(
        &server,
        "POST",
        "/refresh",
        &[("X-CSRF-TOKEN", &old_refresh_csrf)],
    );
    assert_eq!(refresh.status, 200, "{}", refresh.body);
    assert_eq!(refresh.json(), json!({"refresh": true}));
    assert_eq!(refresh.header("cache-control"), Some("no-store"));
    assert_sets(&refresh, &FOUR, true, 600, 86_400);
    let access2 = jar.value(ACCESS);
    let access2_csrf = jar.value(ACCESS_CSRF);
    assert_ne!(access2, access);
    assert_ne!(access2_csrf, access_csrf);
    assert_eq!(claims(&access2)["fresh"], false);
    assert_user1(&jar.send(
        &server,
        "POST",
        "/protected",
        &[("X-CSRF-TOKEN", &access2_csrf)],
    ));
    // The old access token's CSRF value is not the new token's.
    assert_401(
        &jar.send(
            &server,
            "POST",
            "/protected",
            &[("X-CSRF-TOKEN", &access_csrf)],
        ),
        &csrf_mismatch(),
    );
    // Not fresh any more.
    let fresh = jar.send(&server, "GET", "/fresh", &[]);
    assert_eq!(fresh.status, 401, "{}", fresh.body);
    assert_eq!(fresh.json()["description"], "Fresh token required");

    // Logout: a 401 clears nothing, the 200 clears the four.
    assert_401(&jar.send(&server, "POST", "/logout", &[]), &missing_csrf());
    assert_eq!(jar.cookies.len(), 4);
    let logout = jar.send(
        &server,
        "POST",
        "/logout",
        &[("X-CSRF-TOKEN", &access2_csrf)],
    );
    assert_eq!(logout.status, 200, "{}", logout.body);
    let body = logout.json();
    assert!(
        body["message"].is_string() && body.as_object().unwrap().len() == 1,
        "{body}"
    );
    assert_clears(&logout, true);
    assert!(jar.cookies.is_empty(), "{jar:?}");
    assert_401(
        &jar.send(&server, "GET", "/protected", &[]),
        &missing_token(),
    );
    assert_eq!(
        jar.send(&server, "GET", "/optional", &[]).json(),
        json!({"id": null})
    );
    // The tokens that were in the cookies are revoked.
    assert_401(
        &server.request(
            "GET",
            "/protected",
            &[("Cookie", &cookie(ACCESS, &access2))],
            None,
        ),
        &revoked(),
    );
    let optional = server.request(
        "GET",
        "/optional",
        &[("Cookie", &cookie(ACCESS, &access2))],
        None,
    );
    assert_401(&optional, &revoked());
    // The spent refresh token of a revoked family: revoked.
    assert_401(
        &server.request(
            "POST",
            "/refresh",
            &[
                ("Cookie", &cookie(REFRESH, &old_refresh)),
                ("X-CSRF-TOKEN", &old_refresh_csrf),
            ],
            None,
        ),
        &revoked(),
    );

    // Logout-all clears too and ends every session of the user.
    let mut first = Jar::default();
    let mut second = Jar::default();
    first.login(&server, USER1);
    second.login(&server, USER1);
    let csrf = first.value(ACCESS_CSRF);
    let all = first.send(&server, "POST", "/logout-all", &[("X-CSRF-TOKEN", &csrf)]);
    assert_eq!(all.status, 200, "{}", all.body);
    assert_clears(&all, true);
    assert_401(&second.send(&server, "GET", "/protected", &[]), &revoked());
}

// ---------------------------------------------------------------------------------------------
// Routes and shapes.

#[test]
fn state_changing_methods_on_protected_exist_only_with_cookies() {
    for vars in [
        &[][..],
        &[("APP_TOKEN_LOCATION", "headers")][..],
        &[("APP_TOKEN_LOCATION", "headers"), ("APP_LIFECYCLE", "1")][..],
    ] {
        let server = Server::start(vars);
        let token = server.token();
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let response = server.with_token(method, "/protected", &token);
            assert_eq!(response.status, 405, "{vars:?} {method}");
            assert_eq!(
                response.json(),
                error(405, "Method Not Allowed", "Method not allowed")
            );
            assert_no_set_cookie(&response);
        }
        let login = server.login(USER1);
        assert_no_set_cookie(&login);
    }
    // Without the lifecycle, /logout exists only with cookies.
    let off = Server::start(&[]);
    assert_eq!(off.with_token("POST", "/logout", &off.token()).status, 404);
    for location in ["cookies", "headers,cookies"] {
        let server = Server::start(&[("APP_TOKEN_LOCATION", location)]);
        assert_401(
            &server.request("POST", "/logout", &[], None),
            &missing_token(),
        );
        let mut jar = Jar::default();
        jar.login(&server, USER1);
        let csrf = jar.value(ACCESS_CSRF);
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            assert_user1(&jar.send(&server, method, "/protected", &[("X-CSRF-TOKEN", &csrf)]));
        }
        let logout = jar.send(&server, "POST", "/logout", &[("X-CSRF-TOKEN", &csrf)]);
        assert_eq!(logout.status, 200, "{location}: {}", logout.body);
        assert_clears(&logout, true);
        // No lifecycle routes.
        assert_eq!(server.request("POST", "/refresh", &[], None).status, 404);
    }
}

#[test]
fn headers_and_cookies_the_authorization_header_wins_over_http() {
    let server = Server::start(&[
        ("APP_TOKEN_LOCATION", "cookies,headers"),
        ("APP_LIFECYCLE", "1"),
    ]);
    let login = server.login(USER1);
    let body = login.json();
    let cookies = set_cookies(&login);
    assert_eq!(
        body["access_token"].as_str(),
        Some(cookies[ACCESS].value.as_str())
    );
    assert_eq!(
        body["refresh_token"].as_str(),
        Some(cookies[REFRESH].value.as_str())
    );
    assert_eq!(body.as_object().unwrap().len(), 2);
    let access_cookie = cookie(ACCESS, &cookies[ACCESS].value);
    let csrf = cookies[ACCESS_CSRF].value.clone();
    let user2 = server
        .login(r#"{"username":"user2","password":"xyzabc"}"#)
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A valid header decides, no CSRF header needed.
    let both = server.request(
        "POST",
        "/protected",
        &[
            ("Cookie", &access_cookie),
            ("Authorization", &format!("JWT {user2}")),
        ],
        None,
    );
    assert_eq!(both.status, 200, "{}", both.body);
    assert_eq!(both.json(), json!({"id": 2, "username": "user2"}));
    // A bad header is a 401 even next to a valid cookie and its CSRF value.
    let bad = server.request(
        "GET",
        "/protected",
        &[
            ("Cookie", &access_cookie),
            ("X-CSRF-TOKEN", &csrf),
            ("Authorization", "Bearer x"),
        ],
        None,
    );
    assert_eq!(bad.status, 401, "{}", bad.body);
    assert_eq!(bad.json()["error"], "Invalid JWT header");
    assert_eq!(bad.header("www-authenticate"), Some(CHALLENGE));
    // Refresh by header: the pair in the body and the four cookies.
    let refresh = server.with_token("POST", "/refresh", body["refresh_token"].as_str().unwrap());
    assert_eq!(refresh.status, 200, "{}", refresh.body);
    let pair = refresh.json();
    let cookies = set_cookies(&refresh);
    assert_sets(&refresh, &FOUR, true, 300, 2_592_000);
    assert_eq!(
        pair["access_token"].as_str(),
        Some(cookies[ACCESS].value.as_str())
    );
    assert_eq!(
        pair["refresh_token"].as_str(),
        Some(cookies[REFRESH].value.as_str())
    );
    // Logout by header clears the cookies.
    let logout = server.with_token("POST", "/logout", pair["access_token"].as_str().unwrap());
    assert_eq!(logout.status, 200, "{}", logout.body);
    assert_clears(&logout, true);
}

#[test]
fn a_cookie_token_is_refused_like_the_same_header_token_over_http() {
    let headers = Server::start(&[]);
    let cookies = Server::start(&[("APP_TOKEN_LOCATION", "cookies")]);
    let token = headers.token();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    // A different signature: the last character of the signature changed.
    let mut signature = parts[2].clone();
    let last = signature.pop().unwrap();
    signature.push(if last == 'A' { 'Q' } else { 'A' });
    parts[2] = signature;
    let tampered = parts.join(".");
    // Long expired (whatever the leeway), and not valid for a minute yet.
    let now = now();
    let expired = sign(
        &json!({"identity": 1, "iat": now - 900, "nbf": now - 900, "exp": now - 600, "csrf": "x"}),
    );
    let early =
        sign(&json!({"identity": 1, "iat": now, "nbf": now + 60, "exp": now + 600, "csrf": "x"}));
    assert_user1(&headers.with_token(
        "GET",
        "/protected",
        &sign(&json!({"identity": 1, "iat": now, "nbf": now, "exp": now + 600})),
    ));
    for bad in ["garbage", "a.b", &tampered, &expired, &early] {
        let by_header = headers.with_token("GET", "/protected", bad);
        assert_eq!(by_header.status, 401);
        for method in ["GET", "POST"] {
            let by_cookie = cookies.request(
                method,
                "/protected",
                &[("Cookie", &cookie(ACCESS, bad)), ("X-CSRF-TOKEN", "x")],
                None,
            );
            assert_eq!(by_cookie.status, 401, "{bad} {method}");
            assert_eq!(by_cookie.json(), by_header.json(), "{bad} {method}");
            assert_eq!(
                by_cookie.header("www-authenticate"),
                by_header.header("www-authenticate")
            );
            assert_no_set_cookie(&by_cookie);
        }
    }
}

#[test]
fn a_cookie_token_naming_no_user_is_refused_before_the_csrf_check() {
    // "A token read from a cookie is checked exactly like a header token (..., the identity,
    // ...)" and "The check runs after the token checks".
    let headers = Server::start(&[]);
    let cookies = Server::start(&[("APP_TOKEN_LOCATION", "cookies")]);
    let now = now();
    let nobody = sign(
        &json!({"identity": 3, "iat": now, "nbf": now, "exp": now + 600, "csrf": "csrf-of-nobody-0123456789"}),
    );
    let by_header = headers.with_token("GET", "/protected", &nobody);
    assert_401(
        &by_header,
        &error(401, "Invalid JWT", "User does not exist"),
    );
    for csrf in ["", "wrong", "csrf-of-nobody-0123456789"] {
        for path in ["/protected", "/logout"] {
            let mut extra = vec![("Cookie", cookie(ACCESS, &nobody))];
            if !csrf.is_empty() {
                extra.push(("X-CSRF-TOKEN", csrf.to_owned()));
            }
            let extra: Vec<(&str, &str)> = extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let by_cookie = cookies.request("POST", path, &extra, None);
            assert_eq!(
                by_cookie.json(),
                by_header.json(),
                "POST {path} with X-CSRF-TOKEN {csrf:?}"
            );
            assert_401(&by_cookie, &by_header.json());
        }
    }
}

#[test]
fn the_seed_shapes_in_cookie_mode() {
    let server = Server::start(&[
        ("APP_TOKEN_LOCATION", "cookies"),
        ("APP_CUSTOM_AUTH_RESPONSE", "1"),
        ("APP_CUSTOM_ERROR_HANDLER", "1"),
        ("JWT_AUTH_HEADER_PREFIX", "Bearer"),
    ]);
    let mut jar = Jar::default();
    let login = jar.login(&server, USER1);
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.json(), json!({"login": true, "user_id": 1}));
    assert_sets(&login, &[ACCESS, ACCESS_CSRF], true, 300, 0);
    let challenge = Some(r#"Bearer realm="Login Required""#);
    for (csrf, description) in [
        ("", "Missing CSRF token"),
        ("nope", "CSRF double submit tokens do not match"),
    ] {
        let headers: Vec<(&str, &str)> = if csrf.is_empty() {
            vec![]
        } else {
            vec![("X-CSRF-TOKEN", csrf)]
        };
        let refused = jar.send(&server, "POST", "/protected", &headers);
        assert_eq!(refused.status, 401);
        assert_eq!(refused.json(), json!({"message": description, "code": 401}));
        assert_eq!(refused.header("www-authenticate"), challenge);
        assert_no_set_cookie(&refused);
    }
    let anonymous = server.request("POST", "/protected", &[], None);
    assert_eq!(
        anonymous.json(),
        json!({"message": "Request does not contain an access token", "code": 401})
    );
    assert_eq!(anonymous.header("www-authenticate"), challenge);
    let failed = jar.login(&server, r#"{"username":"user1","password":"nope"}"#);
    assert_eq!(
        failed.json(),
        json!({"message": "Invalid credentials", "code": 401})
    );
    assert_no_set_cookie(&failed);

    // headers,cookies with the lifecycle: the header body plus user_id, and the cookies.
    let server = Server::start(&[
        ("APP_TOKEN_LOCATION", "headers,cookies"),
        ("APP_LIFECYCLE", "1"),
        ("APP_CUSTOM_AUTH_RESPONSE", "1"),
    ]);
    let login = server.login(USER1);
    let cookies = set_cookies(&login);
    assert_eq!(
        login.json(),
        json!({
            "access_token": cookies[ACCESS].value,
            "refresh_token": cookies[REFRESH].value,
            "user_id": 1,
        })
    );
}
