"""Reduction fixtures: ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum, ArgMax, ArgMin.

Reference: PyTorch (sum, mean, amax, amin, prod, norm, argmax/argmin) where it has the same
operator, cross-checked with ONNX Runtime; ONNX Runtime for the ONNX-specific forms (axes input,
noop_with_empty_axes, select_last_index, empty reductions).
"""
import os

import numpy as np
import torch

from kilnfix import FixtureWriter

w = FixtureWriter("reduction", seed=11)
T = torch.from_numpy
I64 = lambda *v: np.array(v, dtype=np.int64)


def _fix_scalars(name, inputs, outputs):
    """kilnfix saves through np.ascontiguousarray, which turns 0-d arrays into shape (1,); rewrite
    the files of rank-0 tensors so scalars stay scalars."""
    for kind, arrays in (("in", inputs), ("out", outputs)):
        for i, a in enumerate(arrays):
            if a is not None and np.ndim(a) == 0:
                np.save(os.path.join(w.dir, f"{name}.{kind}{i}.npy"), np.asarray(a))


_case = w.case


def case(name, op, inputs, *args, scalar_outputs=False, **kwargs):
    """`scalar_outputs`: the outputs are rank 0 (kilnfix flattens a torch reference's 0-d result too)."""
    outs = _case(name, op, inputs, *args, **kwargs)
    if scalar_outputs:
        outs = [o.reshape(()) for o in outs]
    _fix_scalars(name, inputs, outs)
    return outs


def reduce_case(name, op, x, axes, keepdims, torch_fn=None, opset=17, axes_as_input=None, **extra):
    """One Reduce* case; axes go in the attribute before the op's input opset and in input 1 after."""
    input_opset = 13 if op == "ReduceSum" else 18
    as_input = opset >= input_opset if axes_as_input is None else axes_as_input
    attrs = {"keepdims": keepdims, **extra}
    inputs = [x]
    if axes is not None:
        if as_input:
            inputs.append(I64(*axes))
        else:
            attrs["axes"] = list(axes)
    ref = None
    if torch_fn is not None:
        dims = tuple(axes) if axes else tuple(range(x.ndim))
        ref = lambda: torch_fn(T(x), dims, bool(keepdims)).numpy()
    everything = axes is None or len(axes) == x.ndim or (len(axes) == 0 and not extra.get("noop_with_empty_axes"))
    case(name, op, inputs, attrs, tolerance="reduction" if x.dtype == np.float32 else "exact", opset=opset, torch_ref=ref,
         scalar_outputs=everything and not keepdims)


mean = lambda t, d, k: t.mean(d, keepdim=k)
tsum = lambda t, d, k: t.sum(d, keepdim=k)
amax = lambda t, d, k: t.amax(d, keepdim=k)
amin = lambda t, d, k: t.amin(d, keepdim=k)
l2 = lambda t, d, k: torch.linalg.vector_norm(t, 2, d, keepdim=k)
l1 = lambda t, d, k: torch.linalg.vector_norm(t, 1, d, keepdim=k)

x4 = w.randn(2, 3, 7, 5)
# Spatial mean (global average pool), trailing contiguous axes, both axes forms.
reduce_case("mean_spatial_keepdims", "ReduceMean", x4, (2, 3), 1, mean)
reduce_case("mean_spatial_axes_input", "ReduceMean", x4, (-2, -1), 0, mean, opset=18)
reduce_case("mean_leading", "ReduceMean", x4, (0,), 1, mean)
reduce_case("mean_middle", "ReduceMean", x4, (1,), 0, mean)
reduce_case("mean_noncontiguous", "ReduceMean", x4, (0, 2), 1, mean)
reduce_case("mean_all_default", "ReduceMean", x4, None, 0, mean)
reduce_case("mean_all_keepdims", "ReduceMean", x4, None, 1, mean)
big = w.randn(3, 64, 37)
reduce_case("mean_long_rows_simd_tail", "ReduceMean", big, (2,), 0, mean)
reduce_case("mean_leading_wide", "ReduceMean", big, (0, 1), 0, mean)
reduce_case("mean_rank1", "ReduceMean", w.randn(13), (0,), 0, mean)
reduce_case("mean_size1_axis", "ReduceMean", w.randn(4, 1, 3), (1,), 1, mean)
reduce_case("mean_zero_kept_dim", "ReduceMean", np.zeros((0, 4), np.float32), (1,), 1)

