"""Fixtures for ops of classic and pixel-shuffling vision models: LRN (AlexNet, GoogLeNet, ZFNet as
the ONNX model zoo ships them), Dropout with its mask output, DepthToSpace / SpaceToDepth
(PixelShuffle super-resolution and space-to-depth stems).

Reference: ONNX Runtime; cross-checked with PyTorch where it has the same operator
(F.local_response_norm for odd window sizes, whose padding matches ONNX's; F.pixel_shuffle for
DepthToSpace in CRD mode). PyTorch's pixel_unshuffle orders channels differently from ONNX's
SpaceToDepth, so that op is checked against ONNX Runtime only, plus an inverse check below.
Dropout's opset-11 mask comes from the spec (all true at inference), not ONNX Runtime (see there).

Run from the repository root:  python Fixtures/kernels/gen_classic.py
"""
import numpy as np
import torch
import torch.nn.functional as F

from kilnfix import FixtureWriter

w = FixtureWriter("classic", seed=9)
T = torch.from_numpy

# LRN --------------------------------------------------------------------------------------------
def lrn_numpy(x, size, alpha, beta, bias):
    """The ONNX formula in float64: channels c - floor((size-1)/2) ... c + ceil((size-1)/2)."""
    x64 = x.astype(np.float64)
    c = x.shape[1]
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = np.zeros_like(x64)
    for k in range(c):
        sq[:, k] = (x64[:, max(0, k - before):min(c, k + after + 1)] ** 2).sum(axis=1)
    return (x64 / (bias + alpha / size * sq) ** beta).astype(np.float32)



# AlexNet's and GoogLeNet's settings first; then an even window (ONNX puts the extra channel after
# c, PyTorch before, so ONNX Runtime alone is the reference), a window wider than C, rank 3, a
# large bias and beta, and inputs large enough that the sum of squares dominates the bias.
for name, shape, size, alpha, beta, bias, scale in [
    ("lrn_alexnet", (2, 16, 7, 9), 5, 1e-4, 0.75, 1.0, 1.0),
    ("lrn_googlenet", (1, 12, 5, 5), 5, 1e-4, 0.75, 1.0, 30.0),
    ("lrn_size3", (1, 7, 4, 6), 3, 2e-3, 0.5, 2.0, 5.0),
    ("lrn_size1", (1, 3, 5, 5), 1, 0.1, 1.0, 1.0, 3.0),
    ("lrn_size_even", (1, 9, 3, 5), 4, 1e-2, 0.75, 1.0, 4.0),
    ("lrn_window_wider_than_c", (2, 3, 4, 4), 7, 0.5, 0.6, 1.5, 2.0),
    ("lrn_big_beta_bias", (1, 6, 17, 3), 5, 1.0, 2.5, 4.0, 2.0),
    ("lrn_parallel", (2, 16, 16, 16), 5, 1e-4, 0.75, 1.0, 20.0),
]:
    x = w.randn(*shape, scale=scale)
    attrs = {"size": size, "alpha": alpha, "beta": beta, "bias": bias}
    if size % 2 == 0:
        # ONNX Runtime's LRN takes odd sizes only: the ONNX formula in NumPy is the reference.
        w.case(name, "LRN", [x], attrs, tolerance="transcendental", expected=[lrn_numpy(x, size, alpha, beta, bias)])
        continue
    (y,) = w.case(name, "LRN", [x], attrs, tolerance="transcendental",
                  torch_ref=lambda x=x, s=size, a=alpha, b=beta, k=bias: F.local_response_norm(T(x), s, alpha=a, beta=b, k=k).numpy())
    np.testing.assert_allclose(y, lrn_numpy(x, size, alpha, beta, bias), rtol=1e-5, atol=1e-6)
