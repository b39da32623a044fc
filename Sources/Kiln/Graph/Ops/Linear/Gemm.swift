import KilnKernels

/// ONNX `Gemm`: `Y = alpha · op(A) · op(B) + beta · C`, float32, where `op` transposes when
/// `transA` / `transB` is set. `A` is `[M, K]` (`[K, M]` transposed), `B` is `[K, N]` (`[N, K]`
/// transposed) and the optional `C` broadcasts unidirectionally to `[M, N]` (scalar, `[N]`,
/// `[1, N]`, `[M, 1]`, `[M, N]`, …).
///
/// An optimizer can attach a ``FusedActivation`` (Relu or Clip) that is applied after the bias.
struct Gemm: FusableOperator, PreparableOperator {
    static let opType = "Gemm"

    let alpha: Float
    let beta: Float
    let transA: Bool
    let transB: Bool
    /// Applied to `Y` after the bias (set by graph fusion, never by an ONNX attribute).
    let activation: FusedActivation

    init(attributes: Attributes) throws {
        try self.init(attributes: attributes, activation: .none)
    }

    /// The same Gemm followed by `activation` (for the activation-fusion pass, which only fuses
    /// a Clip whose bounds are ordered, so this cannot fail).
    func fused(with activation: FusedActivation) -> any Operator {
        let attrs = Attributes(op: Self.opType, ["alpha": .float(alpha), "beta": .float(beta),
                                                 "transA": .int(transA ? 1 : 0), "transB": .int(transB ? 1 : 0)])
        return (try? Gemm(attributes: attrs, activation: activation)) ?? self
    }

    /// The linear-layer form (``PlannedGemm``) when `B` is a constant weight, `A` is not transposed,
    /// `alpha` is 1 and `C` is absent or a constant bias of one row; otherwise `nil`.
    func prepared(inputs: [String], constants: [Tensor?], kernels: KernelTable, node: String) throws -> (any Operator)? {
        guard !transA, alpha == 1, constants.count > 1, let w = constants[1], w.dtype == .float32, w.rank == 2 else { return nil }
        let n = transB ? w.shape[0] : w.shape[1]
        var bias: Tensor? = nil
        if inputs.count > 2, !inputs[2].isEmpty, beta != 0 {
            guard let c = constants[2], c.dtype == .float32 else { return nil }
            // One row of bias: scalar, [1], [N], [1, 1] or [1, N]; anything with M rows waits for M.
            let rows = c.rank == 2 ? c.shape[0] : 1
            let cols = c.rank == 0 ? 1 : c.shape[c.rank - 1]
            guard c.rank <= 2, rows == 1, cols == 1 || cols == n else { return nil }
            var b = try Tensor(uninitialized: [n], dtype: .float32)
            let src = c.pointer(Float.self), dst = b.mutablePointer(Float.self)
            for j in 0..<n { dst[j] = beta * src[cols == 1 ? 0 : j] }
            bias = b
        }
        return PlannedGemm(gemm: self, weight: w, bias: bias, kernels: kernels)
    }

    /// Decodes the ONNX attributes and attaches a fused activation.
    init(attributes: Attributes, activation: FusedActivation) throws {
        try attributes.rejectUnknown(["alpha", "beta", "transA", "transB"])
        alpha = try attributes.float("alpha", default: 1)
        beta = try attributes.float("beta", default: 1)
        let ta = try attributes.int("transA", default: 0)
        let tb = try attributes.int("transB", default: 0)
        guard ta == 0 || ta == 1 else { throw attributes.error("transA must be 0 or 1, got \(ta)") }
        guard tb == 0 || tb == 1 else { throw attributes.error("transB must be 0 or 1, got \(tb)") }
        transA = ta == 1
        transB = tb == 1
        if case let .clip(lo, hi) = activation, !(lo <= hi) {
            throw attributes.error("fused Clip needs min <= max, got min \(lo), max \(hi)")
        }
        self.activation = activation
    }

    /// The error for `A`'s K differing from `B`'s (shared with ``PlannedGemm``).
    func innerDimensionMismatch(a: [Int], b: [Int], k: Int, kb: Int, node: String?) -> KilnError {
        .shapeMismatch(op: Self.opType, node: node,
                       tensor: "inner dimension of B (A \(a) transA=\(transA ? 1 : 0), B \(b) transB=\(transB ? 1 : 0))",
                       expected: [k], got: [kb])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count <= 3 else { throw failure("expects 2 or 3 inputs, got \(inputs.count)", context: context) }
        let a = try input(inputs, 0, "A", context: context)
        let b = try input(inputs, 1, "B", context: context)
        let c = optionalInput(inputs, 2)
        try require(a, .float32, "A", context: context)
        try require(b, .float32, "B", context: context)
        guard a.rank == 2 else { throw failure("A must be 2-D, got shape \(a.shape)", context: context) }
        guard b.rank == 2 else { throw failure("B must be 2-D, got shape \(b.shape)", context: context) }
        let m = transA ? a.shape[1] : a.shape[0]
        let k = transA ? a.shape[0] : a.shape[1]
        let kb = transB ? b.shape[1] : b.shape[0]
        let n = transB ? b.shape[0] : b.shape[1]
        guard k == kb else { throw innerDimensionMismatch(a: a.shape, b: b.shape, k: k, kb: kb, node: context.node) }
        try Sgemm.checkDimensions(m, n, k, a.shape[1], b.shape[1], op: Self.opType, node: context.node)

        // C as [rows, cols] with each of rows ∈ {1, M}, cols ∈ {1, N}.
        var bias: (tensor: Tensor, rows: Int, cols: Int)? = nil
        if let c, beta != 0 {
            try require(c, .float32, "C", context: context)
            let rows: Int, cols: Int
            switch c.rank {
            case 0: rows = 1; cols = 1
            case 1: rows = 1; cols = c.shape[0]
            case 2: rows = c.shape[0]; cols = c.shape[1]
            default: rows = -1; cols = -1
            }
            guard (rows == 1 || rows == m), (cols == 1 || cols == n) else {
                throw KilnError.shapeMismatch(op: Self.opType, node: context.node,
                                              tensor: "C (not unidirectionally broadcastable to [M, N])",
                                              expected: [m, n], got: c.shape)
            }
            bias = (c, rows, cols)
        } else if let c {
            // beta == 0: C does not contribute, but it must still be a float32 tensor.
            try require(c, .float32, "C", context: context)
        }

        var y = try context.allocate([m, n], dtype: .float32)
        let yp = y.mutablePointer(Float.self)
        if let bias {
            gemmBroadcastBias_f32(bias.tensor.pointer(Float.self), cRows: bias.rows, cCols: bias.cols, beta: beta, yp, m: m, n: n)
        }
        Sgemm.run(transA: transA, transB: transB, m: m, n: n, k: k,
                  alpha: alpha, a: a.pointer(Float.self), lda: a.shape[1],
                  b: b.pointer(Float.self), ldb: b.shape[1],
                  beta: bias == nil ? 0 : 1, c: yp, ldc: n, context: context)
        gemmApplyActivation_f32(yp, count: m &* n, activation)
        withExtendedLifetime((a, b, bias?.tensor)) {}
        return [y]
    }
}
