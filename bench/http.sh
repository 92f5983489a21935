#!/usr/bin/env bash
# HTTP load benchmark: contract-server (jwt-gate) against baseline-server (plain axum with a
# hand-written jsonwebtoken middleware), measured with wrk on loopback.
#
#   bash bench/http.sh
#
# Runs (each BENCH_DURATION seconds, the servers interleaved, BENCH_ROUNDS rounds):
#   contract          /protected         jwt-gate, verified-token cache on (the default)
#   contract-nocache  /protected         jwt-gate, a second instance with APP_VERIFY_CACHE=0
#   baseline          /protected         hand-written jsonwebtoken middleware
#   baseline          /protected-noauth  same body, no authentication
#   contract          /public            no token
#   baseline          /public            no token
#   contract-rs256    /protected         jwt-gate signing RS256, cache on (test key pair)
#   contract-es256    /protected         jwt-gate signing ES256, cache on (test key pair)
# Each run records req/s (wrk) and the server's CPU per request: utime+stime of the server
# process from /proc/<pid>/stat before and after, clock ticks -> microseconds, divided by the
# requests wrk completed. Ratios are taken within each round, then the median over rounds.
#
# Output: a table on stdout, whose LAST line is machine readable:
#   cpu_protected_vs_noauth=<x> cpu_protected_vs_handwritten=<y> cpu_nocache_vs_handwritten=<z>
#   cpu_rs256_vs_hs256=<a> cpu_es256_vs_hs256=<b> protected_rps=<n>
# plus bench/results.csv (one row per run) and bench/http.png (req/s per server and endpoint).
#
# Environment (defaults in brackets):
#   BENCH_DURATION [5]  seconds per wrk run      BENCH_THREADS [2]      wrk threads
#   BENCH_CONNECTIONS [32] wrk connections       BENCH_ROUNDS [5]       interleaved rounds
#   BENCH_PORT [18480]  first of 5 loopback ports (5 servers)
#   BENCH_OUT [bench/]  where results.csv and http.png go
#   BENCH_NO_BUILD [0]  1: use the release binaries already built
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${BENCH_DURATION:-5}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
ROUNDS=${BENCH_ROUNDS:-5}
BASE_PORT=${BENCH_PORT:-18480}
OUT=${BENCH_OUT:-$ROOT/bench}
SECRET=${JWT_SECRET_KEY:-super-secret-test-key-0123456789abcdef}

log() { printf '[http.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for n in "$DURATION" "$THREADS" "$CONNECTIONS" "$ROUNDS" "$BASE_PORT"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_* values must be positive integers (got '$n')"
done
mkdir -p "$OUT"

# --- tools -------------------------------------------------------------------------------
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian package)"
    as_root apt-get install -y wrk >/dev/null 2>&1 ||
        { as_root apt-get update >/dev/null && as_root apt-get install -y wrk >/dev/null; } ||
        die "cannot install wrk"
fi
command -v curl >/dev/null || die "curl is needed"
command -v python3 >/dev/null || die "python3 is needed"
if ! python3 -c 'import matplotlib' 2>/dev/null; then
    log "installing matplotlib (pip) for the plot"
    python3 -m pip install --quiet matplotlib >/dev/null 2>&1 || log "warning: no matplotlib, no plot"
fi

# --- build -------------------------------------------------------------------------------
cd "$ROOT"
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    log "building release binaries"
    cargo build --release --quiet -p contract-server -p baseline-server
fi
TARGET=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
CONTRACT_BIN=$TARGET/release/contract-server
BASELINE_BIN=$TARGET/release/baseline-server
[[ -x $CONTRACT_BIN && -x $BASELINE_BIN ]] || die "release binaries missing in $TARGET/release"

# --- servers -----------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jwt-gate-http-bench.XXXXXX")
PIDS=()
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ $status -ne 0 ]]; then
        log "failed; server logs and wrk output kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

declare -A PORT PID
PORT[contract]=$BASE_PORT
PORT[contract-nocache]=$((BASE_PORT + 1))
PORT[baseline]=$((BASE_PORT + 2))
PORT[contract-rs256]=$((BASE_PORT + 3))
PORT[contract-es256]=$((BASE_PORT + 4))
FIXTURES=$ROOT/jwt-gate/tests/fixtures

start() { # name binary [VAR=value...]
    local name=$1 bin=$2
    shift 2
    if curl -s -o /dev/null "http://127.0.0.1:${PORT[$name]}/"; then
        die "port ${PORT[$name]} is already in use (set BENCH_PORT)"
    fi
    # `env` execs the server, so $! is the server's own pid (whose CPU /proc reports).
    env -u RUST_LOG PORT="${PORT[$name]}" JWT_SECRET_KEY="$SECRET" "$@" "$bin" \
        >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    PIDS+=("$!")
}
# Tokens outlive the whole run (contract-server's default lifetime is 300 s).
start contract "$CONTRACT_BIN" JWT_EXPIRATION_DELTA=86400
start contract-nocache "$CONTRACT_BIN" JWT_EXPIRATION_DELTA=86400 APP_VERIFY_CACHE=0
start baseline "$BASELINE_BIN"
start contract-rs256 "$CONTRACT_BIN" JWT_EXPIRATION_DELTA=86400 JWT_ALGORITHM=RS256 \
    JWT_PRIVATE_KEY_FILE="$FIXTURES/rsa/private.pem" JWT_PUBLIC_KEY_FILE="$FIXTURES/rsa/public.pem"
