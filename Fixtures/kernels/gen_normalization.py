"""Normalization fixtures (BatchNormalization inference, LayerNormalization, InstanceNormalization).
Reference: PyTorch (F.batch_norm, F.layer_norm, F.instance_norm), cross-checked with ONNX Runtime;
ONNX Runtime alone for a broadcast LayerNorm scale, which PyTorch cannot express."""
import numpy as np
import torch
import torch.nn.functional as F

from kilnfix import FixtureWriter

w = FixtureWriter("normalization", seed=37)
T = torch.from_numpy

# BatchNormalization (inference): rank 2, 3, 4; batch 1 and 3; odd H×W.
for name, shape, eps in [("bn_2d_rank2", (4, 5), 1e-5), ("bn_rank3", (2, 3, 11), 1e-5), ("bn_4d", (1, 3, 5, 7), 1e-5),
                         ("bn_odd_batch3", (3, 4, 7, 13), 1e-3), ("bn_1x1", (1, 1, 1, 1), 1e-5),
                         ("bn_wide", (2, 2, 3, 37), 1e-5)]:
    c = shape[1]
    x, scale, bias, mean = w.randn(*shape), w.randn(c), w.randn(c), w.randn(c)
    var = w.uniform(c, low=0.25, high=2.0)
    w.case(name, "BatchNormalization", [x, scale, bias, mean, var], {"epsilon": eps}, tolerance="reduction", opset=15,
           torch_ref=lambda x=x, s=scale, b=bias, m=mean, v=var, e=eps:
           F.batch_norm(T(x), T(m), T(v), T(s), T(b), training=False, eps=e).numpy())
x = w.randn(0, 3, 4)
w.case("bn_empty_batch", "BatchNormalization", [x, w.randn(3), w.randn(3), w.randn(3), w.uniform(3, low=0.5, high=1)],
       tolerance="reduction", opset=15)

# LayerNormalization over the last dims starting at `axis`.
def layernorm(name, shape, axis, eps=1e-5, bias=True, offset=0.0):
    x = w.randn(*shape) + np.float32(offset)
    ax = axis % len(shape)
    norm = shape[ax:]
    scale = w.randn(*norm)
    b = w.randn(*norm) if bias else None
    inputs = [x, scale, b] if bias else [x, scale]
    w.case(name, "LayerNormalization", inputs, {"axis": axis, "epsilon": eps}, tolerance="reduction",
           torch_ref=lambda: F.layer_norm(T(x), norm, T(scale), T(b) if b is not None else None, eps).numpy())

layernorm("ln_last", (2, 3, 17), -1)
layernorm("ln_last_wide", (3, 64), -1)
layernorm("ln_axis_m2", (2, 5, 7), -2)
layernorm("ln_axis_1", (2, 3, 4, 5), 1)
layernorm("ln_axis_0", (3, 5), 0)
layernorm("ln_no_bias", (4, 9), -1, bias=False)
layernorm("ln_eps", (2, 11), -1, eps=1e-2)
layernorm("ln_width1", (4, 1), -1)
layernorm("ln_large_mean", (3, 23), -1, offset=100.0)
layernorm("ln_1d", (13,), -1)
x = w.randn(0, 5)
w.case("ln_empty_rows", "LayerNormalization", [x, w.randn(5), w.randn(5)], tolerance="reduction",
       torch_ref=lambda: F.layer_norm(T(x), (5,)).numpy())
# Scale and B broadcast unidirectionally to the normalized dims (ONNX Runtime only).
x = w.randn(2, 3, 4)
w.case("ln_broadcast_scale", "LayerNormalization", [x, w.randn(1, 4), w.randn(4)], {"axis": -2}, tolerance="reduction")

# InstanceNormalization.
for name, shape, eps in [("in_4d", (1, 3, 5, 7), 1e-5), ("in_odd_batch3", (3, 2, 7, 13), 1e-5), ("in_rank3", (2, 4, 11), 1e-3),
                         ("in_spatial1", (2, 3, 1, 1), 1e-5), ("in_wide", (1, 2, 3, 37), 1e-5)]:
    c = shape[1]
    x, scale, bias = w.randn(*shape), w.randn(c), w.randn(c)
    # PyTorch refuses a single spatial element, and ONNX Runtime's x·a + (B - mean·a) loses digits
    # to cancellation there (1/sqrt(eps) ≈ 316 scales it); the exact answer is Y = B.
    single = int(np.prod(shape[2:])) == 1
    exact = [np.broadcast_to(bias.reshape(1, c, 1, 1), shape).astype(np.float32)] if single else None
    w.case(name, "InstanceNormalization", [x, scale, bias], {"epsilon": eps}, tolerance="reduction", expected=exact,
           torch_ref=None if single else lambda x=x, s=scale, b=bias, e=eps: F.instance_norm(T(x), weight=T(s), bias=T(b), eps=e).numpy())
w.write()
