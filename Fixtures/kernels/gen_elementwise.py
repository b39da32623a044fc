"""Elementwise fixtures: broadcasting arithmetic, unary math, comparisons, logic, Where, Cast.

Reference: torch where it has the op (cross-checked with ONNX Runtime), ONNX Runtime alone where
outputs hold inf/NaN (the cross-check cannot compare those) or torch's semantics differ.

Run from this directory:  /work/venv/bin/python gen_elementwise.py
"""
import numpy as np
import torch

from kilnfix import FixtureWriter

w = FixtureWriter("elementwise", seed=3)
T = torch.from_numpy


def rnd(shape, scale=2.0):
    return w.randn(*shape, scale=scale) if shape else np.array(w.randn(1, scale=scale)[0], dtype=np.float32)


def ints(shape, low=-20, high=20, dtype=np.int64, nonzero=False):
    v = w.rng.integers(low, high, size=shape).astype(dtype)
    if nonzero:
        v[v == 0] = 3
    return np.asarray(v)


# Shape pairs: same shape across SIMD tails, the broadcast forms models use, and the edges.
PAIRS = [
    ("s_s", (), ()), ("1", (1,), (1,)), ("7", (7,), (7,)), ("8", (8,), (8,)), ("9", (9,), (9,)),
    ("17", (17,), (17,)),
    ("bc_2315_341", (2, 3, 1, 5), (3, 4, 1)),
    ("bc_1_23", (1,), (2, 3)),
    ("bc_s_4d", (), (2, 3, 4, 5)),
    ("bc_4d_s", (2, 3, 4, 5), ()),
    ("bc_chan_c11", (2, 3, 4, 5), (3, 1, 1)),
    ("bc_chan_1c11", (2, 3, 4, 5), (1, 3, 1, 1)),
    ("bc_row", (4, 9), (9,)),
    ("bc_col", (4, 9), (4, 1)),
    ("bc_outer", (5, 1), (1, 6)),
    ("empty", (0, 3), (1, 3)),
]

F32_OPS = [("Add", torch.add), ("Sub", torch.sub), ("Mul", torch.mul), ("Div", torch.div)]
for op, fn in F32_OPS:
    for tag, sa, sb in PAIRS:
        a, b = rnd(sa), rnd(sb)
        if op == "Div":
            b = np.where(np.abs(b) < 0.1, np.float32(0.5), b).astype(np.float32)
        w.case(f"{op.lower()}_f32_{tag}", op, [a, b], tolerance="elementwise",
               torch_ref=lambda a=a, b=b, fn=fn: fn(T(a), T(b)).numpy())

# Division by zero in float is IEEE (inf, -inf, NaN); reference ORT since the cross-check can't
# compare infinities.
w.case("div_f32_by_zero", "Div", [np.array([1, -1, 0, 2.5], dtype=np.float32), np.zeros(4, np.float32)],
       tolerance="exact")

# Integers: negative numbers, truncating division, broadcasting.
for dt, dn in [(np.int64, "i64"), (np.int32, "i32")]:
    for tag, sa, sb in [("9", (9,), (9,)), ("bc_2315_341", (2, 3, 1, 5), (3, 4, 1)), ("bc_s", (7,), ())]:
        a, b = ints(sa, dtype=dt), ints(sb, dtype=dt, nonzero=True)
        w.case(f"add_{dn}_{tag}", "Add", [a, b], tolerance="exact", torch_ref=lambda a=a, b=b: (T(a) + T(b)).numpy())
        w.case(f"sub_{dn}_{tag}", "Sub", [a, b], tolerance="exact", torch_ref=lambda a=a, b=b: (T(a) - T(b)).numpy())
        w.case(f"mul_{dn}_{tag}", "Mul", [a, b], tolerance="exact", torch_ref=lambda a=a, b=b: (T(a) * T(b)).numpy())
        w.case(f"div_{dn}_{tag}", "Div", [a, b], tolerance="exact",
               torch_ref=lambda a=a, b=b: torch.div(T(a), T(b), rounding_mode="trunc").numpy())
        w.case(f"max_{dn}_{tag}", "Max", [a, b], tolerance="exact", opset=13,
               torch_ref=lambda a=a, b=b: torch.maximum(T(a), T(b)).numpy())
        w.case(f"min_{dn}_{tag}", "Min", [a, b], tolerance="exact", opset=13,
               torch_ref=lambda a=a, b=b: torch.minimum(T(a), T(b)).numpy())
