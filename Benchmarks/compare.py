#!/usr/bin/env python3
"""Side-by-side latency of Kiln and other CPU runtimes on the same models, in one run.

For each torchvision model: build it (random init; latency does not depend on the weights), export
it once to ONNX, convert that ONNX file to a Kiln artifact with kiln-export, then time every runtime
on the same ONNX model, the same input, the same batch and the same thread count:

- Kiln: `kiln-bench --json` (a release build; pass --kiln-bench to choose the binary),
- ONNX Runtime: InferenceSession, intra-op threads = N, inter-op 1, all graph optimizations,
- PyTorch: eager, torch.inference_mode(), torch.set_num_threads(N),
- OpenVINO CPU, twice: INFERENCE_PRECISION_HINT=f32 forced, and the plugin's default precision
  (may be bf16 on CPUs with AVX-512 BF16 or AMX; the precision it chose is printed); both with
  INFERENCE_NUM_THREADS=N and PERFORMANCE_HINT=LATENCY, on the model reshaped to the static input,
- ncnn: the ONNX file converted once per model by `pnnx` (fp32 weights, cached in the work
  directory), run by ncnn.Net with opt.num_threads = N and fp16/bf16 storage and arithmetic off,
- tract: its Python package, which runs single-threaded, so only the 1-thread rows have it.

Each measures `--iterations` runs after `--warmup` untimed runs and reports the median (p50) and p90
in milliseconds. A load-time table sets Kiln's load (`load_ms` of kiln-bench: map, optimize, plan,
prepare, infer shapes with one probe) against ONNX Runtime's InferenceSession creation, each the
median of `--load-repeats` loads. Every runtime except ONNX Runtime, PyTorch and Kiln is optional: if its package is
missing or the model does not convert, one line says why and its cells show "—".

As a sanity check, each runtime's output on the timed input is compared with ONNX Runtime's: the
second table lists the largest absolute difference and that difference relative to the largest
|ORT output| (randomly initialized MobileNets and EfficientNets have outputs around 1e-9..1e-14, so
only the relative number says whether a conversion is right). Kiln's output comes from `kiln run`
next to kiln-bench. PyTorch's difference is meaningful only when its weights are the exported ones:
the models are built from one seed in --models order, so reusing files exported with another
--models list gives a large PyTorch difference (and nothing else).

Usage:
  python Benchmarks/compare.py --kiln-bench .build/release/kiln-bench \
      --models resnet18,resnet50,mobilenet_v2,efficientnet_b0 --threads 1,2
  # reuse ONNX/Kiln files exported earlier (read only; pnnx/ncnn files go to --workdir):
  python Benchmarks/compare.py --kiln-bench .build/release/kiln-bench --reuse /path/to/models ...
"""
import argparse
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import statistics
import sys
import tempfile
import time

import numpy as np

DASH = "—"
PEERS = ["ov-f32", "ov-default", "ncnn", "tract"]
PACKAGES = {"ov-f32": ["openvino"], "ov-default": ["openvino"], "ncnn": ["ncnn", "pnnx"], "tract": ["tract"]}


class Unavailable(Exception):
    """A runtime cannot run this case; the message says why (printed once, shown as "—")."""


def log(message):
    print(message, file=sys.stderr, flush=True)


def percentile(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


# Seconds to wait before timing a runtime: the previous runtime's idle threads (OpenMP, TBB, ORT's
# intra-op pool) keep spinning for a while after their last run, and on 2 vCPUs that are one core's
# SMT threads a spinner takes a large share of the next runtime's core.
SETTLE_SECONDS = 1.0


def time_fn(fn, warmup, iterations):
    time.sleep(SETTLE_SECONDS)
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iterations):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e3)
    return percentile(samples, 50), percentile(samples, 90)


