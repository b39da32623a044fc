"""Conv and ConvTranspose fixtures.

Reference: torch.nn.functional.conv1d / conv2d / conv_transpose2d, cross-checked with ONNX Runtime
by kilnfix. Asymmetric padding and auto_pad are expressed in torch as an explicit F.pad (Conv) or a
crop of the unpadded result (ConvTranspose), which is exact, so every case still has two independent
references. Cases whose padding rule only ONNX Runtime defines (ConvTranspose output_shape larger
than the unpadded result) are ORT-only.
"""
import numpy as np
import torch
import torch.nn.functional as F

from kilnfix import FixtureWriter

w = FixtureWriter("conv", seed=7)
T = torch.from_numpy


def same_pads(in_size, k, s, d, upper):
    """ONNX auto_pad SAME_* for Conv: (begin, end)."""
    out = (in_size + s - 1) // s
    total = max(0, (out - 1) * s + (k - 1) * d + 1 - in_size)
    small, big = total // 2, total - total // 2
    return (small, big) if upper else (big, small)


def conv(name, x, wt, b=None, *, strides=None, pads=None, dilations=None, group=1, auto_pad=None,
         kernel_shape=False, torch_check=True):
    """One Conv case. pads are ONNX order [begins..., ends...]; spatial rank from x."""
    n = x.ndim - 2
    s = strides or [1] * n
    d = dilations or [1] * n
    attrs = {}
    if strides: attrs["strides"] = strides
    if pads is not None: attrs["pads"] = pads
    if dilations: attrs["dilations"] = dilations
    if group != 1: attrs["group"] = group
    if auto_pad: attrs["auto_pad"] = auto_pad
    if kernel_shape: attrs["kernel_shape"] = list(wt.shape[2:])
    k = wt.shape[2:]
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pp = [same_pads(x.shape[2 + i], k[i], s[i], d[i], auto_pad == "SAME_UPPER") for i in range(n)]
        p = [q[0] for q in pp] + [q[1] for q in pp]
    elif auto_pad == "VALID":
        p = [0] * (2 * n)
    else:
        p = pads or [0] * (2 * n)

    def ref():
        xt = T(x)
        # F.pad takes (last-axis begin, last-axis end, previous-axis begin, ...).
        fp = []
        for i in reversed(range(n)):
            fp += [p[i], p[i + n]]
        xt = F.pad(xt, fp)
        bt = T(b) if b is not None else None
        fn = F.conv1d if n == 1 else F.conv2d
        return fn(xt, T(wt), bt, stride=s, padding=0, dilation=d, groups=group).numpy()

    inputs = [x, wt] + ([b] if b is not None else [])
    w.case(name, "Conv", inputs, attrs, tolerance="gemm", torch_ref=ref if torch_check else None)