a = np.array([-7, 7, -7, 7, -1, 0, 9, -9], dtype=np.int64)
b = np.array([2, 2, -2, -2, 3, -5, 10, 10], dtype=np.int64)
w.case("div_i64_trunc_signs", "Div", [a, b], tolerance="exact",
       torch_ref=lambda: torch.div(T(a), T(b), rounding_mode="trunc").numpy())
w.case("add_i64_shape_arith", "Add", [np.array([1, 3, 224, 224], np.int64), np.array(-1, np.int64)],
       tolerance="exact", torch_ref=lambda: (torch.tensor([1, 3, 224, 224]) - 1).numpy())

# Pow: float exponents, a negative base with integral exponents, the x² fast path, int exponents,
# fractional powers of negatives (NaN; ORT reference).
xa, ya = np.abs(rnd((17,))) + 0.1, rnd((17,), 1.0)
w.case("pow_f32_17", "Pow", [xa, ya], tolerance="transcendental", opset=15,
       torch_ref=lambda: torch.pow(T(xa), T(ya)).numpy())
xn = rnd((2, 3, 4))
for tag, e in [("sq", 2.0), ("cube", 3.0), ("neg1", -1.0), ("half_abs", 0.5)]:
    xb = np.abs(xn) if tag == "half_abs" else xn
    ev = np.array(e, dtype=np.float32)
    w.case(f"pow_f32_scalar_{tag}", "Pow", [xb, ev], tolerance="transcendental", opset=15,
           torch_ref=lambda xb=xb, ev=ev: torch.pow(T(xb), T(ev)).numpy())
eb = np.array([[2.0], [3.0], [-2.0]], dtype=np.float32)
w.case("pow_f32_negbase_intexp_bc", "Pow", [xn, eb], tolerance="transcendental", opset=15,
       torch_ref=lambda: torch.pow(T(xn), T(eb)).numpy())
w.case("pow_f32_exp_i64", "Pow", [xn, np.array([2, 3, 1, 0], dtype=np.int64)], tolerance="transcendental", opset=15,
       torch_ref=lambda: torch.pow(T(xn), torch.tensor([2.0, 3.0, 1.0, 0.0])).numpy())
w.case("pow_f32_exp_i32_sq", "Pow", [xn, np.array(2, dtype=np.int32)], tolerance="transcendental", opset=15,
       torch_ref=lambda: torch.pow(T(xn), 2.0).numpy())
w.case("pow_f32_negbase_frac_nan", "Pow", [np.array([-2, -0.5, 4, 0], np.float32), np.array([0.5, 1.5, 0.5, -1], np.float32)],
       tolerance="transcendental", opset=15)

# Variadic Max/Min/Sum/Mean: 1, 2 and 3 inputs with broadcasting.
a, b, c = rnd((2, 3, 4)), rnd((3, 1)), rnd((4,))
for op, fold in [("Max", torch.maximum), ("Min", torch.minimum), ("Sum", torch.add)]:
    lo = op.lower()
    w.case(f"{lo}_f32_one", op, [a], tolerance="exact", opset=13, torch_ref=lambda: T(a).clone().numpy())
    w.case(f"{lo}_f32_two_17", op, [rnd((17,)), rnd((17,))], tolerance="elementwise", opset=13)
    w.case(f"{lo}_f32_three_bc", op, [a, b, c], tolerance="elementwise", opset=13,
           torch_ref=lambda fold=fold: fold(fold(T(a), T(b)), T(c)).numpy())
w.case("mean_f32_one", "Mean", [a], tolerance="exact", opset=13)
w.case("mean_f32_three_bc", "Mean", [a, b, c], tolerance="elementwise", opset=13,
       torch_ref=lambda: ((T(a) + T(b) + T(c)) / 3).numpy())
w.case("max_i64_three", "Max", [ints((2, 3)), ints((3,)), ints(())], tolerance="exact", opset=13)
w.case("max_f32_s_s", "Max", [rnd(()), rnd(())], tolerance="exact", opset=13)

