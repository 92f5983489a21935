//! Finding the token in a request: Flask-JWT's `request_handler`.

use std::borrow::Cow;

use http::header::AUTHORIZATION;
use http::request::Parts;

use crate::config::JwtConfig;
use crate::error::{HeaderError, JwtError};

/// Where a request carries its token.
///
/// `Ok(None)` means "no token" (401 `Authorization Required` on a protected route, anonymous
/// for optional auth); `Err` is a malformed carrier. The default is [`AuthorizationHeader`].
/// Any `Fn(&Parts, &JwtConfig) -> Result<Option<String>, JwtError>` is a token source too.
#[doc(alias = "request_handler")]
pub trait TokenSource: Send + Sync + 'static {
    /// The token of `request`, if it has one.
    ///
    /// # Errors
    /// A token carrier that is present but malformed.
    fn token(&self, request: &Parts, config: &JwtConfig) -> Result<Option<String>, JwtError>;

    /// [`token`](Self::token), borrowed from the request where it can be: what jwt-gate calls
    /// on every request. The default owns what `token` returns; override it when the token is
    /// a slice of the request, as [`AuthorizationHeader`] does, to save an allocation per
    /// request.
    ///
    /// # Errors
    /// As [`token`](Self::token).
    fn token_in<'r>(
        &self,
        request: &'r Parts,
        config: &JwtConfig,
    ) -> Result<Option<Cow<'r, str>>, JwtError> {
        Ok(self.token(request, config)?.map(Cow::Owned))
    }
}

impl<F> TokenSource for F
where
    F: Fn(&Parts, &JwtConfig) -> Result<Option<String>, JwtError> + Send + Sync + 'static,
{
    fn token(&self, request: &Parts, config: &JwtConfig) -> Result<Option<String>, JwtError> {
        self(request, config)
    }
}

/// Flask-JWT's default: `Authorization: <prefix> <token>`.
///
/// An absent or blank header is no token. The value is split on whitespace as Python's
/// `str.split()` splits; then the scheme must equal the prefix (case-insensitively), or
/// `Unsupported authorization type`; one part is `Token missing`, more than two
/// `Token contains spaces`. More than one `Authorization` header is refused
/// (`Multiple authorization headers`), where Flask-JWT silently read the first.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct AuthorizationHeader;

impl TokenSource for AuthorizationHeader {
    fn token(&self, request: &Parts, config: &JwtConfig) -> Result<Option<String>, JwtError> {
        Ok(self.token_in(request, config)?.map(Cow::into_owned))
    }

    fn token_in<'r>(
        &self,
        request: &'r Parts,
        config: &JwtConfig,
    ) -> Result<Option<Cow<'r, str>>, JwtError> {
        let mut values = request.headers.get_all(AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(HeaderError::MultipleHeaders.into());
        }
        let bytes = value.as_bytes();
        let prefix = &config.auth_header_prefix;
        if let Ok(text) = std::str::from_utf8(bytes)
            && text.is_ascii()
            && prefix.is_ascii()
        {
            return parse_ascii_authorization(text, prefix).map(|token| token.map(Cow::Borrowed));
        }
        // Header bytes are Latin-1 on the wire (what WSGI gave Flask-JWT); a non-ASCII token
        // then fails its base64 check rather than the header parse.
        let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
        parse_authorization(&latin1, prefix).map(|token| token.map(|t| Cow::Owned(t.to_owned())))
    }
}

/// [`parse_authorization`] for the usual header, ASCII with an ASCII prefix, on bytes: a
/// header value holds no control character but the tab, so its only Python whitespace is
/// space and tab, found with `memchr` instead of decoding and classifying every character
/// (this runs on every request).
fn parse_ascii_authorization<'a>(
    value: &'a str,
    prefix: &str,
) -> Result<Option<&'a str>, JwtError> {
    let value = value.trim_ascii();
    if value.is_empty() {
        return Ok(None);
    }
    // ASCII: every byte offset is a character boundary. The scheme is a few bytes: a plain
    // search finds its end sooner than `memchr`'s vector set-up.
    let (scheme, rest) = match value.bytes().position(|b| b == b' ' || b == b'\t') {
        Some(end) => value.split_at(end),
        None => (value, ""),
    };
    if !scheme.eq_ignore_ascii_case(prefix) {
        return Err(HeaderError::UnsupportedType.into());
    }
    let token = rest.trim_ascii_start();
    if token.is_empty() {
        return Err(HeaderError::TokenMissing.into());
    }
    if memchr::memchr2(b' ', b'\t', token.as_bytes()).is_some() {
        return Err(HeaderError::TokenContainsSpaces.into());
    }
    Ok(Some(token))
}

