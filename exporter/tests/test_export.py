"""End to end: ONNX model -> artifact -> ONNX Runtime gives the original outputs."""

import json

import numpy as np
import onnx
import pytest

import nets
from conftest import CREATED
from kiln_export import KilnExportError, export_onnx, read_artifact, run_with_onnxruntime
from kiln_export.cli import main as cli_main
from kiln_export.reader import run_onnx_model

OPSETS = [11, 13, 17, "newest"]


@pytest.mark.parametrize("opset", OPSETS)
def test_each_opset_round_trips_through_onnxruntime(tmp_path, opset):
    opset = nets.newest_ort_opset() if opset == "newest" else opset
    m = nets.small_cnn(opset)
    path = tmp_path / "cnn.kiln"
    result = export_onnx(m, path, created=CREATED)
    art = read_artifact(path)
    assert art.graph["opset"] == opset
    assert art.header["selftest"]["reference"] == "onnxruntime"
    assert art.header["selftest"]["tolerance"] == {"abs": 1e-4, "rel": 1e-4}
    assert result.max_abs_error <= 1e-6

    # the self-test input: symbolic N set to 1, seeded
    x = art.selftest_inputs()["input"]
    assert x.shape == (1, 3, 8, 8)
    want = run_onnx_model(m, {"input": x})["probs"]
    np.testing.assert_array_equal(art.selftest_outputs()["probs"], want)
    np.testing.assert_allclose(run_with_onnxruntime(art)["probs"], want, rtol=1e-6, atol=1e-7)

    # another batch size through the live Shape computation
    x3 = np.random.default_rng(5).standard_normal((3, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(run_with_onnxruntime(art, {"input": x3})["probs"],
                               run_onnx_model(m, {"input": x3})["probs"], rtol=1e-6, atol=1e-7)


def test_same_seed_same_file_and_other_seed_other_input(tmp_path):
    m = nets.small_cnn(17)
    a, b, c = (tmp_path / f"{k}.kiln" for k in "abc")
    export_onnx(m, a, created=CREATED)
    export_onnx(m, b, created=CREATED)
    export_onnx(m, c, created=CREATED, seed=1)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_opset_below_11_is_converted(tmp_path):
    m = nets.small_cnn(10)
    export_onnx(m, tmp_path / "old.kiln", created=CREATED)
    assert read_artifact(tmp_path / "old.kiln").graph["opset"] == 11


def test_labels_preprocessing_and_metadata(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"cls {i} ✓\r\n" for i in range(10)) + "\n\n", encoding="utf-8")
    path = tmp_path / "cnn.kiln"
    export_onnx(nets.small_cnn(17), path, labels=labels, preprocessing="imagenet", source_name="tiny cnn",
                metadata={"note": "test"}, created=CREATED)
    h = read_artifact(path).header
    assert h["labels"] == [f"cls {i} ✓" for i in range(10)]
    assert h["preprocessing"]["input"] == "input"
    assert [s["op"] for s in h["preprocessing"]["steps"]] == ["resize", "center_crop", "to_tensor", "normalize"]
    meta = h["metadata"]
    assert meta["producer"] == "kiln-export 0.1.0" and meta["source_model"] == "tiny cnn"
    assert meta["created"] == CREATED and meta["note"] == "test"
    assert set(meta["frameworks"]) == {"onnx", "onnxruntime", "numpy"}

    custom = {"input": "input", "color": "BGR", "steps": [{"op": "future_step", "k": [1, 2]}]}
    export_onnx(nets.small_cnn(17), path, preprocessing=custom, selftest=False)
    h = read_artifact(path).header
    assert h["preprocessing"] == custom and h["selftest"] is None


def test_label_count_mismatch_is_an_error(tmp_path):
    with pytest.raises(KilnExportError, match="9 labels, but output 'probs' has 10 classes"):
        export_onnx(nets.small_cnn(17), tmp_path / "x.kiln", labels=[str(i) for i in range(9)])
    blank = tmp_path / "blank.txt"
    blank.write_text("a\n\nb\n")
    with pytest.raises(KilnExportError, match="blank lines"):
        export_onnx(nets.small_cnn(17), tmp_path / "x.kiln", labels=blank)


def test_fp16_weights_halve_the_weights_and_pass_the_self_test(tmp_path):
    m = nets.small_cnn(17)
    full, half = tmp_path / "f32.kiln", tmp_path / "f16.kiln"
    export_onnx(m, full, created=CREATED)
    result = export_onnx(m, half, fp16_weights=True, created=CREATED)

    def weight_bytes(path):
        return sum(t["length"] for t in read_artifact(path).header["tensors"] if not t["name"].startswith("selftest."))

    assert weight_bytes(half) < 0.55 * weight_bytes(full)
    art = read_artifact(half)
    dtypes = {t["name"]: t["dtype"] for t in art.header["tensors"]}
    assert dtypes["conv.w"] == dtypes["fc.w"] == "f16" and dtypes["fc.b"] == "f32"  # small stays f32
    assert dtypes["selftest.input.input"] == "f32"
    tol = art.header["selftest"]["tolerance"]
    assert tol["abs"] == max(1e-4, 2 * result.max_abs_error)
    got = run_with_onnxruntime(art)["probs"]
    ref = art.selftest_outputs()["probs"]
    assert np.all(np.abs(got - ref) <= tol["abs"] + tol["rel"] * np.abs(ref))


def test_cli(tmp_path, capsys):
    src = tmp_path / "cnn.onnx"
    onnx.save(nets.small_cnn(13), src)
    out = tmp_path / "cnn.kiln"
    pre = tmp_path / "pre.json"
    pre.write_text(json.dumps({"input": "input", "steps": []}))
    assert cli_main([str(src), "-o", str(out), "--seed", "3", "--source-name", "cnn", "--preprocess", str(pre)]) == 0
    assert "self-test: max abs error" in capsys.readouterr().out
    h = read_artifact(out).header
    assert h["metadata"]["source_model"] == "cnn" and h["preprocessing"]["steps"] == []
    assert cli_main([str(src), "-o", str(out), "--no-selftest", "--fp16-weights"]) == 0
    assert read_artifact(out).header["selftest"] is None
    assert cli_main([str(src), "-o", str(out), "--labels", str(pre)]) == 2
    assert "labels" in capsys.readouterr().err


def test_omitted_inputs_survive(tmp_path):
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Resize", ["x", "", "scales"], ["up"], name="resize", mode="nearest"),
        helper.make_node("Clip", ["up", "", "hi"], ["clipped"], name="clip"),
        helper.make_node("Transpose", ["clipped"], ["t"], name="transpose", perm=[0, 1, 3, 2]),
        helper.make_node("ReduceMax", ["t"], ["y"], name="reduce", keepdims=1),  # opset 18: axes input omitted
        # (an omitted Split output, ["s0", ""], would be stored as is, but crashes ONNX Runtime 1.32)
        helper.make_node("Split", ["t"], ["s0", "s1"], name="split", axis=1, num_outputs=2),
        helper.make_node("Relu", ["s0"], ["z"], name="relu"),
    ]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 3, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
                          initializer=[numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
                                       numpy_helper.from_array(np.array(0.5, np.float32), "hi")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    path = tmp_path / "omitted.kiln"
    export_onnx(m, path)
    art = read_artifact(path)
    by_name = {n["name"]: n for n in art.graph["nodes"]}
    assert by_name["resize"]["inputs"] == ["x", "", "scales"]
    assert by_name["clip"]["inputs"] == ["up", "", "hi"]
    assert by_name["reduce"]["inputs"] == ["t"]
    assert art.graph["outputs"][0]["shape"] == [1, 1, 1, 1]
    n, *rest = art.graph["outputs"][1]["shape"]
    assert rest == [2, 6, 6] and isinstance(n, str)  # N x scale 1 is beyond ONNX shape inference
    x = np.random.default_rng(2).standard_normal((2, 4, 3, 3)).astype(np.float32)
    got, want = run_with_onnxruntime(art, {"x": x}), run_onnx_model(m, {"x": x})
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])


