"""Graph preparation: constant and shape folding, dead code, names, op validation."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import nets
from kiln_export import KilnExportError, SUPPORTED_OPS, export_onnx
from kiln_export.api import random_inputs
from kiln_export.cli import main as cli_main
from kiln_export.convert import to_artifact_graph
from kiln_export.prepare import prepare_model
from kiln_export.reader import artifact_to_onnx, run_onnx_model


def ops(prepared):
    return [n.op_type for n in prepared.nodes]


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "t", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def same_outputs(m, prepared, feeds):
    graph, tensors = to_artifact_graph(prepared)
    got = run_onnx_model(artifact_to_onnx({"graph": graph, "tensors": [{"name": n} for n in tensors]}, tensors), feeds)
    want = run_onnx_model(m, feeds)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-6)


def test_static_shape_chain_folds_to_a_constant():
    m = nets.small_cnn(17, batch=2)
    p = prepare_model(m)
    assert ops(p) == ["Conv", "BatchNormalization", "Relu", "MaxPool", "Reshape", "Gemm", "Softmax"]
    reshape = p.nodes[4]
    np.testing.assert_array_equal(p.constants[reshape.input[1]], [2, -1])
    assert "zero" not in p.constants and "p_shape" not in p.constants  # consumed by folding, then dropped
    same_outputs(m, p, random_inputs(m))


@pytest.mark.parametrize("opset", [11, 13, 17])
def test_symbolic_batch_keeps_the_batch_part_live(opset):
    m = nets.small_cnn(opset, batch="N")
    p = prepare_model(m)
    assert ops(p) == ["Conv", "BatchNormalization", "Relu", "MaxPool", "Shape", "Gather", "Unsqueeze",
                      "Concat", "Reshape", "Gemm", "Softmax"]
    # Constant nodes became tensors
    np.testing.assert_array_equal(p.constants["zero"], 0)
    np.testing.assert_array_equal(p.constants["minus_one"], [-1])
    assert p.inputs[0].dims == ["N", 3, 8, 8] and p.outputs[0].dims == ["N", 10]
    x = np.random.default_rng(1).standard_normal((3, 3, 8, 8)).astype(np.float32)
    same_outputs(m, p, {"input": x})


def test_static_dims_of_a_symbolic_shape_fold():
    # Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), Unsqueeze(Gather(Shape(x), 1)), [-1]))
    # x: [N, 3, 4, 4]; dim 1 (= 3) folds, dim 0 (= N) stays a computation.
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)  # noqa: E731
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "i0"], ["d0"]),
        helper.make_node("Gather", ["s", "i1"], ["d1"]),
        helper.make_node("Unsqueeze", ["d0", "ax"], ["u0"]),
        helper.make_node("Unsqueeze", ["d1", "ax"], ["u1"]),
        helper.make_node("Concat", ["u0", "u1", "m1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["y"]),
        helper.make_node("Slice", ["s", "st", "en"], ["hw"]),  # dims 2:4 = [4, 4], static
        helper.make_node("Size", ["hw"], ["nhw"]),
        helper.make_node("Cast", ["hw"], ["hwf"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["hwf"], ["hwsum"], keepdims=0),
        helper.make_node("Add", ["y", "hwsum"], ["z"]),
    ]
    m = model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 4])],
              [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
              [i64("i0", 0), i64("i1", 1), i64("ax", [0]), i64("m1", [-1]), i64("st", [2]), i64("en", [4])])
    p = prepare_model(m)
    assert ops(p) == ["Shape", "Gather", "Unsqueeze", "Concat", "Reshape", "Add"]
    concat = p.nodes[3]
    np.testing.assert_array_equal(p.constants[concat.input[1]], [3])
    np.testing.assert_array_equal(p.constants[p.nodes[5].input[1]], 8.0)  # Cast/ReduceSum of [4, 4] folded
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    same_outputs(m, p, {"x": x})
    assert p.outputs[0].dims[:2] == ["N", 3]  # the -1 is beyond ONNX shape inference with N symbolic


def test_constant_of_shape_of_a_static_shape_folds_and_a_symbolic_one_keeps_its_tensor_attribute():
    value = numpy_helper.from_array(np.array([2.0], dtype=np.float32))
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("ConstantOfShape", ["s"], ["twos"], value=value),
        helper.make_node("Mul", ["x", "twos"], ["y"]),
        helper.make_node("Constant", [], ["half"], value_float=0.5),
        helper.make_node("Constant", [], ["unused"], value_ints=[1, 2]),
        helper.make_node("Mul", ["y", "half"], ["z"]),
    ]
    for batch, expected in ((2, ["Mul", "Mul"]), ("N", ["Shape", "ConstantOfShape", "Mul", "Mul"])):
        m = model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4])],
                  [helper.make_tensor_value_info("z", TensorProto.FLOAT, [batch, 4])])
        p = prepare_model(m)
        assert ops(p) == expected
        assert "unused" not in p.constants
        graph, tensors = to_artifact_graph(p)
        if batch == "N":
            attr = graph["nodes"][1]["attributes"]["value"]
            np.testing.assert_array_equal(tensors[attr["t"]], [2.0])
        same_outputs(m, p, {"x": np.ones((2, 4), np.float32)})


def test_dead_nodes_go_and_names_become_unique():
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="n"),
        helper.make_node("Neg", ["a"], ["b"], name="n"),
        helper.make_node("Abs", ["b"], ["c"]),
        helper.make_node("Exp", ["x"], ["dead"], name="dead"),
        helper.make_node("Identity", ["c"], ["y"], name=""),
    ]
    m = model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    p = prepare_model(m)
    names = [n.name for n in p.nodes]
    assert ops(p) == ["Relu", "Neg", "Abs", "Identity"]
    assert len(set(names)) == 4 and all(names) and names[0] == "n"


def test_folded_output_gets_an_identity_and_unsorted_nodes_are_ordered():
    nodes = [
        helper.make_node("Add", ["x", "k"], ["y"]),
        helper.make_node("Mul", ["c", "c"], ["k"]),  # after its consumer: not topological
        helper.make_node("Constant", [], ["c"], value_float=3.0),
    ]
    m = model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1]),
               helper.make_tensor_value_info("k", TensorProto.FLOAT, [])])
    p = prepare_model(m)
    assert ops(p) == ["Add", "Identity"]
    np.testing.assert_array_equal(p.constants[p.nodes[1].input[0]], 9.0)


def test_unsupported_ops_are_all_listed_at_once(tmp_path):
    nodes = [
        helper.make_node("Det", ["x2"], ["v"], name="det"),
        helper.make_node("Relu", ["v"], ["r"], name="relu"),
        helper.make_node("Hardmax", ["r"], ["e"], name="hardmax"),
        helper.make_node("Frobnicate", ["e"], ["y"], name="custom", domain="com.example"),
    ]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x2", TensorProto.FLOAT, [3, 2, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    with pytest.raises(KilnExportError) as e:
        export_onnx(m, tmp_path / "x.kiln", selftest=False)
    assert e.value.problems == ["det (Det): unsupported op", "hardmax (Hardmax): unsupported op",
                                "custom (com.example::Frobnicate): non-default domain"]
    path = tmp_path / "bad.onnx"
    onnx.save(m, path)
    assert cli_main([str(path), "-o", str(tmp_path / "x.kiln")]) == 2
    assert not (tmp_path / "x.kiln").exists()


def test_supported_ops_constant():
    assert len(SUPPORTED_OPS) == 98
    assert {"Conv", "Resize", "ArgMax", "Upsample", "LSTM", "GRU", "RNN", "TopK", "NonMaxSuppression"} <= SUPPORTED_OPS
    assert "Constant" not in SUPPORTED_OPS  # always inlined


def test_shape_start_end_size_and_dead_custom_nodes():
    nodes = [
        helper.make_node("Shape", ["x"], ["tail"], start=1),  # opset 15+: [3, 4, 4] though N is symbolic
        helper.make_node("Shape", ["x"], ["head"], end=-3),  # [N]: stays
        helper.make_node("Concat", ["head", "tail"], ["s"], axis=0),
        helper.make_node("Reshape", ["x", "s"], ["r"]),
        helper.make_node("Size", ["w"], ["size"]),
        helper.make_node("Cast", ["size"], ["sizef"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["r", "sizef"], ["y"]),
        helper.make_node("Frobnicate", ["x"], ["unused"], domain="com.example"),  # dead: no error
    ]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          initializer=[numpy_helper.from_array(np.zeros((2, 3), np.float32), "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    p = prepare_model(m)
    assert ops(p) == ["Shape", "Concat", "Reshape", "Mul"]
    np.testing.assert_array_equal(p.constants[p.nodes[1].input[1]], [3, 4, 4])
    np.testing.assert_array_equal(p.constants[p.nodes[3].input[1]], np.float32(6))  # Size -> Cast folded
    del m.graph.node[-1]  # ONNX Runtime cannot load the dead custom node
    same_outputs(m, p, {"x": np.ones((2, 3, 4, 4), np.float32)})
