"""Symbolic and dynamic input dims: how they are read, and the shape the self-test runs at."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import CREATED
from kiln_export import KilnExportError, export_onnx, read_artifact, run_with_onnxruntime
from kiln_export.reader import run_onnx_model
from kiln_export.shapes import choose_selftest_shapes, parse_input_shape


def branchy_net(dims=("batch", 3, "height", "width"), stride=2, out_dims=("batch", 8), metadata=None):
    """Two branches concatenated on channels: a stride-``stride`` conv upsampled back by
    ``stride``, and a stride-1 conv. The concat is valid only when ``stride`` divides H and W (at
    H = W = 1 a stride-2 branch comes back as 2x2 next to 1x1), then AveragePool 3x3 and a global
    pool: what detectors and OCR models do, in miniature."""
    rng = np.random.default_rng(0)
    f = lambda *s: (rng.standard_normal(s) * 0.3).astype(np.float32)  # noqa: E731
    inits = [numpy_helper.from_array(f(4, 3, 3, 3), "down.w"), numpy_helper.from_array(f(4, 3, 3, 3), "same.w"),
             numpy_helper.from_array(np.array([1, 1, stride, stride], np.float32), "scales")]
    k = 3 if stride <= 2 else stride
    pads = [1, 1, 1, 1] if stride <= 2 else [0, 0, 0, 0]
    nodes = [
        helper.make_node("Conv", ["images", "down.w" if k == 3 else "down_k.w"], ["d"], name="down",
                         strides=[stride, stride], pads=pads),
        helper.make_node("Resize", ["d", "", "scales"], ["u"], name="up", mode="nearest"),
        helper.make_node("Conv", ["images", "same.w"], ["s"], name="same", pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["u", "s"], ["cat"], name="cat", axis=1),
        helper.make_node("AveragePool", ["cat"], ["avg"], name="avg", kernel_shape=[3, 3]),
        helper.make_node("GlobalAveragePool", ["avg"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["logits"], name="flatten"),
    ]
    if k != 3:
        inits.append(numpy_helper.from_array(f(4, 3, k, k), "down_k.w"))
    g = helper.make_graph(nodes, "branchy", [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(dims))],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, list(out_dims))],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    for key, value in (metadata or {}).items():
        m.metadata_props.add(key=key, value=value)
    return m


def selftest_shape(path):
    return list(read_artifact(path).selftest_inputs()["images"].shape)


def test_dynamic_height_and_width_default_to_224_and_say_so(tmp_path):
    m = branchy_net()
    with pytest.raises(Exception, match="Concat"):  # what exporting with every symbol at 1 used to hit
        run_onnx_model(m, {"images": np.zeros((1, 3, 1, 1), np.float32)})
    said = []
    result = export_onnx(m, tmp_path / "b.kiln", created=CREATED, log=said.append)
    art = read_artifact(tmp_path / "b.kiln")
    assert art.graph["inputs"][0]["shape"] == ["batch", 3, "height", "width"]
    assert art.graph["outputs"][0]["shape"] == ["batch", 8]
    assert selftest_shape(tmp_path / "b.kiln") == [1, 3, 224, 224]
    assert said == result.notes == [
        "self-test input 'images': [1, 3, 224, 224] (batch=1, height=224, width=224; height and width "
        "224 by default for an image input; --input-shape images=... chooses another)"]
    # the artifact runs at other sizes too
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 96)).astype(np.float32)
    np.testing.assert_allclose(run_with_onnxruntime(art, {"images": x})["logits"],
                               run_onnx_model(m, {"images": x})["logits"], rtol=1e-5, atol=1e-6)


def test_input_shapes_choose_the_self_test_shape(tmp_path):
    result = export_onnx(branchy_net(), tmp_path / "b.kiln", input_shapes={"images": [2, 3, 64, 96]})
    assert selftest_shape(tmp_path / "b.kiln") == [2, 3, 64, 96]
    assert result.notes == ["self-test input 'images': [2, 3, 64, 96] (from --input-shape)"]
    with pytest.raises(KilnExportError, match=r"failed running .* images \[1, 3, 65, 65\]: .*cat"):
        export_onnx(branchy_net(), tmp_path / "c.kiln", input_shapes={"images": [1, 3, 65, 65]})
    assert not (tmp_path / "c.kiln").exists()


@pytest.mark.parametrize("bad", [-1, 0, None, "?"])
def test_negative_zero_and_empty_dims_are_symbols(tmp_path, bad):
    # As files converted from Paddle and TensorFlow store them (-1 crashed with a numpy ValueError;
    # Paddle2ONNX names every unknown dim "?", which made height and width one symbol).
    m = branchy_net(dims=(bad, 3, bad, bad), out_dims=(bad, 8))
    result = export_onnx(m, tmp_path / "p.kiln", created=CREATED)
    art = read_artifact(tmp_path / "p.kiln")
    assert art.graph["inputs"][0]["shape"] == ["images_dim0", 3, "images_dim2", "images_dim3"]
    n, c = art.graph["outputs"][0]["shape"]
    assert isinstance(n, str) and c == 8
    assert selftest_shape(tmp_path / "p.kiln") == [1, 3, 224, 224]
    assert "images_dim2=224" in result.notes[0]
    x = np.random.default_rng(2).standard_normal((1, 3, 40, 48)).astype(np.float32)
    np.testing.assert_allclose(run_with_onnxruntime(art, {"images": x})["logits"],
                               run_onnx_model(branchy_net(), {"images": x})["logits"], rtol=1e-5, atol=1e-6)


def test_hints_from_the_model_and_the_preprocessing(tmp_path):
    export_onnx(branchy_net(metadata={"imgsz": "[320, 256]"}), tmp_path / "m.kiln")
    assert selftest_shape(tmp_path / "m.kiln") == [1, 3, 320, 256]
    pre = {"input": "images", "steps": [{"op": "resize", "size": 256}, {"op": "center_crop", "size": [96, 128]},
                                        {"op": "to_tensor"}]}
    result = export_onnx(branchy_net(), tmp_path / "p.kiln", preprocessing=pre)
    assert selftest_shape(tmp_path / "p.kiln") == [1, 3, 96, 128]
    assert "height and width from the preprocessing size" in result.notes[0]


def test_a_size_the_default_does_not_fit_falls_back_to_a_multiple_of_64(tmp_path):
    # A stride-64 branch: 224 = 3.5 * 64 cannot be concatenated back, 256 can.
    result = export_onnx(branchy_net(stride=64), tmp_path / "s.kiln")
    assert selftest_shape(tmp_path / "s.kiln") == [1, 3, 256, 256]
    assert "failed at height and width 224" in result.notes[0] and "ran at 256" in result.notes[0]


def test_static_and_non_image_inputs_keep_1():
    m = branchy_net(dims=("N", 3, 32, 32))
    assert choose_selftest_shapes(m).shapes == {"images": [1, 3, 32, 32]}
    nhwc = branchy_net(dims=("N", "H", "W", 3))
    assert choose_selftest_shapes(nhwc).shapes == {"images": [1, 224, 224, 3]}
    seq = helper.make_model(helper.make_graph(
        [helper.make_node("Relu", ["t"], ["y"])], "seq",
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, ["N", "T", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "T", 16])]))
    assert choose_selftest_shapes(seq).shapes == {"t": [1, 1, 16]}


@pytest.mark.parametrize("text, message", [
    ("images", "expected NAME=D0,D1"),
    ("images=1,3,x,4", "integers"),
    ("images=1,3,0,4", "at least 1"),
])
def test_parse_input_shape_errors(text, message):
    with pytest.raises(KilnExportError, match=message):
        parse_input_shape(text)


@pytest.mark.parametrize("given, message", [
    ({"photo": [1, 3, 64, 64]}, "no input of that name .inputs: images."),
    ({"images": [1, 3, 64]}, "3 dims, but input 'images' has rank 4"),
    ({"images": [1, 4, 64, 64]}, "dim 1 of input 'images' is fixed at 3"),
])
def test_input_shapes_that_do_not_fit_the_model(given, message):
    with pytest.raises(KilnExportError, match=message):
        choose_selftest_shapes(branchy_net(), given)


def test_inputs_sharing_height_and_width_get_one_size():
    # An image and a mask of the same size: the mask's height and width follow the image's, also
    # when the default is replaced by a fallback size.
    g = helper.make_graph(
        [helper.make_node("Mul", ["images", "mask"], ["y"])], "masked",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, "H", "W"]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, "H", "W"])])
    m = helper.make_model(g)
    chosen = choose_selftest_shapes(m)
    assert chosen.shapes == {"images": [1, 3, 224, 224], "mask": [1, 1, 224, 224]}
    assert chosen.guessed == ["images"]
    assert "height and width as for the input above" in chosen.notes[1]
    assert chosen.with_spatial_size(m, 320).shapes == {"images": [1, 3, 320, 320], "mask": [1, 1, 320, 320]}
    given = choose_selftest_shapes(m, {"mask": [2, 1, 64, 48]})
    assert given.shapes == {"images": [2, 3, 64, 48], "mask": [2, 1, 64, 48]} and given.guessed == []
