//! Test helpers: a fresh database per test (a SQLite file in a temp dir, or a PostgreSQL
//! schema of its own), and a client that drives the router with `oneshot`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

pub(crate) mod suite;

use std::ops::Deref;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use demo::Config;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tower::ServiceExt;

/// The secret every test app signs with.
pub(crate) const SECRET: &str = "a test secret of at least thirty-two bytes";

/// The password of [`Client::user_token`]'s user.
pub(crate) const PASSWORD: &str = "correct horse battery";

/// A running app on its own fresh database.
pub(crate) struct TestApp {
    client: Client,
    database_url: String,
    // Dropped after the router (fields drop in order): removes the database.
    _cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Schema { url: String, schema: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Self::Schema { url, schema } = self {
            let (url, name) = (url.clone(), schema.clone());
            // Drop runs inside the test's runtime: use a runtime of its own on another thread.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let mut connection = PgConnection::connect(&url).await?;
                    connection
                        .execute(AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS {name} CASCADE"
                        )))
                        .await
                        .map(drop)
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop the test schema {schema}");
            }
        }
    }
}

impl Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

fn config(database_url: &str) -> Config {
    Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(database_url.to_owned()),
        "JWT_SECRET_KEY" => Some(SECRET.to_owned()),
        _ => None,
    })
    .unwrap()
}

impl TestApp {
    async fn start(database_url: String, cleanup: Cleanup) -> Self {
        let router = demo::app(&config(&database_url)).await.unwrap();
        Self {
            client: Client { router },
            database_url,
            _cleanup: cleanup,
        }
    }

    /// Another instance of the app on the same database (a second process, or a restart).
    pub(crate) async fn second_instance(&self) -> Client {
        Client {
            router: demo::app(&config(&self.database_url)).await.unwrap(),
        }
    }

    /// Breaks the database under the running app (for the 500 answer).
    pub(crate) async fn drop_items_table(&self) {
        if self.database_url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(&self.database_url)
                .await
                .unwrap();
            connection.execute("DROP TABLE items").await.unwrap();
        } else {
            let mut connection = PgConnection::connect(&self.database_url).await.unwrap();
            connection.execute("DROP TABLE items").await.unwrap();
        }
    }
}

/// A fresh SQLite database file in a temporary directory.
pub(crate) async fn sqlite() -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    Some(TestApp::start(url, Cleanup::Dir(dir)).await)
}

/// A fresh schema in the database of `TEST_POSTGRES_URL`; `None` (and a printed skip line)
/// if the variable is unset. Set but unreachable is a failure.
pub(crate) async fn postgres() -> Option<TestApp> {
    let Ok(base) = std::env::var("TEST_POSTGRES_URL") else {
        println!("skipped: TEST_POSTGRES_URL is not set");
        return None;
    };
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let schema = format!("demo_test_{suffix}");
    let mut admin = PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("TEST_POSTGRES_URL is set but unreachable: {e}"));
    admin
        .execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .unwrap();
    admin.close().await.unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]={schema}");
    let cleanup = Cleanup::Schema { url: base, schema };
    Some(TestApp::start(url, cleanup).await)
}

/// Sends requests to one router.
#[derive(Clone)]
pub(crate) struct Client {
    router: Router,
}

/// A response, its body parsed as JSON (`Value::Null` for an empty body).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
    pub(crate) raw: Vec<u8>,
}

impl Reply {
    /// Asserts the status and, for an error, the exact error body.
    #[track_caller]
    pub(crate) fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        self
    }

    /// Asserts an error answer: this status, exactly `{"message": message, "code": status}`,
    /// JSON content type, and `WWW-Authenticate` on a 401.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(
            (self.status.as_u16(), &self.body),
            (status, &json!({ "message": message, "code": status })),
        );
        self.assert_json();
        if status == 401 {
            assert_eq!(
                self.headers["www-authenticate"],
                r#"JWT realm="Login Required""#
            );
        }
    }

    /// Asserts a 401 with any non-empty message and the challenge.
    #[track_caller]
    pub(crate) fn assert_unauthorized(&self) {
        let message = self.body["message"].as_str().unwrap_or_default().to_owned();
        assert!(!message.is_empty(), "{:?}", self.body);
        self.assert_error(401, &message);
    }

    #[track_caller]
    pub(crate) fn assert_json(&self) {
        assert_eq!(
            self.headers["content-type"], "application/json",
            "{:?}",
            self.body
        );
    }
}

