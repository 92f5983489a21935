#!/usr/bin/env python3
"""The report of bench/http.sh: table, ratios, plot, and the machine-readable last line.

    python3 bench/http_report.py bench/results.csv bench/http.png [duration threads connections rounds]

Reads the per-run CSV that bench/http.sh writes, so a plot or table can be redone without
re-running the load. Ratios are taken within each round, then the median over rounds.
Standard library only; the plot needs matplotlib and is skipped without it.
"""
import csv, statistics, sys
path, png = sys.argv[1:3]
duration, threads, conns, rounds = (sys.argv[3:7] + ["?"] * 4)[:4]
rows = list(csv.DictReader(open(path)))
labels = list(dict.fromkeys(r["label"] for r in rows))
by = {}  # (round, label) -> row
for r in rows:
    by[(r["round"], r["label"])] = r
rounds_seen = sorted({r["round"] for r in rows}, key=int)
med = statistics.median

def series(label, key):
    return [float(by[(n, label)][key]) for n in rounds_seen]

def ratio(a, b, key="cpu_us_per_req"):
    return med([float(by[(n, a)][key]) / float(by[(n, b)][key]) for n in rounds_seen])

print(f"\nHTTP benchmark: wrk -t{threads} -c{conns}, {duration} s per run, {rounds} rounds interleaved"
      " (medians over rounds; min-max in brackets)\n")
print(f"{'server/endpoint':<28} {'req/s':>10} {'[min-max]':>19} {'CPU us/req':>11} {'[min-max]':>15} {'p99 ms':>7}")
for label in labels:
    rps, cpu, p99 = series(label, "rps"), series(label, "cpu_us_per_req"), series(label, "p99_ms")
    print(f"{label:<28} {med(rps):>10.0f} {f'[{min(rps):.0f}-{max(rps):.0f}]':>19}"
          f" {med(cpu):>11.2f} {f'[{min(cpu):.2f}-{max(cpu):.2f}]':>15} {med(p99):>7.2f}")

ratios = [
    ("cpu_protected_vs_noauth", "contract/protected", "baseline/protected-noauth"),
    ("cpu_protected_vs_handwritten", "contract/protected", "baseline/protected"),
    ("cpu_nocache_vs_handwritten", "contract-nocache/protected", "baseline/protected"),
    ("cpu_handwritten_vs_noauth", "baseline/protected", "baseline/protected-noauth"),
    ("cpu_public_contract_vs_baseline", "contract/public", "baseline/public"),
    ("cpu_rs256_vs_hs256", "contract-rs256/protected", "contract/protected"),
    ("cpu_es256_vs_hs256", "contract-es256/protected", "contract/protected"),
]
print("\nCPU per request, ratios within each round (median over rounds):")
values = {}
for name, a, b in ratios:
    if not all((n, label) in by for n in rounds_seen for label in (a, b)):
        continue
    values[name] = ratio(a, b)
    print(f"  {name:<32} {values[name]:.3f}   ({a} / {b})")
# The cost of authentication on each server's own stack: contract-server's /protected over its
# own /public, against the same step on the baseline without auth (/protected-noauth over
# /public), so that the stack's share (the header table, timers, layers) cancels out.
own_stack = ["contract/protected", "contract/public", "baseline/protected-noauth", "baseline/public"]
if all((n, label) in by for n in rounds_seen for label in own_stack):
    cpu = lambda n, label: float(by[(n, label)]["cpu_us_per_req"])
    auth_only = med([(cpu(n, own_stack[0]) / cpu(n, own_stack[1]))
                     / (cpu(n, own_stack[2]) / cpu(n, own_stack[3])) for n in rounds_seen])
    print(f"  {'cpu_auth_on_own_stack':<32} {auth_only:.3f}   ((contract/protected / contract/public)"
          " / (baseline/protected-noauth / baseline/public))")
print("req/s, ratios within each round (median over rounds):")
for a, b in [("contract/protected", "baseline/protected"),
             ("contract-nocache/protected", "baseline/protected"),
             ("contract/protected", "baseline/protected-noauth")]:
    print(f"  {a} / {b}: {ratio(a, b, 'rps'):.3f}")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 4.5))
    meds = [med(series(l, "rps")) for l in labels]
    lows = [m - min(series(l, "rps")) for m, l in zip(meds, labels)]
    highs = [max(series(l, "rps")) - m for m, l in zip(meds, labels)]
    colors = ["tab:blue" if l.startswith("contract") else "tab:orange" for l in labels]
    bars = ax.bar(range(len(labels)), meds, yerr=[lows, highs], capsize=4, color=colors)
    for bar, m, l in zip(bars, meds, labels):
        ax.text(bar.get_x() + bar.get_width() / 2, m / 2,
                f"{m:.0f}/s\n{med(series(l, 'cpu_us_per_req')):.1f} µs\nCPU/req",
                ha="center", va="center", fontsize=8, color="white", fontweight="bold")
    ax.set_xticks(range(len(labels)), [l.replace("/", "\n/", 1) for l in labels], fontsize=8)
    ax.set_ylabel("requests / s (median, min-max bars)")
    ax.set_title(f"jwt-gate contract-server (blue) vs axum + jsonwebtoken baseline (orange)\n"
                 f"wrk -t{threads} -c{conns}, {duration} s x {rounds} rounds, loopback", fontsize=10)
    ax.set_ylim(0, max(m + h for m, h in zip(meds, highs)) * 1.25)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"\nplot: {png}")
except ImportError:
    print("\nplot: skipped (no matplotlib)")
print(f"results: {path}\n")
print(f"cpu_protected_vs_noauth={values['cpu_protected_vs_noauth']:.3f} "
      f"cpu_protected_vs_handwritten={values['cpu_protected_vs_handwritten']:.3f} "
      f"cpu_nocache_vs_handwritten={values['cpu_nocache_vs_handwritten']:.3f} "
      + "".join(f"{k}={values[k]:.3f} " for k in ("cpu_rs256_vs_hs256", "cpu_es256_vs_hs256")
                if k in values) +
      f"protected_rps={med(series('contract/protected', 'rps')):.0f}")
