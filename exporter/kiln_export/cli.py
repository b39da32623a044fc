"""``kiln-export``: the command-line exporter.

Every failure is one line on stderr, ``kiln-export: error: ...``, naming the file, argument, node
or op concerned, and a non-zero exit status; never a Python traceback (set ``KILN_EXPORT_DEBUG=1``
to see one for an internal error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__
from .api import export_onnx
from .shapes import parse_input_shape
from .errors import KilnExportError, one_line

EXIT_EXPORT = 2    # the model cannot be exported, or the command line is wrong
EXIT_IO = 1        # a file could not be read or written
EXIT_INTERNAL = 3  # a bug in kiln-export (or in a library it calls) that has no better message
# A message longer than this lists the first problems and counts the rest.
MAX_LISTED_PROBLEMS = 8


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's usage dump is two lines; say what is wrong in one
        self.exit(EXIT_EXPORT, f"kiln-export: error: {message} (see kiln-export --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="kiln-export",
        description="Export an ONNX model to a Kiln artifact (.kiln): graph, weights, preprocessing, "
                    "labels, metadata and a self-test in one file.")
    p.add_argument("model", help="the ONNX model (.onnx)")
    p.add_argument("-o", "--output", required=True, help="the artifact to write (.kiln)")
    p.add_argument("--labels", help="class names, one per line (UTF-8)")
    p.add_argument("--fp16-weights", action="store_true",
                   help="store float weights as f16 (half the size); the self-test tolerance is measured")
    p.add_argument("--no-selftest", action="store_true", help="store no self-test (no onnxruntime needed)")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=D0,D1,...",
                   help="the shape of graph input NAME in the self-test (repeatable), e.g. "
                        "images=1,3,640,640; by default symbolic dims are 1, except the height and "
                        "width of an image input: the model's imgsz metadata, the preprocessing size, "
                        "or 224")
    p.add_argument("--seed", type=int, default=0, help="seed of the self-test input (default 0)")
    p.add_argument("--source-name", help="metadata.source_model (default: the model's file name)")
    p.add_argument("--preprocess", metavar="PRESET_OR_JSON",
                   help="'imagenet', or a JSON file holding the preprocessing object")
    p.add_argument("--atol", type=float, default=None, help="self-test absolute tolerance (default 1e-4)")
    p.add_argument("--rtol", type=float, default=None, help="self-test relative tolerance (default 1e-4)")
    p.add_argument("--version", action="version", version=f"kiln-export {__version__}")
    return p


def _io_message(e: OSError, args) -> str:
    """An OSError as one line naming the argument whose file it concerns."""
    reason = e.strerror or str(e)
    name = os.fspath(e.filename) if e.filename is not None else None
    if name is None:
        return one_line(str(e))
    if name == args.model:
        return f"cannot read the model {name!r}: {reason}"
    if args.labels is not None and name == args.labels:
        return f"cannot read --labels {name!r}: {reason}"
    if args.preprocess is not None and name == args.preprocess:
        return f"cannot read --preprocess {name!r}: {reason}"
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if name == args.output or os.path.dirname(os.path.abspath(name)) == out_dir:
        return f"cannot write -o {args.output!r}: {reason}"
    return f"{name!r}: {reason}"


def _checked_tolerance(args) -> dict | None:
    if args.atol is None and args.rtol is None:
        return None
    tolerance = {"abs": 1e-4 if args.atol is None else args.atol,
                 "rel": 1e-4 if args.rtol is None else args.rtol}
    for flag, value in (("--atol", tolerance["abs"]), ("--rtol", tolerance["rel"])):
        if not value >= 0 or value == float("inf"):
            raise KilnExportError(f"{flag} {value:g}: a tolerance is a finite number >= 0")
    return tolerance


def _export(args) -> int:
    tolerance = _checked_tolerance(args)
    input_shapes = {}
    for text in args.input_shape:
        name, shape = parse_input_shape(text)
        if name in input_shapes:
            raise KilnExportError(f"--input-shape {text!r}: input {name!r} is given twice")
        input_shapes[name] = shape
    if args.no_selftest and input_shapes:
        raise KilnExportError("--input-shape chooses the self-test input; it has no effect with --no-selftest")
    preprocessing = args.preprocess
    if preprocessing is not None and preprocessing != "imagenet":
        try:
            with open(preprocessing, encoding="utf-8") as f:
                preprocessing = json.load(f)
        except (OSError, ValueError) as e:
            raise KilnExportError(f"--preprocess {preprocessing!r}: not a preset nor a readable JSON file: "
                                  f"{getattr(e, 'strerror', None) or e}") from None
    result = export_onnx(args.model, args.output, labels=args.labels, fp16_weights=args.fp16_weights,
                         selftest=not args.no_selftest, preprocessing=preprocessing, seed=args.seed,
                         source_name=args.source_name, tolerance=tolerance, input_shapes=input_shapes,
                         log=print)
    print(f"wrote {result.path}: {result.size} bytes, {result.nodes_after} nodes "
          f"(from {result.nodes_before}), {result.tensor_count} graph tensors")
    if result.tolerance is not None:
        print(f"self-test: max abs error {result.max_abs_error:.3g} "
              f"(tolerance abs {result.tolerance['abs']:.3g}, rel {result.tolerance['rel']:.3g})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _export(args)
    except KilnExportError as e:
        print(f"kiln-export: error: {one_line(e.message, e.problems, MAX_LISTED_PROBLEMS)}", file=sys.stderr)
        return EXIT_EXPORT
    except OSError as e:
        print(f"kiln-export: error: {_io_message(e, args)}", file=sys.stderr)
        return EXIT_IO
    except KeyboardInterrupt:
        print("kiln-export: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the promise is: no traceback, ever
        if os.environ.get("KILN_EXPORT_DEBUG"):
            raise
        print(f"kiln-export: internal error: {type(e).__name__}: {one_line(str(e))} "
              "(please report it; KILN_EXPORT_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
