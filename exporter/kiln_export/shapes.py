"""Symbolic dimensions of graph inputs, and the shape the self-test runs at.

ONNX files spell an unknown dimension in several ways: a ``dim_param`` name (``"batch"``), no value
at all, or (in files converted from Paddle and TensorFlow) ``dim_value`` -1 or 0. All of them are
symbols here. The self-test needs one concrete shape per input; it is chosen, in order, from
``--input-shape`` (``input_shapes=``), the model's own hint (Ultralytics' ``imgsz`` metadata), the
preprocessing's output size, and otherwise 1 for the batch and 224 for the height and width of an
image input (224 = 7 * 32 is valid for the usual strides; when ONNX Runtime still refuses it the
exporter tries :data:`FALLBACK_SIZES`).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

import onnx
from onnx import helper

from .errors import KilnExportError

DEFAULT_IMAGE_SIZE = 224
# Spatial sizes tried, in order, when the default one makes ONNX Runtime fail inside the model:
# multiples of 64 and of 128, for detectors with deeper strides.
FALLBACK_SIZES = (256, 320, 640)
# An input is an image when it is float, rank 4, and its channel axis holds this few channels.
IMAGE_CHANNELS = (1, 2, 3, 4)


# dim_param values that mean "unknown" rather than name a symbol: Paddle2ONNX writes "?" for every
# unknown dim of an input (PP-OCR's [-1, 3, '?', '?']), and two "?" are not one size.
ANONYMOUS_DIM_NAMES = frozenset({"?"})


def is_symbolic(dim: onnx.TensorShapeProto.Dimension) -> bool:
    """Whether an ONNX dimension is unknown: named, empty, or stored as -1 or 0."""
    return not dim.HasField("dim_value") or dim.dim_value <= 0


def is_anonymous(dim: onnx.TensorShapeProto.Dimension) -> bool:
    """Whether an ONNX dimension is unknown and has no usable name (empty, -1, 0 or ``"?"``)."""
    return is_symbolic(dim) and (not dim.dim_param or dim.dim_param in ANONYMOUS_DIM_NAMES)


def input_dims(vi: onnx.ValueInfoProto) -> list | None:
    """A graph input's dims: int when static, the symbol's name (or None when it has none) when not."""
    t = vi.type.tensor_type
    if not vi.type.HasField("tensor_type") or not t.HasField("shape"):
        return None
    return [(None if is_anonymous(d) else d.dim_param) if is_symbolic(d) else int(d.dim_value) for d in t.shape.dim]


def needs_symbolic_dims(model: onnx.ModelProto) -> bool:
    g = model.graph
    return any((d.HasField("dim_value") and d.dim_value <= 0) or d.dim_param in ANONYMOUS_DIM_NAMES
               for vi in list(g.input) + list(g.output) + list(g.value_info)
               for d in vi.type.tensor_type.shape.dim) or any(
        is_anonymous(d) for vi in g.input for d in vi.type.tensor_type.shape.dim)


def symbolize_dims(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` (copied only if needed) with -1, 0 and empty dims read as symbols.

    A graph input's unknown dim (stored as -1 or 0, empty, or named ``"?"``) becomes the symbol ``<input>_dim<k>``,
    the name the artifact gives it anyway; in outputs and value infos it is cleared, so shape
    inference fills it in. ONNX Runtime takes -1 as "any" but 0 literally, and shape inference
    computes with both (a Conv over a -1 height gets a negative one), so neither may reach them.
    """
    if not needs_symbolic_dims(model):
        return model
    model = copy.deepcopy(model)
    g = model.graph
    for role, infos in (("input", g.input), ("output", g.output), ("value_info", g.value_info)):
        for vi in infos:
            for k, d in enumerate(vi.type.tensor_type.shape.dim):
                if is_anonymous(d):
                    d.Clear()
                    if role == "input":
                        d.dim_param = f"{vi.name}_dim{k}"
    return model


