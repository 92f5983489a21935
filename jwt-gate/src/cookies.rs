//! Tokens in cookies with a CSRF double submit, Flask-JWT-Extended's cookie mode with its
//! names (`access_token_cookie`, `csrf_access_token`, `refresh_token_cookie`,
//! `csrf_refresh_token`, the `csrf` claim, the `X-CSRF-TOKEN` header) and safer defaults:
//! `SameSite=Lax`, `Secure`, `Max-Age` equal to the token's lifetime, the refresh cookie
//! scoped to the refresh route, and the `Authorization` header winning over cookies.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method};
use subtle::ConstantTimeEq;

use crate::claims::TokenType;
use crate::config::JwtConfig;
use crate::error::{ConfigError, JwtError};

/// The access-token cookie (HttpOnly).
pub const ACCESS_COOKIE: &str = "access_token_cookie";
/// The access token's `csrf` claim, readable by the front end.
pub const ACCESS_CSRF_COOKIE: &str = "csrf_access_token";
/// The refresh-token cookie (HttpOnly, `Path` = the refresh route).
pub const REFRESH_COOKIE: &str = "refresh_token_cookie";
/// The refresh token's `csrf` claim, readable by the front end.
pub const REFRESH_CSRF_COOKIE: &str = "csrf_refresh_token";
/// The header a cookie-authenticated state-changing request must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Where requests carry their tokens (Flask-JWT-Extended's `JWT_TOKEN_LOCATION`).
///
/// Parses from a comma-separated list of the lower-case words `headers` and `cookies`, in any
/// order, with repeats and spaces around items allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenLocation {
    /// The `Authorization` header only (Flask-JWT). The default.
    #[default]
    Headers,
    /// Cookies only; the `Authorization` header is ignored.
    Cookies,
    /// A present, non-blank `Authorization` header decides alone; without one, the cookie.
    HeadersAndCookies,
}

impl TokenLocation {
    /// Whether tokens travel in cookies (and carry a `csrf` claim).
    #[must_use]
    pub fn uses_cookies(self) -> bool {
        !matches!(self, Self::Headers)
    }
}

impl FromStr for TokenLocation {
    type Err = ConfigError;

    fn from_str(list: &str) -> Result<Self, ConfigError> {
        let (mut headers, mut cookies) = (false, false);
        for item in list.split(',').map(str::trim) {
            match item {
                "headers" => headers = true,
                "cookies" => cookies = true,
                other => {
                    return Err(ConfigError::invalid(
                        "JWT_TOKEN_LOCATION",
                        format!(
                            "{other:?} is not a token location; use headers, cookies or headers,cookies"
                        ),
                    ));
                }
            }
        }
        Ok(match (headers, cookies) {
            (true, true) => Self::HeadersAndCookies,
            (false, true) => Self::Cookies,
            _ => Self::Headers,
        })
    }
}

impl fmt::Display for TokenLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Headers => "headers",
            Self::Cookies => "cookies",
            Self::HeadersAndCookies => "headers,cookies",
        })
    }
}

/// Where a request's token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Header,
    Cookie,
}

/// Whether the request has a present, non-blank `Authorization` header (several count).
pub(crate) fn has_authorization(parts: &Parts) -> bool {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (None, _) => false,
        (Some(_), Some(_)) => true,
        (Some(value), None) => !value.as_bytes().iter().all(u8::is_ascii_whitespace),
    }
}

/// The value of cookie `name`, if present and not empty (the first one, if repeated).
pub(crate) fn cookie_value(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
}

/// The token cookie read for tokens of `kind`.
pub(crate) fn token_cookie(kind: TokenType) -> &'static str {
    match kind {
        TokenType::Access => ACCESS_COOKIE,
        TokenType::Refresh => REFRESH_COOKIE,
    }
}

/// The double submit: a cookie-authenticated `POST`, `PUT`, `PATCH` or `DELETE` must carry
/// `X-CSRF-TOKEN` equal to the token's `csrf` claim (compared in constant time).
pub(crate) fn check_csrf(parts: &Parts, claim: Option<&str>) -> Result<(), JwtError> {
    if !matches!(
        parts.method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return Ok(());
    }
    let header = parts
        .headers
        .get(CSRF_HEADER)
        .map(HeaderValue::as_bytes)
        .filter(|value| !value.is_empty())
        .ok_or(JwtError::MissingCsrfToken)?;
    match claim {
        Some(claim) if bool::from(claim.as_bytes().ct_eq(header)) => Ok(()),
        _ => Err(JwtError::CsrfMismatch),
    }
}

/// Builds the `Set-Cookie` headers of the cookie mode.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CookieJar<'a> {
    pub(crate) secure: bool,
    pub(crate) config: &'a JwtConfig,
}

