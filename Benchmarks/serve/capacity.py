#!/usr/bin/env python3
"""One replica of kiln-serve with a large model, for the capacity plan in docs/deployment.md:
load time, memory (RSS, and how much of it is the shared file mapping), latency of single
requests, throughput with concurrent requests, and the memory of a second process serving the
same file beside the first.

    python3 Benchmarks/serve/capacity.py /tmp/vit_l_16.kiln [--threads 2 --workers 1] [--requests 12]

Targets 127.0.0.1 only; every loop is bounded.
"""
import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGE = (ROOT / "Fixtures" / "images" / "chelsea.png").read_bytes()


def memory(pid):
    """VmRSS, RssAnon, RssFile and Pss (smaps_rollup) in MiB."""
    out = {}
    for line in open(f"/proc/{pid}/status"):
        k = line.split(":")[0]
        if k in ("VmRSS", "RssAnon", "RssFile"):
            out[k] = int(line.split()[1]) / 1024
    for line in open(f"/proc/{pid}/smaps_rollup"):
        if line.startswith("Pss:"):
            out["Pss"] = int(line.split()[1]) / 1024
    return {k: round(v, 1) for k, v in out.items()}


def start(model, port, args):
    t0 = time.time()
    p = subprocess.Popen([args.kiln, model, "--port", str(port), "--threads", str(args.threads), "--workers",
                          str(args.workers), "--log-format", "json", "--request-timeout", "600"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    load_s = None
    for line in p.stderr:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("msg") == "model loaded":
            load_s = float(e["load_s"])
        if e.get("msg") == "ready":
            break
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    return p, load_s, time.time() - t0


def predict(port, name):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/predictions/{name}", data=IMAGE, method="POST")
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        assert r.status == 200
        r.read()
    return (time.perf_counter() - t) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--kiln", default=str(ROOT / ".build" / "release" / "kiln-serve"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--requests", type=int, default=12)
    ap.add_argument("--concurrency", type=int, default=2)
    args = ap.parse_args()
    name = Path(args.model).stem
    r = {"model": args.model, "file_mib": round(Path(args.model).stat().st_size / 2**20, 1),
         "threads": args.threads, "workers": args.workers}
    p, r["load_s"], r["ready_s"] = start(args.model, 8082, args)
    try:
        r["memory_ready"] = memory(p.pid)
        lat = sorted(predict(8082, name) for _ in range(args.requests))
        r["latency_ms"] = {"p50": round(lat[len(lat) // 2], 1), "max": round(lat[-1], 1), "n": len(lat)}
        done, t0 = [], time.perf_counter()

        def client():
            for _ in range(args.requests // args.concurrency):
                done.append(predict(8082, name))

        ts = [threading.Thread(target=client) for _ in range(args.concurrency)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        elapsed = time.perf_counter() - t0
        r["throughput_rps"] = round(len(done) / elapsed, 2)
        r["concurrent_latency_ms"] = {"p50": round(sorted(done)[len(done) // 2], 1), "max": round(max(done), 1)}
        r["memory_after_load"] = memory(p.pid)
        q, r["second_load_s"], _ = start(args.model, 8083, args)
        try:
            predict(8083, name)
            r["second_process"] = memory(q.pid)
            r["first_process_with_second"] = memory(p.pid)
        finally:
            q.terminate()
            q.wait(60)
    finally:
        p.terminate()
        p.wait(60)
    print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
