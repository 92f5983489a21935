#!/usr/bin/env bash
# Runs one fuzz target for a while, on one core:
#
#   bash fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#
# TARGET is a file name of fuzz/fuzz_targets/ without `.rs` (`cargo fuzz list`). Optimized
# build with debug assertions and AddressSanitizer (cargo-fuzz's defaults); FUZZ_BUILD=--dev
# builds unoptimized instead. One job, one worker thread (libFuzzer's in-process mode), for
# `-max_total_time=SECONDS`. The corpus grows in fuzz/work/corpus/TARGET (git-ignored; the
# committed seeds in fuzz/corpus/TARGET are only read); a crash lands in
# fuzz/artifacts/TARGET/ and makes the script fail. The build goes to $CARGO_TARGET_DIR when
# it is set, fuzz/target otherwise.
#
# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer, sanitizer-coverage passes); on a
# stable toolchain RUSTC_BOOTSTRAP=1 unlocks them, and is set here for this script only.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 TARGET SECONDS [libFuzzer options...]" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$fuzz_dir")
if [[ ! -f "$fuzz_dir/fuzz_targets/$target.rs" ]]; then
    echo "no fuzz target '$target'; the targets: $(cd "$fuzz_dir/fuzz_targets" && ls | sed 's/\.rs$//' | tr '\n' ' ')" >&2
    exit 2
fi
if ! [[ $seconds =~ ^[0-9]+$ ]] || [[ $seconds -eq 0 ]]; then
    echo "SECONDS must be a positive whole number, not '$seconds'" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 1
fi

export RUSTC_BOOTSTRAP=1
target_dir=${CARGO_TARGET_DIR:-$fuzz_dir/target}
work=${FUZZ_WORK_DIR:-$fuzz_dir/work}/corpus/$target
mkdir -p "$work"

cd "$root"
# shellcheck disable=SC2086 # FUZZ_BUILD is a list of cargo-fuzz options, possibly empty.
exec cargo fuzz run ${FUZZ_BUILD:-} --fuzz-dir "$fuzz_dir" --target-dir "$target_dir" --jobs 1 \
    "$target" "$work" "$fuzz_dir/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -max_len=20000 -rss_limit_mb=2048 \
    -print_final_stats=1 "$@"
