import KilnKernels

/// ONNX `MatMul` with NumPy semantics, float32: a 1-D `A` is promoted to `[1, K]` and a 1-D `B` to
/// `[K, 1]` (the added dimension is removed from the result), and the leading (batch) dimensions
/// broadcast, so `[2, 1, 4, 5] @ [3, 5, 6]` is `[2, 3, 4, 6]`.
///
/// Each batch is one `Sgemm`; when `B` has no batch dimensions of its own (a 2-D weight), the
/// batches of `A` are folded into `M` and the whole product is a single GEMM.
struct MatMul: PreparableOperator {
    static let opType = "MatMul"

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown([])
    }

    /// With a constant 2-D float32 `B` (a linear layer's weight, as transformers export them):
    /// ``PlannedMatMul``, `B` packed once for Kiln's GEMM. Otherwise the portable form.
    func prepared(inputs: [String], constants: [Tensor?], kernels: KernelTable, node: String) throws -> (any Operator)? {
        guard constants.count == 2 || constants.count == 3, let b = constants[1], b.dtype == .float32, b.rank == 2 else { return nil }
        var bias: Tensor? = nil
        if constants.count == 3 {
            // A fused bias (`fuseMatMulBias`) must be a constant of N values.
            guard let c = constants[2], c.dtype == .float32, c.count == b.shape[1], c.shape.last == b.shape[1] else { return nil }
            bias = c
        }
        return try PlannedMatMul(weight: b, bias: bias, kernels: kernels)
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 2 || inputs.count == 3 else { throw failure("expects 2 inputs, got \(inputs.count)", context: context) }
        let a = try input(inputs, 0, "A", context: context)
        let b = try input(inputs, 1, "B", context: context)
        try require(a, .float32, "A", context: context)
        try require(b, .float32, "B", context: context)
        guard a.rank >= 1, b.rank >= 1 else {
            throw failure("inputs must have rank >= 1, got A \(a.shape) and B \(b.shape)", context: context)
        }
        let plan = try MatMulGeometry(a: a.shape, b: b.shape, node: context.node)
        var y = try context.allocate(plan.outputShape, dtype: .float32)
        if y.count == 0 {
            return [y]
        }
        let m = plan.m, n = plan.n, k = plan.k
        try Sgemm.checkDimensions(m, n, k, op: Self.opType, node: context.node)
        let ap = a.pointer(Float.self), bp = b.pointer(Float.self)
        let yp = y.mutablePointer(Float.self)
        if plan.bBatchCount == 1 && plan.aBatchCount == plan.batchCount {
            // A's batches are contiguous rows: one GEMM of [batch·M, K] · [K, N].
            let rows = plan.batchCount &* m
            try Sgemm.checkDimensions(rows, op: Self.opType, node: context.node)
            Sgemm.run(transA: false, transB: false, m: rows, n: n, k: k, alpha: 1, a: ap, lda: k,
                      b: bp, ldb: n, beta: 0, c: yp, ldc: n, context: context)
        } else {
            for batch in 0..<plan.batchCount {
                let (ai, bi) = plan.operandBatches(batch)
                Sgemm.run(transA: false, transB: false, m: m, n: n, k: k, alpha: 1,
                          a: ap + ai &* (m &* k), lda: k,
                          b: bp + bi &* (k &* n), ldb: n,
                          beta: 0, c: yp + batch &* (m &* n), ldc: n, context: context)
            }
        }
        if inputs.count == 3, let bias = inputs[2] {
            // A bias fused by the optimizer (`fuseMatMulBias`): N values, added per column.
            try require(bias, .float32, "bias", context: context)
            guard bias.count == n, bias.shape.last == n else {
                throw KilnError.shapeMismatch(op: Self.opType, node: context.node, tensor: "fused bias", expected: [n], got: bias.shape)
            }
            let bp = bias.pointer(Float.self)
            for r in 0..<(y.count / n) {
                let row = yp + r &* n
                for j in 0..<n { row[j] += bp[j] }
            }
        }
        withExtendedLifetime((a, b, inputs.count == 3 ? inputs[2] : nil)) {}
        return [y]
    }
}

/// The shapes of one `MatMul`: matrix sizes, broadcast batch dimensions and the output shape.
struct MatMulGeometry: Equatable {
    var m: Int
    var k: Int
    var n: Int
    /// Broadcast batch dimensions of the output.
    var batch: [Int]
    /// A's and B's batch dimensions, left-padded with 1 to `batch.count`.
    var aBatch: [Int]
    var bBatch: [Int]
    var outputShape: [Int]

    var batchCount: Int { batch.reduce(1, &*) }
    var aBatchCount: Int { aBatch.reduce(1, &*) }
    var bBatchCount: Int { bBatch.reduce(1, &*) }

    /// - Throws: ``KilnError/shapeMismatch(op:node:tensor:expected:got:)`` when the inner dimensions
    ///   differ or the batch dimensions do not broadcast.
    init(a: [Int], b: [Int], node: String?) throws {
        let aMat = a.count == 1 ? [1, a[0]] : Array(a.suffix(2))
        let bMat = b.count == 1 ? [b[0], 1] : Array(b.suffix(2))
        m = aMat[0]; k = aMat[1]; n = bMat[1]
        guard bMat[0] == k else {
            throw KilnError.shapeMismatch(op: "MatMul", node: node,
                                          tensor: "inner dimension of B (A \(a), B \(b))", expected: [k], got: [bMat[0]])
        }
        let ab = a.count > 2 ? Array(a.dropLast(2)) : []
        let bb = b.count > 2 ? Array(b.dropLast(2)) : []
        let rank = max(ab.count, bb.count)
        aBatch = [Int](repeating: 1, count: rank - ab.count) + ab
        bBatch = [Int](repeating: 1, count: rank - bb.count) + bb
        batch = []
        for i in 0..<rank {
            let x = aBatch[i], y = bBatch[i]
            guard x == y || x == 1 || y == 1 else {
                throw KilnError.shapeMismatch(op: "MatMul", node: node,
                                              tensor: "batch dimensions of A \(a) and B \(b) (axis \(i) does not broadcast)",
                                              expected: ab, got: bb)
            }
            batch.append(x == 1 ? y : x)
        }
        var out = batch
        if a.count > 1 { out.append(m) }
        if b.count > 1 { out.append(n) }
        outputShape = out
        _ = try Shape.elementCount(outputShape, what: "MatMul output")
    }

    /// The batch indices of A and B that produce output batch `index` (row-major over ``batch``).
    func operandBatches(_ index: Int) -> (a: Int, b: Int) {
        var rem = index, ai = 0, bi = 0, aStride = 1, bStride = 1
        for i in stride(from: batch.count - 1, through: 0, by: -1) {
            let d = batch[i]
            let coord = rem % d
            rem /= d
            if aBatch[i] != 1 { ai &+= coord &* aStride }
            if bBatch[i] != 1 { bi &+= coord &* bStride }
            aStride &*= aBatch[i]
            bStride &*= bBatch[i]
        }
        return (ai, bi)
    }
}
