"""Parity of Kiln against PyTorch on the torchvision model zoo.

For every model: build the torchvision architecture with seeded random weights (weights=None),
perturb BatchNorm running statistics and the affine parameters of the norms so that no norm is the
identity (running statistics calibrated on a seeded batch, then jittered), export it with `kiln_export.export_module` (dynamic batch) to a temporary directory, then
run PyTorch and the Kiln CLI (`kiln run --threads 2`) on the same seeded input at batch 1 and 4.

The bar, per model:
  * max |Kiln - PyTorch| <= 1e-4 * max(1, max |PyTorch|) at batch 1 and at batch 4;
  * identical top-5 class indices for every row;
  * Kiln's batch-4 row 0 (the batch-1 image) equals its batch-1 result within the same bound.

Writes a markdown table to docs/parity.md (unless --no-report) and exits 1 if any model misses.
Run from the repository root after `swift build -c release`:

    python Fixtures/zoo/parity.py [--models resnet18,vit_b_16] [--dynamo] [--keep DIR]
                                  [--lock /tmp/kiln-build.lock]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

import numpy as np
import onnx
import onnxruntime
import torch
import torchvision
from torchvision import models as tvm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The exporter of this checkout, whatever `pip install -e` last pointed the environment at.
sys.path.insert(0, os.path.join(ROOT, "exporter"))
import kiln_export  # noqa: E402
SEED = 0
BATCHES = (1, 4)
REL_BOUND = 1e-4
TOP_K = 5

# name -> (constructor keyword arguments beyond weights=None, input side)
MODELS: dict[str, tuple[dict, int]] = {
    "resnet18": ({}, 224),
    "resnet50": ({}, 224),
    "resnext50_32x4d": ({}, 224),
    "wide_resnet50_2": ({}, 224),
    "mobilenet_v2": ({}, 224),
    "mobilenet_v3_small": ({}, 224),
    "mobilenet_v3_large": ({}, 224),
    "efficientnet_b0": ({}, 224),
    "efficientnet_b3": ({}, 224),
    "efficientnet_v2_s": ({}, 224),
    "squeezenet1_0": ({}, 224),
    "squeezenet1_1": ({}, 224),
    "shufflenet_v2_x1_0": ({}, 224),
    "densenet121": ({}, 224),
    "googlenet": ({"aux_logits": False, "init_weights": True}, 224),
    "inception_v3": ({"aux_logits": False, "init_weights": True}, 299),
    "mnasnet1_0": ({}, 224),
    "regnet_x_400mf": ({}, 224),
    "regnet_y_400mf": ({}, 224),
    "vgg11_bn": ({}, 224),
    "alexnet": ({}, 224),
    "convnext_tiny": ({}, 224),
    "vit_b_16": ({}, 224),
}


def model_seed(name: str) -> int:
    """A per-model seed, so a model's weights and input do not depend on which others run."""
    return SEED * 1_000_003 + zlib.crc32(name.encode())


def perturb(net: torch.nn.Module, side: int, gen: torch.Generator) -> None:
    """Make every norm layer a non-trivial affine map and give zero-initialised layers values.

    Random init leaves BatchNorm at mean 0 / var 1 / weight 1 / bias 0 (the identity in eval mode),
    so BN folding would go untested; some heads (ViT) and layer scales (ConvNeXt) start at zero or
    1e-6, which would make the logits constant and the top-5 a tie.

    The running statistics are calibrated, as training would: one forward pass with the BatchNorm
    layers (only) in training mode over a seeded batch of 8, then jittered. Random statistics
    unrelated to the activations let deep nets (ResNet-50, Inception v3) blow up to 1e10 in eval
    mode, where float32 rounding is amplified layer after layer and PyTorch disagrees with ONNX
    Runtime itself by more than the bar.
    """
    def uniform(t, lo, hi):
        return torch.rand(t.shape, generator=gen) * (hi - lo) + lo

    def normal(t, std):
        return torch.randn(t.shape, generator=gen) * std

    batchnorms = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (torch.nn.modules.batchnorm._BatchNorm, torch.nn.LayerNorm, torch.nn.GroupNorm)) \
                    and getattr(m, "weight", None) is not None:
                m.weight.copy_(uniform(m.weight, 0.5, 1.5))
                m.bias.copy_(normal(m.bias, 0.1))
        for p in net.parameters():
            if p.numel() > 1 and float(p.abs().max()) < 1e-5:
                # Zero-initialised (ViT head, class token, biases) or near-zero (ConvNeXt
                # layer_scale = 1e-6) parameters.
                fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else 1
                if fan_in > 1:
                    p.copy_(normal(p, 1.0 / np.sqrt(fan_in)))
                elif p.dim() > 1:
                    p.copy_(uniform(p, 0.1, 0.5))  # a per-channel scale
                else:
                    p.copy_(normal(p, 0.1))  # a bias
        if batchnorms:
            net.eval()
            momenta = [m.momentum for m in batchnorms]
            for m in batchnorms:
                m.reset_running_stats()
                m.momentum = None  # cumulative average: the statistics of this batch exactly
                m.train()
            net(torch.randn((8, 3, side, side), generator=gen))
            for m, momentum in zip(batchnorms, momenta):
                m.momentum = momentum
                m.eval()
                m.running_mean.add_(normal(m.running_mean, 0.1) * m.running_var.sqrt())
                m.running_var.mul_(uniform(m.running_var, 0.8, 1.25))