def parse_input_shape(text: str) -> tuple[str, list[int]]:
    """``"images=1,3,640,640"`` -> ``("images", [1, 3, 640, 640])``.

    Raises:
        KilnExportError: naming ``--input-shape`` and what is wrong with ``text``.
    """
    name, sep, dims = text.rpartition("=")
    if not sep or not name:
        raise KilnExportError(f"--input-shape {text!r}: expected NAME=D0,D1,... (for example images=1,3,640,640)")
    try:
        shape = [int(d) for d in dims.replace("x", ",").split(",")]
    except ValueError:
        raise KilnExportError(f"--input-shape {text!r}: dims must be integers separated by commas") from None
    if any(d < 1 for d in shape):
        raise KilnExportError(f"--input-shape {text!r}: every dim must be at least 1")
    return name, shape


@dataclass
class _Input:
    name: str
    dims: list  # int | str | None, as input_dims gives them
    elem_type: int

    def spatial_axes(self) -> tuple[int, ...]:
        """Height and width axes when this is an image input (NCHW or NHWC), else ()."""
        if len(self.dims) != 4 or helper.tensor_dtype_to_np_dtype(self.elem_type).kind != "f":
            return ()
        c1, c3 = self.dims[1], self.dims[3]
        if c3 in IMAGE_CHANNELS and c1 not in IMAGE_CHANNELS:
            return (1, 2)
        if c1 in IMAGE_CHANNELS or not isinstance(c3, int):
            return (2, 3)
        return ()


def _graph_inputs(model: onnx.ModelProto) -> list[_Input]:
    initializers = {t.name for t in model.graph.initializer}
    out = []
    for vi in model.graph.input:
        if vi.name in initializers:
            continue
        dims = input_dims(vi)
        if dims is None:
            raise KilnExportError(f"graph input {vi.name!r} has no shape; Kiln needs a known rank")
        out.append(_Input(vi.name, dims, vi.type.tensor_type.elem_type))
    return out


def model_size_hint(model: onnx.ModelProto) -> tuple[int, int] | None:
    """The image size a model says it was made for: Ultralytics' ``imgsz`` metadata (``"[640, 640]"``)."""
    for prop in model.metadata_props:
        if prop.key in ("imgsz", "image_size", "input_size"):
            try:
                value = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                continue
            size = _size_pair(value)
            if size is not None:
                return size
    return None


def preprocessing_size_hint(preprocessing, input_name: str) -> tuple[int, int] | None:
    """The height and width the preprocessing (docs/format.md §4.4) produces for ``input_name``."""
    if not isinstance(preprocessing, dict) or preprocessing.get("input") != input_name:
        return None
    size = None
    for step in preprocessing.get("steps") or []:
        if isinstance(step, dict) and step.get("op") in ("resize", "center_crop"):
            size = _size_pair(step.get("size")) or size
    return size


def _size_pair(value) -> tuple[int, int] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, (list, tuple)) and len(value) in (1, 2) and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
        return (value[0], value[-1])
    return None


@dataclass
class SelfTestShapes:
    """The chosen shape of every graph input, and how it was chosen."""

    shapes: dict[str, list[int]]
    notes: list[str]
    # Inputs whose spatial size is a default guess (no flag, hint or preprocessing), which the
    # exporter may change to one of FALLBACK_SIZES when ONNX Runtime refuses it.
    guessed: list[str]

    def with_spatial_size(self, model: onnx.ModelProto, size: int) -> "SelfTestShapes":
        """These shapes with the guessed heights and widths set to ``size``, in every input that
        shares their symbols."""
        shapes = {k: list(v) for k, v in self.shapes.items()}
        inputs = _graph_inputs(model)
        by_name = {i.name: i for i in inputs}
        symbols = set()
        for name in self.guessed:
            for axis in by_name[name].spatial_axes():
                d = by_name[name].dims[axis]
                if d is None:
                    shapes[name][axis] = size
                elif isinstance(d, str):
                    symbols.add(d)
        for inp in inputs:
            for axis, d in enumerate(inp.dims):
                if isinstance(d, str) and d in symbols:
                    shapes[inp.name][axis] = size
        notes = [n for n in self.notes if not any(n.startswith(f"self-test input {g!r}") for g in self.guessed)]
        notes += [f"self-test input {n!r}: {shapes[n]} (ONNX Runtime failed at height and width "
                  f"{DEFAULT_IMAGE_SIZE}, the default for an image input, and ran at {size}; "
                  f"--input-shape {n}=... chooses another)" for n in self.guessed]
        return SelfTestShapes(shapes, notes, self.guessed)


