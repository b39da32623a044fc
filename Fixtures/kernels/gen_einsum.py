"""Fixtures for Einsum with one or two operands (the cases transformers and attention heads
export: matrix and batched products, transposes, sums, outer and inner products, ellipses that
broadcast).

Reference: ONNX Runtime, cross-checked with torch.einsum on the same equation.

Run from the repository root:  python Fixtures/kernels/gen_einsum.py
"""
import torch

from kilnfix import FixtureWriter

w = FixtureWriter("einsum", seed=29)
T = torch.from_numpy

for name, equation, shapes in [
    ("einsum_matmul", "ij,jk->ik", [(3, 4), (4, 5)]),
    ("einsum_matmul_transposed_out", "ij,jk->ki", [(3, 4), (4, 5)]),
    ("einsum_a_bt", "ik,jk->ij", [(6, 7), (5, 7)]),
    ("einsum_attention_scores", "bhid,bhjd->bhij", [(2, 3, 5, 4), (2, 3, 6, 4)]),
    ("einsum_attention_values", "bhij,bhjd->bihd", [(2, 3, 5, 6), (2, 3, 6, 4)]),
    ("einsum_batched_left_sum", "bij,bjk->bk", [(2, 3, 4), (2, 4, 5)]),
    ("einsum_outer", "i,j->ij", [(4,), (3,)]),
    ("einsum_inner", "i,i->", [(7,), (7,)]),
    ("einsum_implicit", "ij,jk", [(2, 3), (3, 4)]),
    ("einsum_transpose", "ij->ji", [(3, 5)]),
    ("einsum_row_sum", "ij->i", [(4, 6)]),
    ("einsum_total", "ij->", [(4, 6)]),
    ("einsum_permute3", "abc->cab", [(2, 3, 4)]),
    ("einsum_bilinear_weight", "nc,kc->nk", [(8, 64), (32, 64)]),
    ("einsum_spaces_uppercase", "Ab , bC -> AC", [(2, 3), (3, 2)]),
    ("einsum_ellipsis_matmul_broadcast", "...ij,...jk->...ik", [(2, 1, 3, 4), (1, 5, 4, 2)]),
    ("einsum_ellipsis_transpose", "...ij->...ji", [(2, 3, 4, 5)]),
    ("einsum_ellipsis_implicit", "...ij,...jk", [(3, 2, 4), (3, 4, 5)]),
    ("einsum_ellipsis_middle", "i...j,j->i...", [(2, 3, 4, 5), (5,)]),
    ("einsum_ellipsis_empty", "...i,...i->...", [(6,), (6,)]),
]:
    xs = [w.randn(*s) for s in shapes]
    w.case(name, "Einsum", xs, {"equation": equation}, tolerance="gemm", opset=12,
           torch_ref=lambda e=equation.replace(" ", ""), xs=xs: torch.einsum(e, *[T(x) for x in xs]).numpy())
w.write()
