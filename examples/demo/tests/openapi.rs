//! `GET /openapi.json` and `GET /docs` through the router (`oneshot`): the document covers
//! every route of DEMO-API.md §3 with its statuses, the `{name}` parameters, the
//! representations and the error body, and jwt-gate's security scheme required by exactly the
//! protected operations; Swagger UI is served from the binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

#[allow(
    dead_code,
    reason = "the behaviour suite's helpers are not all used here"
)]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::Request;
use jwt_gate::JwtSecurity;
use serde_json::{Value, json};

use common::{Client, PASSWORD, TestApp};

/// Every route of DEMO-API.md §3: method, path as OpenAPI writes it, whether a token is needed,
/// and the statuses of the table (success and errors; `POST /login` adds the 429 of §1).
const ROUTES: [(&str, &str, bool, &[u16]); 15] = [
    ("get", "/health", false, &[200]),
    ("post", "/register", false, &[201, 400, 413, 415]),
    ("post", "/login", false, &[200, 400, 401, 413, 415, 429]),
    ("get", "/me", true, &[200, 401]),
    ("get", "/item/{name}", true, &[200, 400, 401, 404]),
    ("post", "/item/{name}", true, &[201, 400, 401, 413, 415]),
    ("put", "/item/{name}", true, &[200, 201, 400, 401, 413, 415]),
    ("delete", "/item/{name}", true, &[200, 400, 401, 404]),
    ("get", "/items", false, &[200]),
    ("get", "/store/{name}", false, &[200, 400, 404]),
    ("post", "/store/{name}", true, &[201, 400, 401]),
    ("delete", "/store/{name}", true, &[200, 400, 401, 404, 409]),
    ("get", "/stores", false, &[200]),
    ("get", "/openapi.json", false, &[200]),
    ("get", "/docs", false, &[200]),
];

async fn app() -> TestApp {
    common::sqlite().await.unwrap()
}

/// `GET /openapi.json`, checked to be a JSON answer.
async fn document(client: &Client) -> Value {
    let reply = client.get("/openapi.json", None).await;
    reply.assert_status(200).assert_json();
    reply.body
}

/// `value`, or what its `$ref` (`#/components/...`) points to.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect(reference);
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} does not resolve"))
        }
        None => value,
    }
}

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    doc["paths"][path]
        .get(method)
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
}

/// The JSON schema of `status` of `method path`, resolved.
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let response = &operation(doc, method, path)["responses"][status.to_string()];
    let schema = &response["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {path} {status}: {response}");
    resolve(doc, schema)
}

fn request_schema<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let body = &operation(doc, method, path)["requestBody"];
    assert_eq!(body["required"], true, "{method} {path}");
    resolve(doc, &body["content"]["application/json"]["schema"])
}

/// The property names of an object schema, checked to be all required.
fn keys(schema: &Value) -> BTreeSet<String> {
    assert_eq!(schema["type"], "object", "{schema}");
    let properties: BTreeSet<String> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let required: BTreeSet<String> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(properties, required, "{schema}");
    properties
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|&key| key.to_owned()).collect()
}

fn object_keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn the_document_is_openapi_3_1() {
    let app = app().await;
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1"), "{version}");
    assert!(!doc["info"]["title"].as_str().unwrap().is_empty());
    // HEAD is GET without the body; other methods are JSON 405s, as on every route.
    let head = app.raw("HEAD", "/openapi.json", &[], "").await;
    head.assert_status(200).assert_json();
    assert!(head.raw.is_empty());
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        app.call(method, "/openapi.json", None, None)
            .await
            .assert_error(405, "Method not allowed");
    }
}

