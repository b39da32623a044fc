"""Models older than ONNX Runtime runs (opsets 1-6) are upgraded before the self-test."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import CREATED
from kiln_export import KilnExportError, export_onnx, read_artifact, run_with_onnxruntime
from kiln_export.reader import run_onnx_model
from test_cli_errors import kiln_export


def opset6_cnn() -> onnx.ModelProto:
    """A classic opset-6 / IR-3 file: BatchNormalization with ``is_test``, Add and Gemm with
    ``broadcast``, initializers listed as graph inputs, a dynamic batch."""
    rng = np.random.default_rng(0)
    f = lambda *s: (rng.standard_normal(s) * 0.3).astype(np.float32)  # noqa: E731
    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("conv.w", f(4, 3, 3, 3)), ("conv.b", f(4)),
        ("bn.scale", rng.uniform(0.5, 1.5, 4).astype(np.float32)), ("bn.bias", f(4)), ("bn.mean", f(4) * 0.1),
        ("bn.var", rng.uniform(0.5, 1.5, 4).astype(np.float32)), ("shift", f(1)),
        ("flat_shape", np.array([0, -1], np.int64)), ("fc.w", f(5, 64)), ("fc.b", f(5))]]
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["b"],
                         name="bn", is_test=1, epsilon=1e-5),
        helper.make_node("Add", ["b", "shift"], ["a"], name="shift", broadcast=1),
        helper.make_node("Relu", ["a"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["p", "flat_shape"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["fc"], name="fc", transB=1, broadcast=1),
        helper.make_node("Softmax", ["fc"], ["probs"], name="softmax"),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])] + [
        helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in inits]
    g = helper.make_graph(nodes, "old", inputs, [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 5])],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 6)])
    m.ir_version = 3
    onnx.checker.check_model(m)
    return m


def test_opset6_is_upgraded_before_the_self_test(tmp_path):
    # The converter's broadcast adapters refuse the symbolic batch N: the upgrade pins it and
    # restores it, so the artifact still takes any batch (2 below).
    m = opset6_cnn()
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    with pytest.raises(KilnExportError, match="ONNX Runtime cannot load"):
        run_onnx_model(m, {"x": x})  # why the upgrade has to come first
    said = []
    result = export_onnx(m, tmp_path / "old.kiln", created=CREATED, log=said.append)
    assert said[0].startswith("opset 6 upgraded to 11 with onnx.version_converter before the self-test")
    assert result.notes == said and result.max_abs_error <= 1e-5
    art = read_artifact(tmp_path / "old.kiln")
    assert art.graph["opset"] == 11
    assert art.graph["inputs"][0]["shape"] == ["N", 3, 8, 8] and art.graph["outputs"][0]["shape"] == ["N", 5]
    assert [n["op"] for n in art.graph["nodes"]] == ["Conv", "BatchNormalization", "Add", "Relu", "MaxPool",
                                                      "Reshape", "Gemm", "Softmax"]
    assert "broadcast" not in {k for n in art.graph["nodes"] for k in n["attributes"]}

    # the same numbers as the model computed by hand in numpy
    w = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    c = sum(np.einsum("nchw,oc->nohw", np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))[:, :, i:i + 8, j:j + 8],
                      w["conv.w"][:, :, i, j]) for i in range(3) for j in range(3)) + w["conv.b"][None, :, None, None]
    b = (c - w["bn.mean"][None, :, None, None]) / np.sqrt(w["bn.var"][None, :, None, None] + 1e-5) \
        * w["bn.scale"][None, :, None, None] + w["bn.bias"][None, :, None, None]
    r = np.maximum(b + w["shift"], 0)
    p = r.reshape(2, 4, 4, 2, 4, 2).max(axis=(3, 5)).reshape(2, -1)
    logits = p @ w["fc.w"].T + w["fc.b"]
    want = np.exp(logits - logits.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    np.testing.assert_allclose(run_with_onnxruntime(art, {"x": x})["probs"], want, rtol=1e-4, atol=1e-5)


def test_opset1_goes_through_opset_6(tmp_path):
    # Opset 1: BatchNormalization's consumed_inputs, Reshape's shape attribute. The converter has
    # no shapes for opset-1 BatchNormalization, so a direct 1 -> 11 conversion cannot place the
    # broadcasts; going through 6 can.
    m = opset6_cnn()
    for node in m.graph.node:
        if node.op_type == "BatchNormalization":
            node.attribute.append(helper.make_attribute("consumed_inputs", [0, 0, 0, 1, 1]))
        if node.op_type == "Reshape":
            del node.input[1:]
            node.attribute.append(helper.make_attribute("shape", [0, -1]))
    m.opset_import[0].version = 1
    onnx.checker.check_model(m)
    result = export_onnx(m, tmp_path / "one.kiln")
    assert result.notes[0].startswith("opset 1 upgraded to 11") and result.max_abs_error <= 1e-5
    art = read_artifact(tmp_path / "one.kiln")
    x = np.random.default_rng(3).standard_normal((3, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(run_with_onnxruntime(art, {"x": x})["probs"],
                               run_with_onnxruntime(read_artifact(export_onnx(opset6_cnn(), tmp_path / "six.kiln").path),
                                                    {"x": x})["probs"], rtol=1e-6, atol=1e-7)


def test_opset6_on_the_command_line(tmp_path):
    onnx.save(opset6_cnn(), tmp_path / "old.onnx")
    proc = kiln_export("old.onnx", "-o", "old.kiln", cwd=tmp_path)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    assert "opset 6 upgraded to 11 with onnx.version_converter before the self-test" in proc.stdout


def test_opset_7_to_10_keeps_the_original_model_as_reference(tmp_path):
    import nets

    result = export_onnx(nets.small_cnn(10), tmp_path / "ten.kiln")
    assert result.notes[:1] == ["opset 10 upgraded to 11 with onnx.version_converter (the self-test reference is "
                            "ONNX Runtime on the original opset-10 model)"]
