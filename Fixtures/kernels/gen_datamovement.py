"""Data-movement fixtures: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Gather,
Pad, Expand, Tile, Shape, ConstantOfShape, Range, Resize, Upsample.

Reference: PyTorch where it has the same operator (reshape, permute, cat, split, narrow/indexing,
index_select, F.pad, F.interpolate), cross-checked with ONNX Runtime; ONNX Runtime otherwise
(negative steps, opset-specific attribute forms, Resize modes PyTorch lacks).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

from kilnfix import FixtureWriter

w = FixtureWriter("datamovement", seed=7)


def _fix_scalars(name, inputs, outputs):
    """kilnfix saves through np.ascontiguousarray, which turns 0-d arrays into shape (1,); rewrite
    the files of rank-0 tensors so scalars stay scalars."""
    for kind, arrays in (("in", inputs), ("out", outputs)):
        for i, a in enumerate(arrays):
            if a is not None and np.ndim(a) == 0:
                np.save(os.path.join(w.dir, f"{name}.{kind}{i}.npy"), np.asarray(a))


_case = w.case


def case(name, op, inputs, *args, **kwargs):
    outs = _case(name, op, inputs, *args, **kwargs)
    _fix_scalars(name, inputs, outs)
    return outs


w.case = case
T = torch.from_numpy
I64 = lambda *v: np.array(v, dtype=np.int64)
I32 = lambda *v: np.array(v, dtype=np.int32)
F32 = lambda *v: np.array(v, dtype=np.float32)
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def ints(*shape, low=-100, high=100, dtype=np.int64):
    return w.rng.integers(low, high, shape).astype(dtype)


# Reshape / Flatten / Squeeze / Unsqueeze ----------------------------------------------------------
x = w.randn(2, 3, 4)
w.case("reshape_infer", "Reshape", [x, I64(4, -1)], tolerance="exact", torch_ref=lambda: x.reshape(4, 6))
w.case("reshape_copy_zero", "Reshape", [x, I64(0, -1, 2)], tolerance="exact", torch_ref=lambda: x.reshape(2, 6, 2))
w.case("reshape_to_scalar", "Reshape", [w.randn(1, 1), I64()], tolerance="exact")
w.case("reshape_allowzero", "Reshape", [np.zeros((3, 0), np.float32), I64(0, 5)], {"allowzero": 1}, tolerance="exact", opset=14)
w.case("reshape_int64", "Reshape", [ints(6, 5), I64(-1)], tolerance="exact")
for axis in (0, 2, -1, 3):
    w.case(f"flatten_axis{axis}".replace("-", "m"), "Flatten", [x], {"axis": axis}, tolerance="exact")
w.case("flatten_scalar", "Flatten", [np.array(3.5, np.float32)], {"axis": 0}, tolerance="exact")
y = w.randn(1, 3, 1, 5)
w.case("squeeze_all", "Squeeze", [y], tolerance="exact", opset=13, torch_ref=lambda: y.squeeze())
w.case("squeeze_axes_input", "Squeeze", [y, I64(-2)], tolerance="exact", opset=13, torch_ref=lambda: y.squeeze(2))
w.case("squeeze_axes_attr", "Squeeze", [y], {"axes": [0, 2]}, tolerance="exact", opset=11)
w.case("unsqueeze_input", "Unsqueeze", [x, I64(0, -1)], tolerance="exact", opset=13)
w.case("unsqueeze_attr", "Unsqueeze", [x], {"axes": [1, 4]}, tolerance="exact", opset=11)
w.case("unsqueeze_scalar", "Unsqueeze", [np.array(2.0, np.float32), I64(0)], tolerance="exact", opset=13)

# Transpose --------------------------------------------------------------------------------------
def transpose_case(name, x, perm=None):
    attrs = {} if perm is None else {"perm": perm}
    p = perm if perm is not None else list(range(x.ndim))[::-1]
    ref = None if x.dtype == np.uint8 else (lambda: T(x).permute(*p).numpy())
    w.case(name, "Transpose", [x], attrs, tolerance="exact", torch_ref=ref)

transpose_case("transpose_default_3d", w.randn(2, 3, 4))
transpose_case("transpose_2d_prime", w.randn(13, 17), [1, 0])
transpose_case("transpose_2d_tall", w.randn(67, 9))
transpose_case("transpose_nchw_to_nhwc", w.randn(2, 5, 7, 3), [0, 2, 3, 1])
transpose_case("transpose_nhwc_to_nchw", w.randn(2, 7, 3, 5), [0, 3, 1, 2])
transpose_case("transpose_inner_kept", w.randn(3, 4, 5), [1, 0, 2])
transpose_case("transpose_5d", w.randn(2, 3, 1, 4, 5), [4, 2, 0, 3, 1])
transpose_case("transpose_rank1", w.randn(7), [0])
transpose_case("transpose_int64", ints(3, 5, 2), [2, 0, 1])
transpose_case("transpose_uint8", ints(4, 9, 3, low=0, high=255, dtype=np.uint8), [0, 2, 1])
transpose_case("transpose_zero_dim", np.zeros((3, 0, 2), np.float32), [2, 1, 0])

# Concat / Split ---------------------------------------------------------------------------------
a, b, c = w.randn(2, 3, 4), w.randn(2, 1, 4), w.randn(2, 5, 4)
w.case("concat_axis1", "Concat", [a, b, c], {"axis": 1}, tolerance="exact", torch_ref=lambda: torch.cat([T(a), T(b), T(c)], 1).numpy())
d = w.randn(2, 3, 7)
w.case("concat_axis_neg", "Concat", [a, d], {"axis": -1}, tolerance="exact", torch_ref=lambda: torch.cat([T(a), T(d)], -1).numpy())
e = np.zeros((2, 0, 4), np.float32)
w.case("concat_zero_size", "Concat", [a, e, b], {"axis": 1}, tolerance="exact", torch_ref=lambda: torch.cat([T(a), T(e), T(b)], 1).numpy())
w.case("concat_rank1_int64", "Concat", [ints(3), ints(1), ints(4)], {"axis": 0}, tolerance="exact")
w.case("concat_single", "Concat", [a], {"axis": 0}, tolerance="exact")
s = w.randn(3, 7, 2)
w.case("split_input_sizes", "Split", [s, I64(2, 3, 2)], {"axis": 1}, n_outputs=3, tolerance="exact", opset=13,
       torch_ref=lambda: [t.numpy() for t in torch.split(T(s), [2, 3, 2], 1)])
w.case("split_attr_sizes", "Split", [s], {"axis": -2, "split": [4, 0, 3]}, n_outputs=3, tolerance="exact", opset=11)
w.case("split_num_outputs_uneven", "Split", [s], {"axis": 1, "num_outputs": 3}, n_outputs=3, tolerance="exact", opset=18,
       torch_ref=lambda: [t.numpy() for t in torch.split(T(s), 3, 1)])
s2 = w.randn(6, 5)
w.case("split_num_outputs_even", "Split", [s2], {"num_outputs": 3}, n_outputs=3, tolerance="exact", opset=18,
       torch_ref=lambda: [t.numpy() for t in torch.chunk(T(s2), 3, 0)])

# Slice ------------------------------------------------------------------------------------------
x = w.randn(5, 7, 6)
w.case("slice_basic", "Slice", [x, I64(1, 2), I64(4, 7), I64(0, 1)], tolerance="exact", torch_ref=lambda: x[1:4, 2:7].copy())
w.case("slice_steps", "Slice", [x, I64(0, 1), I64(5, 6), I64(1, 2), I64(3, 2)], tolerance="exact", torch_ref=lambda: x[:, 0:5:3, 1:6:2].copy())
w.case("slice_negative_starts", "Slice", [x, I64(-3, -5), I64(-1, 1000), I64(2, 0)], tolerance="exact", torch_ref=lambda: x[-5:, :, -3:-1].copy())
w.case("slice_int64_max_end", "Slice", [x, I64(2), I64(INT64_MAX), I64(-1)], tolerance="exact", torch_ref=lambda: x[:, :, 2:].copy())
w.case("slice_reverse_full", "Slice", [x, I64(-1), I64(INT64_MIN), I64(1), I64(-1)], tolerance="exact")
w.case("slice_negative_step2", "Slice", [x, I64(5, 4), I64(0, -100), I64(1, 2), I64(-2, -3)], tolerance="exact")
w.case("slice_int32_indices", "Slice", [x, I32(1), I32(3), I32(0), I32(1)], tolerance="exact")
w.case("slice_empty_result", "Slice", [x, I64(4), I64(2), I64(1)], tolerance="exact")
w.case("slice_attr_form", "Slice", [x], {"starts": [1, 0], "ends": [3, -1], "axes": [0, 2]}, tolerance="exact", opset=9)
w.case("slice_rank1_int64", "Slice", [ints(11), I64(1), I64(10), I64(0), I64(4)], tolerance="exact")

# Gather -----------------------------------------------------------------------------------------
g = w.randn(5, 4, 3)
idx = I64(4, -1, 0, 2)
w.case("gather_axis0_negative", "Gather", [g, idx], {"axis": 0}, tolerance="exact",
       torch_ref=lambda: torch.index_select(T(g), 0, T(np.where(idx < 0, idx + 5, idx))).numpy())
w.case("gather_axis1_2d_int32", "Gather", [g, np.array([[0, 3], [-2, 1], [2, 2]], np.int32)], {"axis": 1}, tolerance="exact")
w.case("gather_scalar_index", "Gather", [g, np.array(-1, np.int64)], {"axis": -1}, tolerance="exact")
w.case("gather_int64_data", "Gather", [ints(6, 2), I64(5, 0, 5)], {"axis": 0}, tolerance="exact")
w.case("gather_empty_indices", "Gather", [g, np.zeros((0,), np.int64)], {"axis": 1}, tolerance="exact")

# Pad --------------------------------------------------------------------------------------------
p = w.randn(2, 3, 5, 4)
w.case("pad_constant_value", "Pad", [p, I64(0, 0, 1, 2, 0, 0, 3, 1), F32(1.5)], tolerance="exact",
       torch_ref=lambda: F.pad(T(p), (2, 1, 1, 3), value=1.5).numpy())
w.case("pad_constant_negative", "Pad", [p, I64(0, 1, -2, 1, 0, -1, 2, -3)], tolerance="exact",
       torch_ref=lambda: F.pad(T(p), (1, -3, -2, 2, 1, -1)).numpy())
w.case("pad_reflect_dim_minus_1", "Pad", [p, I64(0, 0, 4, 3, 0, 0, 4, 3)], {"mode": "reflect"}, tolerance="exact",
       torch_ref=lambda: F.pad(T(p), (3, 3, 4, 4), mode="reflect").numpy())
w.case("pad_reflect_negative", "Pad", [w.randn(6), I64(2, -2)], {"mode": "reflect"}, tolerance="exact")
w.case("pad_edge", "Pad", [p, I64(0, 0, 2, 0, 0, 0, 1, 5)], {"mode": "edge"}, tolerance="exact",
       torch_ref=lambda: F.pad(T(p), (0, 5, 2, 1), mode="replicate").numpy())
w.case("pad_wrap", "Pad", [w.randn(3, 4), I64(1, 5, 2, 3)], {"mode": "wrap"}, tolerance="exact", opset=19)
w.case("pad_axes_input", "Pad", [p, I64(1, 2, 3, 0), F32(-1.0), I64(-1, 1)], tolerance="exact", opset=18)
w.case("pad_attr_form", "Pad", [w.randn(3, 4)], {"pads": [1, 0, 0, 2], "value": 2.0}, tolerance="exact", opset=2)
w.case("pad_int64", "Pad", [ints(2, 3), I64(1, 1, 1, 1), I64(7)], tolerance="exact")
w.case("pad_rank1_edge", "Pad", [w.randn(1), I64(3, 2)], {"mode": "edge"}, tolerance="exact")

# Expand / Tile ----------------------------------------------------------------------------------
e1 = w.randn(3, 1)
w.case("expand_rank_up", "Expand", [e1, I64(2, 1, 4)], tolerance="exact", torch_ref=lambda: T(e1).expand(2, 3, 4).numpy())
w.case("expand_bidirectional", "Expand", [w.randn(2, 1, 3), I64(4, 1)], tolerance="exact")
w.case("expand_scalar", "Expand", [np.array(1.25, np.float32), I64(2, 3)], tolerance="exact")
w.case("expand_zero", "Expand", [w.randn(1, 3), I64(0, 3)], tolerance="exact")
w.case("expand_int64", "Expand", [ints(1, 4), I64(3, 4)], tolerance="exact")
t1 = w.randn(2, 3)
w.case("tile_2d", "Tile", [t1, I64(2, 3)], tolerance="exact", torch_ref=lambda: T(t1).repeat(2, 3).numpy())
w.case("tile_3d_ones", "Tile", [w.randn(1, 4, 1), I64(3, 1, 2)], tolerance="exact")
w.case("tile_zero", "Tile", [t1, I64(0, 2)], tolerance="exact")

# Shape / ConstantOfShape / Range ----------------------------------------------------------------
sx = w.randn(2, 3, 1, 5)
w.case("shape_full", "Shape", [sx], tolerance="exact", opset=15)
w.case("shape_start_end", "Shape", [sx], {"start": 1, "end": -1}, tolerance="exact", opset=15)
w.case("shape_clamped", "Shape", [sx], {"start": -10, "end": 10}, tolerance="exact", opset=15)
w.case("shape_scalar", "Shape", [np.array(1.0, np.float32)], tolerance="exact", opset=15)
w.case("constant_of_shape_default", "ConstantOfShape", [I64(2, 3)], tolerance="exact")
w.case("range_float", "Range", [np.array(0.1, np.float32), np.array(100.3, np.float32), np.array(0.7, np.float32)], tolerance="exact")
w.case("range_int64_negative", "Range", [np.array(10, np.int64), np.array(-7, np.int64), np.array(-3, np.int64)], tolerance="exact")
w.case("range_empty", "Range", [np.array(5, np.int64), np.array(5, np.int64), np.array(1, np.int64)], tolerance="exact")

# Resize -----------------------------------------------------------------------------------------
r = w.randn(1, 2, 7, 5)
SC = lambda *v: F32(*v)

def interp(**kw):
    return lambda: F.interpolate(T(r), **kw).numpy()

w.case("resize_nearest_x2_asymmetric_floor", "Resize", [r, None, SC(1, 1, 2, 2)],
       {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
       tolerance="exact", torch_ref=interp(scale_factor=2, mode="nearest"))
w.case("resize_nearest_sizes_torch", "Resize", [r, None, None, I64(1, 2, 12, 9)],
       {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
       tolerance="exact", torch_ref=interp(size=(12, 9), mode="nearest"))
for nm in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"):
    w.case(f"resize_nearest_7x5_to_12x9_{nm}", "Resize", [r, None, None, I64(1, 2, 12, 9)],
           {"mode": "nearest", "nearest_mode": nm}, tolerance="exact")
w.case("resize_nearest_down_half", "Resize", [r, None, SC(1, 1, 0.5, 0.5)], {"mode": "nearest"}, tolerance="exact")
w.case("resize_nearest_align_corners", "Resize", [r, None, None, I64(1, 2, 4, 11)],
       {"mode": "nearest", "coordinate_transformation_mode": "align_corners"}, tolerance="exact")
w.case("resize_nearest_tf_half_pixel_for_nn", "Resize", [r, None, SC(1, 1, 1.5, 1.7)],
       {"mode": "nearest", "coordinate_transformation_mode": "tf_half_pixel_for_nn"}, tolerance="exact")
w.case("resize_nearest_int_rank2", "Resize", [w.randn(3, 4), None, SC(3, 0.5)], {"mode": "nearest"}, tolerance="exact")
w.case("resize_bilinear_x2", "Resize", [r, None, SC(1, 1, 2, 2)], {"mode": "linear"},
       tolerance="elementwise", torch_ref=interp(scale_factor=2, mode="bilinear", align_corners=False))
w.case("resize_bilinear_align_corners_sizes", "Resize", [r, None, None, I64(1, 2, 12, 9)],
       {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
       tolerance="elementwise", torch_ref=interp(size=(12, 9), mode="bilinear", align_corners=True))
w.case("resize_bilinear_sizes_half_pixel", "Resize", [r, None, None, I64(1, 2, 12, 9)],
       {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"},
       tolerance="elementwise", torch_ref=interp(size=(12, 9), mode="bilinear", align_corners=False))
w.case("resize_bilinear_down_half", "Resize", [r, None, SC(1, 1, 0.5, 0.5)], {"mode": "linear"},
       tolerance="elementwise", torch_ref=interp(scale_factor=0.5, mode="bilinear", align_corners=False))
w.case("resize_linear_asymmetric_odd", "Resize", [r, None, SC(1, 1, 1.3, 2.7)],
       {"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, tolerance="elementwise")
w.case("resize_linear_pytorch_half_pixel_len1", "Resize", [r, None, None, I64(1, 2, 1, 3)],
       {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}, tolerance="elementwise")
v5 = w.randn(1, 1, 3, 4, 5)
w.case("resize_trilinear", "Resize", [v5, None, SC(1, 1, 2, 1.5, 0.6)], {"mode": "linear"},
       tolerance="elementwise", torch_ref=lambda: F.interpolate(T(v5), scale_factor=(2, 1.5, 0.6), mode="trilinear", align_corners=False).numpy())
w.case("resize_bicubic_x2", "Resize", [r, None, SC(1, 1, 2, 2)], {"mode": "cubic"},
       tolerance="elementwise", torch_ref=interp(scale_factor=2, mode="bicubic", align_corners=False))
w.case("resize_bicubic_align_corners_sizes", "Resize", [r, None, None, I64(1, 2, 12, 9)],
       {"mode": "cubic", "coordinate_transformation_mode": "align_corners"},
       # PyTorch computes the align_corners coordinate as x·((in-1)/(out-1)), ONNX as x·(in-1)/(out-1);
       # the cubic weights amplify that last-bit difference to a few 1e-6.
       tolerance="reduction", torch_ref=interp(size=(12, 9), mode="bicubic", align_corners=True))
w.case("resize_cubic_exclude_outside", "Resize", [r, None, SC(1, 1, 1.6, 0.8)],
       {"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1}, tolerance="elementwise")
w.case("resize_cubic_down", "Resize", [r, None, None, I64(1, 2, 3, 2)], {"mode": "cubic"}, tolerance="elementwise")
roi = F32(0, 0, 0.2, 0.1, 1, 1, 0.9, 1.3)
w.case("resize_tf_crop_linear", "Resize", [r, roi, None, I64(1, 2, 6, 8)],
       {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": -2.5},
       tolerance="elementwise", opset=13)
w.case("resize_tf_crop_nearest", "Resize", [r, roi, None, I64(1, 2, 6, 8)],
       {"mode": "nearest", "coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": 9.0},
       tolerance="exact", opset=13)
w.case("resize_axes_sizes", "Resize", [r, None, None, I64(12, 9)], {"mode": "linear", "axes": [2, -1]},
       tolerance="elementwise", opset=18)
w.case("resize_half_pixel_symmetric", "Resize", [r, None, SC(1, 1, 1.7, 0.6)],
       {"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"}, tolerance="elementwise", opset=19)
w.case("resize_opset10_nearest_down", "Resize", [w.randn(1, 5), SC(1, 0.6)], {"mode": "nearest"}, tolerance="exact", opset=10)
w.case("resize_opset10_linear", "Resize", [r, SC(1, 1, 1.5, 1.7)], {"mode": "linear"}, tolerance="elementwise", opset=10)
w.case("upsample9_nearest_x2", "Upsample", [r, SC(1, 1, 2, 3)], {"mode": "nearest"}, tolerance="exact", opset=9)
w.case("upsample9_linear", "Upsample", [r, SC(1, 1, 1.7, 2)], {"mode": "linear"}, tolerance="elementwise", opset=9)
w.case("upsample7_attr_nearest", "Upsample", [r], {"mode": "nearest", "scales": [1.0, 1.0, 2.0, 1.5]}, tolerance="exact", opset=7)

w.write()
