"""Fixtures for GridSample (spatial transformers, deformable heads, flow warps), 4-D.

Reference: ONNX Runtime, cross-checked with torch.nn.functional.grid_sample. Grids reach past
[-1, 1] so that every padding mode's outside rule is exercised.

Run from the repository root:  python Fixtures/kernels/gen_sampling.py
"""
import torch
import torch.nn.functional as F

from kilnfix import FixtureWriter

w = FixtureWriter("sampling", seed=31)
T = torch.from_numpy

for mode in ("bilinear", "nearest"):
    for padding in ("zeros", "border", "reflection"):
        for align in (0, 1):
            name = f"gridsample_{mode}_{padding}_align{align}"
            x = w.randn(2, 3, 5, 7)
            grid = w.uniform(2, 4, 6, 2, low=-1.4, high=1.4)
            w.case(name, "GridSample", [x, grid], {"mode": mode, "padding_mode": padding, "align_corners": align},
                   tolerance="elementwise", opset=16,
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
w.write()
