"""Pooling fixtures (MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool). Reference: PyTorch
(F.max_pool1d/2d, F.avg_pool1d/2d, F.adaptive_*_pool), cross-checked with ONNX Runtime; ONNX
Runtime alone where PyTorch cannot express the attributes (asymmetric pads, auto_pad, dilated
AveragePool)."""
import torch
import torch.nn.functional as F

from kilnfix import FixtureWriter

w = FixtureWriter("pooling", seed=23)
T = torch.from_numpy
AVG_OPSET = 19  # AveragePool gained `dilations` in opset 19.


def pair(v):
    return list(v) if isinstance(v, (list, tuple)) else [v, v]


def maxpool2d(name, shape, k, s, p=0, d=1, ceil=False):
    x = w.randn(*shape)
    k2, s2, p2, d2 = pair(k), pair(s), pair(p), pair(d)
    attrs = {"kernel_shape": k2, "strides": s2, "pads": p2 + p2, "dilations": d2, "ceil_mode": int(ceil)}
    w.case(name, "MaxPool", [x], attrs, tolerance="exact", opset=18,
           torch_ref=lambda: F.max_pool2d(T(x), k2, s2, p2, d2, ceil_mode=ceil).numpy())


def avgpool2d(name, shape, k, s, p=0, ceil=False, cip=True):
    x = w.randn(*shape)
    k2, s2, p2 = pair(k), pair(s), pair(p)
    attrs = {"kernel_shape": k2, "strides": s2, "pads": p2 + p2, "ceil_mode": int(ceil), "count_include_pad": int(cip)}
    w.case(name, "AveragePool", [x], attrs, tolerance="reduction", opset=AVG_OPSET,
           torch_ref=lambda: F.avg_pool2d(T(x), k2, s2, p2, ceil_mode=ceil, count_include_pad=cip).numpy())


# MaxPool: the shapes of real CNNs and the edges.
maxpool2d("max_k2s2", (1, 3, 8, 8), 2, 2)
maxpool2d("max_k2s2_odd", (2, 3, 7, 13), 2, 2)
maxpool2d("max_k3s2p1_resnet", (1, 4, 15, 15), 3, 2, 1)
maxpool2d("max_k3s2p1_odd", (3, 2, 7, 13), 3, 2, 1)
maxpool2d("max_k3s1p1", (1, 2, 9, 9), 3, 1, 1)
maxpool2d("max_k3s2_ceil_odd", (1, 2, 7, 13), 3, 2, 0, ceil=True)
maxpool2d("max_k2s2_ceil_odd", (2, 2, 7, 13), 2, 2, 0, ceil=True)
maxpool2d("max_k3s2p1_ceil", (1, 2, 8, 12), 3, 2, 1, ceil=True)
maxpool2d("max_k4s3p2_ceil", (1, 1, 7, 13), 4, 3, 2, ceil=True)
maxpool2d("max_dilated", (1, 2, 11, 13), 3, 1, 1, d=2)
maxpool2d("max_dilated_s2_ceil", (1, 2, 12, 17), 3, 2, 1, d=2, ceil=True)
maxpool2d("max_whole_input", (2, 3, 7, 13), (7, 13), 1)
maxpool2d("max_1x1", (1, 1, 1, 1), 1, 1)
maxpool2d("max_k1s2", (1, 2, 5, 6), 1, 2)
maxpool2d("max_rect_kernel", (1, 2, 9, 10), (2, 3), (1, 2), (1, 1))
maxpool2d("max_stride3_gaps", (1, 2, 10, 11), 2, 3)
maxpool2d("max_wide_s1", (1, 2, 5, 41), 3, 1, 1)
maxpool2d("max_wide_s2", (1, 2, 5, 53), 3, 2, 1)
maxpool2d("max_wide_k2s2", (2, 2, 4, 64), 2, 2)
x = w.randn(2, 3, 17)
w.case("max_1d_k3s2p1", "MaxPool", [x], {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}, tolerance="exact",
       opset=18, torch_ref=lambda: F.max_pool1d(T(x), 3, 2, 1).numpy())