def build(name: str) -> tuple[torch.nn.Module, int]:
    kwargs, side = MODELS[name]
    seed = model_seed(name)
    torch.manual_seed(seed)
    net = getattr(tvm, name)(weights=None, **kwargs)
    perturb(net, side, torch.Generator().manual_seed(seed + 1))
    return net.eval(), side


def inputs_for(name: str, side: int) -> np.ndarray:
    """Batch of max(BATCHES) seeded standard-normal images; row 0 is the batch-1 image."""
    rng = np.random.default_rng(model_seed(name) + 2)
    return rng.standard_normal((max(BATCHES), 3, side, side)).astype(np.float32)


@contextlib.contextmanager
def locked(path: str | None):
    """Holds an flock on `path` (shared with `flock(1)` users) so heavy runs are serialized."""
    if not path:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def top_k(x: np.ndarray) -> np.ndarray:
    # stable sort on the negated values: ties resolve to the lower index in both frameworks
    return np.argsort(-x, axis=-1, kind="stable")[..., :TOP_K]


def run_kiln(kiln: str, artifact: str, x: np.ndarray, work: str, tag: str, threads: int) -> np.ndarray:
    x_path = os.path.join(work, f"input_{tag}.npy")
    out_dir = os.path.join(work, f"out_{tag}")
    np.save(x_path, x)
    cmd = [kiln, "run", artifact, "--input", f"input={x_path}", "--output-dir", out_dir,
           "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"kiln run failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return np.load(os.path.join(out_dir, "logits.npy"))


def check_model(name: str, args, work: str) -> dict:
    row = {"model": name, "ok": False, "note": ""}
    t0 = time.time()
    net, side = build(name)
    row["params"] = sum(p.numel() for p in net.parameters())
    row["input"] = f"{side}×{side}"
    x = inputs_for(name, side)
    with torch.no_grad():
        ref = {b: net(torch.from_numpy(x[:b])).numpy() for b in BATCHES}
    artifact = os.path.join(work, f"{name}.kiln")
    # The exporter's own self-test (ONNX Runtime on the prepared graph against PyTorch) uses the
    # parity bar too; its elementwise default (1e-4 abs + 1e-4 rel) is stricter than float32
    # rounding allows on small logits next to large ones.
    tolerance = {"abs": REL_BOUND * max(1.0, float(np.max(np.abs(ref[1])))), "rel": 0.0}
    result = kiln_export.export_module(net, torch.from_numpy(x[:1]), artifact, input_names=["input"],
                                       output_names=["logits"], dynamic_batch=True, dynamo=args.dynamo,
                                       source_name=f"torchvision.models.{name}", tolerance=tolerance)
    row["ort_err"] = result.max_abs_error
    row["size_mb"] = os.path.getsize(artifact) / 1e6
    got = {b: run_kiln(args.kiln, artifact, x[:b], work, f"b{b}", args.threads) for b in BATCHES}
    problems = []
    top_ok = True
    for b in BATCHES:
        if got[b].shape != ref[b].shape:
            raise RuntimeError(f"batch {b}: Kiln output shape {got[b].shape}, PyTorch {ref[b].shape}")
        err = float(np.max(np.abs(got[b].astype(np.float64) - ref[b])))
        bound = REL_BOUND * max(1.0, float(np.max(np.abs(ref[b]))))
        row[f"err_b{b}"], row[f"bound_b{b}"] = err, bound
        if not err <= bound:  # also catches NaN
            problems.append(f"b{b} error {err:.3g} > {bound:.3g}")
        mismatched = [r for r in range(b) if not np.array_equal(top_k(got[b][r]), top_k(ref[b][r]))]
        if mismatched:
            top_ok = False
            problems.append(f"b{b} top-5 differs in rows {mismatched}")
    row["top5"] = top_ok
    row["row_delta"] = float(np.max(np.abs(got[4][0] - got[1][0])))
    row_bound = REL_BOUND * max(1.0, float(np.max(np.abs(got[1]))))
    row["rows_ok"] = row["row_delta"] <= row_bound and np.array_equal(top_k(got[4][0]), top_k(got[1][0]))
    if not row["rows_ok"]:
        problems.append(f"batch-4 row 0 differs from batch 1 by {row['row_delta']:.3g}")
    row["max_ref"] = float(np.max(np.abs(ref[1])))
    row["ok"] = not problems
    row["note"] = "; ".join(problems)
    row["seconds"] = time.time() - t0
    return row


NOTES = """## Notes

- Random weights, not trained ones: the point is that Kiln computes the same function as PyTorch,
  op by op, on every architecture; accuracy on ImageNet is not measured. Kiln's error tracks ONNX
  Runtime's (same order of magnitude on every model), i.e. it is float32 summation-order noise.
- BatchNorm statistics are calibrated (then jittered) rather than drawn at random: with random
  statistics that ignore the activations, deep nets blow up in eval mode (Inception v3's logits
  reached 6e10 with torchvision's std-0.1 init) and PyTorch and ONNX Runtime then disagree with each
  other by more than the bar, which says nothing about Kiln.
- `--dynamo` with a batch-1 example used to fail on vit_b_16 at batch 4 (`Reshape [197, 4, 2304] to
  [197, 1, 3, 768]`): `torch.export` specializes a dynamic dim whose example size is 1, baking the 1
  into the attention's Reshape while the graph input still said `N`. ONNX Runtime failed the same
  way, so this was the exporter's, not a Kiln kernel's, bug; `export_module` now traces such an
  example at batch 2 (regression test `test_dynamo_batch_one_example_stays_batch_generic`).
"""


def fmt_err(v):
    return "—" if v is None else f"{v:.2e}"


def versions(dynamo: bool) -> str:
    try:
        swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        swift = swift.replace("Swift version ", "").strip() or "?"
    except OSError:
        swift = "?"
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except OSError:
        commit = "?"
    return (f"Kiln {commit}; Swift {swift}; torch {torch.__version__.split('+')[0]}; "
            f"torchvision {torchvision.__version__.split('+')[0]}; onnx {onnx.__version__}; "
            f"onnxruntime {onnxruntime.__version__}; numpy {np.__version__}; "
            + (f"onnxscript {__import__('onnxscript').__version__}; " if dynamo else "")
            + f"kiln-export {kiln_export.__version__}; Python {platform.python_version()}; "
            f"{platform.system()} {platform.machine()}")


def report(rows: list[dict], args, command: str) -> str:
    passed = sum(r["ok"] for r in rows)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Parity on the torchvision zoo",
        "",
        "Kiln against PyTorch (eager, float32) on torchvision architectures with seeded random weights",
        "(`weights=None`; norm affine parameters randomised, BatchNorm running statistics calibrated on a",
        "seeded batch and jittered so no BatchNorm is the identity; zero-initialised parameters such as",
        "the ViT head given random values), exported with `kiln_export.export_module`",
        f"({'dynamo' if args.dynamo else 'TorchScript'} exporter, opset 17, dynamic batch) and run with `kiln run --threads {args.threads}` at batch 1 and batch 4 on a seeded standard-normal input",
        "(row 0 of the batch-4 input is the batch-1 image).",
        "",
        "Bar: max |Kiln − PyTorch| ≤ 1e-4 · max(1, max |PyTorch|) at both batches, identical top-5",
        "indices in every row, and Kiln's batch-4 row 0 equal to its batch-1 output within the same",
        "bound. \"ORT err b1\" is ONNX Runtime's error on the exported graph against PyTorch (the",
        "exporter's self-test, held to the same bar): the float32 noise floor another runtime shows.",
        "Latency is not measured here (see `kiln-bench`).",
        "",
        f"Command: `{command}`",
        "",
        f"Date: {date}",
        "",
        f"Tools: {versions(args.dynamo)}",
        "",
        "| model | input | params | max abs err b1 | max abs err b4 | bound b1 / b4 | max \\|PyTorch\\| | ORT err b1 | top-5 | b4 row 0 = b1 (Δ) | result |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: | :---: | --- |",
    ]
    for r in rows:
        if "err_b1" not in r:
            lines.append(f"| {r['model']} | {r.get('input', '')} | {r.get('params', 0) / 1e6:.2f} M | — | — | — | — | — | — | — "
                         f"| **FAIL**: {r['note']} |")
            continue
        lines.append(
            f"| {r['model']} | {r['input']} | {r['params'] / 1e6:.2f} M | {fmt_err(r['err_b1'])} | {fmt_err(r['err_b4'])} "
            f"| {r['bound_b1']:.1e} / {r['bound_b4']:.1e} | {r['max_ref']:.3g} | {fmt_err(r.get('ort_err'))} | {'yes' if r['top5'] else 'NO'} "
            f"| {'yes' if r['rows_ok'] else 'NO'} ({r['row_delta']:.1e}) "
            f"| {'pass' if r['ok'] else '**FAIL**: ' + r['note']} |")
    lines += ["", f"**Summary: {passed} of {len(rows)} models pass.**", "", NOTES]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help="comma-separated subset (default: all %d)" % len(MODELS))
    parser.add_argument("--dynamo", action="store_true", help="export with the torch.export-based exporter")
    parser.add_argument("--keep", metavar="DIR", help="keep artifacts, inputs and outputs in DIR")
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "kiln"),
                        help="the kiln CLI (default: .build/release/kiln)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lock", metavar="FILE",
                        help="flock FILE around each model's export and runs (shared machines)")
    parser.add_argument("--report", default=os.path.join(ROOT, "docs", "parity.md"),
                        help="markdown report path (default: docs/parity.md)")
    parser.add_argument("--no-report", action="store_true", help="do not write the report")
    args = parser.parse_args(argv)

    names = list(MODELS) if not args.models else [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        parser.error(f"unknown models {unknown}; known: {', '.join(MODELS)}")
    if not os.access(args.kiln, os.X_OK):
        parser.error(f"{args.kiln} is not executable: run `swift build -c release` first")
    torch.set_num_threads(args.threads)
    command = "python Fixtures/zoo/parity.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))

    rows = []
    for name in names:
        work = os.path.join(args.keep, name) if args.keep else tempfile.mkdtemp(prefix=f"kiln-parity-{name}-")
        os.makedirs(work, exist_ok=True)
        try:
            with locked(args.lock):
                row = check_model(name, args, work)
        except Exception as e:  # a model that cannot be exported or run is a failure, not a crash
            row = {"model": name, "ok": False, "note": f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"}
            problems = getattr(e, "problems", None)
            if problems:
                row["note"] += " (" + "; ".join(map(str, problems[:5])) + ")"
            traceback.print_exc()
            try:
                net, side = build(name)
                row["params"], row["input"] = sum(p.numel() for p in net.parameters()), f"{side}×{side}"
            except Exception:
                pass
        finally:
            if not args.keep:
                import shutil
                shutil.rmtree(work, ignore_errors=True)
        rows.append(row)
        status = "pass" if row["ok"] else "FAIL " + row["note"]
        print(f"{name:22s} err b1 {fmt_err(row.get('err_b1'))} b4 {fmt_err(row.get('err_b4'))} "
              f"bound {row.get('bound_b1', 0):.1e} top5 {row.get('top5')} rows {row.get('rows_ok')} "
              f"({row.get('seconds', 0):.0f} s): {status}", flush=True)

    text = report(rows, args, command)
    if not args.no_report:
        with open(args.report, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.report}")
    failed = [r["model"] for r in rows if not r["ok"]]
    print(f"{len(rows) - len(failed)} of {len(rows)} pass" + (f"; failing: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