impl CookieJar<'_> {
    fn build(
        &self,
        name: &'static str,
        value: String,
        http_only: bool,
        path: String,
    ) -> Cookie<'static> {
        Cookie::build((name, value))
            .http_only(http_only)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .path(path)
            .build()
    }

    fn refresh_path(&self) -> String {
        self.config.refresh_url_rule.clone()
    }

    /// Sets the cookies of freshly issued tokens: the access pair, and the refresh pair when
    /// there is a refresh token.
    pub(crate) fn set(
        &self,
        headers: &mut HeaderMap,
        access: (&str, &str),
        refresh: Option<(&str, &str)>,
    ) {
        let lifetime = |d: Duration| {
            cookie::time::Duration::seconds(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        };
        let access_age = lifetime(self.config.expiration_delta);
        let mut cookies = vec![
            self.build(ACCESS_COOKIE, access.0.to_owned(), true, "/".to_owned()),
            self.build(
                ACCESS_CSRF_COOKIE,
                access.1.to_owned(),
                false,
                "/".to_owned(),
            ),
        ];
        for cookie in &mut cookies {
            cookie.set_max_age(access_age);
        }
        if let Some((token, csrf)) = refresh {
            let refresh_age = lifetime(self.config.refresh_expiration_delta);
            let mut token = self.build(REFRESH_COOKIE, token.to_owned(), true, self.refresh_path());
            let mut csrf = self.build(REFRESH_CSRF_COOKIE, csrf.to_owned(), false, "/".to_owned());
            token.set_max_age(refresh_age);
            csrf.set_max_age(refresh_age);
            cookies.extend([token, csrf]);
        }
        append(headers, &cookies);
    }

    /// Clears the four cookies, with the attributes they were set with.
    pub(crate) fn clear(&self, headers: &mut HeaderMap) {
        let mut cookies = vec![
            self.build(ACCESS_COOKIE, String::new(), true, "/".to_owned()),
            self.build(ACCESS_CSRF_COOKIE, String::new(), false, "/".to_owned()),
            self.build(REFRESH_COOKIE, String::new(), true, self.refresh_path()),
            self.build(REFRESH_CSRF_COOKIE, String::new(), false, "/".to_owned()),
        ];
        for cookie in &mut cookies {
            cookie.make_removal();
        }
        append(headers, &cookies);
    }
}

fn append(headers: &mut HeaderMap, cookies: &[Cookie<'static>]) {
    for cookie in cookies {
        // Tokens are base64url with dots and CSRF values base64url: always a valid header value.
        if let Ok(value) = HeaderValue::try_from(cookie.to_string()) {
            headers.append(SET_COOKIE, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_location_lists() {
        let parse = |s: &str| s.parse::<TokenLocation>();
        assert_eq!(parse("headers").unwrap(), TokenLocation::Headers);
        assert_eq!(parse("cookies").unwrap(), TokenLocation::Cookies);
        assert_eq!(
            parse(" cookies , headers ,cookies").unwrap(),
            TokenLocation::HeadersAndCookies
        );
        for bad in [
            "",
            "cookie",
            "Cookies",
            "headers,",
            "query_string",
            "json",
            "yes",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::builder().method(method);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let p = parts(
            Method::GET,
            &[
                ("cookie", "a=1; access_token_cookie=tok"),
                ("cookie", "b=2"),
            ],
        );
        assert_eq!(cookie_value(&p, ACCESS_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie_value(&p, "b").as_deref(), Some("2"));
        let empty = parts(Method::GET, &[("cookie", "access_token_cookie=")]);
        assert_eq!(cookie_value(&empty, ACCESS_COOKIE), None);
    }

    #[test]
    fn csrf_only_for_state_changing_methods() {
        assert!(check_csrf(&parts(Method::GET, &[]), Some("x")).is_ok());
        assert!(check_csrf(&parts(Method::HEAD, &[]), None).is_ok());
        assert!(matches!(
            check_csrf(&parts(Method::POST, &[]), Some("x")),
            Err(JwtError::MissingCsrfToken)
        ));
        assert!(matches!(
            check_csrf(&parts(Method::DELETE, &[("X-CSRF-Token", "")]), Some("x")),
            Err(JwtError::MissingCsrfToken)
        ));
        assert!(matches!(
            check_csrf(&parts(Method::PUT, &[("x-csrf-token", "y")]), Some("x")),
            Err(JwtError::CsrfMismatch)
        ));
        assert!(matches!(
            check_csrf(&parts(Method::PATCH, &[("x-csrf-token", "y")]), None),
            Err(JwtError::CsrfMismatch)
        ));
        assert!(check_csrf(&parts(Method::POST, &[("X-CSRF-TOKEN", "x")]), Some("x")).is_ok());
    }

    #[test]
    fn authorization_presence() {
        assert!(!has_authorization(&parts(Method::GET, &[])));
        assert!(!has_authorization(&parts(
            Method::GET,
            &[("authorization", "  ")]
        )));
        assert!(has_authorization(&parts(
            Method::GET,
            &[("authorization", "JWT x")]
        )));
        assert!(has_authorization(&parts(
            Method::GET,
            &[("authorization", ""), ("authorization", "")]
        )));
    }

    #[test]
    fn set_and_clear_attributes() {
        let config = JwtConfig::default();
        let jar = CookieJar {
            secure: true,
            config: &config,
        };
        let mut headers = HeaderMap::new();
        jar.set(&mut headers, ("acc", "c1"), Some(("ref", "c2")));
        let set: Vec<&str> = headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(set.len(), 4);
        assert!(set[0].starts_with("access_token_cookie=acc"));
        for expected in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=300",
        ] {
            assert!(set[0].contains(expected), "{} lacks {expected}", set[0]);
        }
        assert!(!set[1].contains("HttpOnly"));
        assert!(set[2].contains("Path=/refresh") && set[2].contains("Max-Age=2592000"));
        assert!(set.iter().all(|c| !c.contains("Domain")));
        let mut cleared = HeaderMap::new();
        CookieJar {
            secure: false,
            config: &config,
        }
        .clear(&mut cleared);
        let cleared: Vec<&str> = cleared
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(cleared.len(), 4);
        assert!(
            cleared
                .iter()
                .all(|c| c.contains("Max-Age=0") && !c.contains("Secure"))
        );
        assert!(cleared[2].contains("Path=/refresh"));
    }
}
