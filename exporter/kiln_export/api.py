"""The exporter's Python API: ``export_onnx`` and ``export_module``."""

from __future__ import annotations

import datetime
import io
import os
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import onnx

from . import __version__
from .convert import to_artifact_graph
from .errors import KilnExportError
from .format import encode_artifact, write_file_atomic
from .ops import unsupported_nodes
from .prepare import MIN_OPSET, default_opset, prepare_model, upgrade_opset
from .summary import summarize
from .shapes import DEFAULT_IMAGE_SIZE, FALLBACK_SIZES, choose_selftest_shapes, symbolize_dims
from .reader import artifact_to_onnx, onnxruntime_module, read_artifact, run_onnx_model

DEFAULT_TOLERANCE = {"abs": 1e-4, "rel": 1e-4}
# The oldest default-domain opset ONNX Runtime runs; older models are upgraded before the self-test.
MIN_ORT_OPSET = 7
# --fp16-weights: the tolerance is this many times the error ONNX Runtime shows on the
# f16-rounded weights, so a runtime with slightly different rounding still passes.
FP16_TOLERANCE_FACTOR = 2.0

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def preprocessing_preset(name: str, input_name: str) -> dict:
    """A named preprocessing recipe (docs/format.md §4.4) for the given graph input."""
    if name == "imagenet":
        return {
            "input": input_name,
            "color": "RGB",
            "steps": [
                {"op": "resize", "size": 256, "interpolation": "bilinear", "antialias": True},
                {"op": "center_crop", "size": [224, 224]},
                {"op": "to_tensor"},
                {"op": "normalize", "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
            ],
        }
    raise KilnExportError(f"unknown preprocessing preset {name!r} (known: imagenet)")


def read_labels(source) -> list[str] | None:
    """Labels from a path (one per line, UTF-8, trailing blank lines ignored) or a sequence."""
    if source is None:
        return None
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise KilnExportError(f"labels file {os.fspath(source)!r} is not UTF-8: {e}") from None
        text = text.removeprefix("\ufeff")
        lines = [line.removesuffix("\r") for line in text.split("\n")]
        while lines and not lines[-1].strip():
            lines.pop()
        blank = [i + 1 for i, line in enumerate(lines) if not line.strip()]
        if blank:
            raise KilnExportError(f"labels file {os.fspath(source)!r} has blank lines before the end",
                                  [f"line {i}" for i in blank])
        return lines
    labels = list(source)
    if not all(isinstance(x, str) for x in labels):
        raise KilnExportError("labels must be strings")
    return labels


@dataclass
class ExportResult:
    """What an export wrote. Its ``repr`` is a one-screen summary; ``header`` has everything."""

    path: str
    size: int
    header: dict = field(repr=False)
    nodes_before: int
    nodes_after: int
    tensor_count: int
    max_abs_error: float | None  # of the artifact (via ONNX Runtime) against the reference
    tolerance: dict | None
    notes: list[str] = field(default_factory=list)  # choices made on the way (self-test shapes, opset upgrade)

    def __repr__(self) -> str:
        return summarize(self)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython and Jupyter
        printer.text(summarize(self))


def _frameworks(extra: Mapping[str, str] | None = None, with_ort: bool = False) -> dict:
    frameworks = {}
    if extra:
        frameworks.update(extra)
    frameworks["onnx"] = onnx.__version__
    if with_ort:
        frameworks["onnxruntime"] = onnxruntime_module().__version__
    frameworks["numpy"] = np.__version__
    return frameworks


KILN_MAGIC = b"\x89KILN"


def _load(model) -> onnx.ModelProto:
    """A ModelProto from a proto, serialized bytes or a path.

    Raises:
        OSError: the file cannot be read.
        KilnExportError: the bytes are not an ONNX model.
    """
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, (bytes, bytearray)):
        what, blob = "the model bytes", bytes(model)
    else:
        path = os.fspath(model)
        what = f"{path!r}"
        with open(path, "rb") as f:  # an OSError here names the file
            blob = f.read()
    if blob.startswith(KILN_MAGIC):
        raise KilnExportError(f"{what} is a Kiln artifact already, not an ONNX model")
    try:
        proto = onnx.load_from_string(blob)
    except Exception as e:  # protobuf's DecodeError, or onnx's own errors
        raise KilnExportError(f"{what} is not an ONNX model (protobuf cannot parse it: {e})") from None
    if not proto.HasField("graph") or not (proto.opset_import or len(proto.graph.node)):
        raise KilnExportError(f"{what} is not an ONNX model ({'empty file' if not blob else 'it holds no graph'})")
    if not isinstance(model, (bytes, bytearray)):
        _load_external_data(proto, path, what)
    return proto


