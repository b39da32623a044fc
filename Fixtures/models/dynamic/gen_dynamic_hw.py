"""A model with symbolic batch, height and width, for the runtime's side of dynamic image sizes.

`dynamic_hw.kiln`: two branches concatenated on channels (a stride-2 conv upsampled back by 2, and a
stride-1 conv), then a 3x3 AveragePool, a global pool and Flatten; input `images: [batch, 3,
height, width]`. The concat is valid only for even sizes, and AveragePool needs at least 3x3: with
every symbol at 1 neither ONNX Runtime nor Kiln's shape probing can run it (issue 9). The model's
`imgsz` metadata ([24, 32]) makes the exporter's self-test 1x3x24x32, which Kiln's loader probes
with. `dynamic_hw.x_40x56.npy` / `dynamic_hw.logits_40x56.npy`: a batch-2 input at another size and
ONNX Runtime's output for it.

Run from the repository root (onnx, onnxruntime, numpy):  python Fixtures/models/dynamic/gen_dynamic_hw.py
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "exporter"))

from kiln_export import export_onnx  # noqa: E402
from kiln_export.reader import run_onnx_model  # noqa: E402

CREATED = "2026-01-01T00:00:00Z"


def model() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    f = lambda *s: (rng.standard_normal(s) * 0.3).astype(np.float32)  # noqa: E731
    inits = [numpy_helper.from_array(f(4, 3, 3, 3), "down.w"), numpy_helper.from_array(f(4), "down.b"),
             numpy_helper.from_array(f(4, 3, 3, 3), "same.w"),
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")]
    nodes = [
        helper.make_node("Conv", ["images", "down.w", "down.b"], ["d"], name="down", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["d"], ["dr"], name="down_relu"),
        helper.make_node("Resize", ["dr", "", "scales"], ["u"], name="up", mode="nearest"),
        helper.make_node("Conv", ["images", "same.w"], ["s"], name="same", pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["u", "s"], ["cat"], name="cat", axis=1),
        helper.make_node("AveragePool", ["cat"], ["avg"], name="avg", kernel_shape=[3, 3]),
        helper.make_node("GlobalAveragePool", ["avg"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["logits"], name="flatten"),
    ]
    g = helper.make_graph(nodes, "dynamic_hw",
                          [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 8])], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    m.metadata_props.add(key="imgsz", value="[24, 32]")
    onnx.checker.check_model(m)
    return m


def main() -> None:
    m = model()
    result = export_onnx(m, os.path.join(HERE, "dynamic_hw.kiln"), seed=3, created=CREATED,
                         source_name="Fixtures/models/dynamic/gen_dynamic_hw.py", log=print)
    print(repr(result))
    x = np.random.default_rng(4).standard_normal((2, 3, 40, 56)).astype(np.float32)
    np.save(os.path.join(HERE, "dynamic_hw.x_40x56.npy"), x)
    np.save(os.path.join(HERE, "dynamic_hw.logits_40x56.npy"), run_onnx_model(m, {"images": x})["logits"])


if __name__ == "__main__":
    main()
