import Foundation
import KilnKernels
import Synchronization

/// The prepared form of ``Gemm`` as a linear layer: `Y = act(A · op(W) + bias)` with a constant
/// weight `W` and a constant one-row bias (already scaled by `beta`).
///
/// At small batch (at most ``gemvRows`` rows of `A`) each row is a matrix–vector product that
/// streams the weights once in their stored layout (`KernelTable.gemv`), split over the model's
/// threads by output. More rows (a transformer's tokens) run Kiln's GEMM on `op(W)` packed into
/// micro-panels on first use (``PackedLinearWeight``), not OpenBLAS: on a CPU newer than the
/// distribution's OpenBLAS, its SSE3 fallback ran ViT-B/16's attention projections at a quarter
/// of the speed of the same shapes in ``PlannedMatMul``.
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
    /// `op(W)` packed for Kiln's GEMM, on first use with more than ``gemvRows`` rows.
    let packed: PackedLinearWeight

    init(attributes: Attributes) throws {
        throw KilnError.invalidArgument(op: Self.opType, node: nil, reason: "PlannedGemm is made by the planner, not decoded")
    }

    init(gemm: Gemm, weight: Tensor, bias: Tensor?, kernels: KernelTable) {
        self.gemm = gemm
        self.weight = weight
        self.bias = bias
        self.kernels = kernels
        packed = PackedLinearWeight(weight: weight, transposed: gemm.transB, kernels: kernels)
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        guard inputs.count <= 3 else { throw failure("expects 2 or 3 inputs, got \(inputs.count)", context: context) }
        let a = try input(inputs, 0, "A", context: context)
        try require(a, .float32, "A", context: context)
        guard a.rank == 2 else { throw failure("A must be 2-D, got shape \(a.shape)", context: context) }
        let m = a.shape[0], k = a.shape[1]
        let transB = gemm.transB
        let kw = transB ? weight.shape[1] : weight.shape[0]
        let n = transB ? weight.shape[0] : weight.shape[1]
        if m > Self.gemvRows && k == 0 {
            return try gemm.run(inputs, context: context)[0]
        }
        guard k == kw else { throw gemm.innerDimensionMismatch(a: a.shape, b: weight.shape, k: k, kb: kw, node: context.node) }
        var y = try context.allocate(context.memoized(a.shape) { [m, n] }, dtype: .float32)
        if m == 0 || n == 0 { return y }
        var epilogue = Epilogue(bias: bias.map { $0.pointer(Float.self) })
        gemm.activation.configure(&epilogue)
        if m > Self.gemvRows {
            let b = try packed.panels()
            let problem = GemmProblem(m: m, n: n, k: k, a: .matrix(a.pointer(Float.self), lda: k), b: .packed(b.pointer(Float.self)),
                                      c: y.mutablePointer(Float.self), ldc: n, epilogue: epilogue, biasPerColumn: true)
            KilnGemm.run(problem, kernels: kernels, context: context)
            withExtendedLifetime((a, b, bias)) {}
            return y
        }
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

/// A linear layer's weight packed into the micro-panels of Kiln's GEMM (`[K × N]` as `nr`-wide
/// panels, columns past `N` zero), from `[K, N]` or — `transposed` — `[N, K]`; packed on the first
/// call, under a lock (many inferences may reach the layer at once), then read without one.
/// Unused (batch of at most ``PlannedGemm/gemvRows`` rows), it costs nothing.
final class PackedLinearWeight: @unchecked Sendable {
    private let weight: Tensor
    private let transposed: Bool
    private let kernels: KernelTable
    private let lock = NSLock()
    /// Written once, under `lock`, before `ready` is set.
    private var storage: Tensor?
    private let ready = Atomic<Bool>(false)

    init(weight: Tensor, transposed: Bool, kernels: KernelTable) {
        self.weight = weight
        self.transposed = transposed
        self.kernels = kernels
    }

    /// The packed panels.
    /// - Throws: ``KilnError/outOfMemory(what:byteCount:)`` when the allocation is refused.
    func panels() throws -> Tensor {
        if ready.load(ordering: .acquiring), let storage { return storage }
        lock.lock()
        defer { lock.unlock() }
        if let storage { return storage }
        let k = transposed ? weight.shape[1] : weight.shape[0], n = transposed ? weight.shape[0] : weight.shape[1]
        let nr = kernels.nr
        var p = try PreparedWeightMemory.floats(max(1, gemmPackedBCount(k: k, n: n, nr: nr)))
        let src = weight.pointer(Float.self), dst = p.mutablePointer(Float.self)
        if transposed {
            // Panel j: column c is row j·nr + c of the stored [N, K] weight, read front to back.
            var j0 = 0
            while j0 < n {
                let panel = dst + j0 &* k
                for c in 0..<nr {
                    if j0 &+ c < n {
                        let row = src + (j0 &+ c) &* k
                        for kk in 0..<k { panel[kk &* nr &+ c] = row[kk] }
                    } else {
                        for kk in 0..<k { panel[kk &* nr &+ c] = 0 }
                    }
                }
                j0 &+= nr
            }
        } else if k > 0 && n > 0 {
            kernels.packB(src, n, k, n, dst)
        }
        withExtendedLifetime(weight) {}
        storage = p
        ready.store(true, ordering: .releasing)
        return p
    }
}
