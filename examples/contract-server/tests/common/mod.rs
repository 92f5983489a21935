//! Shared helpers: start the built `contract-server` and talk raw HTTP/1.1 to it.

// Test helpers: a failure to start the server or parse its answer is a failed test. Each test
// file uses a different subset of them.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_contract-server");

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) port: u16,
}

impl Server {
    /// Starts the server with `vars`; its stderr is discarded.
    pub(crate) fn start(vars: &[(&str, &str)]) -> Self {
        Self::spawn(vars, Stdio::null())
    }

    /// Starts the server with `vars`, keeping its stderr for the test to read.
    pub(crate) fn start_capturing_logs(vars: &[(&str, &str)]) -> Self {
        Self::spawn(vars, Stdio::piped())
    }

    /// Starts the server on `port` (a restart on the port of a stopped one); stderr discarded.
    pub(crate) fn start_on(port: u16, vars: &[(&str, &str)]) -> Self {
        Self::spawn_on(port, vars, Stdio::null())
    }

    fn spawn(vars: &[(&str, &str)], stderr: Stdio) -> Self {
        Self::spawn_on(free_port(), vars, stderr)
    }

    fn spawn_on(port: u16, vars: &[(&str, &str)], stderr: Stdio) -> Self {
        let mut command = Command::new(BINARY);
        command
            .env_clear()
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(stderr);
        for (name, value) in vars {
            command.env(name, value);
        }
        let child = command.spawn().expect("start contract-server");
        let server = Self { child, port };
        server.wait_ready();
        server
    }

    /// Polls `GET /public` until it answers: readiness, not a timing assertion.
    pub(crate) fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) =
                self.try_send("GET /public HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                && response.status == 200
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("contract-server did not become ready");
    }

    pub(crate) fn try_send(&self, raw: &str) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(raw.as_bytes())?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes)?;
        Ok(Response::parse(&bytes))
    }

    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response {
        let mut raw =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (name, value) in headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        raw.push_str("\r\n");
        raw.push_str(body.unwrap_or_default());
        self.try_send(&raw).expect("request")
    }

    /// `method path` with `Authorization: JWT <token>`.
    pub(crate) fn with_token(&self, method: &str, path: &str, token: &str) -> Response {
        self.request(
            method,
            path,
            &[("Authorization", &format!("JWT {token}"))],
            None,
        )
    }

    pub(crate) fn login(&self, body: &str) -> Response {
        self.request(
            "POST",
            "/auth",
            &[("Content-Type", "application/json")],
            Some(body),
        )
    }

    pub(crate) fn token(&self) -> String {
        let response = self.login(r#"{"username":"user1","password":"abcxyz"}"#);
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub(crate) fn terminate(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Response {
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        let mut reader = BufReader::new(bytes);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let (name, value) = trimmed.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut body = String::new();
        reader.read_to_string(&mut body).unwrap();
        Self {
            status,
            headers,
            body,
        }
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
}

/// Runs the server with `vars` and waits for it to exit by itself (a configuration error):
/// its exit code and stderr. A server that starts instead is killed and the test fails.
pub(crate) fn run_to_exit(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PORT", free_port().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in vars {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start contract-server");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("contract-server started with {vars:?} instead of exiting");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

/// The JSON of a token's header (`index` 0) or claims (`index` 1), not verified.
pub(crate) fn token_part(token: &str, index: usize) -> Value {
    use base64::Engine as _;
    let segment = token.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
