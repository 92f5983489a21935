//! The cookie extension in a real browser: headless Chromium runs a page that logs in, reads
//! `document.cookie`, calls protected routes with and without `X-CSRF-TOKEN`, refreshes, logs
//! out, and writes what it saw into the DOM, which `--dump-dom` prints.
//!
//! contract-server serves no HTML and adds no CORS headers, so a small same-origin front in
//! this test serves the page at `/__test` and forwards every other request to the server.
//!
//! Needs `/usr/bin/chromium` (Debian: `apt-get update && apt-get install -y chromium`). Without
//! it the test fails, saying so: CI installs it.

// Test helpers: a malformed answer is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use common::Server;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long Chromium may run before the test gives up on it.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(120);

/// The page: every step of a cookie session, its outcome written as base64 JSON between
/// markers (base64, so that HTML serialization cannot alter it).
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>jwt-gate cookies</title></head>
<body><pre id="summary">pending</pre>
<script>
(async () => {
  const out = {};
  const names = () => document.cookie.split(';').map(c => c.trim()).filter(c => c)
    .map(c => c.split('=')[0]).sort();
  const cookie = (name) => {
    const found = document.cookie.split(';').map(c => c.trim())
      .find(c => c.startsWith(name + '='));
    return found === undefined ? null : found.slice(name.length + 1);
  };
  const call = async (method, path, headers, body) => {
    const r = await fetch(path, {method, headers: headers || {}, body,
                                 credentials: 'same-origin', cache: 'no-store'});
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { json = {unparsed: text}; }
    return {status: r.status, body: json};
  };
  try {
    out.login = await call('POST', '/auth', {'Content-Type': 'application/json'},
                           JSON.stringify({username: 'user1', password: 'abcxyz'}));
    out.cookiesAfterLogin = names();
    out.csrfAccess = cookie('csrf_access_token');
    out.csrfRefresh = cookie('csrf_refresh_token');
    out.getProtected = await call('GET', '/protected');
    out.postWithoutCsrf = await call('POST', '/protected');
    out.postWithCsrf = await call('POST', '/protected', {'X-CSRF-TOKEN': out.csrfAccess});
    out.deleteWithCsrf = await call('DELETE', '/protected', {'X-CSRF-TOKEN': out.csrfAccess});
    out.refreshWithAccessCsrf = await call('POST', '/refresh', {'X-CSRF-TOKEN': out.csrfAccess});
    out.refresh = await call('POST', '/refresh', {'X-CSRF-TOKEN': out.csrfRefresh});
    out.cookiesAfterRefresh = names();
    out.csrfAccessAfterRefresh = cookie('csrf_access_token');
    out.csrfRefreshAfterRefresh = cookie('csrf_refresh_token');
    out.postWithOldCsrf = await call('POST', '/protected', {'X-CSRF-TOKEN': out.csrfAccess});
    out.postWithNewCsrf = await call('POST', '/protected',
                                     {'X-CSRF-TOKEN': out.csrfAccessAfterRefresh});
    out.logoutWithoutCsrf = await call('POST', '/logout');
    out.logout = await call('POST', '/logout', {'X-CSRF-TOKEN': out.csrfAccessAfterRefresh});
    out.cookiesAfterLogout = names();
    out.getAfterLogout = await call('GET', '/protected');
  } catch (e) {
    out.error = String(e && e.stack || e);
  }
  document.getElementById('summary').textContent =
    'SUMMARY:' + btoa(JSON.stringify(out)) + ':END';
})();
</script></body></html>
"#;

// ---------------------------------------------------------------------------------------------
// The same-origin front: the page at /__test, everything else forwarded to contract-server.

struct Front {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Front {
    fn start(backend: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                thread::spawn(move || {
                    // A browser's idle preconnection or a broken request: nothing to do.
                    let _ = serve(stream, backend);
                });
            }
        });
        Self { port, stop }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One request on `client`: the page, or a round trip to the backend (`Connection: close`
/// both ways, so that each connection carries one exchange).
fn serve(mut client: TcpStream, backend: u16) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut raw = Vec::new();
    let mut buffer = [0_u8; 8192];
    let head_end = loop {
        let n = client.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        raw.extend_from_slice(&buffer[..n]);
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if raw.len() > 64 * 1024 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let path = request_line.split(' ').nth(1).unwrap_or_default();
    if path == "/__test" {
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{PAGE}",
            PAGE.len()
        );
        client.write_all(response.as_bytes())?;
        client.flush()?;
        return client.shutdown(Shutdown::Both);
    }
    let mut headers = Vec::new();
    let mut length = 0_usize;
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let lower = name.trim().to_ascii_lowercase();
        if lower == "content-length" {
            length = value.trim().parse().unwrap_or(0);
        }
        if [
            "connection",
            "keep-alive",
            "proxy-connection",
            "transfer-encoding",
        ]
        .contains(&lower.as_str())
        {
            continue;
        }
        headers.push(line.to_owned());
    }
    let mut body = raw[head_end..].to_vec();
    while body.len() < length {
        let n = client.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buffer[..n]);
    }
    let mut upstream = TcpStream::connect(("127.0.0.1", backend))?;
    upstream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut forwarded = format!("{request_line}\r\n");
    for header in headers {
        forwarded.push_str(&header);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    upstream.write_all(forwarded.as_bytes())?;
    upstream.write_all(&body)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    client.write_all(&response)?;
    client.flush()?;
    client.shutdown(Shutdown::Both)
}

// ---------------------------------------------------------------------------------------------
// Chromium.

