"""Fixtures for resampling ops: GridSample (spatial transformers, deformable heads, flow warps),
4-D, and antialiased Resize (opset 18: torchvision's Resize(antialias=True) exports to it).

Reference: ONNX Runtime, cross-checked with torch.nn.functional.grid_sample, and with
F.interpolate(antialias=True) where PyTorch computes the same filter (bilinear, and bicubic with
cubic_coeff_a = -0.5, both half_pixel with exclude_outside = 1: Pillow's rule of dropping taps past
the edge). Grids reach past [-1, 1] so that every padding mode's outside rule is exercised.

Run from the repository root:  python Fixtures/kernels/gen_sampling.py
"""
import numpy as np
import torch
import torch.nn.functional as F

from kilnfix import FixtureWriter

w = FixtureWriter("sampling", seed=31)
T = torch.from_numpy

for mode in ("bilinear", "nearest", "bicubic"):
    for padding in ("zeros", "border", "reflection"):
        for align in (0, 1):
            name = f"gridsample_{mode}_{padding}_align{align}"
            x = w.randn(2, 3, 5, 7)
            grid = w.uniform(2, 4, 6, 2, low=-1.4, high=1.4)
            # Bicubic sums 16 products in another order than PyTorch: a few 1e-6 relative.
            w.case(name, "GridSample", [x, grid], {"mode": mode, "padding_mode": padding, "align_corners": align},
                   tolerance="transcendental" if mode == "bicubic" else "elementwise", opset=16,
                   torch_ref=lambda x=x, g=grid, m=mode, p=padding, a=align: F.grid_sample(
                       T(x), T(g), mode=m, padding_mode=p, align_corners=bool(a)).numpy())
# Far outside (several reflections), a 1-pixel-wide input, and the opset-20 spelling of bilinear.
x = w.randn(1, 2, 4, 4)
grid = w.uniform(1, 3, 3, 2, low=-7, high=7)
w.case("gridsample_reflection_far", "GridSample", [x, grid], {"padding_mode": "reflection"}, tolerance="elementwise",
       opset=16, torch_ref=lambda: F.grid_sample(T(x), T(grid), padding_mode="reflection", align_corners=False).numpy())
x = w.randn(1, 1, 3, 1)
grid = w.uniform(1, 2, 5, 2, low=-1.2, high=1.2)
w.case("gridsample_width1_border", "GridSample", [x, grid], {"padding_mode": "border", "align_corners": 1},
       tolerance="elementwise", opset=16,
       torch_ref=lambda: F.grid_sample(T(x), T(grid), padding_mode="border", align_corners=True).numpy())
x = w.randn(2, 4, 16, 16)
grid = w.uniform(2, 24, 24, 2)
w.case("gridsample_linear_opset20", "GridSample", [x, grid], {"mode": "linear"}, tolerance="elementwise", opset=20,
       torch_ref=lambda: F.grid_sample(T(x), T(grid), align_corners=False).numpy())
x = w.randn(1, 2, 5, 6)
grid = w.uniform(1, 4, 4, 2, low=-6, high=6)
w.case("gridsample_cubic_reflection_far_opset20", "GridSample", [x, grid], {"mode": "cubic", "padding_mode": "reflection"},
       tolerance="transcendental", opset=20,
       torch_ref=lambda: F.grid_sample(T(x), T(grid), mode="bicubic", padding_mode="reflection", align_corners=False).numpy())

# Antialiased Resize ------------------------------------------------------------------------------
def resize_case(name, x, out_hw, attrs, torch_ref=None, use_scales=False, tolerance="transcendental"):
    n, c = x.shape[:2]
    if use_scales:
        scales = np.array([1, 1, out_hw[0] / x.shape[2], out_hw[1] / x.shape[3]], np.float32)
        inputs = [x, None, scales]
    else:
        inputs = [x, None, None, np.array([n, c, *out_hw], np.int64)]
    w.case(name, "Resize", inputs, dict(attrs, antialias=1), tolerance=tolerance, opset=18, torch_ref=torch_ref)


def torch_aa(x, out_hw, mode):
    return lambda: F.interpolate(T(x), size=out_hw, mode=mode, align_corners=False, antialias=True).numpy()


x = w.randn(1, 3, 37, 53)
# PyTorch normalizes its weights in another order than ONNX Runtime (and Kiln): a few outputs differ
# by ~3e-6, so these two compare at the `reduction` tolerance (sums of up to ~10 taps per axis).
resize_case("resize_aa_linear_torchvision", x, (16, 23), {"mode": "linear", "exclude_outside": 1},
            torch_ref=torch_aa(x, (16, 23), "bilinear"), tolerance="reduction")
resize_case("resize_aa_cubic_pillow", x, (11, 30), {"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1},
            torch_ref=torch_aa(x, (11, 30), "bicubic"), tolerance="reduction")
resize_case("resize_aa_linear_edges_clamped", x, (16, 23), {"mode": "linear"})
resize_case("resize_aa_cubic_default", x, (9, 20), {"mode": "cubic"})
x = w.randn(2, 2, 12, 10)
for mode in ("align_corners", "asymmetric", "pytorch_half_pixel", "half_pixel_symmetric"):
    resize_case(f"resize_aa_linear_{mode}", x, (5, 7), {"mode": "linear", "coordinate_transformation_mode": mode})
resize_case("resize_aa_cubic_align_corners_exclude", x, (7, 3), {"mode": "cubic", "coordinate_transformation_mode": "align_corners",
                                                                  "exclude_outside": 1})
resize_case("resize_aa_up_and_down", x, (20, 4), {"mode": "linear"})
resize_case("resize_aa_cubic_upscale", x, (17, 15), {"mode": "cubic"})
resize_case("resize_aa_scales_input", x, (6, 5), {"mode": "linear"}, use_scales=True)
# ONNX says nearest ignores antialias; ONNX Runtime refuses the pair, so its plain nearest result is
# the reference.
sizes = np.array([2, 2, 5, 4], np.int64)
w.case("resize_aa_nearest_ignored", "Resize", [x, None, None, sizes], {"mode": "nearest", "antialias": 1}, tolerance="exact",
       opset=18, expected=w.run_onnx("Resize", [x, None, None, sizes], {"mode": "nearest"}, 1, 18))
w.write()