/// Flask-JWT's split of an `Authorization` value: `Ok(None)` when blank.
fn parse_authorization<'a>(value: &'a str, prefix: &str) -> Result<Option<&'a str>, JwtError> {
    let mut parts = value.split(is_python_whitespace).filter(|p| !p.is_empty());
    let Some(scheme) = parts.next() else {
        return Ok(None);
    };
    let same_scheme = if scheme.is_ascii() && prefix.is_ascii() {
        scheme.eq_ignore_ascii_case(prefix)
    } else {
        scheme.to_lowercase() == prefix.to_lowercase()
    };
    if !same_scheme {
        return Err(HeaderError::UnsupportedType.into());
    }
    let Some(token) = parts.next() else {
        return Err(HeaderError::TokenMissing.into());
    };
    if parts.next().is_some() {
        return Err(HeaderError::TokenContainsSpaces.into());
    }
    Ok(Some(token))
}

/// The characters Python's `str.split()` splits on, within Latin-1.
fn is_python_whitespace(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..='\x20' | '\u{85}' | '\u{a0}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderValue, Request};

    fn token_of(values: &[&[u8]]) -> Result<Option<String>, JwtError> {
        let mut request = Request::new(());
        for value in values {
            request
                .headers_mut()
                .append(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        }
        let (parts, ()) = request.into_parts();
        AuthorizationHeader.token(&parts, &JwtConfig::default())
    }

    fn header_error(values: &[&[u8]]) -> HeaderError {
        match token_of(values) {
            Err(JwtError::BadHeader(e)) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn absent_empty_or_blank_is_no_token() {
        assert!(token_of(&[]).unwrap().is_none());
        assert!(token_of(&[b""]).unwrap().is_none());
        assert!(token_of(&[b"   \t "]).unwrap().is_none());
    }

    #[test]
    fn flask_jwt_parse_order() {
        assert_eq!(token_of(&[b"JWT abc"]).unwrap().as_deref(), Some("abc"));
        assert_eq!(token_of(&[b"jwt\t abc "]).unwrap().as_deref(), Some("abc"));
        assert_eq!(header_error(&[b"Bearer abc"]), HeaderError::UnsupportedType);
        assert_eq!(header_error(&[b"Bearer a b"]), HeaderError::UnsupportedType);
        assert_eq!(
            header_error(&[b"abc.def.ghi"]),
            HeaderError::UnsupportedType
        );
        assert_eq!(header_error(&[b"JWT"]), HeaderError::TokenMissing);
        assert_eq!(
            header_error(&[b"JWT a b"]),
            HeaderError::TokenContainsSpaces
        );
    }

    /// The byte-level parse of ASCII headers agrees with the character-level one on every
    /// combination of schemes, tokens and the whitespace a header value can hold.
    #[test]
    fn the_ascii_fast_path_agrees_with_the_general_parse() {
        let pieces = [
            "", " ", "\t", "  \t ", "JWT", "jwt", "Bearer", "J", "a.b.c", "x y", "JWT JWT",
        ];
        let mut checked = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in pieces {
                        let value = format!("{a}{b}{c}{d}");
                        let fast = parse_ascii_authorization(&value, "JWT")
                            .map(|token| token.map(str::to_owned))
                            .map_err(|e| e.to_string());
                        let general = parse_authorization(&value, "JWT")
                            .map(|token| token.map(str::to_owned))
                            .map_err(|e| e.to_string());
                        assert_eq!(fast, general, "{value:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, pieces.len().pow(4));
    }

    #[test]
    fn the_usual_header_lends_its_token() {
        let parts = |value: &[u8]| {
            let mut request = Request::new(());
            request
                .headers_mut()
                .insert(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
            request.into_parts().0
        };
        let config = JwtConfig::default();
        let ascii = parts(b"JWT a.b.c");
        let latin1 = parts(b"JWT a.b.\xe9");
        assert!(matches!(
            AuthorizationHeader.token_in(&ascii, &config),
            Ok(Some(Cow::Borrowed("a.b.c")))
        ));
        assert!(matches!(
            AuthorizationHeader.token_in(&latin1, &config),
            Ok(Some(Cow::Owned(token))) if token == "a.b.\u{e9}"
        ));
        // A source that only implements `token` works through the provided `token_in`.
        let custom = |_: &Parts, _: &JwtConfig| Ok(Some("mine".to_owned()));
        assert!(matches!(
            custom.token_in(&ascii, &config),
            Ok(Some(Cow::Owned(token))) if token == "mine"
        ));
    }

    #[test]
    fn several_headers_are_refused() {
        assert_eq!(
            header_error(&[b"JWT a", b"JWT a"]),
            HeaderError::MultipleHeaders
        );
        assert_eq!(header_error(&[b"", b"JWT a"]), HeaderError::MultipleHeaders);
    }

    #[test]
    fn non_ascii_bytes_do_not_break_parsing() {
        assert_eq!(header_error(&[b"JW\xc9 abc"]), HeaderError::UnsupportedType);
        assert!(token_of(&[b"JWT \xff\xfe"]).unwrap().is_some());
    }
}
