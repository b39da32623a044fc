"""Activation fixtures. Reference: torch.nn.functional / torch, cross-checked with ONNX Runtime;
ONNX Runtime alone where PyTorch has no equivalent with the same attributes.

Run from this directory:  /work/venv/bin/python gen_activation.py
"""
import numpy as np
import torch
import torch.nn.functional as F

from kilnfix import FixtureWriter

w = FixtureWriter("activation", seed=2)
T = torch.from_numpy

# Sizes that hit the SIMD body only, tail only, and both: 1, 7, 8, 9, 17; rank 0; odd 3-D; 4-D.
SHAPES = [("s", ()), ("1", (1,)), ("7", (7,)), ("8", (8,)), ("9", (9,)), ("17", (17,)),
          ("odd", (3, 7, 5)), ("4d", (2, 3, 9, 11))]


def sweep(prefix, op, fn, tolerance, attrs=None, opset=17, scale=3.0, shapes=SHAPES):
    for tag, shape in shapes:
        x = w.randn(*shape, scale=scale) if shape else np.array(w.randn(1, scale=scale)[0], dtype=np.float32)
        w.case(f"{prefix}_{tag}", op, [x], attrs, tolerance=tolerance, opset=opset,
               torch_ref=lambda x=x: fn(T(x)).numpy())


# Piecewise linear ------------------------------------------------------------------------------
sweep("relu", "Relu", F.relu, "exact")
sweep("leakyrelu", "LeakyRelu", lambda x: F.leaky_relu(x, 0.01), "exact", shapes=SHAPES[:6])
sweep("leakyrelu_a01", "LeakyRelu", lambda x: F.leaky_relu(x, 0.1), "elementwise", {"alpha": 0.1}, shapes=SHAPES[5:])
sweep("hardswish", "HardSwish", F.hardswish, "elementwise", opset=14)
sweep("hardsigmoid_torch", "HardSigmoid", F.hardsigmoid, "elementwise", {"alpha": 1 / 6, "beta": 0.5},
      shapes=SHAPES[4:])
for tag, shape in [("default_9", (9,)), ("default_4d", (2, 3, 4, 5))]:
    x = w.randn(*shape, scale=4.0)
    w.case(f"hardsigmoid_{tag}", "HardSigmoid", [x], tolerance="elementwise")  # ORT: alpha 0.2, beta 0.5

# PRelu: slope shapes real models use (per-channel [C,1,1] from PyTorch, [1,C,1,1]), a single
# slope, a last-dimension slope, a rank-0 slope.
x4 = w.randn(2, 3, 5, 7)
for tag, slope_shape in [("c11", (3, 1, 1)), ("1c11", (1, 3, 1, 1)), ("one", (1,)), ("last", (7,)), ("scalar", ())]:
    s = w.uniform(*slope_shape, low=0.05, high=0.5) if slope_shape else np.array(0.25, dtype=np.float32)
    w.case(f"prelu_{tag}", "PRelu", [x4, s], tolerance="exact",
           torch_ref=lambda s=s: torch.where(T(x4) < 0, T(x4) * T(s), T(x4)).numpy())
x = w.randn(17)
s = w.uniform(17, low=0.0, high=1.0)
w.case("prelu_same_17", "PRelu", [x, s], tolerance="exact",
       torch_ref=lambda: torch.where(T(x) < 0, T(x) * T(s), T(x)).numpy())

# Clip: ReLU6 from inputs (opset 13), one-sided, none, from attributes (opset 6), min > max.
def f32(v):
    return np.array(v, dtype=np.float32)


for tag, shape in [("9", (9,)), ("4d", (2, 3, 5, 7)), ("s", ())]:
    x = w.randn(*shape, scale=5.0) if shape else f32(7.5)
    w.case(f"clip_relu6_{tag}", "Clip", [x, f32(0), f32(6)], tolerance="exact", opset=13,
           torch_ref=lambda x=x: torch.clamp(T(x), 0, 6).numpy())
x = w.randn(17, scale=5.0)
w.case("clip_min_only", "Clip", [x, f32(-1)], tolerance="exact", opset=13,
       torch_ref=lambda: torch.clamp(T(x), min=-1).numpy())
w.case("clip_max_only", "Clip", [x, None, f32(2)], tolerance="exact", opset=13,
       torch_ref=lambda: torch.clamp(T(x), max=2).numpy())
w.case("clip_none", "Clip", [x], tolerance="exact", opset=13, torch_ref=lambda: T(x).clone().numpy())
w.case("clip_min_gt_max", "Clip", [x, f32(3), f32(1)], tolerance="exact", opset=13)
w.case("clip_attr_opset6", "Clip", [x], {"min": 0.0, "max": 6.0}, tolerance="exact", opset=6,
       torch_ref=lambda: torch.clamp(T(x), 0, 6).numpy())
w.case("clip_attr_min_opset6", "Clip", [x], {"min": -0.5}, tolerance="exact", opset=6,
       torch_ref=lambda: torch.clamp(T(x), min=-0.5).numpy())