def package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_description():
    """The model name, family/model and the vector extensions that matter here, from /proc/cpuinfo."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or platform.machine()
    flags = fields.get("flags", "").split()
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return (f"{fields.get('model name', platform.machine())} (family {fields.get('cpu family', '?')}, "
            f"model {fields.get('model', '?')}; {' '.join(isa) or 'no AVX2'})")


# ---------------------------------------------------------------------------------------------
# Runtimes. Each `*_runner` returns a zero-argument function that runs one inference on the given
# input and returns the first output as a numpy array (the conversion is part of the timed call;
# it copies at most a few thousand floats).

def ort_session(ort, onnx_path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])


def ort_runner(ort, onnx_path, threads, x):
    sess = ort_session(ort, onnx_path, threads)
    input_name, output_name = sess.get_inputs()[0].name, sess.get_outputs()[0].name
    feed = {input_name: x}
    return (lambda: sess.run(None, feed)[0]), input_name, output_name


def ort_load_ms(ort, onnx_path, threads, repeats):
    """Median wall time of creating the InferenceSession (same options as ort_runner): ORT's
    load time, to set against kiln-bench's `load_ms` (map, optimize, plan, prepare, probe)."""
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sess = ort_session(ort, onnx_path, threads)
        samples.append((time.perf_counter() - t0) * 1e3)
        del sess
    return statistics.median(samples)


def kiln_load_ms(kiln_bench, kiln_path, threads, repeats):
    """Median of kiln-bench's `load_ms` over `repeats` fresh processes (one load each)."""
    samples = []
    for _ in range(repeats):
        out = subprocess.run([kiln_bench, kiln_path, "--threads", str(threads), "--iterations", "1", "--warmup", "0", "--json"],
                             check=True, capture_output=True, text=True).stdout
        samples.append(json.loads(out)["load_ms"])
    return statistics.median(samples)


def torch_runner(torch, model, threads, x):
    torch.set_num_threads(threads)
    xt = torch.from_numpy(x)

    def run():
        with torch.inference_mode():
            return model(xt).numpy()
    return run


def openvino_runner(ov, onnx_path, threads, x, precision_hint):
    """Returns (run, the precision the compiled model infers in); precision_hint None: the default."""
    core = ov.Core()
    model = core.read_model(onnx_path)
    model.reshape(list(x.shape))
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    if precision_hint:
        config["INFERENCE_PRECISION_HINT"] = precision_hint
    compiled = core.compile_model(model, "CPU", config)
    try:
        precision = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
    except Exception:  # older releases may not expose it on the compiled model
        precision = "?"
    request = compiled.create_infer_request()

    def run():
        request.infer({0: x})
        return request.get_output_tensor(0).data
    return run, precision


def pnnx_to_ncnn(pnnx, onnx_path, work, name, batch_shape):
    """Converts the ONNX file with pnnx once; returns (param, bin) paths in the work directory."""
    if batch_shape[0] != 1:
        raise Unavailable("batch > 1 is not supported here (ncnn's Mat has no batch dimension)")
    stem = os.path.join(work, f"{name}.pnnx-ncnn")
    param, binary = stem + ".param", stem + ".bin"
    if os.path.exists(param) and os.path.exists(binary) and os.path.getmtime(param) >= os.path.getmtime(onnx_path):
        return param, binary
    shape = "[" + ",".join(str(d) for d in batch_shape) + "]f32"
    # Every side file pnnx writes is named explicitly so nothing lands next to the source model.
    command = [pnnx.EXEC_PATH, onnx_path, f"inputshape={shape}", "fp16=0",
               f"pnnxparam={stem}.pnnx.param", f"pnnxbin={stem}.pnnx.bin", f"pnnxpy={stem}_pnnx.py",
               f"pnnxonnx={stem}.pnnx.onnx", f"ncnnparam={param}", f"ncnnbin={binary}", f"ncnnpy={stem}_ncnn.py"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=work)
    if done.returncode != 0 or not os.path.exists(param):
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise Unavailable(f"pnnx failed (exit {done.returncode}): {tail[0]}")
    return param, binary


def ncnn_runner(ncnn, param, binary, threads, x):
    net = ncnn.Net()
    net.opt.num_threads = threads
    net.opt.use_vulkan_compute = False
    for flag in ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic", "use_bf16_storage", "use_bf16_packed"):
        if hasattr(net.opt, flag):
            setattr(net.opt, flag, False)
    if net.load_param(param) != 0 or net.load_model(binary) != 0:
        raise Unavailable(f"ncnn could not load {os.path.basename(param)}")
    input_name, output_name = net.input_names()[0], net.output_names()[0]
    image = ncnn.Mat(np.ascontiguousarray(x[0]))

    def run():
        extractor = net.create_extractor()  # takes its thread count from net.opt
        extractor.input(input_name, image)
        status, out = extractor.extract(output_name)
        if status != 0:
            raise RuntimeError(f"ncnn extract returned {status}")
        return np.array(out)
    return run


