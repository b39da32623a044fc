"""``kiln-export`` on bad files and bad arguments: one line on stderr, a non-zero exit, no traceback.

Each case runs the real command line in a subprocess, so an exception that escapes ``main`` would
show up as a traceback here.
"""

import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import nets

EXPORTER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def kiln_export(*args, cwd):
    env = dict(os.environ, PYTHONPATH=EXPORTER + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("KILN_EXPORT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "kiln_export.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def assert_one_line_error(proc, *fragments, status=None):
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode != 0, proc.stdout
    if status is not None:
        assert proc.returncode == status, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("kiln-export: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def save(model, path):
    onnx.save(model, path)
    return path


def one_node_model(node, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph([node], "t", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def test_nonexistent_model(tmp_path):
    proc = kiln_export("missing.onnx", "-o", "x.kiln", cwd=tmp_path)
    assert_one_line_error(proc, "cannot read the model 'missing.onnx'", "No such file", status=1)


def test_a_directory_is_not_a_model(tmp_path):
    (tmp_path / "dir.onnx").mkdir()
    proc = kiln_export("dir.onnx", "-o", "x.kiln", cwd=tmp_path)
    assert_one_line_error(proc, "cannot read the model 'dir.onnx'", status=1)


@pytest.mark.parametrize("contents, reason", [
    (b"name,score\nresnet,0.7\n" * 20, "protobuf cannot parse it"),
    (b"", "empty file"),
    (b"\x89KILN\r\n\x1a" + bytes(56), "is a Kiln artifact already"),
])
def test_a_file_that_is_not_onnx(tmp_path, contents, reason):
    (tmp_path / "bad.onnx").write_bytes(contents)
    proc = kiln_export("bad.onnx", "-o", "x.kiln", cwd=tmp_path)
    assert_one_line_error(proc, "'bad.onnx'", reason, status=2)
    assert not (tmp_path / "x.kiln").exists()


def test_unsupported_ops_name_node_and_op(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Hardmax", ["r"], ["y"], name="head/hardmax")]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    save(m, tmp_path / "hardmax.onnx")
    proc = kiln_export("hardmax.onnx", "-o", "x.kiln", cwd=tmp_path)
    assert_one_line_error(proc, "head/hardmax (Hardmax): unsupported op", status=2)


def test_onnx_runtime_refusing_the_model_names_the_node(tmp_path):
    # Static shapes that cannot multiply: ONNX Runtime refuses the model at load.
    m = one_node_model(helper.make_node("MatMul", ["x", "w"], ["y"], name="proj"),
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])],
                       [numpy_helper.from_array(np.ones((4, 5), np.float32), "w")])
    save(m, tmp_path / "matmul.onnx")
    proc = kiln_export("matmul.onnx", "-o", "x.kiln", cwd=tmp_path)
    line = assert_one_line_error(proc, "ONNX Runtime cannot load the original model", "proj", status=2)
    assert "[ONNXRuntimeError]" not in line


@pytest.mark.parametrize("args, fragments", [
    (["-o", "x.kiln", "--frobnicate"], ["unrecognized arguments: --frobnicate", "kiln-export --help"]),
    ([], ["-o/--output"]),
    (["-o", "x.kiln", "--seed", "many"], ["--seed", "'many'"]),
    (["-o", "x.kiln", "--atol", "-1"], ["--atol -1"]),
    (["-o", "x.kiln", "--preprocess", "nope.json"], ["--preprocess 'nope.json'"]),
])
def test_bad_options(tmp_path, args, fragments):
    save(nets.small_cnn(17), tmp_path / "cnn.onnx")
    proc = kiln_export("cnn.onnx", *args, cwd=tmp_path)
    assert_one_line_error(proc, *fragments, status=2)
    assert not (tmp_path / "x.kiln").exists()


def test_missing_labels_and_unwritable_output(tmp_path):
    save(nets.small_cnn(17), tmp_path / "cnn.onnx")
    proc = kiln_export("cnn.onnx", "-o", "x.kiln", "--labels", "labels.txt", cwd=tmp_path)
    assert_one_line_error(proc, "cannot read --labels 'labels.txt'", status=1)
    proc = kiln_export("cnn.onnx", "-o", "no/such/dir/x.kiln", "--no-selftest", cwd=tmp_path)
    assert_one_line_error(proc, "cannot write -o 'no/such/dir/x.kiln'", status=1)


def test_success_still_prints_the_summary(tmp_path):
    save(nets.small_cnn(17), tmp_path / "cnn.onnx")
    proc = kiln_export("cnn.onnx", "-o", "x.kiln", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "wrote x.kiln" in proc.stdout and "self-test: max abs error" in proc.stdout


@pytest.mark.parametrize("shape, fragments", [
    ("images=1,3,x,64", ["--input-shape 'images=1,3,x,64'", "integers"]),
    ("images", ["--input-shape 'images'", "NAME=D0,D1"]),
    ("photo=1,3,64,64", ["--input-shape 'photo'", "no input of that name (inputs: images)"]),
    ("images=1,3,64", ["--input-shape images=1,3,64", "rank 4"]),
    ("images=1,4,64,64", ["dim 1 of input 'images' is fixed at 3"]),
    ("images=1,3,65,65", ["ONNX Runtime failed running the original model", "images [1, 3, 65, 65]", "cat"]),
])
def test_bad_input_shape(tmp_path, shape, fragments):
    from test_dynamic_shapes import branchy_net

    save(branchy_net(), tmp_path / "b.onnx")
    proc = kiln_export("b.onnx", "-o", "x.kiln", "--input-shape", shape, cwd=tmp_path)
    assert_one_line_error(proc, *fragments, status=2)
    assert not (tmp_path / "x.kiln").exists()


def test_negative_dims_export_without_flags_and_say_which_shape(tmp_path):
    from test_dynamic_shapes import branchy_net

    save(branchy_net(dims=(-1, 3, -1, -1), out_dims=(-1, 8)), tmp_path / "paddle.onnx")
    proc = kiln_export("paddle.onnx", "-o", "p.kiln", cwd=tmp_path)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    assert "self-test input 'images': [1, 3, 224, 224]" in proc.stdout
    proc = kiln_export("paddle.onnx", "-o", "p.kiln", "--input-shape", "images=1,3,64,32", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "self-test input 'images': [1, 3, 64, 32] (from --input-shape)" in proc.stdout


def test_external_weight_data(tmp_path):
    onnx.save(nets.small_cnn(17), tmp_path / "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.onnx.data", size_threshold=0)
    proc = kiln_export("ext.onnx", "-o", "ext.kiln", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "ext.onnx.data").unlink()
    proc = kiln_export("ext.onnx", "-o", "x.kiln", cwd=tmp_path)
    assert_one_line_error(proc, "'ext.onnx': its external weight data cannot be loaded", "conv.w", status=2)
