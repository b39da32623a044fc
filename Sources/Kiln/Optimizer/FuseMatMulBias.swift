extension Optimizer {
    /// Folds `Add(MatMul(x, W), b)` — a linear layer as transformers export it when `x` has more
    /// than two dimensions — into the `MatMul`, which then adds `b` per output column in its GEMM
    /// epilogue instead of in a separate pass over the output.
    ///
    /// Applies when `W` is a constant `[K, N]`, `b` a constant with `N` elements whose last
    /// dimension is `N` (`[N]`, `[1, N]`, `[1, 1, N]`), and the MatMul's output has no other reader
    /// and is not a graph output. The fused `MatMul` carries `b` as a third input (internal; the
    /// portable `MatMul` accepts it too).
    static func fuseMatMulBias(_ g: Graph) -> Graph {
        fuseAddIntoProducer(g) { mm, _, biasName, _ in
            guard mm.op == "MatMul", mm.inputs.count == 2, let bias = g.constants[biasName], bias.dtype == .float32,
                  let w = g.constants[mm.inputs[1]], w.rank == 2, w.dtype == .float32,
                  let last = bias.shape.last, last == w.shape[1], bias.count == last else { return nil }
            var fused = mm
            fused.inputs = mm.inputs + [biasName]
            return fused
        }
    }
}