/// A fresh profile directory, removed afterwards.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("jwt-gate-browser-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs headless Chromium on `url` with `--dump-dom`; returns (stdout, stderr). Killed (its
/// whole process group) after [`CHROMIUM_TIMEOUT`].
fn dump_dom(url: &str, profile: &Path) -> (String, String) {
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.display()),
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {CHROMIUM}: {e}"));
    let group = child.id();
    let (tx_out, rx_out) = mpsc::channel();
    let mut stdout = child.stdout.take().unwrap();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = tx_out.send(text);
    });
    let (tx_err, rx_err) = mpsc::channel();
    let mut stderr = child.stderr.take().unwrap();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx_err.send(text);
    });
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    // Whatever is left of the group Chromium started (its helpers): gone.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let out = rx_out
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_default();
    let err = rx_err
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_default();
    assert!(
        status.is_some(),
        "Chromium did not finish within {CHROMIUM_TIMEOUT:?}\nstdout: {out}\nstderr: {err}"
    );
    (out, err)
}

/// The JSON summary the page wrote into the DOM.
fn summary(stdout: &str, stderr: &str) -> Value {
    let start = stdout.find("SUMMARY:").unwrap_or_else(|| {
        panic!(
            "no summary in the DOM (the page did not finish)\nstdout: {stdout}\nstderr: {stderr}"
        )
    }) + "SUMMARY:".len();
    let end = start
        + stdout[start..]
            .find(":END")
            .expect("the end marker of the summary");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stdout[start..end].trim())
        .expect("base64 summary");
    serde_json::from_slice(&bytes).expect("a JSON summary")
}

fn error(status: u16, title: &str, description: &str) -> Value {
    json!({"status_code": status, "error": title, "description": description})
}

#[track_caller]
fn assert_step(summary: &Value, step: &str, status: u16, body: &Value) {
    let got = &summary[step];
    assert_eq!(got["status"], status, "{step}: {got}\nsummary: {summary:#}");
    assert_eq!(&got["body"], body, "{step}\nsummary: {summary:#}");
}

#[test]
fn a_cookie_session_in_headless_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: this test needs headless Chromium. Install it with \
         `apt-get update && apt-get install -y chromium` (Debian; CI installs it)"
    );
    let server = Server::start(&[("APP_TOKEN_LOCATION", "cookies"), ("APP_LIFECYCLE", "1")]);
    let front = Front::start(server.port);
    let profile = Profile::new();
    let url = format!("http://127.0.0.1:{}/__test", front.port);
    let (stdout, stderr) = dump_dom(&url, &profile.0);
    let summary = summary(&stdout, &stderr);
    assert!(
        summary.get("error").is_none(),
        "the page threw: {summary:#}"
    );

    let user1 = json!({"id": 1, "username": "user1"});
    let missing_csrf = error(401, "Invalid CSRF token", "Missing CSRF token");
    let mismatch = error(
        401,
        "Invalid CSRF token",
        "CSRF double submit tokens do not match",
    );

    assert_step(&summary, "login", 200, &json!({"login": true}));
    // The CSRF cookies are readable, the token cookies are HttpOnly (and the refresh cookie is
    // scoped to /refresh besides).
    assert_eq!(
        summary["cookiesAfterLogin"],
        json!(["csrf_access_token", "csrf_refresh_token"]),
        "{summary:#}"
    );
    let csrf_access = summary["csrfAccess"].as_str().expect("a csrf_access_token");
    let csrf_refresh = summary["csrfRefresh"]
        .as_str()
        .expect("a csrf_refresh_token");
    assert!(csrf_access.len() >= 16 && csrf_refresh.len() >= 16);
    assert_ne!(csrf_access, csrf_refresh);

    // The browser sends the cookie by itself; state-changing calls add the header.
    assert_step(&summary, "getProtected", 200, &user1);
    assert_step(&summary, "postWithoutCsrf", 401, &missing_csrf);
    assert_step(&summary, "postWithCsrf", 200, &user1);
    assert_step(&summary, "deleteWithCsrf", 200, &user1);

    // /refresh gets the refresh cookie (Path=/refresh) and wants its own CSRF value.
    assert_step(&summary, "refreshWithAccessCsrf", 401, &mismatch);
    assert_step(&summary, "refresh", 200, &json!({"refresh": true}));
    assert_eq!(
        summary["cookiesAfterRefresh"],
        json!(["csrf_access_token", "csrf_refresh_token"]),
        "{summary:#}"
    );
    let new_access = summary["csrfAccessAfterRefresh"].as_str().unwrap();
    let new_refresh = summary["csrfRefreshAfterRefresh"].as_str().unwrap();
    assert_ne!(
        new_access, csrf_access,
        "the refresh set a new csrf_access_token"
    );
    assert_ne!(
        new_refresh, csrf_refresh,
        "the refresh set a new csrf_refresh_token"
    );
    // The browser now sends the new access cookie: the old CSRF value no longer matches.
    assert_step(&summary, "postWithOldCsrf", 401, &mismatch);
    assert_step(&summary, "postWithNewCsrf", 200, &user1);

    // Logout: refused without CSRF (nothing cleared), then 200 and every cookie gone.
    assert_step(&summary, "logoutWithoutCsrf", 401, &missing_csrf);
    assert_eq!(summary["logout"]["status"], 200, "{summary:#}");
    assert!(
        summary["logout"]["body"]["message"].is_string(),
        "{summary:#}"
    );
    assert_eq!(summary["cookiesAfterLogout"], json!([]), "{summary:#}");
    assert_step(
        &summary,
        "getAfterLogout",
        401,
        &error(
            401,
            "Authorization Required",
            "Request does not contain an access token",
        ),
    );
}