# Transcendental ------------------------------------------------------------------------------
sweep("sigmoid", "Sigmoid", torch.sigmoid, "transcendental", scale=6.0)
x = f32([-100, -88, -30, -1e-3, 0, 1e-3, 30, 88, 100])
w.case("sigmoid_extremes", "Sigmoid", [x], tolerance="transcendental", torch_ref=lambda: torch.sigmoid(T(x)).numpy())
sweep("tanh", "Tanh", torch.tanh, "transcendental")
w.case("tanh_extremes", "Tanh", [x], tolerance="transcendental", torch_ref=lambda: torch.tanh(T(x)).numpy())
sweep("erf", "Erf", torch.erf, "transcendental", scale=2.0, shapes=SHAPES[2:])
sweep("gelu", "Gelu", F.gelu, "transcendental", opset=20)
sweep("gelu_tanh", "Gelu", lambda x: F.gelu(x, approximate="tanh"), "transcendental",
      {"approximate": "tanh"}, opset=20, shapes=SHAPES[3:])
sweep("elu", "Elu", F.elu, "transcendental", shapes=SHAPES[2:])
sweep("elu_a05", "Elu", lambda x: F.elu(x, 0.5), "transcendental", {"alpha": 0.5}, shapes=SHAPES[5:7])
sweep("selu", "Selu", F.selu, "transcendental", shapes=SHAPES[2:])
sweep("softplus", "Softplus", F.softplus, "transcendental", scale=10.0, shapes=SHAPES[2:])
x = f32([-100, -30, -20.5, -1e-4, 0, 1e-4, 19.5, 20.5, 30, 100])
w.case("softplus_extremes", "Softplus", [x], tolerance="transcendental", torch_ref=lambda: F.softplus(T(x)).numpy())
sweep("mish", "Mish", F.mish, "transcendental", opset=18, scale=4.0, shapes=SHAPES[2:])
# Swish (opset 24) is newer than ONNX Runtime's CPU kernels may be; the reference is torch's SiLU.
for tag, shape in [("9", (9,)), ("4d", (2, 3, 4, 5))]:
    x = w.randn(*shape, scale=4.0)
    w.case(f"swish_{tag}", "Swish", [x], tolerance="transcendental", opset=24, expected=[F.silu(T(x)).numpy()])
x = w.randn(17, scale=4.0)
w.case("swish_alpha", "Swish", [x], {"alpha": 1.702}, tolerance="transcendental", opset=24,
       expected=[(T(x) * torch.sigmoid(1.702 * T(x))).numpy()])

# Softmax / LogSoftmax: several axes, large magnitudes (±80: exp overflows without the max shift).
x3 = w.uniform(3, 4, 5, low=-80, high=80)
x4 = w.uniform(2, 3, 4, 5, low=-80, high=80)
for op, fn in [("Softmax", F.softmax), ("LogSoftmax", F.log_softmax)]:
    lo = op.lower()
    for tag, x, axis in [("3d_ax0", x3, 0), ("3d_ax1", x3, 1), ("3d_axm1", x3, -1),
                         ("4d_ax0", x4, 0), ("4d_ax1", x4, 1), ("4d_ax2", x4, 2), ("4d_axm1", x4, -1),
                         ("4d_axm3", x4, -3)]:
        w.case(f"{lo}_{tag}", op, [x], {"axis": axis}, tolerance="transcendental", opset=13,
               torch_ref=lambda x=x, axis=axis, fn=fn: fn(T(x), dim=axis).numpy())
    x = w.randn(2, 1, 3)
    w.case(f"{lo}_len1", op, [x], {"axis": 1}, tolerance="transcendental", opset=13,
           torch_ref=lambda x=x, fn=fn: fn(T(x), dim=1).numpy())
    x = w.randn(4, 1000)
    w.case(f"{lo}_default_axis_long", op, [x], tolerance="transcendental", opset=13,
           torch_ref=lambda x=x, fn=fn: fn(T(x), dim=-1).numpy())
    x = w.randn(17)
    w.case(f"{lo}_1d", op, [x], {"axis": 0}, tolerance="transcendental", opset=13,
           torch_ref=lambda x=x, fn=fn: fn(T(x), dim=0).numpy())

# Identity / Dropout (inference) ----------------------------------------------------------------
x = w.randn(2, 3, 4)
w.case("identity_f32", "Identity", [x], tolerance="exact")
w.case("identity_i64", "Identity", [np.array([3, -1, 7], dtype=np.int64)], tolerance="exact")
w.case("dropout_inference", "Dropout", [x], tolerance="exact", opset=13)
w.case("dropout_ratio_input", "Dropout", [x, f32(0.3)], tolerance="exact", opset=13)
w.case("dropout_training_false", "Dropout", [x, f32(0.3), np.array(False)], tolerance="exact", opset=13)
w.write()