def tract_runner(tract, onnx_path, x):
    model = tract.onnx().load(onnx_path)
    model.set_input_fact(0, ",".join(str(d) for d in x.shape) + ",f32")
    runnable = model.into_model().into_runnable()
    return lambda: runnable.run([x])[0].to_numpy()


def kiln_output(kiln_bin, kiln_path, input_name, output_name, threads, x, work):
    """Kiln's output on x through `kiln run` (a separate binary next to kiln-bench)."""
    if not os.path.exists(kiln_bin):
        raise Unavailable(f"{kiln_bin} not found")
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        np.save(os.path.join(tmp, "x.npy"), x)
        subprocess.run([kiln_bin, "run", kiln_path, "--input", f"{input_name}={tmp}/x.npy",
                        "--output-dir", tmp, "--threads", str(threads)], check=True, capture_output=True)
        return np.load(os.path.join(tmp, f"{output_name}.npy"))


def difference(out, ref):
    """(max |out - ref|, that / max |ref|); Unavailable if the shapes differ beyond size-1 axes
    (ncnn's output has no batch axis)."""
    out = np.asarray(out, dtype=np.float32)
    if np.squeeze(out).shape != np.squeeze(ref).shape:
        raise Unavailable(f"output shape {out.shape} does not match ORT's {ref.shape}")
    diff = float(np.max(np.abs(out.reshape(ref.shape) - ref)))
    return diff, diff / max(float(np.max(np.abs(ref))), 1e-30)


# ---------------------------------------------------------------------------------------------

def load_optional_packages(wanted):
    """Imports the packages of the wanted optional runtimes; one line for each that is missing."""
    modules = {}
    for package in dict.fromkeys(p for peer in wanted for p in PACKAGES[peer]):
        try:
            modules[package] = importlib.import_module(package)
        except ImportError as e:
            needing = ", ".join(peer for peer in wanted if package in PACKAGES[peer])
            log(f"{needing}: not measured, `import {package}` failed ({e})")
    return modules


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def cell(times):
    return f"{times[0]:.2f} ({times[1]:.2f})" if times else DASH


