//! Whole requests through the Router (`routes()` + `json_errors`, protected routes, with and
//! without the lifecycle), driven by `tower::ServiceExt::oneshot` on a current-thread runtime:
//! the status is 200 or 4xx, never 5xx, and every error body has the default shape.
//!
//! Input: a small HTTP-like text. First line `METHOD PATH`, then header lines `name: value`
//! up to an empty line, then the body. Pseudo-headers: `x-fuzz-store: 1` turns the lifecycle
//! on (a new `MemoryStore` per input), `x-fuzz-chunk: N` streams the body in N-byte frames.
//! Lines that are not a valid method, path or header are skipped.

#![no_main]

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use jwt_gate_fuzz::{Chunked, assert_reply, jwt, lifecycle_jwt, router, send};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn plain_router() -> &'static axum::Router {
    static ROUTER: OnceLock<axum::Router> = OnceLock::new();
    ROUTER.get_or_init(|| router(jwt()))
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let mut words = first.splitn(2, |&b| b == b' ');
    let Ok(method) = Method::from_bytes(words.next().unwrap_or_default()) else {
        return;
    };
    let path = String::from_utf8_lossy(words.next().unwrap_or(b"/auth"));
    let Ok(uri) = path.parse::<http::Uri>() else {
        return;
    };
    let mut store = false;
    let mut chunk = 0_usize;
    let mut headers = http::HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii_start());
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        else {
            continue;
        };
        match name.as_str() {
            "x-fuzz-store" => store = value.as_bytes() == b"1",
            "x-fuzz-chunk" => {
                chunk = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            }
            _ => {
                headers.append(name, value);
            }
        }
    }
    let body = if chunk == 0 {
        Body::from(body.to_vec())
    } else {
        Body::new(Chunked(
            body.chunks(chunk).map(Bytes::copy_from_slice).collect(),
        ))
    };
    let head_request = method == Method::HEAD;
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(body)
        .expect("valid parts");
    *request.headers_mut() = headers;

    let reply = if store {
        send(&router(&lifecycle_jwt()), request)
    } else {
        send(plain_router(), request)
    };
    assert_reply(&reply, head_request);
    if reply.status == StatusCode::OK && !head_request {
        let body: serde_json::Value = serde_json::from_slice(&reply.body).expect("JSON");
        if let Some(token) = body.get("access_token") {
            // A login or a refresh: the tokens verify, and the response is not cacheable.
            let token = token.as_str().expect("a string token");
            assert!(jwt().verify(token).is_ok(), "{body}");
            assert_eq!(
                reply
                    .headers
                    .get(http::header::CACHE_CONTROL)
                    .map(|v| v.as_bytes()),
                Some(&b"no-store"[..])
            );
        }
    }
});
