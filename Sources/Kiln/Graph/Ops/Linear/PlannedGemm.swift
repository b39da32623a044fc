import KilnKernels

/// The prepared form of ``Gemm`` as a linear layer: `Y = act(A · op(W) + bias)` with a constant
/// weight `W` and a constant one-row bias (already scaled by `beta`).
///
/// At small batch (at most ``gemvRows`` rows of `A`) each row is a matrix–vector product that
/// streams the weights once in their stored layout (`KernelTable.gemv`), split over the model's
/// threads by output. Larger batches take the portable path (OpenBLAS), which amortizes packing.
struct PlannedGemm: SingleOutputOperator {
    static let opType = "Gemm"
    /// Rows of `A` up to which the matrix–vector path runs.
    static let gemvRows = 8
    /// Below this many multiply-adds per row the product runs on one thread.
    static let parallelThreshold = 1 << 16

    /// The portable op (attributes, activation; also the fallback).
    let gemm: Gemm
    /// `B` as stored: `[N, K]` when `transB`, else `[K, N]`.
    let weight: Tensor
    /// `beta · C` as `[N]`, or `nil`.
    let bias: Tensor?
    /// The kernels of the chosen ISA variant.
    let kernels: KernelTable

    init(attributes: Attributes) throws {
        throw KilnError.invalidArgument(op: Self.opType, node: nil, reason: "PlannedGemm is made by the planner, not decoded")
    }

    init(gemm: Gemm, weight: Tensor, bias: Tensor?, kernels: KernelTable) {
        self.gemm = gemm
        self.weight = weight
        self.bias = bias
        self.kernels = kernels
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        guard inputs.count <= 3 else { throw failure("expects 2 or 3 inputs, got \(inputs.count)", context: context) }
        let a = try input(inputs, 0, "A", context: context)
        try require(a, .float32, "A", context: context)
        guard a.rank == 2 else { throw failure("A must be 2-D, got shape \(a.shape)", context: context) }
        let m = a.shape[0], k = a.shape[1]
        if m > Self.gemvRows {
            return try gemm.run(inputs, context: context)[0]
        }
        let transB = gemm.transB
        let kw = transB ? weight.shape[1] : weight.shape[0]
        let n = transB ? weight.shape[0] : weight.shape[1]
        guard k == kw else { throw gemm.innerDimensionMismatch(a: a.shape, b: weight.shape, k: k, kb: kw, node: context.node) }
        var y = try context.allocate(context.memoized(a.shape) { [m, n] }, dtype: .float32)
        if m == 0 || n == 0 { return y }
        var epilogue = Epilogue(bias: bias.map { $0.pointer(Float.self) })
        gemm.activation.configure(&epilogue)
        let x = a.pointer(Float.self), w = weight.pointer(Float.self), yp = y.mutablePointer(Float.self)
        let threads = n &* k >= Self.parallelThreshold ? context.threads : 1
        Self.gemvBlocks(GemvRows(kernels: kernels, x: x, k: k, w: w, ldw: transB ? k : n, wRowsAreOutputs: transB,
                                 outputs: n, rows: m, y: yp, epilogue: epilogue),
                        context: ExecutionContext(threads: threads, pool: context.pool))
        withExtendedLifetime((a, weight, bias)) {}
        return y
    }

    /// `y[i] = W·x[i]` with the epilogue for each row `i` of `x`, the outputs split over the
    /// threads in blocks of 32 (whole vectors for every variant).
    static func gemvBlocks(_ rows: GemvRows, context: ExecutionContext) {
        context.parallelFor((rows.outputs &+ 31) / 32, with: rows) { raw, b0, b1 in
            let r = raw.load(as: GemvRows.self)
            let range = (b0 &* 32)..<min(r.outputs, b1 &* 32)
            for i in 0..<r.rows {
                r.kernels.gemv(r.x + i &* r.k, r.k, r.w, r.ldw, r.wRowsAreOutputs, range, r.y + i &* r.outputs, r.epilogue)
            }
        }
    }
}

/// Matrix–vector products of ``PlannedGemm/gemvBlocks(_:context:)``: `rows` vectors of `k` floats
/// in `x`, each giving `outputs` floats in `y` (the arguments of ``KernelTable/gemv``).
struct GemvRows {
    var kernels: KernelTable
    var x: UnsafePointer<Float>, k: Int
    var w: UnsafePointer<Float>, ldw: Int, wRowsAreOutputs: Bool
    var outputs: Int, rows: Int
    var y: UnsafeMutablePointer<Float>
    var epilogue: Epilogue
}