def conv_t(name, x, wt, b=None, *, strides=None, pads=None, dilations=None, group=1, output_padding=None,
           output_shape=None, auto_pad=None, torch_check=True):
    n = x.ndim - 2
    s = strides or [1] * n
    d = dilations or [1] * n
    op = output_padding or [0] * n
    attrs = {}
    if strides: attrs["strides"] = strides
    if pads is not None: attrs["pads"] = pads
    if dilations: attrs["dilations"] = dilations
    if group != 1: attrs["group"] = group
    if output_padding: attrs["output_padding"] = output_padding
    if output_shape: attrs["output_shape"] = output_shape
    if auto_pad: attrs["auto_pad"] = auto_pad
    k = wt.shape[2:]
    natural = [s[i] * (x.shape[2 + i] - 1) + op[i] + (k[i] - 1) * d[i] + 1 for i in range(n)]
    if not torch_check:
        p = None
    elif output_shape or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        target = output_shape or [x.shape[2 + i] * s[i] for i in range(n)]
        begins = []
        for i in range(n):
            total = natural[i] - target[i]
            assert total >= 0, "torch reference only for non-negative total padding"
            begins.append(total // 2 if auto_pad == "SAME_UPPER" else total - total // 2)
        p = begins + [natural[i] - target[i] - begins[i] for i in range(n)]
    else:
        p = pads or [0] * (2 * n)

    def ref():
        fn = F.conv_transpose1d if n == 1 else F.conv_transpose2d
        full = fn(T(x), T(wt), None, stride=s, padding=0, dilation=d, groups=group)
        # output_padding appends positions no input reaches; then crop the pads (negative F.pad).
        fp = []
        for i in reversed(range(n)):
            fp += [-p[i], op[i] - p[i + n]]
        y = F.pad(full, fp)
        if b is not None:
            y = y + T(b).reshape([1, -1] + [1] * n)
        return y.numpy()

    inputs = [x, wt] + ([b] if b is not None else [])
    w.case(name, "ConvTranspose", inputs, attrs, tolerance="gemm", torch_ref=ref if torch_check else None)


r = w.randn
# --- Conv 2-D: shapes real models use --------------------------------------------------------
conv("resnet_stem_7x7_s2_p3", r(1, 3, 21, 19), r(8, 3, 7, 7, scale=0.2), r(8), strides=[2, 2], pads=[3, 3, 3, 3])
conv("k3_s1_p1", r(2, 8, 9, 11), r(16, 8, 3, 3, scale=0.3), r(16), pads=[1, 1, 1, 1], kernel_shape=True)
conv("k3_s2_p1_c9", r(1, 9, 13, 7), r(17, 9, 3, 3, scale=0.3), r(17), strides=[2, 2], pads=[1, 1, 1, 1])
conv("k1_s1_pointwise", r(2, 17, 7, 9), r(9, 17, 1, 1, scale=0.3), r(9))
conv("k1_s2", r(1, 8, 10, 10), r(16, 8, 1, 1, scale=0.3), r(16), strides=[2, 2])
conv("k1_grouped_pointwise", r(1, 8, 5, 6), r(6, 4, 1, 1, scale=0.3), r(6), group=2)
conv("k3_c1_m8", r(1, 1, 12, 10), r(8, 1, 3, 3), r(8), pads=[1, 1, 1, 1])
conv("k3_c7_m1", r(1, 7, 6, 9), r(1, 7, 3, 3, scale=0.3), r(1), pads=[1, 1, 1, 1])
conv("grouped_resnext_g4", r(1, 32, 9, 9), r(32, 8, 3, 3, scale=0.3), r(32), pads=[1, 1, 1, 1], group=4)
conv("grouped_s2_g3", r(2, 6, 11, 8), r(9, 2, 3, 3, scale=0.3), r(9), strides=[2, 2], pads=[1, 1, 1, 1], group=3)
# --- depthwise ---------------------------------------------------------------------------------
conv("dw3x3_s1", r(1, 16, 13, 29), r(16, 1, 3, 3), r(16), pads=[1, 1, 1, 1], group=16)
conv("dw3x3_s2", r(2, 9, 15, 45), r(9, 1, 3, 3), r(9), strides=[2, 2], pads=[1, 1, 1, 1], group=9)
conv("dw3x3_s2_nopad", r(1, 4, 11, 40), r(4, 1, 3, 3), r(4), strides=[2, 2], group=4)
conv("dw3x3_s1_nopad_small", r(1, 3, 3, 3), r(3, 1, 3, 3), r(3), group=3)
conv("dw3x3_s3", r(1, 5, 14, 31), r(5, 1, 3, 3), r(5), strides=[3, 3], pads=[1, 1, 1, 1], group=5)
conv("dw5x5", r(1, 8, 14, 20), r(8, 1, 5, 5, scale=0.3), r(8), pads=[2, 2, 2, 2], group=8)
conv("dw5x5_s2", r(1, 7, 17, 23), r(7, 1, 5, 5, scale=0.3), r(7), strides=[2, 2], pads=[2, 2, 2, 2], group=7)
conv("dw_multiplier2", r(1, 6, 11, 19), r(12, 1, 3, 3), r(12), pads=[1, 1, 1, 1], group=6)
conv("dw_multiplier3_k2_s2", r(2, 3, 9, 18), r(9, 1, 2, 2), r(9), strides=[2, 2], group=3)
conv("dw3x3_dilation2", r(1, 4, 12, 21), r(4, 1, 3, 3), r(4), pads=[2, 2, 2, 2], dilations=[2, 2], group=4)
conv("dw_pad_gt_kernel", r(1, 3, 4, 5), r(3, 1, 2, 2), r(3), pads=[3, 3, 3, 3], group=3)
conv("dw_asym_pads_s2", r(1, 4, 10, 20), r(4, 1, 3, 3), r(4), strides=[2, 2], pads=[1, 0, 0, 2], group=4)
conv("dw3x3_rect_stride", r(1, 4, 13, 26), r(4, 1, 3, 3), r(4), strides=[2, 1], pads=[1, 1, 1, 1], group=4)
# --- padding, dilation, stride edges ----------------------------------------------------------
conv("asym_pads", r(1, 4, 10, 12), r(6, 4, 3, 3, scale=0.3), r(6), pads=[0, 1, 2, 0])
conv("dilation2", r(1, 4, 15, 13), r(6, 4, 3, 3, scale=0.3), r(6), pads=[2, 2, 2, 2], dilations=[2, 2])
conv("dilation_2x3_rect", r(1, 3, 14, 16), r(5, 3, 2, 3, scale=0.3), r(5), dilations=[3, 2], strides=[1, 2])
conv("pad_gt_kernel", r(1, 3, 5, 6), r(4, 3, 2, 2, scale=0.3), r(4), pads=[3, 3, 3, 3])
conv("rect_kernel_1x7", r(1, 4, 7, 12), r(5, 4, 1, 7, scale=0.3), r(5), pads=[0, 3, 0, 3])
conv("size1_pointwise", r(1, 1, 1, 1), r(1, 1, 1, 1), r(1))
conv("size1_k3_p1", r(1, 1, 1, 1), r(2, 1, 3, 3), r(2), pads=[1, 1, 1, 1])
conv("kernel_equals_input", r(1, 2, 5, 4), r(3, 2, 5, 4, scale=0.3), r(3))
conv("primes_13x7_batch3", r(3, 5, 13, 7), r(7, 5, 3, 3, scale=0.3), r(7), pads=[1, 1, 1, 1])
conv("batch2_no_bias", r(2, 4, 8, 8), r(8, 4, 3, 3, scale=0.3))
conv("dw_no_bias", r(1, 5, 9, 17), r(5, 1, 3, 3), group=5, pads=[1, 1, 1, 1])
conv("auto_same_upper_s2", r(1, 3, 10, 9), r(4, 3, 4, 3, scale=0.3), r(4), strides=[2, 2], auto_pad="SAME_UPPER")
conv("auto_same_lower_s2", r(1, 3, 10, 9), r(4, 3, 4, 3, scale=0.3), r(4), strides=[2, 2], auto_pad="SAME_LOWER")
conv("auto_same_upper_dw", r(1, 4, 9, 12), r(4, 1, 4, 4), r(4), auto_pad="SAME_UPPER", group=4)
conv("auto_valid", r(1, 3, 10, 9), r(4, 3, 3, 3, scale=0.3), r(4), strides=[2, 2], auto_pad="VALID")
# --- Conv 1-D ----------------------------------------------------------------------------------
conv("conv1d_s2_p1", r(2, 4, 17), r(6, 4, 3, scale=0.3), r(6), strides=[2], pads=[1, 1])
conv("conv1d_dw_k5", r(1, 8, 20), r(8, 1, 5), r(8), pads=[2, 2], group=8)
conv("conv1d_dilation2_no_bias", r(1, 3, 15), r(5, 3, 3, scale=0.3), dilations=[2], pads=[1, 2])
conv("conv1d_pointwise", r(2, 5, 9), r(4, 5, 1, scale=0.3), r(4))
conv("conv1d_same_upper", r(1, 3, 10), r(2, 3, 4, scale=0.3), r(2), strides=[3], auto_pad="SAME_UPPER")

# --- ConvTranspose -----------------------------------------------------------------------------
conv_t("ct_s2_p1_outpad1", r(1, 4, 5, 6), r(4, 3, 3, 3, scale=0.3), r(3), strides=[2, 2], pads=[1, 1, 1, 1],
       output_padding=[1, 1])
conv_t("ct_groups3_s2", r(1, 6, 5, 5), r(6, 2, 3, 3, scale=0.3), r(6), strides=[2, 2], group=3)
conv_t("ct_depthwise_k4_s2_p1", r(1, 4, 6, 7), r(4, 1, 4, 4, scale=0.3), r(4), strides=[2, 2], pads=[1, 1, 1, 1], group=4)
conv_t("ct_dilation2", r(1, 3, 6, 5), r(3, 4, 3, 3, scale=0.3), r(4), dilations=[2, 2], pads=[1, 1, 1, 1])
conv_t("ct_output_shape", r(1, 3, 4, 4), r(3, 2, 3, 3, scale=0.3), r(2), strides=[2, 2], output_shape=[8, 8])
conv_t("ct_output_shape_odd_rect", r(1, 3, 4, 5), r(3, 2, 3, 3, scale=0.3), r(2), strides=[2, 3], output_shape=[7, 12])
conv_t("ct_output_shape_beyond", r(1, 2, 3, 3), r(2, 2, 3, 3, scale=0.3), r(2), strides=[2, 2], output_shape=[8, 8],
       torch_check=False)
conv_t("ct_no_bias_batch2", r(2, 3, 4, 5), r(3, 5, 2, 2, scale=0.3), strides=[2, 2])
conv_t("ct_pointwise", r(1, 5, 6, 7), r(5, 3, 1, 1, scale=0.3), r(3))
conv_t("ct_asym_pads", r(1, 3, 5, 6), r(3, 2, 3, 3, scale=0.3), r(2), strides=[2, 2], pads=[0, 1, 1, 2])
conv_t("ct_same_upper_s2", r(1, 2, 5, 4), r(2, 3, 3, 3, scale=0.3), r(3), strides=[2, 2], auto_pad="SAME_UPPER")
conv_t("ct_same_lower_s2", r(1, 2, 5, 4), r(2, 3, 3, 3, scale=0.3), r(3), strides=[2, 2], auto_pad="SAME_LOWER")
conv_t("ct_valid_s3", r(1, 2, 4, 3), r(2, 2, 2, 2, scale=0.3), r(2), strides=[3, 3], auto_pad="VALID")
conv_t("ct_size1", r(1, 1, 1, 1), r(1, 1, 1, 1), r(1))
conv_t("ct_size1_k3", r(1, 2, 1, 1), r(2, 3, 3, 3, scale=0.3), r(3))
conv_t("ct_primes_batch3", r(3, 7, 5, 3), r(7, 9, 3, 3, scale=0.3), r(9), strides=[1, 2], pads=[1, 0, 1, 0])
conv_t("ct1d_s2_p1", r(1, 3, 9), r(3, 2, 4, scale=0.3), r(2), strides=[2], pads=[1, 1])
conv_t("ct1d_outpad_dilation", r(2, 2, 7), r(2, 3, 3, scale=0.3), r(3), strides=[3], dilations=[2], output_padding=[2])
# --- 3×3 stride 1 with at least 16 output tiles of 4×4: Kiln's prepared Conv runs Winograd F(4,3) ---
conv("winograd_k3_s1_p1_batch2", r(2, 16, 20, 23), r(24, 16, 3, 3, scale=0.2), r(24), pads=[1, 1, 1, 1])
conv("winograd_k3_s1_asym_pads", r(1, 5, 19, 18), r(7, 5, 3, 3, scale=0.3), r(7), pads=[0, 2, 1, 0])
conv("winograd_k3_s1_c64", r(1, 64, 16, 16), r(32, 64, 3, 3, scale=0.1), r(32), pads=[1, 1, 1, 1])
w.write()
