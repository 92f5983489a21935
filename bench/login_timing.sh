#!/usr/bin/env bash
# Username-enumeration timing benchmark: does a login with an unknown email answer as fast as
# one with a known email and a wrong password? The demo verifies a dummy argon2 hash for
# unknown emails (examples/demo/src/password.rs), so both should cost one argon2id
# verification and the medians should agree within 10 %.
#
#   bash bench/login_timing.sh
#
# Builds target/release/demo, starts it on a free loopback port with a temporary SQLite file
# and a fixed JWT_SECRET_KEY, registers one user, warms up, then sends LOGIN_TIMING_N logins of
# each kind, interleaved (a pair per step, the order within the pair alternating, so drift and
# "the request after" effects fall on both kinds alike), all on one persistent HTTP/1.1
# connection, each timed client-side (python3 http.client, perf_counter around the request and
# its whole response). Both kinds must answer 401.
#
# Output: the medians (and p10/p90) of each kind and their ratio, then a LAST line that is
# machine readable:
#   login_unknown_ms=<x> login_wrong_password_ms=<y> ratio=<x/y>
# Exit status 1 when the ratio is outside [LOGIN_TIMING_MIN_RATIO, LOGIN_TIMING_MAX_RATIO],
# 2 when the benchmark itself failed (build, server, unexpected answers).
#
# Environment (defaults in brackets):
#   LOGIN_TIMING_N [200]        logins of each kind
#   LOGIN_TIMING_WARMUP [20]    untimed logins of each kind first
#   LOGIN_TIMING_MIN_RATIO [0.9]  LOGIN_TIMING_MAX_RATIO [1.1]
#   LOGIN_TIMING_NO_BUILD [0]   1: use the release binary already built
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${LOGIN_TIMING_N:-200}
WARMUP=${LOGIN_TIMING_WARMUP:-20}
MIN_RATIO=${LOGIN_TIMING_MIN_RATIO:-0.9}
MAX_RATIO=${LOGIN_TIMING_MAX_RATIO:-1.1}
SECRET=login-timing-bench-secret-0123456789abcdef

log() { printf '[login_timing.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

[[ $N =~ ^[1-9][0-9]*$ ]] || die "LOGIN_TIMING_N must be a positive integer (got '$N')"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "LOGIN_TIMING_WARMUP must be a whole number (got '$WARMUP')"
command -v python3 >/dev/null || die "python3 is needed"

# --- build -------------------------------------------------------------------------------
cd "$ROOT"
if [[ ${LOGIN_TIMING_NO_BUILD:-0} != 1 ]]; then
    log "building target/release/demo"
    cargo build --release --quiet -p demo
fi
TARGET=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
DEMO_BIN=$TARGET/release/demo
[[ -x $DEMO_BIN ]] || die "$DEMO_BIN missing"

# --- server ------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jwt-gate-login-timing.XXXXXX")
DEMO_PID=
cleanup() {
    local status=$?
    # Only the demo this script started, by its PID.
    if [[ -n $DEMO_PID ]]; then
        kill -TERM "$DEMO_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DEMO_PID" 2>/dev/null || true
        wait "$DEMO_PID" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && $status -ne 1 ]]; then
        log "failed; the demo's log is kept in $WORK/demo.log"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# `env` execs the demo, so $! is the demo's own PID. No LOGIN_THROTTLE: every login is judged.
env -u RUST_LOG -u LOGIN_THROTTLE HOST=127.0.0.1 PORT="$PORT" \
    DATABASE_URL="sqlite://$WORK/demo.db" JWT_SECRET_KEY="$SECRET" \
    "$DEMO_BIN" >"$WORK/demo.log" 2>&1 &
DEMO_PID=$!
log "demo (pid $DEMO_PID) on 127.0.0.1:$PORT, database $WORK/demo.db"

# --- measure -----------------------------------------------------------------------------
python3 - "$PORT" "$N" "$WARMUP" "$MIN_RATIO" "$MAX_RATIO" "$DEMO_PID" <<'EOF'
import http.client, json, os, statistics, sys, time

port, n, warmup = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
min_ratio, max_ratio, pid = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])

def fail(message):
    print(f"[login_timing.sh] error: {message}", file=sys.stderr)
    sys.exit(2)

def alive():
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False

deadline = time.monotonic() + 30
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/health")
        if c.getresponse().status == 200:
            c.close()
            break
    except OSError:
        pass
    if not alive():
        fail("the demo exited before answering (see its log)")
    if time.monotonic() > deadline:
        fail("the demo did not answer /health within 30 s")
    time.sleep(0.1)

conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
HEADERS = {"Content-Type": "application/json"}

def post(path, body):
    conn.request("POST", path, json.dumps(body), HEADERS)
    response = conn.getresponse()
    return response.status, response.read()

EMAIL = "timing@example.com"
PASSWORD = "correct horse battery staple"
status, body = post("/register", {"username": "timing", "email": EMAIL, "password": PASSWORD})
if status != 201:
    fail(f"register answered {status}: {body!r}")
status, body = post("/login", {"email": EMAIL, "password": PASSWORD})
if status != 200:
    fail(f"the right password answered {status}: {body!r}")

# Same-length passwords for both kinds; unknown emails are valid addresses never registered.
def unknown(i):
    return {"email": f"nobody{i:05d}@example.com", "password": "wrong horse battery staple!"}

def wrong(i):
    return {"email": EMAIL, "password": "wrong horse battery staple!"}

def timed(body):
    start = time.perf_counter()
    status, answer = post("/login", body)
    elapsed = (time.perf_counter() - start) * 1000.0
    if status != 401:
        fail(f"login {body['email']} answered {status}: {answer!r}")
    return elapsed

# Warm-up: the first unknown email also hashes the dummy password once (lazily).
for i in range(warmup):
    timed(unknown(100000 + i))
    timed(wrong(i))

times = {"unknown": [], "wrong": []}
for i in range(n):
    pair = [("unknown", unknown(i)), ("wrong", wrong(i))]
    if i % 2:
        pair.reverse()
    for kind, body in pair:
        times[kind].append(timed(body))
conn.close()

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]

med_unknown = statistics.median(times["unknown"])
med_wrong = statistics.median(times["wrong"])
ratio = med_unknown / med_wrong
print(f"\nlogin timing: {n} logins of each kind, interleaved, after {warmup} warm-up pairs "
      f"(client-side ms per request)\n")
print(f"{'kind':<34} {'median':>9} {'p10':>9} {'p90':>9} {'mean':>9}")
for kind, label in [("unknown", "unknown email"), ("wrong", "known email, wrong password")]:
    v = times[kind]
    print(f"{label:<34} {statistics.median(v):>9.2f} {pct(v, 10):>9.2f} {pct(v, 90):>9.2f}"
          f" {statistics.fmean(v):>9.2f}")
verdict = "within" if min_ratio <= ratio <= max_ratio else "OUTSIDE"
pairwise = statistics.median(u / w for u, w in zip(times["unknown"], times["wrong"]))
print(f"\nratio of medians (unknown / wrong password): {ratio:.3f}, {verdict} "
      f"[{min_ratio}, {max_ratio}]")
print(f"median of the per-pair ratios (for information): {pairwise:.3f}\n")
print(f"login_unknown_ms={med_unknown:.3f} login_wrong_password_ms={med_wrong:.3f} ratio={ratio:.3f}")
sys.exit(0 if verdict == "within" else 1)
EOF
