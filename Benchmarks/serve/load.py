#!/usr/bin/env python3
"""Load test for kiln-serve and the FastAPI + ONNX Runtime peer, measured in one run on one machine.

For each server, with `hey` (Debian package `hey`; staggered single-worker processes, see `hey()`) posting the bundled cat photo to
`POST /predictions/{model}` on 127.0.0.1:
  1. 60 s at a constant 50 requests/s: p50, p99, errors;
  2. a rate sweep (20 s per step) for the highest rate whose p99 stays under 50 ms with no errors;
  3. optionally (--soak SECONDS) a soak at 50 requests/s, sampling the server's RSS every 10 s.

Every loop is bounded in count and time and targets 127.0.0.1 only.

    python3 Benchmarks/serve/load.py --kiln .build/release/kiln-serve --peer-python /work/venv/bin/python \\
        --peer-onnx /tmp/efficientnet_lite0.onnx [--soak 600] [--json results.json]
"""
import argparse
import csv
import io
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "Fixtures" / "models" / "efficientnet_lite0.kiln"
IMAGE = ROOT / "Fixtures" / "images" / "chelsea.png"
NAME = "efficientnet_lite0"


def rss_kib(pid):
    """RSS of a process and all its descendants, in KiB (uvicorn workers are children)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return total


def wait_ready(port, proc, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on {port} not ready after {timeout} s")


def hey(port, rate, seconds, per_process=5.0):
    """A constant `rate` requests/s for `seconds`, evenly spaced.

    `hey -c N -q Q` starts its N workers together, so their requests arrive in bursts of N. Here
    each of `rate / per_process` hey processes runs one worker at `per_process` requests/s, and
    they start `1 / rate` seconds apart: requests arrive every `1 / rate` s as long as each is
    answered within `1 / per_process` s (a worker never has two requests in flight; a slower
    answer delays its next request, which shows as an achieved rate below the target)."""
    n = max(1, round(rate / per_process))
    q = rate / n
    procs = []
    start = time.monotonic()
    for i in range(n):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        procs.append(subprocess.Popen(
            ["hey", "-z", f"{seconds}s", "-c", "1", "-q", f"{q:.4f}", "-m", "POST", "-T", "image/png",
             "-D", str(IMAGE), "-t", "10", "-o", "csv", f"http://127.0.0.1:{port}/predictions/{NAME}?top=5"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
    rows = []
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 60)
        rows += list(csv.DictReader(io.StringIO(out)))
    lat = sorted(float(r["response-time"]) * 1000 for r in rows if r.get("status-code") == "200")
    errors = sum(1 for r in rows if r.get("status-code") != "200")

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")

    return {"rate": rate, "seconds": seconds, "requests": len(rows), "ok": len(lat), "errors": errors,
            "achieved_rps": len(rows) / seconds, "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "max_ms": lat[-1] if lat else float("nan")}


def measure(name, start, port, args):
    print(f"== {name}", file=sys.stderr, flush=True)
    t0 = time.time()
    proc = start()
    try:
        wait_ready(port, proc)
        result = {"name": name, "startup_s": time.time() - t0, "rss_idle_kib": rss_kib(proc.pid)}
        hey(port, 20, 5)  # warm-up, not recorded
        result["at50"] = hey(port, 50, args.duration)
        print(f"   50 rps: {result['at50']}", file=sys.stderr, flush=True)
        # Up the rates until the server falls behind (achieved < 95 % of the target) or errs; the
        # answer is the highest rate with p99 < 50 ms and no errors, and the highest it sustains.
        best, sustained, sweep = None, None, []
        for rate in args.rates:
            r = hey(port, rate, args.step)
            sweep.append(r)
            print(f"   {rate} rps: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, achieved {r['achieved_rps']:.1f}, "
                  f"errors {r['errors']}", file=sys.stderr, flush=True)
            if r["errors"] or r["achieved_rps"] < 0.95 * rate:
                break
            sustained = rate
            if r["p99_ms"] < 50:
                best = r
        result["sweep"] = sweep
        result["max_rps_p99_under_50ms"] = best["rate"] if best else 0
        result["max_rps_sustained"] = sustained or 0
        if args.soak:
            samples, stop = [], threading.Event()

            def sample():
                while not stop.wait(10):
                    samples.append((round(time.time() - s0), rss_kib(proc.pid)))

            s0 = time.time()
            threading.Thread(target=sample, daemon=True).start()
            result["soak"] = hey(port, 50, args.soak)
            stop.set()
            result["soak"]["rss_kib"] = samples
            print(f"   soak: {result['soak']['p99_ms']:.1f} ms p99, RSS {samples[:1]} -> {samples[-1:]}",
                  file=sys.stderr, flush=True)
        result["rss_end_kib"] = rss_kib(proc.pid)
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default=str(ROOT / ".build" / "release" / "kiln-serve"))
    ap.add_argument("--kiln-flags", default="", help="extra kiln-serve flags, e.g. '--max-batch 4 --batch-delay-us 2000'")
    ap.add_argument("--peer-python", help="python with fastapi, uvicorn, onnxruntime, torchvision (omit to skip the peer)")
    ap.add_argument("--peer-onnx", default="/tmp/efficientnet_lite0.onnx")
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--step", type=int, default=20)
    ap.add_argument("--rates", type=int, nargs="+", default=[10, 20, 30, 40, 50, 60, 75, 100, 125, 150, 200])
    ap.add_argument("--soak", type=int, default=0, help="soak seconds at 50 rps (600 for the 10-minute soak)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    results = {"cpu": platform.processor() or "", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "lscpu": subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()[:15],
               "servers": []}
    kiln_cmd = [args.kiln, str(MODEL), "--host", "127.0.0.1", "--port", "8080", "--log-level", "warning", *args.kiln_flags.split()]
    results["servers"].append(measure("kiln-serve", lambda: subprocess.Popen(kiln_cmd), 8080, args))
    if args.peer_python:
        env = dict(os.environ, PEER_ONNX=args.peer_onnx)
        peer_cmd = [args.peer_python, "-m", "uvicorn", "--app-dir", str(Path(__file__).parent), "peer_fastapi_ort:app",
                    "--host", "127.0.0.1", "--port", "8081", "--workers", "2", "--log-level", "warning"]
        results["servers"].append(measure("fastapi+onnxruntime", lambda: subprocess.Popen(peer_cmd, env=env), 8081, args))
    text = json.dumps(results, indent=1)
    if args.json:
        Path(args.json).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
