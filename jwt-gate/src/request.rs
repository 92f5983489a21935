//! Finding the token in a request: Flask-JWT's `request_handler`.

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
        let mut values = request.headers.get_all(AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(HeaderError::MultipleHeaders.into());
        }
        // Header bytes are Latin-1 on the wire (what WSGI gave Flask-JWT); a non-ASCII token
        // then fails its base64 check rather than the header parse. The usual ASCII header is
        // parsed in place, without a copy.
        let latin1: String;
        let value = match value.to_str() {
            Ok(ascii) => ascii,
            Err(_) => {
                latin1 = value.as_bytes().iter().map(|&b| char::from(b)).collect();
                &latin1
            }
        };
        parse_authorization(value, &config.auth_header_prefix).map(|token| token.map(str::to_owned))
    }
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