def _load_external_data(proto: onnx.ModelProto, path: str, what: str) -> None:
    """Weights stored next to the model (``.onnx`` + ``.onnx.data``), as ``onnx.load`` reads them."""
    from onnx.external_data_helper import load_external_data_for_model, uses_external_data

    if not any(uses_external_data(t) for t in proto.graph.initializer):
        return
    try:
        load_external_data_for_model(proto, os.path.dirname(os.path.abspath(path)))
    except OSError:
        raise
    except Exception as e:
        raise KilnExportError(f"{what}: its external weight data cannot be loaded: {e}") from None


def random_inputs(model: onnx.ModelProto, seed: int = 0,
                  shapes: Mapping[str, Sequence[int]] | None = None) -> dict[str, np.ndarray]:
    """A seeded example for every graph input, of the given shapes (by default those
    :func:`~kiln_export.shapes.choose_selftest_shapes` picks)."""
    from onnx import helper

    if shapes is None:
        shapes = choose_selftest_shapes(model).shapes
    rng = np.random.default_rng(seed)
    initializers = {t.name for t in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in initializers:
            continue
        shape = list(shapes[vi.name])
        dtype = helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
        if dtype.kind == "f":
            value = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind == "b":
            value = rng.random(shape) < 0.5
        elif dtype.kind in "iu":
            value = rng.integers(0, 10, size=shape).astype(dtype)
        else:
            raise KilnExportError(f"cannot make an example for input {vi.name!r} of type {dtype}")
        feeds[vi.name] = value
    return feeds


def onnxruntime_reference(proto: onnx.ModelProto, seed: int, input_shapes, preprocessing, log):
    """The self-test of an ONNX model: seeded inputs at the chosen shapes and ONNX Runtime's outputs.

    When the default image size makes ONNX Runtime fail inside the model (a concat of branches
    whose strides do not divide it, say), the sizes of ``FALLBACK_SIZES`` are tried before giving up.
    """
    chosen = choose_selftest_shapes(proto, input_shapes, preprocessing)
    what = "the original model (the self-test reference)"
    attempts = [chosen] + [chosen.with_spatial_size(proto, size) for size in FALLBACK_SIZES if chosen.guessed]
    for k, attempt in enumerate(attempts):
        inputs = random_inputs(proto, seed, attempt.shapes)
        try:
            outputs = run_onnx_model(proto, inputs, what)
        except KilnExportError as e:
            if k + 1 == len(attempts) or not e.message.startswith("ONNX Runtime failed running"):
                if k:
                    raise KilnExportError(f"{e.message} (also tried the default sizes "
                                          f"{', '.join(map(str, (DEFAULT_IMAGE_SIZE,) + FALLBACK_SIZES))}; "
                                          "choose a valid one with --input-shape)") from None
                raise
            continue
        for note in attempt.notes:
            log(note)
        return "onnxruntime", inputs, outputs


def export_onnx(model, output, labels=None, fp16_weights: bool = False, selftest: bool = True,
                preprocessing: dict | str | None = None, seed: int = 0, source_name: str | None = None,
                metadata: Mapping | None = None, tolerance: Mapping | None = None,
                created: str | None = None, input_shapes: Mapping[str, Sequence[int]] | None = None,
                log=None) -> ExportResult:
    """Export an ONNX model (a ModelProto, a path or serialized bytes) to a ``.kiln`` file.

    The self-test input is seeded random data and its reference outputs come from ONNX Runtime on
    the original model (``"reference": "onnxruntime"``). Dims stored as -1 or 0 are symbols. The
    self-test shape of an input with symbolic dims is ``input_shapes[name]`` when given, else 1 for
    the batch and, for an image input, the size the model's metadata or the preprocessing gives,
    else 224 (see ``kiln_export.shapes``); ``ExportResult.notes`` says which was used.

    Args:
        labels: a path to a labels file or a sequence of strings.
        fp16_weights: store large float weights as f16 (self-test tolerance is then measured).
        selftest: store a self-test; needs onnxruntime.
        preprocessing: a dict stored verbatim, a preset name (``"imagenet"``), or the torchvision
            transform the model was evaluated with (``transforms.Compose([...])``), converted exactly
            or refused (see ``torchvision_transforms``).
        seed: seed of the self-test input.
        source_name: ``metadata.source_model``; defaults to the file name.
        metadata: extra metadata keys.
        tolerance: ``{"abs": .., "rel": ..}`` overriding the default 1e-4 / 1e-4.
        created: ``metadata.created`` override (for reproducible files).
        input_shapes: input name -> the full shape its self-test example has.
        log: called with each note (the shapes chosen, an opset upgrade) as it is made; the notes
            are also in ``ExportResult.notes``.

    Raises:
        KilnExportError: listing every problem found (unsupported ops, dtypes, label mismatch...).
    """
    proto = _load(model)
    notes = []

    def note(text):
        notes.append(text)
        if log is not None:
            log(text)

    if source_name is None:
        source_name = os.path.basename(os.fspath(model)) if isinstance(model, (str, os.PathLike)) \
            else (proto.graph.name or "onnx model")
    proto = symbolize_dims(proto)
    opset = default_opset(proto)
    if opset is not None and opset < MIN_ORT_OPSET:
        # ONNX Runtime runs no opset below 7, so the reference itself needs the converted model.
        proto = upgrade_opset(proto, MIN_OPSET, choose_selftest_shapes(proto, input_shapes).shapes)
        note(f"opset {opset} upgraded to {MIN_OPSET} with onnx.version_converter" + (
            f" before the self-test (ONNX Runtime runs opset {MIN_ORT_OPSET} and later, so its reference "
            "comes from the upgraded model)" if selftest else ""))
    elif opset is not None and opset < MIN_OPSET:
        note(f"opset {opset} upgraded to {MIN_OPSET} with onnx.version_converter" + (
            f" (the self-test reference is ONNX Runtime on the original opset-{opset} model)" if selftest else ""))
    if input_shapes and not selftest:
        raise KilnExportError("input_shapes (--input-shape) chooses the self-test input, but there is no self-test")
    reference = None
    if selftest:
        choose_selftest_shapes(proto, input_shapes)  # a bad input_shapes fails before any work

        def reference(preprocessing):
            # Called only once the graph has been validated, so an unsupported op is reported as
            # such rather than as whatever ONNX Runtime makes of it.
            return onnxruntime_reference(proto, seed, input_shapes, preprocessing, note)
    return _export(proto, output, labels=labels, fp16_weights=fp16_weights, reference=reference,
                   preprocessing=preprocessing, source_name=source_name, metadata=metadata,
                   tolerance=tolerance, created=created, frameworks=_frameworks(with_ort=selftest),
                   notes=notes)


def export_module(module, example_input, output, input_names: Sequence[str] = ("input",),
                  output_names: Sequence[str] = ("logits",), dynamic_batch: bool = True,
                  dynamo: bool = False, opset: int = 17, labels=None, fp16_weights: bool = False,
                  selftest: bool = True, preprocessing: dict | str | None = None,
                  source_name: str | None = None, metadata: Mapping | None = None,
                  tolerance: Mapping | None = None, created: str | None = None) -> ExportResult:
    """Export a ``torch.nn.Module`` through ``torch.onnx.export``.

    The module's own output on ``example_input`` (a tensor or a tuple of tensors) is stored as the
    self-test reference (``"reference": "torch"``).

    Args:
        dynamic_batch: make dim 0 of every input and output the symbolic ``N``.
        dynamo: use the ``torch.export``-based exporter (needs ``onnxscript``) instead of
            TorchScript.
        opset: the ONNX opset to export to.

    Other arguments are those of :func:`export_onnx`.
    """
    import torch

    args = tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)
    input_names, output_names = list(input_names), list(output_names)
    if len(input_names) != len(args):
        raise KilnExportError(f"{len(args)} example inputs but {len(input_names)} input names")
    module = module.eval()
    with torch.no_grad():
        result = module(*args)
    results = result if isinstance(result, (tuple, list)) else (result,)
    if len(results) != len(output_names):
        raise KilnExportError(f"the module returns {len(results)} outputs but {len(output_names)} "
                              "output names were given")
    proto = torch_to_onnx(module, args, input_names, output_names, dynamic_batch, dynamo, opset)
    reference = None
    if selftest:
        reference = ("torch",
                     {n: a.detach().cpu().numpy() for n, a in zip(input_names, args)},
                     {n: r.detach().cpu().numpy() for n, r in zip(output_names, results)})
    extra = {"torch": torch.__version__.split("+")[0]}
    if dynamo:
        try:
            import onnxscript

            extra["onnxscript"] = onnxscript.__version__
        except ImportError:
            pass
    if source_name is None:
        source_name = f"{type(module).__module__}.{type(module).__qualname__}"
    return _export(proto, output, labels=labels, fp16_weights=fp16_weights, reference=reference,
                   preprocessing=preprocessing, source_name=source_name, metadata=metadata,
                   tolerance=tolerance, created=created, frameworks=_frameworks(extra, with_ort=selftest),
                   notes=[])


