//! `Authorization` header parsing through `Jwt::token` on `http::request::Parts`: several
//! headers from arbitrary bytes, and an optional non-default prefix. Nothing panics, every
//! refusal is a 4xx, and a token found is one whitespace-free word of the only header.
//!
//! Input: lines (`\n`); each line is one `Authorization` header value (lines that are not
//! valid header values are skipped). A first line `#<prefix>` sets `auth_header_prefix`.

#![no_main]

use http::HeaderValue;
use http::header::AUTHORIZATION;
use jwt_gate::{HeaderError, JwtError};
use jwt_gate_fuzz::{assert_client_error, builder, jwt};
use libfuzzer_sys::fuzz_target;

/// Python's `str.split()` whitespace within Latin-1, as the library documents it.
fn is_python_whitespace(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..='\x20' | '\u{85}' | '\u{a0}')
}

fuzz_target!(|data: &[u8]| {
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let custom = match lines.first() {
        Some(first) if first.starts_with(b"#") => {
            let prefix = String::from_utf8_lossy(&first[1..]).into_owned();
            lines.remove(0);
            let jwt = builder().build().expect("a valid Jwt");
            // An invalid prefix is refused by the configuration; keep the default then.
            match jwt.update_config(|c| c.auth_header_prefix = prefix) {
                Ok(()) => Some(jwt),
                Err(_) => None,
            }
        }
        _ => None,
    };
    let jwt = custom.as_ref().unwrap_or_else(|| jwt());
    let mut request = http::Request::new(());
    for line in &lines {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            request.headers_mut().append(AUTHORIZATION, value);
        }
    }
    let (parts, ()) = request.into_parts();
    let count = parts.headers.get_all(AUTHORIZATION).iter().count();

    match jwt.token(&parts) {
        Ok(None) => {
            // Absent, or one blank header.
            if count == 1 {
                let value = &parts.headers[AUTHORIZATION];
                assert!(
                    value
                        .as_bytes()
                        .iter()
                        .all(|&b| is_python_whitespace(char::from(b))),
                    "{value:?}"
                );
            } else {
                assert_eq!(count, 0);
            }
        }
        Ok(Some(token)) => {
            assert_eq!(count, 1);
            let value: String = parts.headers[AUTHORIZATION]
                .as_bytes()
                .iter()
                .map(|&b| char::from(b))
                .collect();
            let words: Vec<&str> = value
                .split(is_python_whitespace)
                .filter(|w| !w.is_empty())
                .collect();
            assert_eq!(words.len(), 2, "{value:?}");
            assert_eq!(words[1], token);
            assert!(
                words[0].to_lowercase() == jwt.config().auth_header_prefix.to_lowercase(),
                "{value:?}"
            );
            // Whatever the token, verification refuses it with a 4xx or accepts it.
            if let Err(error) = jwt.verify(&token) {
                assert_client_error(jwt, &error);
            }
        }
        Err(error) => {
            assert_client_error(jwt, &error);
            assert!(matches!(error, JwtError::BadHeader(_)), "{error:?}");
            if count > 1 {
                assert!(matches!(
                    error,
                    JwtError::BadHeader(HeaderError::MultipleHeaders)
                ));
            }
        }
    }
});