def diff_cell(d):
    return f"{d[0]:.1e} ({d[1]:.1e})" if d else DASH


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="resnet18,resnet50,mobilenet_v2,efficientnet_b0")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--kiln-bench", default=".build/release/kiln-bench")
    ap.add_argument("--workdir", default=None, help="keep exported and converted models here")
    ap.add_argument("--reuse", default=None,
                    help="directory with <model>.onnx and <model>.kiln exported earlier (linked, never written)")
    ap.add_argument("--load-repeats", type=int, default=5,
                    help="loads per model and thread count for the load-time table (median reported)")
    ap.add_argument("--peers", default=",".join(PEERS),
                    help=f"optional runtimes to measure besides Kiln, ORT and PyTorch (default: {','.join(PEERS)})")
    args = ap.parse_args()

    import onnxruntime as ort
    import torch
    import torchvision
    from kiln_export import export_onnx

    wanted = [p for p in args.peers.split(",") if p]
    unknown = sorted(set(wanted) - set(PEERS))
    if unknown:
        ap.error(f"unknown peers {unknown}; choose from {PEERS}")
    modules = load_optional_packages(wanted)
    kiln_run_bin = os.path.join(os.path.dirname(os.path.abspath(args.kiln_bench)), "kiln")

    torch.manual_seed(0)
    work = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="kiln-compare-"))
    os.makedirs(work, exist_ok=True)
    threads = [int(t) for t in args.threads.split(",")]
    rows, diffs, kiln_info = [], {}, {}
    ov_default_precisions = set()
    for name in args.models.split(","):
        model = getattr(torchvision.models, name)(weights=None).eval()
        size = 299 if name == "inception_v3" else 224
        x = torch.randn(args.batch, 3, size, size)
        onnx_path = os.path.join(work, f"{name}.onnx")
        kiln_path = os.path.join(work, f"{name}.kiln")
        if args.reuse and not os.path.exists(kiln_path):
            for path in (onnx_path, kiln_path):
                source = os.path.join(os.path.abspath(args.reuse), os.path.basename(path))
                if os.path.exists(source) and not os.path.lexists(path):
                    os.symlink(source, path)
        if not (os.path.exists(onnx_path) and os.path.exists(kiln_path)):
            log(f"{name}: exporting ONNX and Kiln files to {work}")
            torch.onnx.export(model, x, onnx_path, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)
            export_onnx(onnx_path, kiln_path, source_name=f"torchvision.models.{name}")
        xn = x.numpy()

        # A runtime that fails on this model is reported once and skipped at the other thread counts.
        failed = {}
        model_diffs = diffs.setdefault(name, {})

        def attempt(peer, fn):
            if peer in failed:
                return None
            try:
                return fn()
            except Exception as e:  # any failure of an optional runtime becomes a "—" and one line
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                failed[peer] = reason
                log(f"{name}: {peer} not measured: {reason}")
                return None

        def check(peer, out, ref):
            """Compares with ORT's output; keeps the worst difference over thread counts."""
            d = attempt(peer, lambda: difference(out, ref))
            if d and (peer not in model_diffs or d[0] > model_diffs[peer][0]):
                model_diffs[peer] = d
            return d is not None

        def measure(row, peer, make_run, ref):
            """Builds the runner, checks its output, then times it into row[peer]."""
            run = attempt(peer, make_run)
            out = attempt(peer, run) if run else None
            if out is not None and check(peer, out, ref):
                row[peer] = time_fn(run, args.warmup, args.iterations)

        ncnn_files = None
        if "ncnn" in modules and "pnnx" in modules:
            ncnn_files = attempt("ncnn", lambda: pnnx_to_ncnn(modules["pnnx"], onnx_path, work, name, xn.shape))

        for n in threads:
            row = dict(model=name, threads=n)

            # Kiln (separate process: its own thread pool, nothing shared with this interpreter).
            time.sleep(SETTLE_SECONDS)
            out = subprocess.run([args.kiln_bench, kiln_path, "--threads", str(n), "--batch", str(args.batch),
                                  "--iterations", str(args.iterations), "--warmup", str(args.warmup), "--json"],
                                 check=True, capture_output=True, text=True).stdout
            k = json.loads(out)
            kiln_info = {"kernels": k.get("kernels", "?"), "blas": k.get("blas", "?")}
            row.update(kiln=(k["p50_ms"], k["p90_ms"]), gflops=k["gflops"], arena=k.get("arena_bytes", 0) / 1e6)
            row["kiln_load"] = kiln_load_ms(args.kiln_bench, kiln_path, n, args.load_repeats)
            row["ort_load"] = ort_load_ms(ort, onnx_path, n, args.load_repeats)

            # ONNX Runtime: the reference for the ratios and the output differences.
            run, input_name, output_name = ort_runner(ort, onnx_path, n, xn)
            ref = run()
            row["ort"] = time_fn(run, args.warmup, args.iterations)
            del run

            ko = attempt("kiln", lambda: kiln_output(kiln_run_bin, kiln_path, input_name, output_name, n, xn, work))
            if ko is not None:
                check("kiln", ko, ref)

            measure(row, "torch", lambda: torch_runner(torch, model, n, xn), ref)

            if "openvino" in modules:
                ov = modules["openvino"]
                if "ov-f32" in wanted:
                    measure(row, "ov-f32", lambda: openvino_runner(ov, onnx_path, n, xn, "f32")[0], ref)
                if "ov-default" in wanted:
                    def make_default():
                        run, precision = openvino_runner(ov, onnx_path, n, xn, None)
                        ov_default_precisions.add(precision)
                        model_diffs["ov-default precision"] = precision
                        return run
                    measure(row, "ov-default", make_default, ref)

            if ncnn_files:
                measure(row, "ncnn", lambda: ncnn_runner(modules["ncnn"], *ncnn_files, n, xn), ref)

            if "tract" in modules and n == 1:  # tract's Python package is single-threaded
                measure(row, "tract", lambda: tract_runner(modules["tract"], onnx_path, xn), ref)

            rows.append(row)
            measured = ", ".join(f"{key} {row[key][0]:.2f}" for key in ["kiln", "ort", "torch"] + PEERS if key in row)
            log(f"{name} threads={n}: p50 ms {measured}")

    print_report(args, rows, diffs, wanted, modules, kiln_info, ov_default_precisions, threads, ort, torch)