def torch_to_onnx(module, args, input_names, output_names, dynamic_batch, dynamo, opset) -> onnx.ModelProto:
    """``torch.onnx.export`` through either exporter, returning the ModelProto."""
    import torch

    dynamic_axes = {name: {0: "N"} for name in list(input_names) + list(output_names)} if dynamic_batch else None
    if dynamo:
        try:
            import onnxscript  # noqa: F401
        except ImportError:
            raise KilnExportError("dynamo=True needs onnxscript: pip install 'kiln-export[dynamo]'") from None
        # A string dim name makes a Dim.DYNAMIC dimension called "N" in the ONNX model; a named
        # torch.export.Dim would refuse a batch-1 example (torch.export specializes 0 and 1).
        dynamic_shapes = tuple({0: "N"} for _ in args) if dynamic_batch else None
        if dynamic_batch:
            # torch.export also specializes a dynamic dim whose example size is 1 (its "0/1
            # specialization"), silently: the input keeps the name N but shapes inside the graph
            # (the Reshape in torch's multi-head attention) bake in the 1. Trace at batch 2 instead;
            # the caller's example stays the self-test input.
            args = tuple(a.expand(2, *a.shape[1:]).contiguous() if a.dim() > 0 and a.shape[0] == 1 else a
                         for a in args)
        program = torch.onnx.export(module, args, dynamo=True, input_names=input_names,
                                    output_names=output_names, opset_version=opset,
                                    dynamic_shapes=dynamic_shapes, verbose=False)
        return program.model_proto
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter announces its own deprecation; choosing it here is deliberate.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, args, buffer, dynamo=False, input_names=input_names,
                          output_names=output_names, opset_version=opset, dynamic_axes=dynamic_axes,
                          do_constant_folding=True)
    return onnx.load_from_string(buffer.getvalue())


