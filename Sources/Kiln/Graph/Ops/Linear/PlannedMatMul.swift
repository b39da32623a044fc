import KilnKernels

/// The prepared form of ``MatMul`` with a constant 2-D weight `B` (`[K, N]`): `B` is packed once,
/// at load, into the micro-panels of Kiln's GEMM, so a transformer's linear layers run on Kiln's
/// kernels for the CPU at hand instead of on whatever core OpenBLAS detected. The packed panels
/// replace the stored weight (no second copy is kept).
///
/// `A` (`[..., M, K]`, any leading dimensions, or `[K]`) is one `[rows × K]` matrix. At most
/// ``PlannedGemm/gemvRows`` rows run as matrix–vector products over the packed panels (each panel
/// read once per row), more as one GEMM split over the model's threads.
struct PlannedMatMul: Operator {
    static let opType = "MatMul"

    /// `B`'s shape, `[K, N]`.
    let weightShape: [Int]
    /// `B` packed by `KernelTable.packB` (`gemmPackedBCount(k:n:nr:)` floats).
    let packed: Tensor
    /// A bias fused by the optimizer (`N` values, added per column in the epilogue), or `nil`.
    let bias: Tensor?
    /// The kernels of the chosen ISA variant.
    let kernels: KernelTable

    init(attributes: Attributes) throws {
        throw KilnError.invalidArgument(op: Self.opType, node: nil, reason: "PlannedMatMul is made by the planner, not decoded")
    }

    /// Packs `weight` (`[K, N]`, float32) for `kernels`; `bias`, if any, has `N` values.
    init(weight: Tensor, bias: Tensor? = nil, kernels: KernelTable) throws {
        let k = weight.shape[0], n = weight.shape[1]
        weightShape = weight.shape
        self.bias = bias
        self.kernels = kernels
        var p = try PreparedWeightMemory.floats(max(1, gemmPackedBCount(k: k, n: n, nr: kernels.nr)))
        if k > 0 && n > 0 {
            kernels.packB(weight.pointer(Float.self), n, k, n, p.mutablePointer(Float.self))
        }
        packed = p
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 2 || inputs.count == 3 else { throw failure("expects 2 inputs, got \(inputs.count)", context: context) }
        let a = try input(inputs, 0, "A", context: context)
        try require(a, .float32, "A", context: context)
        guard a.rank >= 1 else { throw failure("input A must have rank >= 1, got \(a.shape)", context: context) }
        let geometry = try MatMulGeometry(a: a.shape, b: weightShape, node: context.node)
        var y = try context.allocate(geometry.outputShape, dtype: .float32)
        if y.count == 0 { return [y] }
        let rows = geometry.batchCount &* geometry.m, n = geometry.n, k = geometry.k
        let x = a.pointer(Float.self), yp = y.mutablePointer(Float.self), b = packed.pointer(Float.self)
        let nr = kernels.nr
        let bp = bias?.pointer(Float.self)
        if k == 0 {
            for r in 0..<rows { for j in 0..<n { yp[r &* n &+ j] = bp?[j] ?? 0 } }
        } else if rows <= PlannedGemm.gemvRows {
            // Matrix–vector products, one micro-panel (nr outputs, [K × nr]) at a time.
            let panels = (n &+ nr &- 1) / nr
            let threads = n &* k >= PlannedGemm.parallelThreshold ? context.threads : 1
            // Each panel is a matrix–vector product of its own (nr outputs of stride nr).
            let args = GemvRows(kernels: kernels, x: x, k: k, w: b, ldw: nr, wRowsAreOutputs: false, outputs: n, rows: rows,
                                y: yp, epilogue: Epilogue(bias: bp))
            ExecutionContext(threads: threads, pool: context.pool).parallelFor(panels, with: args) { raw, p0, p1 in
                let g = raw.load(as: GemvRows.self)
                let nr = g.ldw
                for panel in p0..<p1 {
                    let j0 = panel &* nr, cols = min(nr, g.outputs &- j0)
                    for r in 0..<g.rows {
                        g.kernels.gemv(g.x + r &* g.k, g.k, g.w + panel &* g.k &* nr, nr, false, 0..<cols,
                                       g.y + (r &* g.outputs &+ j0), Epilogue(bias: g.epilogue.bias.map { $0 + j0 }))
                    }
                }
            }
        } else {
            let problem = GemmProblem(m: rows, n: n, k: k, a: .matrix(x, lda: k), b: .packed(b), c: yp, ldc: n,
                                      epilogue: Epilogue(bias: bp), biasPerColumn: true)
            KilnGemm.run(problem, kernels: kernels, context: context)
        }
        withExtendedLifetime((a, packed, bias)) {}
        return [y]
    }
}