x = w.randn(1, 2, 23)
w.case("max_1d_ceil_dilated", "MaxPool", [x], {"kernel_shape": [2], "strides": [3], "dilations": [2], "ceil_mode": 1},
       tolerance="exact", opset=18, torch_ref=lambda: F.max_pool1d(T(x), 2, 3, 0, 2, ceil_mode=True).numpy())
# ONNX Runtime only: asymmetric pads and auto_pad.
for name, attrs in [("max_asym_pads", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 1, 2, 0]}),
                    ("max_asym_pads_ceil", {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 0, 0, 1], "ceil_mode": 1}),
                    ("max_same_upper", {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
                    ("max_same_lower", {"kernel_shape": [2, 2], "strides": [1, 1], "auto_pad": "SAME_LOWER"}),
                    ("max_valid", {"kernel_shape": [3, 2], "strides": [2, 3], "auto_pad": "VALID"})]:
    w.case(name, "MaxPool", [w.randn(1, 2, 7, 13)], attrs, tolerance="exact", opset=18)

# AveragePool.
avgpool2d("avg_k2s2", (1, 3, 8, 8), 2, 2)
avgpool2d("avg_k3s1p1_cip1", (2, 2, 7, 13), 3, 1, 1, cip=True)
avgpool2d("avg_k3s1p1_cip0", (2, 2, 7, 13), 3, 1, 1, cip=False)
avgpool2d("avg_k3s2p1_cip1", (1, 4, 15, 15), 3, 2, 1, cip=True)
avgpool2d("avg_k3s2p1_cip0", (3, 2, 7, 13), 3, 2, 1, cip=False)
avgpool2d("avg_k3s2_ceil_cip1", (1, 2, 7, 13), 3, 2, 0, ceil=True, cip=True)
avgpool2d("avg_k3s2_ceil_cip0", (1, 2, 7, 13), 3, 2, 0, ceil=True, cip=False)
avgpool2d("avg_k3s2p1_ceil_cip1", (1, 2, 8, 12), 3, 2, 1, ceil=True, cip=True)
avgpool2d("avg_k4s3p2_ceil_cip1", (1, 1, 7, 13), 4, 3, 2, ceil=True, cip=True)
avgpool2d("avg_k4s3p2_ceil_cip0", (1, 1, 7, 13), 4, 3, 2, ceil=True, cip=False)
avgpool2d("avg_whole_input", (2, 3, 7, 13), (7, 13), 1)
avgpool2d("avg_1x1", (1, 1, 1, 1), 1, 1)
avgpool2d("avg_rect_kernel", (1, 2, 9, 10), (2, 3), (1, 2), (1, 1), cip=False)
avgpool2d("avg_wide_s1", (1, 2, 5, 41), 3, 1, 1, cip=False)
avgpool2d("avg_wide_s2", (1, 2, 5, 53), 3, 2, 1, cip=True)
avgpool2d("avg_wide_k2s2", (3, 2, 4, 64), 2, 2)
x = w.randn(2, 3, 17)
w.case("avg_1d_k3s2p1_cip0", "AveragePool", [x], {"kernel_shape": [3], "strides": [2], "pads": [1, 1]},
       tolerance="reduction", opset=AVG_OPSET, torch_ref=lambda: F.avg_pool1d(T(x), 3, 2, 1, count_include_pad=False).numpy())
x = w.randn(1, 2, 22)
w.case("avg_1d_ceil_cip1", "AveragePool", [x],
       {"kernel_shape": [4], "strides": [3], "pads": [2, 2], "ceil_mode": 1, "count_include_pad": 1},
       tolerance="reduction", opset=AVG_OPSET,
       torch_ref=lambda: F.avg_pool1d(T(x), 4, 3, 2, ceil_mode=True, count_include_pad=True).numpy())
# ONNX Runtime only: asymmetric pads, auto_pad, dilations.
for name, attrs in [("avg_asym_pads_cip0", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 1, 2, 0]}),
                    ("avg_asym_pads_cip1", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 1, 2, 0], "count_include_pad": 1}),
                    ("avg_asym_pads_ceil_cip1", {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 0, 0, 1],
                                                 "ceil_mode": 1, "count_include_pad": 1}),
                    ("avg_same_upper_cip0", {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
                    ("avg_same_lower_cip1", {"kernel_shape": [2, 2], "strides": [1, 1], "auto_pad": "SAME_LOWER", "count_include_pad": 1}),
                    ("avg_valid", {"kernel_shape": [3, 2], "strides": [2, 3], "auto_pad": "VALID"}),
                    ("avg_dilated_cip0", {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [2, 2, 2, 2], "dilations": [2, 2]}),
                    ("avg_dilated_cip1", {"kernel_shape": [3, 3], "strides": [2, 1], "pads": [1, 2, 1, 2], "dilations": [2, 3],
                                          "count_include_pad": 1})]:
    w.case(name, "AveragePool", [w.randn(1, 2, 7, 13)], attrs, tolerance="reduction", opset=AVG_OPSET)

# Dilation can make a window that holds only padding: ONNX Runtime gives the lowest float for max
# and 0 for average (with either count_include_pad).
x = w.randn(1, 2, 2, 5)
window = {"kernel_shape": [2, 1], "dilations": [3, 1], "pads": [1, 0, 1, 0]}
w.case("max_all_padding_window", "MaxPool", [x], window, tolerance="exact", opset=18)
w.case("avg_all_padding_window_cip0", "AveragePool", [x], window, tolerance="reduction", opset=AVG_OPSET)
w.case("avg_all_padding_window_cip1", "AveragePool", [x], {**window, "count_include_pad": 1}, tolerance="reduction", opset=AVG_OPSET)

# Empty batch: nothing to pool, the output keeps N = 0.
w.case("max_empty_batch", "MaxPool", [w.randn(0, 2, 5, 5)], {"kernel_shape": [3, 3], "strides": [2, 2]}, tolerance="exact", opset=18)
w.case("avg_empty_batch", "AveragePool", [w.randn(0, 2, 5, 5)], {"kernel_shape": [2, 2]}, tolerance="reduction", opset=AVG_OPSET)

# Global pools over 1, 2 and 3 spatial dims.
for name, shape in [("gap_2d", (2, 3, 7, 13)), ("gap_1x1", (1, 4, 1, 1)), ("gap_wide", (1, 2, 9, 33))]:
    x = w.randn(*shape)
    w.case(name, "GlobalAveragePool", [x], tolerance="reduction",
           torch_ref=lambda x=x: F.adaptive_avg_pool2d(T(x), 1).numpy())
    w.case(name.replace("gap", "gmp"), "GlobalMaxPool", [x], tolerance="exact",
           torch_ref=lambda x=x: F.adaptive_max_pool2d(T(x), 1).numpy())
x = w.randn(3, 2, 19)
w.case("gap_1d", "GlobalAveragePool", [x], tolerance="reduction", torch_ref=lambda: F.adaptive_avg_pool1d(T(x), 1).numpy())
w.case("gmp_1d", "GlobalMaxPool", [x], tolerance="exact", torch_ref=lambda: F.adaptive_max_pool1d(T(x), 1).numpy())
x = w.randn(1, 2, 3, 4, 5)
w.case("gap_3d", "GlobalAveragePool", [x], tolerance="reduction", torch_ref=lambda: F.adaptive_avg_pool3d(T(x), 1).numpy())
w.case("gmp_3d", "GlobalMaxPool", [x], tolerance="exact", torch_ref=lambda: F.adaptive_max_pool3d(T(x), 1).numpy())
x = w.randn(0, 3, 4, 4)
w.case("gap_empty_batch", "GlobalAveragePool", [x], tolerance="reduction")
w.write()
