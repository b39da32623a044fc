#!/usr/bin/env python3
"""Side-by-side latency of Kiln, ONNX Runtime and PyTorch on the same models, in one run.

For each torchvision model: build it (random init; latency does not depend on the weights), export
it once to ONNX, convert that ONNX file to a Kiln artifact with kiln-export, then time all three
with the same thread count, input and batch:

- Kiln: `kiln-bench --json` (a release build; pass --kiln-bench to choose the binary),
- ONNX Runtime: InferenceSession, intra-op threads = N, inter-op 1, all graph optimizations,
- PyTorch: eager, torch.inference_mode(), torch.set_num_threads(N).

Each measures `--iterations` runs after `--warmup` untimed runs and reports the median (p50) and p90.
Prints a markdown table with the Kiln/ORT and Kiln/PyTorch ratios of the medians (< 1: Kiln faster).

Usage:
  python Benchmarks/compare.py --kiln-bench .build/release/kiln-bench \
      --models resnet18,resnet50,mobilenet_v2,efficientnet_b0 --threads 1,2
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def percentile(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def time_fn(fn, warmup, iterations):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iterations):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e3)
    return percentile(samples, 50), percentile(samples, 90)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet18,resnet50,mobilenet_v2,efficientnet_b0")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--kiln-bench", default=".build/release/kiln-bench")
    ap.add_argument("--workdir", default=None, help="keep exported models here")
    args = ap.parse_args()

    import onnxruntime as ort
    import torch
    import torchvision
    from kiln_export import export_onnx

    torch.manual_seed(0)
    work = args.workdir or tempfile.mkdtemp(prefix="kiln-compare-")
    os.makedirs(work, exist_ok=True)
    threads = [int(t) for t in args.threads.split(",")]
    rows = []
    for name in args.models.split(","):
        model = getattr(torchvision.models, name)(weights=None).eval()
        size = 299 if name == "inception_v3" else 224
        x = torch.randn(args.batch, 3, size, size)
        onnx_path = os.path.join(work, f"{name}.onnx")
        kiln_path = os.path.join(work, f"{name}.kiln")
        if not os.path.exists(kiln_path):
            torch.onnx.export(model, x, onnx_path, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)
            export_onnx(onnx_path, kiln_path, source_name=f"torchvision.models.{name}")
        xn = x.numpy()
        for n in threads:
            # Kiln (separate process: its own thread pool, nothing shared with this interpreter).
            out = subprocess.run([args.kiln_bench, kiln_path, "--threads", str(n), "--batch", str(args.batch),
                                  "--iterations", str(args.iterations), "--warmup", str(args.warmup), "--json"],
                                 check=True, capture_output=True, text=True).stdout
            k = json.loads(out)
            # ONNX Runtime.
            so = ort.SessionOptions()
            so.intra_op_num_threads = n
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
            o50, o90 = time_fn(lambda: sess.run(None, {"input": xn}), args.warmup, args.iterations)
            del sess
            # PyTorch.
            torch.set_num_threads(n)
            with torch.inference_mode():
                t50, t90 = time_fn(lambda: model(x), args.warmup, args.iterations)
            rows.append(dict(model=name, threads=n, kiln50=k["p50_ms"], kiln90=k["p90_ms"], ort50=o50, ort90=o90,
                             torch50=t50, torch90=t90, gflops=k["gflops"], arena=k.get("arena_bytes", 0) / 1e6))
            r = rows[-1]
            print(f"{name} threads={n}: kiln {r['kiln50']:.2f} ms, ort {o50:.2f} ms, torch {t50:.2f} ms", file=sys.stderr)

    print(f"| model | threads | Kiln p50 (p90) ms | ORT p50 (p90) ms | PyTorch p50 (p90) ms | Kiln/ORT | Kiln/PyTorch | Kiln GFLOPS | arena MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['model']} | {r['threads']} | {r['kiln50']:.2f} ({r['kiln90']:.2f}) | {r['ort50']:.2f} ({r['ort90']:.2f}) | "
              f"{r['torch50']:.2f} ({r['torch90']:.2f}) | {r['kiln50'] / r['ort50']:.2f} | {r['kiln50'] / r['torch50']:.2f} | "
              f"{r['gflops']:.0f} | {r['arena']:.1f} |")
    print()
    print(f"batch {args.batch}, {args.iterations} iterations after {args.warmup} warm-up; "
          f"onnxruntime {ort.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