def _export(proto, output, *, labels, fp16_weights, reference, preprocessing, source_name, metadata,
            tolerance, created, frameworks, notes) -> ExportResult:
    prepared = prepare_model(proto)
    problems = unsupported_nodes(prepared.nodes)
    if problems:
        raise KilnExportError(f"{len(problems)} node(s) use ops Kiln does not support", problems)
    graph, tensors = to_artifact_graph(prepared, fp16_weights)
    if isinstance(preprocessing, str):
        if not graph["inputs"]:
            raise KilnExportError("a preprocessing preset needs a graph input")
        preprocessing = preprocessing_preset(preprocessing, graph["inputs"][0]["name"])
    elif preprocessing is not None and not isinstance(preprocessing, Mapping):
        if hasattr(preprocessing, "__call__") and type(preprocessing).__module__.startswith("torchvision"):
            from .torchvision_transforms import preprocessing_from_torchvision
            if not graph["inputs"]:
                raise KilnExportError("a preprocessing transform needs a graph input")
            preprocessing = preprocessing_from_torchvision(preprocessing, graph["inputs"][0]["name"])
        else:
            raise KilnExportError("preprocessing must be a dict, a preset name or a torchvision transform")
    if callable(reference):
        reference = reference(preprocessing)

    labels = read_labels(labels)
    if labels is not None:
        classes = _class_count(graph, reference)
        if classes is not None and classes != len(labels):
            raise KilnExportError(f"{len(labels)} labels, but output {graph['outputs'][0]['name']!r} "
                                  f"has {classes} classes")

    header = {"format": "kiln", "graph": graph, "tensors": [],
              "preprocessing": dict(preprocessing) if preprocessing is not None else None,
              "labels": labels}
    meta = {
        "producer": f"kiln-export {__version__}",
        "source_model": source_name,
        "frameworks": frameworks,
        "created": created or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    for key, value in (metadata or {}).items():
        meta.setdefault(key, value)
    header["metadata"] = meta

    max_error = None
    final_tolerance = None
    all_tensors = list(tensors.items())
    if reference is not None:
        kind, inputs, outputs = reference
        missing = [vi["name"] for vi in graph["inputs"] if vi["name"] not in inputs]
        if missing:
            raise KilnExportError("the self-test has no example for graph inputs", missing)
        got = run_onnx_model(artifact_to_onnx({"graph": graph, "tensors": [{"name": n} for n in tensors]}, tensors),
                             inputs, "the prepared graph")
        max_error = _max_abs_error(got, outputs)
        final_tolerance = dict(tolerance or DEFAULT_TOLERANCE)
        if fp16_weights:
            final_tolerance["abs"] = max(final_tolerance["abs"], FP16_TOLERANCE_FACTOR * max_error)
        failures = _tolerance_failures(got, outputs, final_tolerance)
        if failures:
            raise KilnExportError("the prepared graph does not reproduce the reference outputs "
                                  f"(ONNX Runtime vs {kind})", failures)
        names = {n for n in tensors} | {vi["name"] for vi in graph["inputs"]} | {
            o for node in graph["nodes"] for o in node["outputs"]}
        st_inputs, st_outputs = {}, {}
        for table, prefix, arrays in ((st_inputs, "selftest.input.", inputs), (st_outputs, "selftest.output.", outputs)):
            for value_name in ([vi["name"] for vi in graph["inputs"]] if table is st_inputs
                               else [vi["name"] for vi in graph["outputs"]]):
                tensor_name = prefix + value_name
                while tensor_name in names:
                    tensor_name += "_"
                names.add(tensor_name)
                table[value_name] = tensor_name
                all_tensors.append((tensor_name, np.asarray(arrays[value_name])))
        header["selftest"] = {"reference": kind, "inputs": st_inputs, "outputs": st_outputs,
                              "tolerance": final_tolerance}
    else:
        header["selftest"] = None

    contents = encode_artifact(header, all_tensors)
    artifact = read_artifact(contents)  # the writer's output must satisfy the reader
    write_file_atomic(output, contents)
    return ExportResult(path=os.fspath(output), size=len(contents), header=artifact.header,
                        nodes_before=prepared.stats["nodes_before"], nodes_after=len(graph["nodes"]),
                        tensor_count=len(tensors), max_abs_error=max_error, tolerance=final_tolerance,
                        notes=list(notes))


def _class_count(graph, reference) -> int | None:
    """The class dimension (last dim of the first output) when it is known."""
    if not graph["outputs"]:
        return None
    out = graph["outputs"][0]
    if out["shape"] and isinstance(out["shape"][-1], int):
        return out["shape"][-1]
    if reference is not None:
        value = reference[2].get(out["name"])
        if value is not None and np.ndim(value) >= 1:
            return int(np.shape(value)[-1])
    return None


def _max_abs_error(got, expected) -> float:
    worst = 0.0
    for name, ref in expected.items():
        a = np.asarray(got[name], dtype=np.float64)
        b = np.asarray(ref, dtype=np.float64)
        if a.shape != b.shape:
            raise KilnExportError(f"output {name!r}: shape {a.shape} differs from the reference {b.shape}")
        if a.size:
            worst = max(worst, float(np.max(np.abs(a - b))))
    return worst


def _tolerance_failures(got, expected, tolerance) -> list[str]:
    failures = []
    for name, ref in expected.items():
        a = np.asarray(got[name], dtype=np.float64)
        b = np.asarray(ref, dtype=np.float64)
        excess = np.abs(a - b) - (tolerance["abs"] + tolerance["rel"] * np.abs(b))
        bad = int(np.count_nonzero(excess > 0))
        if bad:
            i = np.unravel_index(int(np.argmax(excess)), a.shape)
            failures.append(f"output {name!r}: {bad} of {a.size} elements outside abs {tolerance['abs']:g} + "
                            f"rel {tolerance['rel']:g}; worst at {tuple(int(x) for x in i)}: "
                            f"{a[i]:.6g} vs {b[i]:.6g}")
    return failures
