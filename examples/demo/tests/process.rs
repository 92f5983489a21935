//! The `demo` binary as a process: configuration from the environment, start-up errors,
//! persistence across a kill and a restart, graceful shutdown, and nothing secret in its
//! output. Spoken to over plain HTTP/1.1 on the loopback interface.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SECRET: &str = "a fixed secret of at least thirty-two bytes";
const PASSWORD: &str = "correct horse battery";

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends `text` as it is and reads the answer to the end: the status and the body parsed as
/// JSON (`Value::Null` if empty).
fn exchange(port: u16, text: &str) -> std::io::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(text.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap()
    };
    Ok((status, body))
}

/// One request with `Connection: close`; the status and the body parsed as JSON.
fn request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(token) = token {
        head.push_str(&format!("Authorization: JWT {token}\r\n"));
    }
    exchange(port, &format!("{head}\r\n{body}"))
}

fn call(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    request(port, method, path, token, body).unwrap()
}

/// The demo binary with exactly these variables (nothing inherited that it reads), its
/// stderr going to `stderr_file`.
struct Demo {
    child: Child,
    port: u16,
}

fn spawn(dir: &Path, vars: &[(&str, &str)], stderr_file: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_demo"));
    command
        .current_dir(dir)
        .env_clear()
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("stdout.log")).unwrap())
        .stderr(std::fs::File::create(stderr_file).unwrap());
    for (name, value) in vars {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

impl Demo {
    /// Starts the demo on a free port and waits until `GET /health` answers.
    fn start(dir: &Path, vars: &[(&str, &str)], log: &str) -> Self {
        let port = free_port();
        let port_text = port.to_string();
        let mut all = vec![("HOST", "127.0.0.1"), ("PORT", port_text.as_str())];
        all.extend_from_slice(vars);
        let mut child = spawn(dir, &all, &dir.join(log));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok((200, body)) = request(port, "GET", "/health", None, None) {
                assert_eq!(body, json!({"status": "ok"}));
                return Self { child, port };
            }
            if let Some(status) = child.try_wait().unwrap() {
                let stderr = std::fs::read_to_string(dir.join(log)).unwrap();
                panic!("demo exited with {status} before it was ready:\n{stderr}");
            }
            assert!(Instant::now() < deadline, "demo not ready after 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        call(self.port, method, path, token, body)
    }

    /// Sends `signal` (by pid) and waits at most `limit` for the exit.
    fn stop(mut self, signal: &str, limit: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(sent.success());
        wait(&mut self.child, limit)
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn wait(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn login(demo: &Demo, email: &str) -> String {
    let (status, body) = demo.call(
        "POST",
        "/login",
        None,
        Some(&json!({"email": email, "password": PASSWORD})),
    );
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn data_and_tokens_survive_a_kill_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // An absolute path, three slashes, with a query parameter.
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("data.db").display());
    let vars = [("DATABASE_URL", url.as_str()), ("JWT_SECRET_KEY", SECRET)];

    let demo = Demo::start(dir.path(), &vars, "first.log");
    let (status, _) = demo.call(
        "POST",
        "/register",
        None,
        Some(&json!({"username": "joe", "email": "Joe@Example.com", "password": PASSWORD})),
    );
    assert_eq!(status, 201);
    let token = login(&demo, "joe@example.com");
    assert_eq!(demo.call("POST", "/store/shop", Some(&token), None).0, 201);
    let body = json!({"price": 12.5, "store_id": 1});
    assert_eq!(
        demo.call("POST", "/item/chair", Some(&token), Some(&body))
            .0,
        201
    );
    assert_eq!(
        demo.call("POST", "/item/lamp", Some(&token), Some(&body)).0,
        201
    );
    assert_eq!(demo.call("DELETE", "/item/lamp", Some(&token), None).0, 200);
    let (_, stores) = demo.call("GET", "/stores", None, None);
    demo.kill();

    let demo = Demo::start(dir.path(), &vars, "second.log");
    assert_eq!(demo.call("GET", "/stores", None, None), (200, stores));
    // The token issued before the restart is still valid.
    let (status, me) = demo.call("GET", "/me", Some(&token), None);
    assert_eq!(status, 200);
    assert_eq!(
        me,
        json!({"id": 1, "username": "joe", "email": "Joe@Example.com"})
    );
    let fresh = login(&demo, "JOE@example.com");
    // Ids are not reused after a restart: `lamp` had 2.
    let (status, item) = demo.call("POST", "/item/desk", Some(&fresh), Some(&body));
    assert_eq!(status, 201);
    assert_eq!(item["id"], 3);
    let status = demo.stop("-TERM", Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{status}");

    // Neither passwords nor tokens nor the secret reach the output, even at debug level.
    for log in ["first.log", "second.log", "stdout.log"] {
        let text = std::fs::read_to_string(dir.path().join(log)).unwrap();
        for secret in [PASSWORD, token.as_str(), fresh.as_str(), SECRET] {
            assert!(!text.contains(secret), "{log} shows a secret:\n{text}");
        }
    }
    let first = std::fs::read_to_string(dir.path().join("first.log")).unwrap();
    assert!(!first.contains("JWT_SECRET_KEY"), "{first}");
}

#[test]
fn defaults_a_relative_database_and_a_random_secret() {
    let dir = tempfile::tempdir().unwrap();
    // No DATABASE_URL: `demo.db` in the working directory. No JWT_SECRET_KEY: a warning.
    let demo = Demo::start(dir.path(), &[], "first.log");
    assert!(dir.path().join("demo.db").exists());
    let stderr = std::fs::read_to_string(dir.path().join("first.log")).unwrap();
    assert!(stderr.contains("JWT_SECRET_KEY"), "{stderr}");
    let (status, _) = demo.call(
        "POST",
        "/register",
        None,
        Some(&json!({"username": "joe", "email": "joe@example.com", "password": PASSWORD})),
    );
    assert_eq!(status, 201);
    let token = login(&demo, "joe@example.com");
    assert_eq!(demo.call("GET", "/me", Some(&token), None).0, 200);
    let status = demo.stop("-INT", Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{status}");

    // `sqlite://demo.db` is the same file; the random secret of the last run is gone.
    let demo = Demo::start(
        dir.path(),
        &[("DATABASE_URL", "sqlite://demo.db")],
        "second.log",
    );
    let (status, body) = demo.call("GET", "/me", Some(&token), None);
    assert_eq!(
        (status, body),
        (
            401,
            json!({"message": "Signature verification failed", "code": 401})
        )
    );
    login(&demo, "joe@example.com");
    demo.kill();
}

#[test]
fn start_up_errors_exit_without_listening() {
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = format!(
        "sqlite://{}",
        dir.path().join("no/such/dir/demo.db").display()
    );
    let short = &SECRET[..31];
    for (vars, expected) in [
        (vec![("JWT_SECRET_KEY", short)], "JWT_SECRET_KEY"),
        (vec![("PORT", "http")], "PORT"),
        (vec![("PORT", "70000")], "PORT"),
        (vec![("JWT_EXPIRATION_DELTA", "0")], "JWT_EXPIRATION_DELTA"),
        (
            vec![("JWT_EXPIRATION_DELTA", "soon")],
            "JWT_EXPIRATION_DELTA",
        ),
        (vec![("JWT_LEEWAY", "-1")], "JWT_LEEWAY"),
        (vec![("DATABASE_URL", missing_dir.as_str())], "DATABASE_URL"),
        (
            vec![("DATABASE_URL", "mysql://localhost/db")],
            "DATABASE_URL",
        ),
    ] {
        let port = free_port();
        let port_text = port.to_string();
        let mut all = vec![("PORT", port_text.as_str()), ("JWT_SECRET_KEY", SECRET)];
        // Later values win.
        all.extend(vars.iter().copied());
        let log = dir.path().join("error.log");
        let mut child = spawn(dir.path(), &all, &log);
        let status = wait(&mut child, Duration::from_secs(20));
        let stderr = std::fs::read_to_string(&log).unwrap();
        assert!(!status.success(), "{vars:?}: {status}");
        assert!(stderr.contains(expected), "{vars:?}: {stderr}");
        assert!(!stderr.contains(short), "{stderr}");
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "{vars:?}: something listens"
        );
    }
    assert!(!dir.path().join("no").exists());
}

#[test]
fn header_limits_are_json_and_large_bodies_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(dir.path(), &[("JWT_SECRET_KEY", SECRET)], "demo.log");
    let request = |headers: &str| {
        exchange(
            demo.port,
            &format!("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n"),
        )
        .unwrap()
    };
    // Many small headers are fine; more than 16 KiB of them is a JSON 431.
    let many: String = (0..300).map(|n| format!("x-h{n}: v\r\n")).collect();
    assert_eq!(request(&many), (200, json!({"status": "ok"})));
    let large = format!("x-large: {}\r\n", "v".repeat(17 * 1024));
    assert_eq!(
        request(&large),
        (
            431,
            json!({"message": "Request headers too large", "code": 431})
        )
    );
    // A body far over the limit is refused (or cut off), and the server carries on.
    let huge = "x".repeat(5 * 1024 * 1024);
    let text = format!(
        "POST /register HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{huge}",
        huge.len()
    );
    if let Ok(answer) = exchange(demo.port, &text) {
        assert_eq!(
            answer,
            (
                413,
                json!({"message": "Request body too large", "code": 413})
            )
        );
    }
    assert_eq!(demo.call("GET", "/health", None, None).0, 200);
    let status = demo.stop("-TERM", Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn login_throttle_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(
        dir.path(),
        &[
            ("LOGIN_THROTTLE", "2"),
            ("JWT_SECRET_KEY", "a-throttle-test-secret-0123456789abcdef"),
        ],
        "throttle.log",
    );
    let (status, _) = demo.call(
        "POST",
        "/register",
        None,
        Some(&json!({"username": "joe", "email": "joe@example.com", "password": PASSWORD})),
    );
    assert_eq!(status, 201);
    for email in ["joe@example.com", "JOE@example.com"] {
        let wrong = json!({"email": email, "password": "wrong password"});
        let (status, body) = demo.call("POST", "/login", None, Some(&wrong));
        assert_eq!(
            (status, body),
            (401, json!({"message": "Invalid credentials", "code": 401}))
        );
    }
    // Two failures for this email (whatever its case): even the right password is refused.
    let right = json!({"email": "Joe@Example.com", "password": PASSWORD}).to_string();
    let raw = format!(
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{right}",
        right.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", demo.port)).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");
    let retry_after: u64 = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("retry-after: ")
                .map(str::to_owned)
        })
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        serde_json::from_str::<Value>(body).unwrap(),
        json!({"message": "Too many failed login attempts; retry later", "code": 429})
    );
    demo.kill();
}
