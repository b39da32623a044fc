"""Graph preparation: turn an ONNX model into the flat, constant-folded graph an artifact stores.

Passes, in order (each returns new lists instead of editing the graph mid-iteration):

1. ``inline_functions`` / ``upgrade_opset``: local functions inlined, opset < 11 converted to 11
   (``export_onnx`` converts opsets 1-6 itself, before ONNX Runtime computes the self-test).
2. ``fold_constants`` (repeated with fresh shape inference until nothing changes):
   ``Constant`` nodes become tensors; any node whose inputs are all constants is evaluated
   (``onnx.reference``); ``Shape``/``Size`` of statically known shapes become constants; partially
   known shape vectors are tracked through ``Gather``/``Slice``/``Concat``/``Unsqueeze``/
   ``Squeeze``/``Cast``/``Identity`` so that the static parts of a shape computation fold while the
   symbolic parts (batch ``N``: ``Shape -> Gather(0)``) stay live.
3. ``remove_dead``: nodes whose outputs nobody uses and unused tensors go.
4. ``finish``: a topological order, unique node names, ``Identity`` for outputs that folded to
   constants, value infos from shape inference.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .errors import KilnExportError
from .ops import DEFAULT_DOMAINS
from .shapes import choose_selftest_shapes, symbolize_dims

MIN_OPSET = 11
# Ops whose value is not a function of their inputs: never folded.
NONDETERMINISTIC = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                              "Multinomial", "Bernoulli"})
# A folded result larger than this stays a live computation: folding an Expand or a
# ConstantOfShape into hundreds of megabytes would bloat the file for no speed-up.
MAX_FOLDED_BYTES = 64 * 1024 * 1024
MAX_FOLD_ROUNDS = 8
# Constants up to this many elements are given to shape inference with their values (shape
# computations need them); larger ones only with their type, to keep each round cheap.
SHAPE_INFERENCE_VALUE_LIMIT = 4096


@dataclass
class ValueInfo:
    name: str
    elem_type: int
    dims: list  # int, str (symbolic) or None (unknown); None for the whole list = unknown rank


@dataclass
class PreparedGraph:
    """The graph an artifact stores, still as ONNX protos and numpy arrays."""

    opset: int
    inputs: list[ValueInfo]
    outputs: list[ValueInfo]
    nodes: list[onnx.NodeProto]
    constants: dict[str, np.ndarray]
    stats: dict = field(default_factory=dict)


def default_opset(model: onnx.ModelProto) -> int | None:
    for entry in model.opset_import:
        if entry.domain in DEFAULT_DOMAINS:
            return entry.version
    return None


def prepare_model(model: onnx.ModelProto) -> PreparedGraph:
    """Run every preparation pass on ``model`` (which is not modified)."""
    original = model
    model = symbolize_dims(model)  # -1 and 0 dims are symbols (copies when it changes something)
    if model is original:
        model = copy.deepcopy(model)
    if model.functions:
        import onnx.inliner

        model = onnx.inliner.inline_local_functions(model)
    opset = default_opset(model)
    if opset is None:
        if any(n.domain in DEFAULT_DOMAINS for n in model.graph.node):
            raise KilnExportError("model imports no default-domain opset")
        opset = MIN_OPSET
    if opset < MIN_OPSET:
        model = upgrade_opset(model, MIN_OPSET)
        opset = MIN_OPSET

    graph = model.graph
    if len(graph.sparse_initializer):
        raise KilnExportError("sparse initializers are not supported",
                              [t.values.name for t in graph.sparse_initializer])
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    inputs = [vi for vi in graph.input if vi.name not in constants]
    output_names = [vi.name for vi in graph.output]
    declared = {vi.name: vi for vi in list(graph.input) + list(graph.output)}
    nodes = topological_order(list(graph.node), [vi.name for vi in inputs] + list(constants))
    original_count = len(nodes)

    context = _Context(model, opset, inputs, output_names)
    rounds = 0
    for rounds in range(1, MAX_FOLD_ROUNDS + 1):
        shapes = context.infer(nodes, constants)
        nodes, constants, changed = fold_constants(nodes, constants, shapes, context)
        nodes, constants = remove_dead(nodes, constants, output_names)
        if not changed:
            break

    shapes = context.infer(nodes, constants)
    nodes, constants, outputs = finish(nodes, constants, inputs, output_names, shapes, declared)
    input_infos = [_value_info(vi.name, shapes, declared) for vi in inputs]
    return PreparedGraph(
        opset=opset,
        inputs=input_infos,
        outputs=outputs,
        nodes=nodes,
        constants=constants,
        stats={"nodes_before": original_count, "nodes_after": len(nodes), "fold_rounds": rounds},
    )


def upgrade_opset(model: onnx.ModelProto, target: int, shapes: dict | None = None) -> onnx.ModelProto:
    """``model`` converted to opset ``target`` with ``onnx.version_converter``.

    Some of the converter's adapters (the ``broadcast`` attribute of opset-6 ``Add`` and ``Gemm``)
    need every shape and refuse symbolic dims. Those models are converted with every graph input
    pinned to ``shapes`` (default: the self-test shapes), through opset 6 when they start below it,
    and the symbolic declarations are put back afterwards: the adapters look at ranks, which
    pinning does not change.
    """
    import onnx.version_converter

    try:
        return onnx.version_converter.convert_version(model, target)
    except Exception as e:  # the converter raises a bare RuntimeError/ConvertError
        first = e
    try:
        pinned = copy.deepcopy(model)
        shapes = shapes or choose_selftest_shapes(model).shapes
        for vi in pinned.graph.input:
            if vi.name in shapes:
                for d, n in zip(vi.type.tensor_type.shape.dim, shapes[vi.name]):
                    d.Clear()
                    d.dim_value = n
        del pinned.graph.value_info[:]
        for vi in pinned.graph.output:  # inferred again from the pinned inputs
            vi.type.tensor_type.ClearField("shape")
        # The converter infers shapes once, up front, and opset-1 ops such as BatchNormalization
        # have no shape inference: reaching 6 first gives the 6 -> 7 broadcast adapters their shapes.
        if (default_opset(pinned) or target) < 6 < target:
            pinned = onnx.version_converter.convert_version(pinned, 6)
        converted = onnx.version_converter.convert_version(pinned, target)
    except Exception:
        raise KilnExportError(f"opset {default_opset(model)} is below {target} and could not be "
                              f"converted: {first}") from None
    declared = {vi.name: vi for vi in list(model.graph.input) + list(model.graph.output)}
    for vi in list(converted.graph.input) + list(converted.graph.output):
        if vi.name in declared:
            vi.type.CopyFrom(declared[vi.name].type)
    del converted.graph.value_info[:]
    return converted


def topological_order(nodes: list[onnx.NodeProto], available: list[str]) -> list[onnx.NodeProto]:
    """Nodes in an order where every input is available before use, keeping the original order
    where it already is one. Raises on cycles and on inputs that nothing produces."""
    known = set(available)
    pending = list(nodes)
    ordered = []
    while pending:
        progress = []
        rest = []
        for node in pending:
            if all(not i or i in known for i in node.input):
                ordered.append(node)
                known.update(o for o in node.output if o)
                progress.append(node)
            else:
                rest.append(node)
        if not progress:
            missing = sorted({i for n in rest for i in n.input if i and i not in known
                              and i not in {o for m in rest for o in m.output}})
            if missing:
                raise KilnExportError("node inputs that nothing produces", missing)
            raise KilnExportError("the graph has a cycle", [f"{n.name} ({n.op_type})" for n in rest])
        pending = rest
    return ordered




# -- shape information ----------------------------------------------------------------------------


class _Context:
    """What the folding passes need to know about the model around the nodes."""

    def __init__(self, model: onnx.ModelProto, opset: int, inputs, output_names):
        self.model = model
        self.opset = opset
        self.inputs = inputs
        self.output_names = output_names
        self.opset_imports = list(model.opset_import)
        if not any(o.domain in DEFAULT_DOMAINS for o in self.opset_imports):
            self.opset_imports.append(helper.make_opsetid("", opset))
        for o in self.opset_imports:
            if o.domain in DEFAULT_DOMAINS:
                o.version = opset

    def infer(self, nodes, constants) -> dict[str, ValueInfo]:
        """Shape inference over the current graph; value name -> ValueInfo."""
        small = [numpy_helper.from_array(a, n) for n, a in constants.items() if a.size <= SHAPE_INFERENCE_VALUE_LIMIT
                 and a.dtype != object]
        large = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                 for n, a in constants.items() if a.size > SHAPE_INFERENCE_VALUE_LIMIT and a.dtype != object]
        graph = helper.make_graph(
            nodes, "prepare", list(self.inputs) + large,
            [helper.make_empty_tensor_value_info(n) for n in self.output_names], initializer=small)
        model = helper.make_model(graph, opset_imports=self.opset_imports)
        model.ir_version = max(self.model.ir_version, 4)
        try:
            inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
        except Exception:
            # A model shape inference cannot handle still exports; it just folds less.
            inferred = model
        infos = {}
        for vi in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
            infos[vi.name] = _from_proto(vi)
        for name, array in constants.items():
            if array.dtype != object:
                infos[name] = ValueInfo(name, helper.np_dtype_to_tensor_dtype(array.dtype), list(array.shape))
        return infos


def _from_proto(vi: onnx.ValueInfoProto) -> ValueInfo:
    t = vi.type.tensor_type
    if not vi.type.HasField("tensor_type"):
        return ValueInfo(vi.name, 0, None)
    if not t.HasField("shape"):
        return ValueInfo(vi.name, t.elem_type, None)
    dims = []
    for d in t.shape.dim:
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param:
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return ValueInfo(vi.name, t.elem_type, dims)


def _value_info(name, shapes, declared) -> ValueInfo:
    """Merge the declared type of a graph input/output with what inference found."""
    decl = _from_proto(declared[name]) if name in declared else None
    inferred = shapes.get(name)
    elem = (decl.elem_type if decl and decl.elem_type else 0) or (inferred.elem_type if inferred else 0)
    dims = decl.dims if decl else None
    if inferred and inferred.dims is not None:
        if dims is None or len(dims) != len(inferred.dims):
            dims = inferred.dims
        else:
            dims = [d if d is not None else i for d, i in zip(dims, inferred.dims)]
    return ValueInfo(name, elem, dims)


# -- folding --------------------------------------------------------------------------------------


def fold_constants(nodes, constants, shapes, context):
    """One folding sweep in topological order; returns (nodes, constants, changed)."""
    constants = dict(constants)
    partial: dict[str, tuple[tuple, list]] = {}  # value -> (shape, flat list of int | None)
    kept = []
    changed = False
    for node in nodes:
        folded = None
        if node.domain in DEFAULT_DOMAINS:
            folded = _fold_node(node, constants, shapes, context)
            if folded is None:
                p = _partial_value(node, constants, shapes, partial)
                if p is not None:
                    shape, values = p
                    if all(v is not None for v in values):
                        folded = {node.output[0]: np.array(values, dtype=np.int64).reshape(shape)}
                    else:
                        partial[node.output[0]] = p
        if folded is None:
            kept.append(node)
            continue
        expected = {o: shapes[o].elem_type for o in folded if o in shapes and shapes[o].elem_type}
        for name, value in folded.items():
            value = np.asarray(value)
            if name in expected and value.dtype != object:
                want = helper.tensor_dtype_to_np_dtype(expected[name])
                if value.dtype != want:
                    value = value.astype(want)
            constants[name] = value
        changed = True
    return kept, constants, changed


def _has_subgraph(node) -> bool:
    return any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute)


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _shape_range(node, dims):
    """The dims a Shape node reports (opset 15 added start/end)."""
    start = _attr(node, "start", 0)
    end = _attr(node, "end", None)
    rank = len(dims)
    start = max(0, min(rank, start + rank if start < 0 else start))
    end = rank if end is None else max(0, min(rank, end + rank if end < 0 else end))
    return dims[start:end]


def _fold_node(node, constants, shapes, context):
    """Outputs of ``node`` as constants, or None when it cannot (or should not) be folded."""
    op = node.op_type
    if op in NONDETERMINISTIC or _has_subgraph(node):
        return None
    if op == "Constant":
        return {node.output[0]: _constant_value(node, context)}
    if op in ("Shape", "Size") and node.input[0] not in constants:
        info = shapes.get(node.input[0])
        if info is None or info.dims is None:
            return None
        if op == "Size":
            if all(isinstance(d, int) for d in info.dims):
                return {node.output[0]: np.array(int(np.prod(info.dims)), dtype=np.int64)}
            return None
        dims = _shape_range(node, info.dims)
        if all(isinstance(d, int) for d in dims):
            return {node.output[0]: np.array(dims, dtype=np.int64)}
        return None
    present = [i for i in node.input if i]
    if not present or not all(i in constants for i in present):
        return None
    if any(constants[i].dtype == object for i in present) and op not in ("Identity", "Cast"):
        return None
    return _evaluate(node, {i: constants[i] for i in present}, context)


def _constant_value(node, context):
    a = node.attribute[0] if len(node.attribute) == 1 else None
    if a is not None:
        if a.name == "value":
            return numpy_helper.to_array(a.t)
        if a.name == "value_float":
            return np.array(a.f, dtype=np.float32)
        if a.name == "value_floats":
            return np.array(list(a.floats), dtype=np.float32)
        if a.name == "value_int":
            return np.array(a.i, dtype=np.int64)
        if a.name == "value_ints":
            return np.array(list(a.ints), dtype=np.int64)
    result = _evaluate(node, {}, context)
    if result is None:
        raise KilnExportError(f"Constant node {node.name!r} could not be evaluated")
    return result[node.output[0]]


def _evaluate(node, feeds, context):
    from onnx.reference import ReferenceEvaluator

    inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(a.dtype)
                                            if a.dtype != object else TensorProto.STRING, a.shape)
              for name, a in feeds.items()]
    outputs = [helper.make_empty_tensor_value_info(o) for o in node.output if o]
    graph = helper.make_graph([node], "fold", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", context.opset)])
    try:
        results = ReferenceEvaluator(model).run(None, feeds)
    except Exception:
        # The reference implementation lacks the op or this case: the node simply stays live.
        return None
    folded = {}
    for name, value in zip([o for o in node.output if o], results):
        value = np.asarray(value)
        if value.nbytes > MAX_FOLDED_BYTES:
            return None
        folded[name] = value
    return folded


def _partial_value(node, constants, shapes, partial):
    """Propagate shape vectors whose entries are partly known (None = symbolic)."""
    op = node.op_type

    def get(name):
        if name in partial:
            return partial[name]
        if name in constants and constants[name].dtype.kind in "iu":
            a = constants[name]
            return a.shape, [int(v) for v in a.flat]
        return None

    try:
        if op == "Shape":
            info = shapes.get(node.input[0])
            if info is None or info.dims is None:
                return None
            dims = _shape_range(node, info.dims)
            return (len(dims),), [d if isinstance(d, int) else None for d in dims]
        if op in ("Identity", "Cast"):
            src = get(node.input[0])
            if op == "Cast" and _attr(node, "to") not in (TensorProto.INT64, TensorProto.INT32):
                return None
            return src
        if op == "Gather":
            data, indices = get(node.input[0]), constants.get(node.input[1])
            if data is None or indices is None or len(data[0]) != 1 or _attr(node, "axis", 0) != 0:
                return None
            n = data[0][0]
            return indices.shape, [data[1][int(i) + n if i < 0 else int(i)] for i in indices.flat]
        if op in ("Unsqueeze", "Squeeze"):
            src = get(node.input[0])
            if src is None:
                return None
            shape = list(src[0])
            axes = _attr(node, "axes")
            if axes is None and len(node.input) > 1 and node.input[1]:
                if node.input[1] not in constants:
                    return None
                axes = [int(a) for a in constants[node.input[1]].flat]
            if op == "Unsqueeze":
                rank = len(shape) + len(axes)
                for a in sorted(a + rank if a < 0 else a for a in axes):
                    shape.insert(a, 1)
            else:
                rank = len(shape)
                drop = {a + rank if a < 0 else a for a in axes} if axes else {i for i, d in enumerate(shape) if d == 1}
                shape = [d for i, d in enumerate(shape) if i not in drop]
            return tuple(shape), src[1]
        if op == "Concat":
            parts = [get(i) for i in node.input]
            if any(p is None or len(p[0]) != 1 for p in parts) or _attr(node, "axis") not in (0, -1):
                return None
            values = [v for p in parts for v in p[1]]
            return (len(values),), values
        if op == "Slice":
            data = get(node.input[0])
            if data is None or len(data[0]) != 1:
                return None
            args = [constants.get(i) if i else None for i in list(node.input[1:]) + [""] * (5 - len(node.input))]
            starts, ends, axes, steps = args[:4]
            if starts is None or ends is None or (node.input[3:4] and node.input[3] and axes is None) \
                    or (node.input[4:5] and node.input[4] and steps is None):
                return None
            if axes is not None and [int(a) for a in axes.flat] not in ([0], [-1]):
                return None
            step = int(steps.flat[0]) if steps is not None else 1
            if step <= 0:
                return None
            n = data[0][0]
            start, end = int(starts.flat[0]), int(ends.flat[0])
            start = max(0, min(n, start + n if start < 0 else start))
            end = max(0, min(n, end + n if end < 0 else end))
            values = data[1][start:end:step]
            return (len(values),), values
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return None


# -- cleanup --------------------------------------------------------------------------------------


def remove_dead(nodes, constants, output_names):
    """Drop nodes none of whose outputs is needed, and constants nobody reads."""
    needed = set(output_names)
    live = []
    for node in reversed(nodes):
        if any(o and o in needed for o in node.output):
            live.append(node)
            needed.update(i for i in node.input if i)
    live.reverse()
    return live, {k: v for k, v in constants.items() if k in needed}


def finish(nodes, constants, inputs, output_names, shapes, declared):
    """Identity nodes for constant outputs, unique node names, output value infos."""
    input_names = {vi.name for vi in inputs}
    nodes = list(nodes)
    constants = dict(constants)
    taken = set(constants) | input_names | {o for n in nodes for o in n.output}
    for name in output_names:
        if name in input_names:
            raise KilnExportError(f"graph output {name!r} is also a graph input; Kiln needs outputs "
                                  "produced by nodes")
        if name in constants:
            # Artifacts name every graph output as a node output; a folded output gets an Identity.
            source = _fresh(f"{name}__constant", taken)
            taken.add(source)
            constants[source] = constants.pop(name)
            nodes.append(helper.make_node("Identity", [source], [name]))
            shapes[name] = ValueInfo(name, helper.np_dtype_to_tensor_dtype(constants[source].dtype),
                                     list(constants[source].shape))

    counts: dict[str, int] = {}
    for n in nodes:
        counts[n.name] = counts.get(n.name, 0) + 1
    used_names: set[str] = set()
    for n in nodes:
        if not n.name or counts[n.name] > 1 and n.name in used_names:
            n.name = _fresh(n.name or n.op_type, used_names | set(counts), first_suffix=True)
        used_names.add(n.name)

    outputs = [_value_info(name, shapes, declared) for name in output_names]
    return nodes, constants, outputs


def _fresh(base: str, taken, first_suffix: bool = False) -> str:
    if not first_suffix and base not in taken:
        return base
    k = 0
    while f"{base}_{k}" in taken:
        k += 1
    return f"{base}_{k}"
