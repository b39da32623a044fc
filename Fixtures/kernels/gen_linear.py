"""Linear fixtures (Gemm, MatMul). Reference: PyTorch (F.linear, torch.addmm-style expressions,
torch.matmul), cross-checked with ONNX Runtime."""
import numpy as np
import torch
import torch.nn.functional as F

from kilnfix import FixtureWriter

w = FixtureWriter("linear", seed=11)
T = torch.from_numpy


# Gemm as F.linear: Y = A · Bᵀ + C with B stored [N, K] (transB=1), the common Linear layer.
for name, (m, k, n) in [("gemm_linear_1x1x1", (1, 1, 1)), ("gemm_linear_3x7x5", (3, 7, 5)),
                        ("gemm_linear_4x13x17", (4, 13, 17)), ("gemm_linear_k1", (6, 1, 9)),
                        ("gemm_linear_batch1_wide", (1, 31, 64))]:
    a, b, c = w.randn(m, k), w.randn(n, k), w.randn(n)
    w.case(name, "Gemm", [a, b, c], {"transB": 1}, tolerance="gemm",
           torch_ref=lambda a=a, b=b, c=c: F.linear(T(a), T(b), T(c)).numpy())

# Gemm with every attribute and C broadcast shape: Y = alpha · op(A) · op(B) + beta · C.
def gemm_torch(a, b, c, alpha, beta, ta, tb):
    at = T(a).t() if ta else T(a)
    bt = T(b).t() if tb else T(b)
    y = alpha * (at @ bt)
    if c is not None:
        y = y + beta * T(c)
    return y.numpy()

# kilnfix saves arrays through np.ascontiguousarray, which turns a 0-d array into shape [1], so a
# scalar C or a vector·vector product (0-d result) cannot be a fixture; LinearTests covers them.
m, k, n = 5, 7, 3
for cname, cshape in [("n", (n,)), ("1n", (1, n)), ("m1", (m, 1)), ("mn", (m, n)), ("one", (1,)),
                      ("none", None)]:
    for ta, tb in [(0, 0), (1, 0), (0, 1), (1, 1)]:
        a = w.randn(k, m) if ta else w.randn(m, k)
        b = w.randn(n, k) if tb else w.randn(k, n)
        c = None if cshape is None else np.asarray(w.randn(*cshape), dtype=np.float32)
        alpha, beta = (0.5, 2.0) if (ta + tb) % 2 else (1.0, 1.0)
        inputs = [a, b] if c is None else [a, b, c]
        w.case(f"gemm_c{cname}_ta{ta}_tb{tb}", "Gemm", inputs,
               {"transA": ta, "transB": tb, "alpha": alpha, "beta": beta}, tolerance="gemm",
               torch_ref=lambda a=a, b=b, c=c, al=alpha, be=beta, ta=ta, tb=tb: gemm_torch(a, b, c, al, be, ta, tb))

# beta = 0 ignores C entirely; alpha = 0 leaves beta · C.
a, b, c = w.randn(4, 6), w.randn(6, 5), w.randn(4, 5)
w.case("gemm_beta0", "Gemm", [a, b, c], {"beta": 0.0}, tolerance="gemm",
       torch_ref=lambda: (T(a) @ T(b)).numpy())
w.case("gemm_alpha0", "Gemm", [a, b, c], {"alpha": 0.0, "beta": -1.5}, tolerance="gemm",
       torch_ref=lambda: (-1.5 * T(c)).numpy())
# Prime sizes large enough for the BLAS to block.
a, b, c = w.randn(37, 53), w.randn(29, 53), w.randn(29)
w.case("gemm_primes", "Gemm", [a, b, c], {"transB": 1}, tolerance="gemm",
       torch_ref=lambda: F.linear(T(a), T(b), T(c)).numpy())

# MatMul: NumPy semantics.
def mm(name, ashape, bshape):
    a, b = w.randn(*ashape), w.randn(*bshape)
    w.case(name, "MatMul", [a, b], tolerance="gemm",
           torch_ref=lambda: torch.matmul(T(a), T(b)).numpy())

mm("matmul_2d", (3, 4), (4, 5))
mm("matmul_1x1", (1, 1), (1, 1))
mm("matmul_primes", (7, 13), (13, 11))
mm("matmul_k1", (5, 1), (1, 6))
mm("matmul_vec_mat", (5,), (5, 3))
mm("matmul_mat_vec", (4, 5), (5,))
mm("matmul_vec_batched", (5,), (2, 5, 3))
mm("matmul_batched_vec", (2, 3, 4, 5), (5,))
mm("matmul_batched_same", (3, 4, 5), (3, 5, 6))
mm("matmul_broadcast_both", (2, 1, 4, 5), (3, 5, 6))
mm("matmul_broadcast_a", (4, 5), (2, 5, 6))
mm("matmul_broadcast_a1", (1, 4, 5), (3, 5, 2))
mm("matmul_fold_2d_weight", (2, 3, 4, 5), (5, 6))
mm("matmul_fold_unit_batch_b", (3, 4, 5), (1, 5, 6))
mm("matmul_batch1", (1, 7, 9), (1, 9, 3))
mm("matmul_rank5", (2, 1, 3, 2, 4), (3, 1, 4, 5))
mm("matmul_empty_m", (0, 4), (4, 3))
mm("matmul_empty_batch", (0, 3, 4), (4, 5))
mm("matmul_empty_k", (3, 0), (0, 5))
mm("matmul_empty_k_batched", (2, 3, 0), (2, 0, 4))
# A transformer's linear layer: [batch, tokens, K] @ [K, N], more rows than the matrix-vector path.
mm("matmul_linear_tokens", (1, 19, 48), (48, 40))
mm("matmul_linear_few_rows", (1, 3, 70), (70, 33))
w.write()