def choose_selftest_shapes(model: onnx.ModelProto, given: dict | None = None,
                           preprocessing=None) -> SelfTestShapes:
    """Pick the self-test shape of every graph input of ``model`` (see the module docstring).

    A symbol shared by several inputs gets one value. ``given`` maps input names to full shapes.

    Raises:
        KilnExportError: a ``given`` shape names no input, has the wrong rank, contradicts a
            static dim, or gives one symbol two values.
    """
    given = dict(given or {})
    inputs = _graph_inputs(model)
    by_name = {i.name: i for i in inputs}
    unknown = [n for n in given if n not in by_name]
    if unknown:
        raise KilnExportError(f"--input-shape {unknown[0]!r}: the model has no input of that name "
                              f"(inputs: {', '.join(by_name) or 'none'})")
    bound: dict[str, int] = {}
    for name, shape in given.items():
        dims = by_name[name].dims
        text = f"--input-shape {name}={','.join(map(str, shape))}"
        if len(shape) != len(dims):
            raise KilnExportError(f"{text}: {len(shape)} dims, but input {name!r} has rank {len(dims)} "
                                  f"{_show(dims)}")
        for axis, (d, s) in enumerate(zip(dims, shape)):
            if isinstance(d, int) and d != s:
                raise KilnExportError(f"{text}: dim {axis} of input {name!r} is fixed at {d} {_show(dims)}")
            if isinstance(d, str):
                if bound.get(d, s) != s:
                    raise KilnExportError(f"{text}: symbol {d!r} is already {bound[d]}")
                bound[d] = s

    model_hint = model_size_hint(model)
    shapes, notes, guessed = {}, [], []
    for inp in inputs:
        if inp.name in given:
            shapes[inp.name] = list(given[inp.name])
            if any(not isinstance(d, int) for d in inp.dims):
                notes.append(f"self-test input {inp.name!r}: {shapes[inp.name]} (from --input-shape)")
            continue
        spatial = inp.spatial_axes()
        hint, source = model_hint, "the model's imgsz metadata"
        if hint is None:
            hint, source = preprocessing_size_hint(preprocessing, inp.name), "the preprocessing size"
        shape, chosen, sized = [], [], False
        for axis, d in enumerate(inp.dims):
            if isinstance(d, int):
                shape.append(d)
                continue
            if d is not None and d in bound:
                value = bound[d]  # a symbol another input (or --input-shape) already sized
            elif axis in spatial:
                value = hint[spatial.index(axis)] if hint else DEFAULT_IMAGE_SIZE
                sized = True
            else:
                value = 1
            if d is not None:
                bound[d] = value
            shape.append(value)
            chosen.append(f"{d or f'dim {axis}'}={value}")
        shapes[inp.name] = shape
        if chosen:
            if sized:
                why = f"height and width from {source}" if hint else \
                    f"height and width {DEFAULT_IMAGE_SIZE} by default for an image input"
                if not hint:
                    guessed.append(inp.name)
            else:
                shared = any(a in spatial and isinstance(d, str) for a, d in enumerate(inp.dims))
                why = "height and width as for the input above" if shared else "symbolic dims 1 by default"
            notes.append(f"self-test input {inp.name!r}: {shape} ({', '.join(chosen)}; {why}; "
                         f"--input-shape {inp.name}=... chooses another)")
    return SelfTestShapes(shapes, notes, guessed)


def _show(dims) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"