# Unary math across SIMD tails; NaN / -inf edges with ORT as reference.
UNARY = [("Sqrt", torch.sqrt, True, "elementwise"), ("Exp", torch.exp, False, "transcendental"),
         ("Log", torch.log, True, "transcendental"), ("Abs", torch.abs, False, "exact"),
         ("Neg", torch.neg, False, "exact"), ("Reciprocal", torch.reciprocal, True, "elementwise"),
         ("Floor", torch.floor, False, "exact"), ("Ceil", torch.ceil, False, "exact")]
for op, fn, positive, tol in UNARY:
    for tag, shape in [("s", ()), ("1", (1,)), ("7", (7,)), ("8", (8,)), ("9", (9,)), ("17", (17,)), ("3d", (2, 3, 5))]:
        x = rnd(shape, 3.0)
        if positive:
            x = np.asarray(np.abs(x) + np.float32(0.05), dtype=np.float32)
        w.case(f"{op.lower()}_f32_{tag}", op, [x], tolerance=tol, torch_ref=lambda x=x, fn=fn: fn(T(x)).numpy())
edges = np.array([-1.0, -0.0, 0.0, 1.0, 4.0, np.inf, -np.inf, np.nan, 2.5, -2.5], dtype=np.float32)
for op, tol in [("Sqrt", "elementwise"), ("Log", "transcendental"), ("Exp", "transcendental"), ("Abs", "exact"),
                ("Neg", "exact"), ("Reciprocal", "exact"), ("Floor", "exact"), ("Ceil", "exact")]:
    w.case(f"{op.lower()}_f32_edges", op, [edges], tolerance=tol)
w.case("exp_f32_large", "Exp", [np.array([-104, -88, -20, 20, 80, 88, 89], np.float32)], tolerance="transcendental")
for dt, dn in [(np.int64, "i64"), (np.int32, "i32")]:
    x = ints((9,), dtype=dt)
    w.case(f"abs_{dn}", "Abs", [x], tolerance="exact", torch_ref=lambda x=x: torch.abs(T(x)).numpy())
    w.case(f"neg_{dn}", "Neg", [x], tolerance="exact", torch_ref=lambda x=x: torch.neg(T(x)).numpy())

# Comparisons → bool. Values drawn from a small set so ties occur.
CMP = [("Equal", torch.eq), ("Less", torch.lt), ("Greater", torch.gt), ("LessOrEqual", torch.le),
       ("GreaterOrEqual", torch.ge)]
for op, fn in CMP:
    lo = op.lower()
    for tag, sa, sb in [("9", (9,), (9,)), ("bc_2315_341", (2, 3, 1, 5), (3, 4, 1)), ("bc_s", (17,), ()),
                        ("empty", (0, 3), (1, 3))]:
        a = np.asarray(np.round(rnd(sa, 1.5)), dtype=np.float32)
        b = np.asarray(np.round(rnd(sb, 1.5)), dtype=np.float32)
        w.case(f"{lo}_f32_{tag}", op, [a, b], tolerance="exact", opset=16,
               torch_ref=lambda a=a, b=b, fn=fn: fn(T(a), T(b)).numpy())
    a, b = ints((2, 3, 4), -3, 3), ints((3, 1), -3, 3)
    w.case(f"{lo}_i64_bc", op, [a, b], tolerance="exact", opset=16,
           torch_ref=lambda a=a, b=b, fn=fn: fn(T(a), T(b)).numpy())
    a32, b32 = ints((9,), -3, 3, np.int32), ints((9,), -3, 3, np.int32)
    w.case(f"{lo}_i32", op, [a32, b32], tolerance="exact", opset=16,
           torch_ref=lambda a=a32, b=b32, fn=fn: fn(T(a), T(b)).numpy())
    nan = np.array([np.nan, 1.0, np.nan, -np.inf], np.float32)
    w.case(f"{lo}_f32_nan", op, [nan, np.array([np.nan, np.nan, 1.0, -np.inf], np.float32)], tolerance="exact", opset=16)
