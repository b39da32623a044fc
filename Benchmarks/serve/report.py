#!/usr/bin/env python3
"""Prints the Markdown table of docs/deployment.md from the JSON that load.py wrote.

    python3 Benchmarks/serve/report.py results.json
"""
import json
import sys


def main(path):
    doc = json.load(open(path))
    print("| | " + " | ".join(s["name"] for s in doc["servers"]) + " |")
    print("| --- |" + " --- |" * len(doc["servers"]))

    def row(label, f):
        print(f"| {label} | " + " | ".join(f(s) for s in doc["servers"]) + " |")

    row("50 req/s for 60 s: achieved req/s", lambda s: f"{s['at50']['achieved_rps']:.1f}")
    row("50 req/s: p50 / p99 (ms)", lambda s: f"{s['at50']['p50_ms']:.0f} / {s['at50']['p99_ms']:.0f}")
    row("50 req/s: errors", lambda s: f"{s['at50']['errors']} of {s['at50']['requests']}")
    for rate in sorted({r["rate"] for s in doc["servers"] for r in s["sweep"]}):
        def cell(s, rate=rate):
            r = next((r for r in s["sweep"] if r["rate"] == rate), None)
            if r is None:
                return "—"
            behind = "" if r["achieved_rps"] >= 0.95 * rate else f", only {r['achieved_rps']:.0f} req/s"
            return f"{r['p50_ms']:.0f} / {r['p99_ms']:.0f}{behind}"
        row(f"{rate} req/s for 20 s: p50 / p99 (ms)", cell)
    row("highest rate with p99 < 50 ms, no errors", lambda s: f"{s['max_rps_p99_under_50ms']} req/s" if s["max_rps_p99_under_50ms"] else "none")
    row("highest rate sustained (≥ 95 %, no errors)", lambda s: f"{s['max_rps_sustained']} req/s")
    row("RSS idle after start (MiB)", lambda s: f"{s['rss_idle_kib'] / 1024:.0f}")
    if all("soak" in s for s in doc["servers"]):
        row("soak 50 req/s: achieved req/s, p99 (ms), errors",
            lambda s: f"{s['soak']['achieved_rps']:.1f}, {s['soak']['p99_ms']:.0f}, {s['soak']['errors']}")
        row("soak RSS at 1 / 5 / 10 min (MiB)", lambda s: " / ".join(
            f"{next((v for t, v in s['soak']['rss_kib'] if t >= m), s['soak']['rss_kib'][-1][1]) / 1024:.0f}" for m in (60, 300, 590)))


if __name__ == "__main__":
    main(sys.argv[1])