reduce_case("sum_axes_input", "ReduceSum", x4, (1, 3), 1, tsum, opset=13)
reduce_case("sum_axes_attr_opset11", "ReduceSum", x4, (1, -1), 0, tsum, opset=11)
reduce_case("sum_empty_axes_input_all", "ReduceSum", x4, (), 0, opset=13, axes_as_input=True)
reduce_case("sum_noop_empty_axes", "ReduceSum", x4, (), 1, opset=13, axes_as_input=True, noop_with_empty_axes=1)
reduce_case("sum_int64", "ReduceSum", w.rng.integers(-50, 50, (4, 6, 3)).astype(np.int64), (0, 2), 0, tsum, opset=13)
reduce_case("sum_empty_reduced_axis", "ReduceSum", np.zeros((3, 0, 2), np.float32), (1,), 1, opset=13)
reduce_case("sum_large_rows", "ReduceSum", w.randn(5, 1031), (1,), 1, tsum, opset=13)

reduce_case("max_spatial", "ReduceMax", x4, (2, 3), 1, amax)
reduce_case("max_axes_input", "ReduceMax", x4, (0, 2), 0, amax, opset=18)
reduce_case("max_int64", "ReduceMax", w.rng.integers(-1000, 1000, (3, 9)).astype(np.int64), (1,), 0, amax)
reduce_case("max_empty_axis_neg_inf", "ReduceMax", np.zeros((0, 3), np.float32), (0,), 0)
reduce_case("min_leading", "ReduceMin", big, (0,), 1, amin)
reduce_case("min_int64_all", "ReduceMin", w.rng.integers(-1000, 1000, (3, 9)).astype(np.int64), None, 0, amin)
reduce_case("prod_middle", "ReduceProd", w.uniform(3, 5, 4, low=0.6, high=1.4), (1,), 1, lambda t, d, k: t.prod(d[0], keepdim=k))
reduce_case("prod_int64", "ReduceProd", w.rng.integers(-3, 4, (2, 5)).astype(np.int64), (1,), 0)
reduce_case("l1_spatial", "ReduceL1", x4, (2, 3), 1, l1)
reduce_case("l2_channels", "ReduceL2", x4, (1,), 1, l2)
reduce_case("l2_noop_is_abs", "ReduceL2", x4, (), 1, opset=18, noop_with_empty_axes=1)
reduce_case("sumsquare_noncontig", "ReduceSumSquare", x4, (0, 3), 0)
reduce_case("sumsquare_noop_is_square", "ReduceSumSquare", x4, (), 1, opset=18, noop_with_empty_axes=1)
reduce_case("logsum_positive", "ReduceLogSum", w.uniform(3, 4, 5, low=0.1, high=2.0), (1, 2), 1)

# ArgMax / ArgMin.
a3 = w.randn(3, 5, 4)
ties = w.rng.integers(0, 3, (4, 6)).astype(np.float32)
case("argmax_axis1_keepdims", "ArgMax", [a3], {"axis": 1, "keepdims": 1}, tolerance="exact",
     torch_ref=lambda: T(a3).argmax(1, keepdim=True).numpy())
case("argmax_negative_axis", "ArgMax", [a3], {"axis": -1, "keepdims": 0}, tolerance="exact",
     torch_ref=lambda: T(a3).argmax(-1).numpy())
case("argmax_default_axis0", "ArgMax", [a3], tolerance="exact", torch_ref=lambda: T(a3).argmax(0, keepdim=True).numpy())
case("argmax_ties_first", "ArgMax", [ties], {"axis": 1, "keepdims": 0}, tolerance="exact", opset=13)
case("argmax_ties_last", "ArgMax", [ties], {"axis": 1, "keepdims": 0, "select_last_index": 1}, tolerance="exact", opset=13)
case("argmin_ties_last_axis0", "ArgMin", [ties], {"axis": 0, "select_last_index": 1}, tolerance="exact", opset=13)
case("argmin_axis2", "ArgMin", [a3], {"axis": 2}, tolerance="exact", torch_ref=lambda: T(a3).argmin(2, keepdim=True).numpy())
case("argmax_int64", "ArgMax", [w.rng.integers(-9, 9, (5, 7)).astype(np.int64)], {"axis": 1}, tolerance="exact")
case("argmax_rank1", "ArgMax", [w.randn(11)], {"keepdims": 0}, tolerance="exact", scalar_outputs=True)

w.write()