x = w.randn(2, 5, 11, scale=3.0)  # rank 3: ONNX Runtime's LRN is 4-D only, PyTorch is the reference
w.case("lrn_rank3", "LRN", [x], {"size": 3, "alpha": 0.01, "beta": 0.75, "bias": 1.0}, tolerance="transcendental",
       expected=[F.local_response_norm(T(x), 3, alpha=0.01, beta=0.75, k=1.0).numpy()])
x = w.randn(1, 4, 3, 3)
w.case("lrn_defaults", "LRN", [x], {"size": 3}, tolerance="transcendental",
       torch_ref=lambda: F.local_response_norm(T(x), 3).numpy())

# Dropout with its mask ----------------------------------------------------------------------------
x = w.randn(2, 3, 5)
w.case("dropout_mask", "Dropout", [x], n_outputs=2, tolerance="exact", opset=13)
w.case("dropout_mask_ratio_input", "Dropout", [x, np.array(0.3, np.float32), np.array(False)], n_outputs=2,
       tolerance="exact", opset=13)
# ONNX Runtime's opset 10-11 Dropout returns an all-false mask at inference (opset 12 and later: all
# true). The spec keeps every element at inference, and onnx.reference agrees: it is the reference.
x = w.randn(4, 7)
w.case("dropout_mask_opset11", "Dropout", [x], {"ratio": 0.2}, n_outputs=2, tolerance="exact", opset=11,
       expected=[x, np.ones(x.shape, bool)])
assert not w.run_onnx("Dropout", [x], {"ratio": 0.2}, 2, 11)[1].any(), "ONNX Runtime's opset-11 mask changed; revisit"
w.case("dropout_mask_empty", "Dropout", [np.zeros((3, 0), np.float32)], n_outputs=2, tolerance="exact", opset=13)

# DepthToSpace / SpaceToDepth --------------------------------------------------------------------
for name, shape, b, mode in [("d2s_dcr_b2", (1, 8, 3, 5), 2, "DCR"), ("d2s_crd_b2", (2, 12, 4, 3), 2, "CRD"),
                             ("d2s_crd_b3", (1, 18, 5, 7), 3, "CRD"), ("d2s_dcr_b3", (2, 9, 2, 2), 3, "DCR"),
                             ("d2s_b1", (1, 3, 4, 4), 1, "DCR")]:
    x = w.randn(*shape)
    ref = (lambda x=x, b=b: F.pixel_shuffle(T(x), b).numpy()) if mode == "CRD" else None
    w.case(name, "DepthToSpace", [x], {"blocksize": b, "mode": mode}, tolerance="exact", torch_ref=ref)

def integer_case(name, op, x, attrs):
    """ONNX Runtime moves floats only: the integer reference is its float answer, converted back
    (exact: every value is below 2^24)."""
    (y,) = w.run_onnx(op, [x.astype(np.float32)], attrs)
    w.case(name, op, [x], attrs, tolerance="exact", expected=[y.astype(x.dtype)])


integer_case("d2s_int64_default_mode", "DepthToSpace", np.arange(2 * 8 * 2 * 3, dtype=np.int64).reshape(2, 8, 2, 3),
             {"blocksize": 2})
for name, shape, b in [("s2d_b2", (1, 3, 4, 6), 2), ("s2d_b3", (2, 2, 9, 6), 3), ("s2d_b4_yolo_stem", (1, 3, 16, 16), 4)]:
    x = w.randn(*shape)
    (y,) = w.case(name, "SpaceToDepth", [x], {"blocksize": b}, tolerance="exact")
    # SpaceToDepth is DepthToSpace(DCR)'s inverse: check the reference is, too.
    back = w.run_onnx("DepthToSpace", [y], {"blocksize": b, "mode": "DCR"})[0]
    assert np.array_equal(back, x), name
integer_case("s2d_uint8", "SpaceToDepth", (np.arange(2 * 4 * 4) % 251).astype(np.uint8).reshape(1, 2, 4, 4),
             {"blocksize": 2})
w.write()
