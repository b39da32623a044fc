"""Shared machinery for Kiln's kernel fixtures.

Each `gen_<family>.py` builds single-node ONNX models, runs them through ONNX Runtime (the
reference for ONNX operator semantics) and, where PyTorch has the same operator, cross-checks or
replaces the reference with `torch.nn.functional`. Inputs and expected outputs are written as
`.npy` next to a `manifest.json` that the Swift tests read (see `KilnTestSupport/Fixtures.swift`).

Attributes are stored typed, as in ONNX: {"i": 1}, {"f": 0.5}, {"s": "reflect"},
{"ints": [1, 1]}, {"floats": [...]}, {"strings": [...]}.

Run from the repository root:  python Fixtures/kernels/gen_<family>.py
"""
from __future__ import annotations

import json
import os
import shutil
from typing import Callable, Sequence

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))

NP_TO_ONNX = {
    np.dtype("float32"): TensorProto.FLOAT,
    np.dtype("float16"): TensorProto.FLOAT16,
    np.dtype("int64"): TensorProto.INT64,
    np.dtype("int32"): TensorProto.INT32,
    np.dtype("int8"): TensorProto.INT8,
    np.dtype("uint8"): TensorProto.UINT8,
    np.dtype("bool"): TensorProto.BOOL,
}


def _typed_attr(value):
    if isinstance(value, bool):
        return {"i": int(value)}
    if isinstance(value, (int, np.integer)):
        return {"i": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"f": float(value)}
    if isinstance(value, str):
        return {"s": value}
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            return {"ints": [int(v) for v in value]}
        if all(isinstance(v, (int, float, np.floating, np.integer)) for v in value):
            return {"floats": [float(v) for v in value]}
        if all(isinstance(v, str) for v in value):
            return {"strings": list(value)}
    raise TypeError(f"unsupported attribute value {value!r}")


def _onnx_attr_value(value):
    # ONNX needs floats typed as floats even when a list mixes ints and floats.
    t = _typed_attr(value)
    return list(t.values())[0]


class FixtureWriter:
    """Collects the cases of one family and writes them to Fixtures/kernels/<family>/."""

    def __init__(self, family: str, seed: int):
        self.family = family
        self.rng = np.random.default_rng(seed)
        self.dir = os.path.join(HERE, family)
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)
        self.cases = []
        self.names = set()

    # Random data helpers -------------------------------------------------------------------
    def randn(self, *shape, scale=1.0) -> np.ndarray:
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def uniform(self, *shape, low=-1.0, high=1.0) -> np.ndarray:
        return self.rng.uniform(low, high, shape).astype(np.float32)

    # Running ONNX Runtime ------------------------------------------------------------------
    @staticmethod
    def run_onnx(op: str, inputs: Sequence[np.ndarray | None], attrs: dict, n_outputs: int = 1,
                 opset: int = 17, output_dtypes: Sequence | None = None) -> list[np.ndarray]:
        in_names = [f"in{i}" if x is not None else "" for i, x in enumerate(inputs)]
        out_names = [f"out{i}" for i in range(n_outputs)]
        node = helper.make_node(op, in_names, out_names,
                                **{k: _onnx_attr_value(v) for k, v in attrs.items()})
        graph_inputs = [helper.make_tensor_value_info(n, NP_TO_ONNX[x.dtype], list(x.shape))
                        for n, x in zip(in_names, inputs) if x is not None]
        graph_outputs = [(helper.make_tensor_value_info(n, NP_TO_ONNX[np.dtype(output_dtypes[i])], None)
                          if output_dtypes else helper.make_empty_tensor_value_info(n))
                         for i, n in enumerate(out_names)]
        graph = helper.make_graph([node], f"{op}_case", graph_inputs, graph_outputs)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = min(model.ir_version, 10)
        if not output_dtypes:
            # Let ONNX infer the output types (ONNX Runtime refuses untyped graph outputs).
            model = onnx.shape_inference.infer_shapes(model)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        feeds = {n: x for n, x in zip(in_names, inputs) if x is not None}
        return sess.run(out_names, feeds)

    # Recording a case ----------------------------------------------------------------------
    def case(self, name: str, op: str, inputs: Sequence[np.ndarray | None], attrs: dict | None = None,
             *, tolerance: str = "elementwise", n_outputs: int = 1, opset: int = 17,
             torch_ref: Callable[..., np.ndarray | Sequence[np.ndarray]] | None = None,
             expected: Sequence[np.ndarray] | None = None,
             output_dtypes: Sequence | None = None) -> list[np.ndarray]:
        """Records one case.

        The reference is ONNX Runtime unless `torch_ref` is given, in which case PyTorch's output is
        the reference and ONNX Runtime's must agree with it (within 1e-4 relative), which guards
        against attribute-translation mistakes in the fixture itself. `expected` overrides both
        (for ops ONNX Runtime lacks); it must itself come from PyTorch or NumPy code in the generator.
        """
        attrs = attrs or {}
        assert name not in self.names, f"duplicate case {name}"
        self.names.add(name)
        reference = "onnxruntime"
        outs = None
        if expected is not None:
            outs = [np.asarray(e) for e in expected]
            reference = "generator"
        else:
            outs = self.run_onnx(op, inputs, attrs, n_outputs, opset, output_dtypes)
        if torch_ref is not None:
            t = torch_ref()
            t = [t] if isinstance(t, np.ndarray) else list(t)
            for i, (a, b) in enumerate(zip(outs, t)):
                assert a.shape == b.shape, f"{name}: ORT shape {a.shape} vs torch {b.shape}"
                scale = max(1.0, float(np.abs(b).max()) if b.size else 1.0)
                err = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max()) if b.size else 0.0
                assert err <= 1e-4 * scale, f"{name}: ORT and torch disagree by {err}"
            outs = [np.asarray(x.astype(o.dtype), order="C") for x, o in zip(t, outs)]
            reference = "torch"
        entry = {"name": name, "op": op, "opset": opset, "reference": reference, "tolerance": tolerance,
                 "attributes": {k: _typed_attr(v) for k, v in attrs.items()},
                 "inputs": [], "outputs": []}
        for i, x in enumerate(inputs):
            if x is None:
                entry["inputs"].append(None)
                continue
            fn = f"{name}.in{i}.npy"
            np.save(os.path.join(self.dir, fn), np.asarray(x, order="C"))
            entry["inputs"].append(fn)
        for i, y in enumerate(outs):
            fn = f"{name}.out{i}.npy"
            np.save(os.path.join(self.dir, fn), np.asarray(y, order="C"))
            entry["outputs"].append(fn)
        self.cases.append(entry)
        return outs

    def write(self):
        versions = {"numpy": np.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__}
        try:
            import torch
            versions["torch"] = torch.__version__
        except ImportError:
            pass
        manifest = {"family": self.family, "generator": f"Fixtures/kernels/gen_{self.family}.py",
                    "versions": versions, "cases": self.cases}
        with open(os.path.join(self.dir, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        total = sum(os.path.getsize(os.path.join(self.dir, p)) for p in os.listdir(self.dir))
        print(f"{self.family}: {len(self.cases)} cases, {total / 1024:.0f} KiB")
