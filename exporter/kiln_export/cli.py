"""``kiln-export``: the command-line exporter."""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__
from .api import export_onnx
from .errors import KilnExportError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kiln-export",
        description="Export an ONNX model to a Kiln artifact (.kiln): graph, weights, preprocessing, "
                    "labels, metadata and a self-test in one file.")
    p.add_argument("model", help="the ONNX model (.onnx)")
    p.add_argument("-o", "--output", required=True, help="the artifact to write (.kiln)")
    p.add_argument("--labels", help="class names, one per line (UTF-8)")
    p.add_argument("--fp16-weights", action="store_true",
                   help="store float weights as f16 (half the size); the self-test tolerance is measured")
    p.add_argument("--no-selftest", action="store_true", help="store no self-test (no onnxruntime needed)")
    p.add_argument("--seed", type=int, default=0, help="seed of the self-test input (default 0)")
    p.add_argument("--source-name", help="metadata.source_model (default: the model's file name)")
    p.add_argument("--preprocess", metavar="PRESET_OR_JSON",
                   help="'imagenet', or a JSON file holding the preprocessing object")
    p.add_argument("--atol", type=float, default=None, help="self-test absolute tolerance (default 1e-4)")
    p.add_argument("--rtol", type=float, default=None, help="self-test relative tolerance (default 1e-4)")
    p.add_argument("--version", action="version", version=f"kiln-export {__version__}")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tolerance = None
    if args.atol is not None or args.rtol is not None:
        tolerance = {"abs": 1e-4 if args.atol is None else args.atol,
                     "rel": 1e-4 if args.rtol is None else args.rtol}
    try:
        preprocessing = args.preprocess
        if preprocessing is not None and preprocessing != "imagenet":
            try:
                with open(preprocessing, encoding="utf-8") as f:
                    preprocessing = json.load(f)
            except (OSError, ValueError) as e:
                raise KilnExportError(f"--preprocess {preprocessing!r}: not a preset nor a readable JSON file: {e}")
        result = export_onnx(args.model, args.output, labels=args.labels, fp16_weights=args.fp16_weights,
                             selftest=not args.no_selftest, preprocessing=preprocessing, seed=args.seed,
                             source_name=args.source_name, tolerance=tolerance)
    except KilnExportError as e:
        print(f"kiln-export: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"kiln-export: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {result.path}: {result.size} bytes, {result.nodes_after} nodes "
          f"(from {result.nodes_before}), {result.tensor_count} graph tensors")
    if result.tolerance is not None:
        print(f"self-test: max abs error {result.max_abs_error:.3g} "
              f"(tolerance abs {result.tolerance['abs']:.3g}, rel {result.tolerance['rel']:.3g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
