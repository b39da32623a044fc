"""Small ONNX graphs built by hand with onnx.helper, for tests."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def newest_ort_opset() -> int:
    """The newest default-domain opset this onnxruntime loads (probed with a one-node model)."""
    import onnxruntime as ort

    for opset in range(onnx.defs.onnx_opset_version(), 10, -1):
        graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 10
        try:
            ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
            return opset
        except Exception:
            continue
    raise RuntimeError("onnxruntime loads no opset >= 11")


def unsqueeze(opset, data, axes, out, name):
    """Unsqueeze with axes as an attribute (opset < 13) or an input."""
    if opset < 13:
        return [helper.make_node("Unsqueeze", [data], [out], name=name, axes=axes)], []
    axes_name = f"{name}_axes"
    return ([helper.make_node("Unsqueeze", [data, axes_name], [out], name=name)],
            [numpy_helper.from_array(np.array(axes, dtype=np.int64), axes_name)])


def small_cnn(opset: int, batch="N", seed: int = 0) -> onnx.ModelProto:
    """conv-bn-relu-pool, flatten through a Shape->Gather->Unsqueeze->Concat->Reshape chain,
    then Gemm and Softmax. ``batch`` is a symbolic name or a fixed size."""
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    inits = [
        numpy_helper.from_array(f(4, 3, 3, 3) * 0.3, "conv.w"),
        numpy_helper.from_array(f(4), "conv.b"),
        numpy_helper.from_array(rng.uniform(0.5, 1.5, 4).astype(np.float32), "bn.scale"),
        numpy_helper.from_array(f(4) * 0.1, "bn.bias"),
        numpy_helper.from_array(f(4) * 0.1, "bn.mean"),
        numpy_helper.from_array(rng.uniform(0.5, 1.5, 4).astype(np.float32), "bn.var"),
        numpy_helper.from_array(f(10, 64) * 0.1, "fc.w"),
        numpy_helper.from_array(f(10), "fc.b"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv.w", "conv.b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["b"],
                         name="bn", epsilon=1e-5),
        helper.make_node("Relu", ["b"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Shape", ["p"], ["p_shape"], name="shape"),
        helper.make_node("Constant", [], ["zero"], name="const_zero",
                         value=numpy_helper.from_array(np.array(0, dtype=np.int64))),
        helper.make_node("Gather", ["p_shape", "zero"], ["batch"], name="gather", axis=0),
        helper.make_node("Constant", [], ["minus_one"], name="const_m1",
                         value=numpy_helper.from_array(np.array([-1], dtype=np.int64))),
    ]
    more, more_inits = unsqueeze(opset, "batch", [0], "batch_1d", "unsqueeze")
    nodes += more
    inits += more_inits
    nodes += [
        helper.make_node("Concat", ["batch_1d", "minus_one"], ["flat_shape"], name="concat", axis=0),
        helper.make_node("Reshape", ["p", "flat_shape"], ["flat"], name="reshape"),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["fc"], name="fc", transB=1),
        helper.make_node("Softmax", ["fc"], ["probs"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "small_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 8, 8])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [batch, 10])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7 if opset < 15 else 8 if opset < 19 else 10
    onnx.checker.check_model(model)
    return model