start contract-es256 "$CONTRACT_BIN" JWT_EXPIRATION_DELTA=86400 JWT_ALGORITHM=ES256 \
    JWT_PRIVATE_KEY_FILE="$FIXTURES/p256/private.pem" JWT_PUBLIC_KEY_FILE="$FIXTURES/p256/public.pem"

for name in contract contract-nocache baseline contract-rs256 contract-es256; do
    for _ in $(seq 300); do
        curl -sf -o /dev/null "http://127.0.0.1:${PORT[$name]}/public" && continue 2
        kill -0 "${PID[$name]}" 2>/dev/null || die "$name exited: $(tail -3 "$WORK/$name.log")"
        sleep 0.1
    done
    die "$name did not answer /public within 30 s"
done

login() { # server: an access token of user1
    curl -sf -X POST "http://127.0.0.1:${PORT[$1]}/auth" \
        -H 'content-type: application/json' -d '{"username":"user1","password":"abcxyz"}' |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' ||
        die "login on $1 failed"
}
# The HS256 token serves contract, contract-nocache and baseline (one secret); the key-pair
# servers each sign their own.
declare -A TOKEN
TOKEN[hs256]=$(login contract)
TOKEN[rs256]=$(login contract-rs256)
TOKEN[es256]=$(login contract-es256)
for check in contract:hs256 contract-nocache:hs256 baseline:hs256 contract-rs256:rs256 \
    contract-es256:es256; do
    name=${check%%:*}
    body=$(curl -sf -H "Authorization: JWT ${TOKEN[${check##*:}]}" \
        "http://127.0.0.1:${PORT[$name]}/protected") ||
        die "$name refused the token on /protected"
    [[ $body == *'"username":"user1"'* ]] || die "$name /protected answered $body"
done
body=$(curl -sf "http://127.0.0.1:${PORT[baseline]}/protected-noauth") || die "no /protected-noauth"
[[ $body == *'"username":"user1"'* ]] || die "baseline /protected-noauth answered $body"

# --- runs --------------------------------------------------------------------------------
# label server path token (- for none)
RUNS=(
    "contract/protected contract /protected hs256"
    "contract-nocache/protected contract-nocache /protected hs256"
    "baseline/protected baseline /protected hs256"
    "baseline/protected-noauth baseline /protected-noauth -"
    "contract/public contract /public -"
    "baseline/public baseline /public -"
    "contract-rs256/protected contract-rs256 /protected rs256"
    "contract-es256/protected contract-es256 /protected es256"
)

cpu_ticks() { # utime + stime of a process (fields 14 and 15; the name may hold spaces)
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    read -r -a f <<<"$stat"
    echo $((f[11] + f[12]))
}

wrk_run() { # server path token seconds output
    local url="http://127.0.0.1:${PORT[$1]}$2"
    if [[ $3 != - ]]; then
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$4"s --latency -H "Authorization: JWT ${TOKEN[$3]}" \
            "$url" >"$5"
    else
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$4"s --latency "$url" >"$5"
    fi
}

CLK_TCK=$(getconf CLK_TCK)
CSV=$OUT/results.csv
echo "round,label,server,path,requests,seconds,rps,cpu_ticks,cpu_us_per_req,non_2xx,p50_ms,p99_ms" >"$CSV"

log "warming up (1 s per run)"
for run in "${RUNS[@]}"; do
    read -r label server path auth <<<"$run"
    wrk_run "$server" "$path" "$auth" 1 "$WORK/warmup.txt"
done

log "$ROUNDS rounds x ${#RUNS[@]} runs x ${DURATION} s (wrk -t$THREADS -c$CONNECTIONS)"
for round in $(seq "$ROUNDS"); do
    # Rotate the order each round so that no run always follows the same one.
    for i in $(seq 0 $((${#RUNS[@]} - 1))); do
        run=${RUNS[$(((i + round - 1) % ${#RUNS[@]}))]}
        read -r label server path auth <<<"$run"
        pid=${PID[$server]}
        out="$WORK/r$round-${label//\//_}.txt"
        before=$(cpu_ticks "$pid")
        wrk_run "$server" "$path" "$auth" "$DURATION" "$out"
        after=$(cpu_ticks "$pid")
        python3 - "$out" "$round" "$label" "$server" "$path" "$((after - before))" "$CLK_TCK" >>"$CSV" <<'EOF'
import re, sys
out, rnd, label, server, path, ticks, clk = sys.argv[1:]
text = open(out).read()
m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
if not m:
    sys.exit(f"cannot parse wrk output of {label}:\n{text}")
scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
requests, seconds = int(m.group(1)), float(m.group(2)) * scale[m.group(3)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
non2xx = int(non2xx.group(1)) if non2xx else 0
def pct(p):
    m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)] if m else float("nan")
cpu_us = int(ticks) * 1e6 / int(clk)
print(f"{rnd},{label},{server},{path},{requests},{seconds:.3f},{rps:.1f},{ticks},"
      f"{cpu_us / max(requests, 1):.3f},{non2xx},{pct(50):.3f},{pct(99):.3f}")
EOF
        row=$(tail -1 "$CSV")
        IFS=, read -r _ _ _ _ _ _ rps _ cpu non2xx _ _ <<<"$row"
        [[ $non2xx == 0 ]] || die "$label: $non2xx non-2xx answers (see $out)"
        log "round $round  $(printf '%-28s %10s req/s %8s us/req' "$label" "$rps" "$cpu")"
    done
done

# --- report ------------------------------------------------------------------------------
python3 "$ROOT/bench/http_report.py" "$CSV" "$OUT/http.png" "$DURATION" "$THREADS" "$CONNECTIONS" "$ROUNDS"
