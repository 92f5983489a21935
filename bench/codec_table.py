#!/usr/bin/env python3
"""Markdown table of the last `cargo bench -p jwt-gate --bench codec` run, with ratios.

    python3 bench/codec_table.py [target-dir]

Reads criterion's `<target>/criterion/*/new/{benchmark,estimates}.json` (the target directory
from `cargo metadata` unless given) and prints, per operation and algorithm, the median time of
each contender (`<op>/<alg>/<contender>`), then jwt-gate's time as a multiple of jsonwebtoken's
and of the floor's (below 1: faster than jsonwebtoken). Standard library only.
"""

import json
import pathlib
import subprocess
import sys


def target_dir():
    if len(sys.argv) > 1:
        return pathlib.Path(sys.argv[1])
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        check=True,
        capture_output=True,
        text=True,
    )
    return pathlib.Path(json.loads(meta.stdout)["target_directory"])


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def main():
    root = target_dir() / "criterion"
    times = {}  # (op, alg) -> {contender: median ns}
    for bench in root.glob("*/new/benchmark.json"):
        full_id = json.loads(bench.read_text())["full_id"]
        parts = full_id.split("/")
        if len(parts) != 3:
            continue
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        times.setdefault((parts[0], parts[1]), {})[parts[2]] = estimates["median"]["point_estimate"]
    if not times:
        sys.exit(f"no criterion results under {root}: run `cargo bench -p jwt-gate --bench codec`")

    order = {"issue": 0, "verify": 1, "verify-unique": 2}
    print("| op / alg | jwt-gate | jwt-gate (cache off) | jsonwebtoken | floor "
          "| jwt-gate ÷ jsonwebtoken | jwt-gate ÷ floor | cache off ÷ jsonwebtoken | cache off ÷ floor |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (op, alg), row in sorted(times.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0])):
        gate, nocache = row.get("jwt-gate"), row.get("jwt-gate-nocache")
        theirs, floor = row.get("jsonwebtoken"), row.get("floor")

        def cell(ns):
            return fmt(ns) if ns else "–"

        def ratio(a, b):
            return f"{a / b:.2f}×" if a and b else "–"

        print(f"| {op} {alg} | {cell(gate)} | {cell(nocache)} | {cell(theirs)} | {cell(floor)} "
              f"| {ratio(gate, theirs)} | {ratio(gate, floor)} "
              f"| {ratio(nocache, theirs)} | {ratio(nocache, floor)} |")


if __name__ == "__main__":
    main()
