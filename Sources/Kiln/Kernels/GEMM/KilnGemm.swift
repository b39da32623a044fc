import Foundation
import KilnKernels

/// Runs Kiln's own GEMM (`KilnKernels.gemm_f32`) over the inference's threads.
///
/// The output is split into rectangles, one per thread: by columns when there are enough column
/// micro-panels for every thread (each thread packs only its own part of B), otherwise by row
/// panels (each thread packs the same, small, B; A — the weights — is split).
enum KilnGemm {
    /// Below this many multiply-adds a product runs on one thread.
    static let parallelThreshold = 1 << 17

    /// How the output is split over threads.
    enum Split { case automatic, rows, columns }
    /// `KILN_GEMM_SPLIT=rows|columns` forces one split where both are possible (for measuring);
    /// read once per process.
    static let split: Split = {
        switch ProcessInfo.processInfo.environment["KILN_GEMM_SPLIT"] {
        case "rows": return .rows
        case "columns": return .columns
        default: return .automatic
        }
    }()

    /// Computes `problem` with `kernels`, in parallel over `context`'s threads.
    static func run(_ problem: GemmProblem, kernels: KernelTable, context: ExecutionContext) {
        let m = problem.m, n = problem.n
        if m == 0 || n == 0 { return }
        let nr = kernels.nr
        let panels = (m &+ gemmMR &- 1) / gemmMR
        let blocks = (n &+ nr &- 1) / nr
        let workspaceCount = gemmWorkspaceCount(nr: nr)
        let gemm = kernels.gemm
        let threads = m &* n &* max(problem.k, 1) < parallelThreshold ? 1 : context.threads
        if threads <= 1 {
            gemm(problem, 0..<panels, 0..<n, ThreadWorkspace.floats(workspaceCount))
            return
        }
        // Columns: each thread packs only its part of B but streams all of A (from the shared
        // cache). Rows: each thread streams only its part of A but packs all of B. Measured on
        // ResNet-50 at 2 threads (Zen 3), columns won even where A is 50× B (a 7×7 layer's
        // 512 × 4608 weights): duplicated packing costs more than a second pass over A.
        let byColumns: Bool
        switch Self.split {
        case .columns: byColumns = blocks >= threads || panels < threads
        case .rows: byColumns = panels < threads
        case .automatic: byColumns = blocks >= 2 &* threads || blocks >= panels
        }
        if byColumns {
            // Several chunks per thread when there are enough micro-panels (≥ 8 per chunk: each chunk
            // streams all of A once), so a stalled thread's share is taken over (see
            // `ExecutionContext.chunksPerThread`).
            let chunks = min(blocks, max(threads, min(threads &* ExecutionContext.chunksPerThread, blocks / 8)))
            let args = Chunks(problem: problem, gemm: gemm, panels: panels, blocks: blocks, nr: nr, chunks: chunks,
                             workspaceCount: workspaceCount)
            context.parallelFor(chunks, with: args) { raw, c0, c1 in
                let a = raw.load(as: Chunks.self)
                let ws = ThreadWorkspace.floats(a.workspaceCount)
                for t in c0..<c1 {
                    let j0 = a.blocks &* t / a.chunks &* a.nr, j1 = min(a.problem.n, a.blocks &* (t &+ 1) / a.chunks &* a.nr)
                    if j0 < j1 { a.gemm(a.problem, 0..<a.panels, j0..<j1, ws) }
                }
            }
        } else {
            let chunks = min(threads, panels)
            let args = Chunks(problem: problem, gemm: gemm, panels: panels, blocks: blocks, nr: nr, chunks: chunks,
                             workspaceCount: workspaceCount)
            context.parallelFor(chunks, with: args) { raw, c0, c1 in
                let a = raw.load(as: Chunks.self)
                let ws = ThreadWorkspace.floats(a.workspaceCount)
                for t in c0..<c1 {
                    let p0 = a.panels &* t / a.chunks, p1 = a.panels &* (t &+ 1) / a.chunks
                    if p0 < p1 { a.gemm(a.problem, p0..<p1, 0..<a.problem.n, ws) }
                }
            }
        }
    }

    /// What the chunks of a split product read (passed by pointer: see
    /// ``ExecutionContext/parallelFor(_:with:_:)``).
    private struct Chunks {
        var problem: GemmProblem
        var gemm: @Sendable (GemmProblem, Range<Int>, Range<Int>, UnsafeMutablePointer<Float>) -> Void
        var panels: Int, blocks: Int, nr: Int, chunks: Int, workspaceCount: Int
    }
}