#[tokio::test]
async fn every_route_is_documented_with_its_statuses() {
    let app = app().await;
    let doc = document(&app).await;
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(|method| (method.clone(), path.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path, ..)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(documented, expected);

    let mut operation_ids = BTreeSet::new();
    for (method, path, _, statuses) in ROUTES {
        let operation = operation(&doc, method, path);
        let documented: Vec<u16> = operation["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(|status| status.parse().unwrap())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(documented, statuses, "{method} {path}");
        for status in statuses.iter().filter(|status| **status >= 400) {
            let schema = response_schema(&doc, method, path, *status);
            assert_eq!(schema, &doc["components"]["schemas"]["Error"]);
        }
        let id = operation["operationId"].as_str().unwrap();
        assert!(operation_ids.insert(id.to_owned()), "{id} twice");
    }
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = app().await;
    let doc = document(&app).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let path = path.replace("{name}", "x");
        for method in item.as_object().unwrap().keys() {
            let reply = app
                .send_any(
                    Request::builder()
                        .method(method.to_uppercase().as_str())
                        .uri(&path)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            let status = reply.status.as_u16();
            assert_ne!(status, 405, "{method} {path}");
            assert!(
                !(status == 404 && reply.body["message"] == "Not found"),
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn name_parameters() {
    let app = app().await;
    let doc = document(&app).await;
    for (method, path, ..) in ROUTES {
        let parameters = operation(&doc, method, path)
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if path.contains("{name}") {
            assert_eq!(parameters.len(), 1, "{method} {path}");
            let name = &parameters[0];
            assert_eq!(name["name"], "name");
            assert_eq!(name["in"], "path");
            assert_eq!(name["required"], true);
            let schema = resolve(&doc, &name["schema"]);
            assert_eq!(schema["type"], "string");
            assert_eq!(schema["minLength"], 1);
            assert_eq!(schema["maxLength"], 80);
        } else {
            assert!(parameters.is_empty(), "{method} {path}");
        }
    }
}

#[tokio::test]
async fn one_security_scheme_on_exactly_the_protected_operations() {
    let app = app().await;
    let doc = document(&app).await;
    assert_eq!(JwtSecurity::SCHEME_NAME, "jwt");
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes.len(), 1, "{schemes:?}");
    let scheme = &schemes[JwtSecurity::SCHEME_NAME];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "Authorization");
    let description = scheme["description"].as_str().unwrap();
    assert!(description.contains("JWT <token>"), "{description}");

    // No document-wide requirement: public operations need nothing.
    assert!(doc.get("security").is_none());
    let required = json!([{ JwtSecurity::SCHEME_NAME: [] }]);
    for (method, path, protected, statuses) in ROUTES {
        let security = operation(&doc, method, path).get("security");
        if protected {
            assert_eq!(security, Some(&required), "{method} {path}");
            assert!(statuses.contains(&401));
            let challenge = &operation(&doc, method, path)["responses"]["401"]["headers"];
            assert!(
                challenge.get("WWW-Authenticate").is_some(),
                "{method} {path}"
            );
        } else {
            assert_eq!(security, None, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn the_protected_operations_are_those_that_answer_401_without_a_token() {
    let app = app().await;
    let doc = document(&app).await;
    let mut answers = BTreeMap::new();
    for (method, path, ..) in ROUTES {
        let reply = app
            .send_any(
                Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(path.replace("{name}", "x"))
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await;
        // Not any 401: `/login` answers 401 to bad credentials.
        let needs_token = reply.status == 401
            && reply.body["message"] == "Request does not contain an access token";
        let documented = operation(&doc, method, path).get("security").is_some();
        answers.insert((method, path), (needs_token, documented));
    }
    for ((method, path), (needs_token, documented)) in answers {
        assert_eq!(needs_token, documented, "{method} {path}");
    }
}

#[tokio::test]
async fn schemas_of_the_representations_and_the_error_body() {
    let app = app().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let user = set(&["id", "username", "email"]);
    let item = set(&["id", "name", "price", "store_id"]);
    let store = set(&["id", "name", "items"]);
    assert_eq!(keys(&schemas["User"]), user);
    assert_eq!(keys(&schemas["Item"]), item);
    assert_eq!(keys(&schemas["Store"]), store);
    assert_eq!(keys(&schemas["Error"]), set(&["message", "code"]));
    assert_eq!(schemas["Error"]["properties"]["message"]["type"], "string");
    assert_eq!(schemas["Error"]["properties"]["code"]["type"], "integer");
    assert_eq!(schemas["Item"]["properties"]["price"]["type"], "number");
    assert_eq!(schemas["Item"]["properties"]["store_id"]["type"], "integer");
    let store_items = &schemas["Store"]["properties"]["items"];
    assert_eq!(store_items["type"], "array");
    assert_eq!(resolve(&doc, &store_items["items"]), &schemas["Item"]);

    // The answers.
    assert_eq!(response_schema(&doc, "get", "/me", 200), &schemas["User"]);
    for (method, path, status) in [
        ("get", "/item/{name}", 200),
        ("post", "/item/{name}", 201),
        ("put", "/item/{name}", 200),
        ("put", "/item/{name}", 201),
    ] {
        let schema = response_schema(&doc, method, path, status);
        assert_eq!(schema, &schemas["Item"], "{method} {path} {status}");
    }
    for (method, status) in [("get", 200), ("post", 201)] {
        let schema = response_schema(&doc, method, "/store/{name}", status);
        assert_eq!(schema, &schemas["Store"], "{method} {status}");
    }
    for (path, key, element) in [("/items", "items", "Item"), ("/stores", "stores", "Store")] {
        let list = response_schema(&doc, "get", path, 200);
        assert_eq!(keys(list), set(&[key]));
        let array = &list["properties"][key];
        assert_eq!(array["type"], "array");
        assert_eq!(resolve(&doc, &array["items"]), &schemas[element]);
    }
    let health = response_schema(&doc, "get", "/health", 200);
    assert_eq!(keys(health), set(&["status"]));
    let login = response_schema(&doc, "post", "/login", 200);
    assert_eq!(keys(login), set(&["access_token", "user_id"]));
    for (method, path, status) in [
        ("post", "/register", 201),
        ("delete", "/item/{name}", 200),
        ("delete", "/store/{name}", 200),
    ] {
        let schema = response_schema(&doc, method, path, status);
        assert_eq!(keys(schema), set(&["message"]), "{method} {path}");
    }

    // The request bodies.
    let register = request_schema(&doc, "post", "/register");
    assert_eq!(keys(register), set(&["username", "email", "password"]));
    let login = request_schema(&doc, "post", "/login");
    assert_eq!(keys(login), set(&["email", "password"]));
    for method in ["post", "put"] {
        let body = request_schema(&doc, method, "/item/{name}");
        assert_eq!(keys(body), set(&["price", "store_id"]), "{method}");
    }
    for (method, path, ..) in ROUTES {
        let reads_a_body = matches!(
            (method, path),
            ("post", "/register" | "/login" | "/item/{name}") | ("put", "/item/{name}")
        );
        let documented = operation(&doc, method, path).get("requestBody").is_some();
        assert_eq!(documented, reads_a_body, "{method} {path}");
    }

    // Every reference resolves.
    check_references(&doc, &doc);
}

fn check_references(doc: &Value, value: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref") {
                let pointer = reference.as_str().unwrap().strip_prefix('#').unwrap();
                assert!(doc.pointer(pointer).is_some(), "{reference}");
            }
            map.values().for_each(|value| check_references(doc, value));
        }
        Value::Array(values) => values.iter().for_each(|value| check_references(doc, value)),
        _ => {}
    }
}

#[tokio::test]
async fn the_schemas_match_the_answers() {
    let app = app().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    app.register("joe", "joe@example.com", PASSWORD)
        .await
        .assert_status(201);
    let login = app
        .call(
            "POST",
            "/login",
            None,
            Some(&json!({"email": "joe@example.com", "password": PASSWORD})),
        )
        .await;
    login.assert_status(200);
    assert_eq!(object_keys(&login.body), keys(&schemas["LoginResponse"]));
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    let me = app.get("/me", Some(&token)).await;
    assert_eq!(object_keys(&me.body), keys(&schemas["User"]));
    let store = app.store(&token, "shop").await;
    let item = app
        .item(&token, "chair", 12.5, store["id"].as_i64().unwrap())
        .await;
    assert_eq!(object_keys(&item), keys(&schemas["Item"]));
    let store = app.get("/store/shop", None).await.body;
    assert_eq!(object_keys(&store), keys(&schemas["Store"]));
    assert_eq!(object_keys(&store["items"][0]), keys(&schemas["Item"]));
    let missing = app.get("/item/nothing", Some(&token)).await;
    missing.assert_error(404, "Item not found");
    assert_eq!(object_keys(&missing.body), keys(&schemas["Error"]));
}

/// The `href` and `src` values of `html`.
fn links(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attribute in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attribute) {
            rest = &rest[at + attribute.len()..];
            links.push(rest.split('"').next().unwrap().to_owned());
        }
    }
    links
}

#[tokio::test]
async fn docs_is_swagger_ui_served_from_the_binary() {
    let app = app().await;
    let page = app.send_any(get("/docs")).await;
    page.assert_status(200);
    let content_type = page.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = String::from_utf8(page.raw).unwrap();
    assert!(html.contains("swagger-ui"), "{html}");

    // Every file the page loads is served here (none from elsewhere), relative to `/docs`.
    let links = links(&html);
    assert!(links.len() >= 4, "{links:?}");
    let mut scripts = 0;
    for link in &links {
        assert!(!link.contains("//") && !link.contains(':'), "{link}");
        let path = if link.starts_with('/') {
            link.clone()
        } else {
            format!("/{link}")
        };
        assert!(path.starts_with("/docs/"), "{path}");
        let file = app.send_any(get(&path)).await;
        file.assert_status(200);
        assert!(!file.raw.is_empty(), "{path}");
        let content_type = file.headers["content-type"].to_str().unwrap();
        let expected = match path.rsplit('.').next().unwrap() {
            "css" => "text/css",
            "js" => {
                scripts += 1;
                "javascript"
            }
            "png" => "image/png",
            other => panic!("{path}: .{other}"),
        };
        assert!(content_type.contains(expected), "{path}: {content_type}");
    }
    assert!(scripts >= 2, "{links:?}");

    // It shows this document, and sends nothing to swagger.io's validator.
    let initializer = app.send_any(get("/docs/swagger-initializer.js")).await;
    let initializer = String::from_utf8(initializer.raw).unwrap();
    assert!(
        initializer.contains(r#""url": "/openapi.json""#),
        "{initializer}"
    );
    assert!(
        initializer.contains(r#""validatorUrl": "none""#),
        "{initializer}"
    );
}

#[tokio::test]
async fn docs_routes_speak_json_errors() {
    let app = app().await;
    let head = app.raw("HEAD", "/docs", &[], "").await;
    head.assert_status(200);
    assert!(head.raw.is_empty());
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        for path in ["/docs", "/docs/swagger-ui.css"] {
            app.call(method, path, None, None)
                .await
                .assert_error(405, "Method not allowed");
        }
    }
    for path in [
        "/docs/",
        "/docs/nope.js",
        "/docs/a/b",
        "/docs/..%2Fx",
        "/docs/%FF",
    ] {
        app.get(path, None).await.assert_error(404, "Not found");
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}