impl Client {
    /// Sends `request` through the router; panics unless the body is empty or JSON.
    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        let reply = self.send_any(request).await;
        if !reply.raw.is_empty()
            && let Err(e) = serde_json::from_slice::<Value>(&reply.raw)
        {
            panic!("{e}: {:?}", reply.raw);
        }
        reply
    }

    /// Sends `request` through the router, whatever its body (`body` is `Value::Null` unless
    /// it is JSON): for the few answers that are not JSON (`GET /docs`).
    pub(crate) async fn send_any(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let raw = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            raw,
        }
    }

    /// `method path` with these headers and this raw body.
    pub(crate) async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    /// `method path`, with `Authorization: JWT <token>` if given and a JSON body if given.
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let authorization = token.map(|token| format!("JWT {token}"));
        let mut headers = Vec::new();
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization.as_str()));
        }
        match body {
            Some(body) => {
                headers.push(("content-type", "application/json"));
                self.raw(method, path, &headers, body.to_string()).await
            }
            None => self.raw(method, path, &headers, Body::empty()).await,
        }
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call("GET", path, token, None).await
    }

    pub(crate) async fn register(&self, username: &str, email: &str, password: &str) -> Reply {
        let body = json!({ "username": username, "email": email, "password": password });
        self.call("POST", "/register", None, Some(&body)).await
    }

    /// Logs in; panics unless it succeeds.
    pub(crate) async fn login(&self, email: &str, password: &str) -> String {
        let body = json!({ "email": email, "password": password });
        let reply = self.call("POST", "/login", None, Some(&body)).await;
        reply.assert_status(200);
        reply.body["access_token"].as_str().unwrap().to_owned()
    }

    /// Registers `joe` and returns his token.
    pub(crate) async fn user_token(&self) -> String {
        self.register("joe", "joe@example.com", PASSWORD)
            .await
            .assert_status(201);
        self.login("joe@example.com", PASSWORD).await
    }

    /// Creates a store; panics unless it is created.
    pub(crate) async fn store(&self, token: &str, name: &str) -> Value {
        let reply = self
            .call("POST", &format!("/store/{name}"), Some(token), None)
            .await;
        reply.assert_status(201);
        reply.body
    }

    /// Creates an item; panics unless it is created.
    pub(crate) async fn item(&self, token: &str, name: &str, price: f64, store_id: i64) -> Value {
        let body = json!({ "price": price, "store_id": store_id });
        let reply = self
            .call("POST", &format!("/item/{name}"), Some(token), Some(&body))
            .await;
        reply.assert_status(201);
        reply.body
    }
}

/// Runs every scenario of [`suite`] as its own test, each on a fresh database made by
/// `$make` (`None`: skipped).
#[macro_export]
macro_rules! behaviour_suite {
    ($make:path) => {
        $crate::behaviour_suite!(@tests $make;
            conventions,
            register_field_rules,
            register_uniqueness,
            login,
            auth_errors,
            token_before_everything,
            public_endpoints_ignore_tokens,
            me,
            item_body_rules,
            item_field_rules,
            items_flow,
            prices_round_trip,
            names_in_paths,
            bad_names,
            stores_flow,
            ids_are_never_reused,
            concurrent_item_posts,
            concurrent_item_puts,
            concurrent_store_posts,
            concurrent_registrations,
            instances_share_the_database,
            broken_database_is_a_plain_500,
        );
    };
    (@tests $make:path; $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let Some(app) = $make().await else { return };
                $crate::common::suite::$scenario(&app).await;
            }
        )*
    };
}
