"""From a prepared ONNX graph to the artifact's JSON graph and tensor list (docs/format.md §4.1-4.2)."""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from .errors import KilnExportError
from .format import dtype_name
from .prepare import PreparedGraph, ValueInfo

ONNX_TO_KILN = {
    TensorProto.FLOAT: "f32",
    TensorProto.FLOAT16: "f16",
    TensorProto.INT64: "i64",
    TensorProto.INT32: "i32",
    TensorProto.INT8: "i8",
    TensorProto.UINT8: "u8",
    TensorProto.BOOL: "bool",
}
# --fp16-weights leaves small float tensors in f32: they cost nothing and are the ones (epsilons,
# masks, scalar exponents) whose f16 rounding or overflow would change results.
FP16_MIN_ELEMENTS = 64
FP16_MAX = 65504.0


def kiln_float(x: float) -> float:
    """The shortest decimal that rounds to the same binary32 value, as a Python float.

    ONNX FLOAT attributes are binary32; emitting ``1e-05`` instead of ``9.999999747378752e-06``
    keeps headers readable, and a reader that parses the number as binary32 gets the exact bits.
    """
    return float(str(np.float32(x)))


class _Converter:
    def __init__(self, prepared: PreparedGraph, fp16_weights: bool):
        self.prepared = prepared
        self.fp16 = fp16_weights
        self.problems: list[str] = []
        self.tensors: dict[str, np.ndarray] = {}  # in order of first use
        self.taken = set(prepared.constants) | {vi.name for vi in prepared.inputs} | {
            o for n in prepared.nodes for o in n.output}

    def value_info(self, vi: ValueInfo, role: str) -> dict:
        dtype = ONNX_TO_KILN.get(vi.elem_type)
        if dtype is None:
            self.problems.append(f"graph {role} {vi.name!r}: element type "
                                 f"{TensorProto.DataType.Name(vi.elem_type) if vi.elem_type else 'unknown'} "
                                 "is not supported")
        if vi.dims is None:
            self.problems.append(f"graph {role} {vi.name!r}: rank unknown (shape inference could not tell)")
            dims = []
        else:
            dims = []
            for k, d in enumerate(vi.dims):
                # A dim neither static nor named gets a name of its own: equal names mean equal dims.
                dims.append(d if d is not None else f"{vi.name}_dim{k}")
        return {"name": vi.name, "dtype": dtype or "f32", "shape": dims}

    def tensor(self, name: str, array: np.ndarray) -> None:
        if name in self.tensors:
            return
        array = np.asarray(array)
        if dtype_name(array.dtype) is None:
            if array.dtype == np.float64:
                self.problems.append(f"tensor {name!r}: float64 is not supported (cast the model to float32)")
            else:
                self.problems.append(f"tensor {name!r}: dtype {array.dtype} is not supported")
            return
        if self.fp16 and fp16_eligible(array):
            array = array.astype(np.float16)
        self.tensors[name] = array

    def attribute(self, node: onnx.NodeProto, a: onnx.AttributeProto) -> dict | None:
        T = onnx.AttributeProto
        where = f"node {node.name!r} ({node.op_type}) attribute {a.name!r}"
        if a.ref_attr_name:
            self.problems.append(f"{where}: attribute references are only legal inside functions")
            return None
        if a.type == T.INT:
            return {"i": int(a.i)}
        if a.type == T.INTS:
            return {"ints": [int(v) for v in a.ints]}
        if a.type in (T.FLOAT, T.FLOATS):
            values = [a.f] if a.type == T.FLOAT else list(a.floats)
            if not all(math.isfinite(v) for v in values):
                self.problems.append(f"{where}: non-finite float cannot be stored in JSON")
                return None
            values = [kiln_float(v) for v in values]
            return {"f": values[0]} if a.type == T.FLOAT else {"floats": values}
        if a.type in (T.STRING, T.STRINGS):
            raw = [a.s] if a.type == T.STRING else list(a.strings)
            try:
                text = [v.decode("utf-8") for v in raw]
            except UnicodeDecodeError:
                self.problems.append(f"{where}: string is not UTF-8")
                return None
            return {"s": text[0]} if a.type == T.STRING else {"strings": text}
        if a.type == T.TENSOR:
            name = a.t.name if a.t.name and a.t.name not in self.taken else f"{node.name}.{a.name}"
            k = 0
            while name in self.taken:
                name = f"{node.name}.{a.name}_{k}"
                k += 1
            self.taken.add(name)
            self.tensor(name, numpy_helper.to_array(a.t))
            return {"t": name}
        self.problems.append(f"{where}: attribute type {T.AttributeType.Name(a.type)} is not supported")
        return None

    def convert(self):
        p = self.prepared
        nodes = []
        for node in p.nodes:
            for i in node.input:
                if i in p.constants:
                    self.tensor(i, p.constants[i])
            attributes = {}
            for a in node.attribute:
                value = self.attribute(node, a)
                if value is not None:
                    attributes[a.name] = value
            nodes.append({
                "name": node.name,
                "op": node.op_type,
                "inputs": list(node.input),
                "outputs": list(node.output),
                "attributes": attributes,
            })
        graph = {
            "opset": p.opset,
            "inputs": [self.value_info(vi, "input") for vi in p.inputs],
            "outputs": [self.value_info(vi, "output") for vi in p.outputs],
            "nodes": nodes,
        }
        if self.problems:
            raise KilnExportError("the model cannot be stored as a Kiln artifact", self.problems)
        return graph, self.tensors


def fp16_eligible(array: np.ndarray) -> bool:
    """Whether ``--fp16-weights`` stores this tensor as f16 (see FP16_MIN_ELEMENTS)."""
    if array.dtype != np.float32 or array.size < FP16_MIN_ELEMENTS:
        return False
    finite = array[np.isfinite(array)]
    return finite.size == array.size and (finite.size == 0 or float(np.abs(finite).max()) <= FP16_MAX)


def to_artifact_graph(prepared: PreparedGraph, fp16_weights: bool = False):
    """The JSON ``graph`` object and the ``(name -> array)`` tensors it uses, in first-use order.

    Raises:
        KilnExportError: listing every dtype, attribute or value info the format cannot hold.
    """
    return _Converter(prepared, fp16_weights).convert()