ba, bb = w.rng.integers(0, 2, (3, 4)).astype(bool), w.rng.integers(0, 2, (4,)).astype(bool)
w.case("equal_bool_bc", "Equal", [ba, bb], tolerance="exact", opset=13, torch_ref=lambda: torch.eq(T(ba), T(bb)).numpy())

# Logic on bool.
for op, fn in [("And", torch.logical_and), ("Or", torch.logical_or), ("Xor", torch.logical_xor)]:
    w.case(f"{op.lower()}_bc", op, [ba, bb], tolerance="exact", torch_ref=lambda fn=fn: fn(T(ba), T(bb)).numpy())
    w.case(f"{op.lower()}_s", op, [np.array(True), ba], tolerance="exact", torch_ref=lambda fn=fn: fn(torch.tensor(True), T(ba)).numpy())
w.case("not_3x4", "Not", [ba], tolerance="exact", torch_ref=lambda: torch.logical_not(T(ba)).numpy())
w.case("not_s", "Not", [np.array(False)], tolerance="exact")

# Where: three-way broadcasting, several dtypes.
cond = w.rng.integers(0, 2, (2, 1, 4)).astype(bool)
xw, yw = rnd((3, 1)), rnd(())
w.case("where_f32_bc3", "Where", [cond, xw, yw], tolerance="exact", opset=16,
       torch_ref=lambda: torch.where(T(cond), T(xw), T(yw)).numpy())
c9 = w.rng.integers(0, 2, (17,)).astype(bool)
x9, y9 = rnd((17,)), rnd((17,))
w.case("where_f32_17", "Where", [c9, x9, y9], tolerance="exact", opset=16,
       torch_ref=lambda: torch.where(T(c9), T(x9), T(y9)).numpy())
xi, yi = ints((2, 3, 4)), ints((4,))
w.case("where_i64_bc", "Where", [cond, xi, yi], tolerance="exact", opset=16,
       torch_ref=lambda: torch.where(T(cond), T(xi), T(yi)).numpy())
w.case("where_i32", "Where", [c9, ints((17,), dtype=np.int32), ints((17,), dtype=np.int32)], tolerance="exact", opset=16)
# ONNX Runtime has no Where kernel for bool/uint8/float16; NumPy's where is the reference.
for tag, cw, xw_, yw_ in [("bool", ba, bb, np.logical_not(ba)),
                          ("u8", c9, ints((17,), 0, 255, np.uint8), ints((1,), 0, 255, np.uint8)),
                          ("f16", c9, rnd((17,)).astype(np.float16), np.asarray(rnd(()), dtype=np.float16))]:
    w.case(f"where_{tag}", "Where", [cw, xw_, yw_], tolerance="exact", opset=16,
           expected=[np.where(cw, xw_, yw_)])
w.case("where_empty", "Where", [np.zeros((0, 1), bool), rnd((1, 3)), rnd((3,))], tolerance="exact", opset=16)

# Cast (ONNX TensorProto enum in `to`). Values stay in range of the target (out-of-range casts
# are undefined in ONNX).
xf = np.array([-2.7, -1.5, -0.5, -0.0, 0.0, 0.4, 1.5, 2.7, 100.9], dtype=np.float32)
CASTS = [("f32_i64", xf, 7), ("f32_i32", xf, 6), ("f32_i8", xf, 3), ("f32_bool", xf, 9), ("f32_f16", rnd((17,)), 10),
         ("f32_u8", np.abs(xf), 2), ("f32_f32", xf, 1),
         ("i64_f32", ints((9,), -1000, 1000), 1), ("i64_i32", ints((9,), -1000, 1000), 6),
         ("i32_i64", ints((9,), dtype=np.int32), 7), ("bool_f32", ba, 1), ("bool_i64", ba, 7),
         ("u8_f32", ints((2, 3), 0, 255, np.uint8), 1), ("f16_f32", rnd((9,)).astype(np.float16), 1),
         ("i64_bool", ints((9,), -2, 2), 9), ("s_f32_i64", np.array(-3.9, np.float32), 7)]
for tag, x, to in CASTS:
    w.case(f"cast_{tag}", "Cast", [x], {"to": to}, tolerance="exact", opset=13)
w.case("castlike_f32_i64", "CastLike", [xf, np.zeros(1, np.int64)], tolerance="exact", opset=15)
w.write()