def print_report(args, rows, diffs, wanted, modules, kiln_info, ov_default_precisions, threads, ort, torch):
    columns = [("kiln", "Kiln"), ("ort", "ORT"), ("torch", "PyTorch"), ("ov-f32", "OpenVINO f32"),
               ("ov-default", "OpenVINO default"), ("ncnn", "ncnn (pnnx)"), ("tract", "tract (1 thread)")]
    columns = [(key, title) for key, title in columns if key in ("kiln", "ort", "torch") or key in wanted]
    print()
    print("Latency, p50 (p90) ms:")
    print()
    print("| model | threads | " + " | ".join(title for _, title in columns)
          + " | Kiln/ORT | Kiln/PyTorch | Kiln GFLOPS | Kiln arena MB |")
    print("| --- | --- | " + " | ".join("---" for _ in columns) + " | --- | --- | --- | --- |")
    for r in rows:
        cells = [cell(r.get(key)) for key, _ in columns]
        vs_torch = f"{r['kiln'][0] / r['torch'][0]:.2f}" if "torch" in r else DASH
        print(f"| {r['model']} | {r['threads']} | " + " | ".join(cells)
              + f" | {r['kiln'][0] / r['ort'][0]:.2f} | {vs_torch} | {r['gflops']:.0f} | {r['arena']:.1f} |")
    print()
    ratios = [r["kiln"][0] / r["ort"][0] for r in rows]
    worst = max(rows, key=lambda r: r["kiln"][0] / r["ort"][0])
    best = min(rows, key=lambda r: r["kiln"][0] / r["ort"][0])
    print(f"Kiln/ORT geometric mean over {len(ratios)} cases: {geomean(ratios):.2f} "
          f"(best {best['model']} at {best['threads']} thread(s) {best['kiln'][0] / best['ort'][0]:.2f}, "
          f"worst {worst['model']} at {worst['threads']} thread(s) {worst['kiln'][0] / worst['ort'][0]:.2f})")
    for key, title in columns[2:]:
        peer_ratios = [r["kiln"][0] / r[key][0] for r in rows if key in r]
        if peer_ratios:
            print(f"Kiln/{title} geometric mean over {len(peer_ratios)} cases: {geomean(peer_ratios):.2f}")

    print()
    print(f"Load time, median of {args.load_repeats} loads, ms: Kiln = kiln-bench `load_ms` (map the file, optimize, "
          "plan, pack weights, infer shapes with the one self-test probe), each in a fresh process; "
          "ORT = InferenceSession creation with the options above:")
    print()
    print("| model | threads | Kiln load | ORT session creation | Kiln/ORT |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['model']} | {r['threads']} | {r['kiln_load']:.1f} | {r['ort_load']:.1f} | {r['kiln_load'] / r['ort_load']:.2f} |")

    print()
    print("Output vs ONNX Runtime on the same input: max |difference| (relative to max |ORT output|):")
    print()
    diff_columns = [(key, title) for key, title in columns if key != "ort"]
    with_precision = "ov-default" in wanted
    print("| model | " + " | ".join(title for _, title in diff_columns)
          + (" | OpenVINO default precision |" if with_precision else " |"))
    print("| --- | " + " | ".join("---" for _ in diff_columns) + (" | --- |" if with_precision else " |"))
    for name, d in diffs.items():
        print(f"| {name} | " + " | ".join(diff_cell(d.get(key)) for key, _ in diff_columns)
              + (f" | {d.get('ov-default precision', DASH)} |" if with_precision else " |"))

    print()
    versions = [f"onnxruntime {ort.__version__}", f"torch {torch.__version__}", f"numpy {np.__version__}"]
    for package in dict.fromkeys(p for peer in wanted for p in PACKAGES[peer]):
        version = (package_version(package) or "?") if package in modules else "not available"
        if package == "tract" and "tract" in modules:
            version += f" (library {modules['tract'].version()})"
        versions.append(f"{package} {version}")
    print(f"batch {args.batch}, threads {','.join(map(str, threads))}, {args.iterations} iterations after "
          f"{args.warmup} warm-up; " + ", ".join(versions))
    print(f"CPU: {cpu_description()}, {os.cpu_count()} cores visible; kiln-bench: {kiln_info.get('kernels', '?')}; "
          f"{kiln_info.get('blas', '?')}")
    if "ov-default" in wanted and ov_default_precisions:
        print(f"OpenVINO default inference precision (compiled model INFERENCE_PRECISION_HINT): "
              f"{', '.join(sorted(ov_default_precisions))}")
    if "tract" in wanted and any(n > 1 for n in threads):
        print(f"tract's Python package runs single-threaded: its cells at more than one thread are {DASH}.")
    print("Ratios are of the medians (below 1: Kiln faster).")


if __name__ == "__main__":
    main()
