#!/usr/bin/env python3
"""Kiln's load time against ONNX Runtime's session creation (issue 7), both ways round:

- fresh process against fresh process: `kiln-bench`'s `load_ms` (one load per process) and one
  `InferenceSession` per Python process (timed after `import onnxruntime`), each the median of
  `--repeats` processes, the runtimes interleaved;
- same process against same process: `kiln-bench --reloads 5` (`reload_ms`) and 5 sessions in one
  Python process, each the median over 3 processes of the median of 5.

`--before` adds a column for a second `kiln-bench` build (fresh processes). Prints one JSON line per
row as it goes, then a Markdown table. Models are `<dir>/<name>.kiln` and `<dir>/<name>.onnx`
(`compare.py --reuse` leaves them in place). Run it under the CPU lock on a shared machine:

    flock /tmp/kiln-cpu.lock python Benchmarks/load_vs_ort.py --kiln-bench .build/release/kiln-bench --dir /tmp/cmp
"""
import argparse
import json
import statistics
import subprocess
import sys

ORT_FRESH = r'''
import sys, time
import onnxruntime as ort
p, th = sys.argv[1], int(sys.argv[2])
so = ort.SessionOptions(); so.intra_op_num_threads = th; so.inter_op_num_threads = 1
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
t0 = time.perf_counter()
s = ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])
print((time.perf_counter() - t0) * 1e3)
'''

ORT_SAME_PROCESS = r'''
import sys, time, statistics
import onnxruntime as ort
p, th, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
v = []
for _ in range(n):
    so = ort.SessionOptions(); so.intra_op_num_threads = th; so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    t0 = time.perf_counter()
    s = ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])
    v.append((time.perf_counter() - t0) * 1e3); del s
print(statistics.median(v))
'''


def kiln(bench, path, threads, extra=()):
    out = subprocess.run([bench, path, "--threads", str(threads), "--iterations", "1", "--warmup", "0", "--json", *extra],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def python_ms(code, *args):
    return float(subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, check=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiln-bench", required=True, help="the kiln-bench to measure")
    ap.add_argument("--before", help="another kiln-bench build to compare with (fresh processes only)")
    ap.add_argument("--dir", default="/tmp/cmp", help="directory with <model>.kiln and <model>.onnx")
    ap.add_argument("--models", default="resnet18,resnet50,mobilenet_v2,mobilenet_v3_large,efficientnet_b0,squeezenet1_1")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=9, help="fresh processes per runtime and cell")
    args = ap.parse_args()
    rows = []
    for th in map(int, args.threads.split(",")):
        for m in args.models.split(","):
            kiln_path, onnx_path = f"{args.dir}/{m}.kiln", f"{args.dir}/{m}.onnx"
            before, after, ort_fresh = [], [], []
            for _ in range(args.repeats):
                if args.before:
                    before.append(kiln(args.before, kiln_path, th)["load_ms"])
                after.append(kiln(args.kiln_bench, kiln_path, th)["load_ms"])
                ort_fresh.append(python_ms(ORT_FRESH, onnx_path, th))
            reload = [kiln(args.kiln_bench, kiln_path, th, ("--reloads", "5"))["reload_ms"] for _ in range(3)]
            ort_same = [python_ms(ORT_SAME_PROCESS, onnx_path, th, 5) for _ in range(3)]
            r = dict(model=m, th=th, base=statistics.median(before) if before else None, new=statistics.median(after),
                     ortf=statistics.median(ort_fresh), reload=statistics.median(reload), orti=statistics.median(ort_same))
            rows.append(r)
            print(json.dumps(r), flush=True)
    print("| model | threads | Kiln load before | Kiln load | ORT session, fresh process | Kiln / ORT | Kiln reload, same process "
          "| ORT session, same process | reload / ORT |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        before = f"{r['base']:.1f}" if r["base"] is not None else "—"
        print(f"| {r['model']} | {r['th']} | {before} | {r['new']:.1f} | {r['ortf']:.1f} | {r['new'] / r['ortf']:.2f} | "
              f"{r['reload']:.1f} | {r['orti']:.1f} | {r['reload'] / r['orti']:.2f} |")


if __name__ == "__main__":
    main()
