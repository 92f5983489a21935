#!/usr/bin/env bash
# A quick pass over every fuzz target, for CI: unoptimized (`--dev`) builds, each target run
# for SMOKE_SECONDS (default 20) from the committed seeds, into a throw-away corpus. Fails on
# any crash (the input lands in fuzz/artifacts/TARGET/). Installs cargo-fuzz when it is
# missing; builds into $CARGO_TARGET_DIR when it is set, fuzz/target otherwise.
#
# cargo-fuzz needs nightly-only rustc flags; on a stable toolchain RUSTC_BOOTSTRAP=1 unlocks
# them, and is set here for this script only.
set -euo pipefail

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$fuzz_dir")
seconds=${SMOKE_SECONDS:-20}
cargo_fuzz_version=0.13.2

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz $cargo_fuzz_version"
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi

export RUSTC_BOOTSTRAP=1
target_dir=${CARGO_TARGET_DIR:-$fuzz_dir/target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
echo "== cargo fuzz build --dev ($(cargo fuzz --version))"
cargo fuzz build --dev --fuzz-dir "$fuzz_dir" --target-dir "$target_dir"

targets=$(cargo fuzz list --fuzz-dir "$fuzz_dir")
for target in $targets; do
    echo "== $target: ${seconds}s"
    mkdir -p "$work/$target"
    log="$work/$target.log"
    if ! cargo fuzz run --dev --fuzz-dir "$fuzz_dir" --target-dir "$target_dir" --jobs 1 \
        "$target" "$work/$target" "$fuzz_dir/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -max_len=20000 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "FAILED: fuzz target $target (input in fuzz/artifacts/$target/)" >&2
        exit 1
    fi
    # The last status line (coverage, corpus, speed) and the run count.
    grep -E '^#[0-9]+' "$log" | tail -n 1
    grep -E '^stat::number_of_executed_units' "$log"
done
echo "fuzz smoke: $(wc -w <<<"$targets") targets passed"