def test_export_result_repr_is_a_one_screen_summary(tmp_path):
    from onnx import TensorProto, helper

    labels = [f"class {i}" for i in range(1000)]
    nodes = [helper.make_node("Relu", ["x" if k == 0 else f"r{k - 1}"], [f"r{k}" if k < 99 else "y"], name=f"relu{k}")
             for k in range(100)]
    g = helper.make_graph(nodes, "deep", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1000])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1000])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    result = export_onnx(m, tmp_path / "deep.kiln", labels=labels, preprocessing="imagenet")
    text = repr(result)
    lines = text.splitlines()
    assert lines[0] == f"ExportResult: {tmp_path / 'deep.kiln'}, {result.size / 1000:.1f} kB ({result.size:,} bytes)"
    assert len(lines) <= 12 and len(text) < 1500, text
    assert "  graph:      100 nodes (from 100), opset 17, 0 graph tensors" in lines
    assert "  input:      x f32 [N, 1000] (self-test [1, 1000])" in lines
    assert "  output:     y f32 [N, 1000]" in lines
    assert f"  self-test:  max abs error 0 vs onnxruntime, tolerance abs 0.0001 + rel 0.0001" in lines
    assert "  labels:     1000 ('class 0', 'class 1', 'class 2', ..., 'class 999')" in lines
    assert "class 500" not in text and "relu50" not in text  # neither every label nor every node
    assert str(result) == text

    quiet = repr(export_onnx(m, tmp_path / "q.kiln", selftest=False))
    assert "  self-test: none" in quiet.splitlines() and "labels" not in quiet
