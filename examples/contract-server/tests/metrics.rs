//! `GET /metrics` through the `Router`, with a recorder local to the test's thread so that
//! parallel tests never share counts.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use contract_server::{Settings, app, app_with_metrics, prometheus_recorder};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn settings() -> Settings {
    Settings::from_lookup(|name| (name == "APP_METRICS").then(|| "1".to_owned())).unwrap()
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn login(body: &str) -> Request<Body> {
    Request::post("/auth")
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn get(path: &str, authorization: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.body(Body::empty()).unwrap()
}

/// The value of the sample `name{labels}` (or `name` without labels) in the exposition.
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let (key, value) = line.rsplit_once(' ')?;
        (key == series).then(|| value.parse().unwrap())
    })
}

#[test]
fn metrics_count_exactly_what_happened() {
    let recorder = prometheus_recorder();
    let app = app_with_metrics(settings(), None, Some(recorder.handle())).unwrap();
    let exposition = metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let good = r#"{"username":"user1","password":"abcxyz"}"#;
            let (status, body) = send(&app, login(good)).await;
            assert_eq!(status, StatusCode::OK);
            let token: serde_json::Value = serde_json::from_str(&body).unwrap();
            let token = token["access_token"].as_str().unwrap().to_owned();
            assert_eq!(send(&app, login(good)).await.0, StatusCode::OK);
            let bad = r#"{"username":"user1","password":"nope"}"#;
            assert_eq!(send(&app, login(bad)).await.0, StatusCode::UNAUTHORIZED);

            let bearer = format!("JWT {token}");
            for _ in 0..3 {
                let (status, _) = send(&app, get("/protected", Some(&bearer))).await;
                assert_eq!(status, StatusCode::OK);
            }
            let refusals = [
                None,
                None,
                Some("Bearer x".to_owned()),
                Some(format!("JWT {token}x")),
            ];
            for authorization in &refusals {
                let (status, _) = send(&app, get("/protected", authorization.as_deref())).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED);
            }
            let (status, exposition) = send(&app, get("/metrics", None)).await;
            assert_eq!(status, StatusCode::OK);
            exposition
        })
    });
    let count = |series: &str| sample(&exposition, series).unwrap_or(0.0);
    assert_eq!(
        count(r#"jwtgate_logins_total{outcome="success"}"#),
        2.0,
        "{exposition}"
    );
    assert_eq!(count(r#"jwtgate_logins_total{outcome="failure"}"#), 1.0);
    assert_eq!(count(r#"jwtgate_tokens_issued_total{type="access"}"#), 2.0);
    assert_eq!(
        count(r#"jwtgate_auth_failures_total{reason="missing_token"}"#),
        2.0
    );
    assert_eq!(
        count(r#"jwtgate_auth_failures_total{reason="invalid_header"}"#),
        1.0
    );
    assert_eq!(
        count(r#"jwtgate_auth_failures_total{reason="invalid_token"}"#),
        1.0
    );
    // One verification per token presented: three good, one tampered.
    assert_eq!(count("jwtgate_verify_duration_seconds_count"), 4.0);
    // A histogram with explicit buckets, not a summary.
    assert!(exposition.contains("# TYPE jwtgate_verify_duration_seconds histogram"));
    assert!(exposition.contains(r#"jwtgate_verify_duration_seconds_bucket{le="0.001"}"#));
}

#[test]
fn metrics_is_404_without_app_metrics() {
    let settings = Settings::from_lookup(|_| None).unwrap();
    let app = app(settings, None).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, body) = runtime.block_on(send(&app, get("/metrics", None)));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Not found"));
}
