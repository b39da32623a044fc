import CBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Single-precision GEMM through OpenBLAS: `C = alpha * op(A) * op(B) + beta * C`, row-major.
///
/// Every matrix product in Kiln goes through here, so that the BLAS and its thread count are
/// configured in one place. OpenBLAS runs single-threaded: Kiln partitions large products over its
/// own pool (``run(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:context:)``), so that one
/// thread budget covers both and concurrent inferences do not multiply OpenBLAS's threads.
enum Sgemm {
    /// Makes OpenBLAS single-threaded, once per process, and stops the worker threads a threaded
    /// OpenBLAS started when it was loaded (see ``stopServerThreads()``). `Model` touches this
    /// first thing at load.
    static let singleThreaded: Bool = {
        openblas_set_num_threads(1)
        stopServerThreads()
        return true
    }()

    /// Joins the worker threads of a threaded OpenBLAS, if it has any.
    ///
    /// Debian's pthread OpenBLAS (0.3.21) starts one worker per extra core when the library is
    /// loaded, before `main`; each polls for work with `sched_yield` for about 2^28 cycles (~0.1 s)
    /// before it sleeps, and `openblas_set_num_threads(1)` does not stop it. Kiln never hands
    /// OpenBLAS work for those threads, but while they poll they take a core from the load (on a
    /// 2-core machine, from the second thread of the model's pool). `blas_thread_shutdown_` (the
    /// function OpenBLAS's own fork handler calls) joins them; should OpenBLAS ever need them again
    /// it starts them anew. The serial and OpenMP builds export no such function or do no
    /// polling, so it is looked up at run time and skipped when absent.
    static func stopServerThreads() {
        guard let process = dlopen(nil, RTLD_NOW) else { return }
        defer { dlclose(process) }
        guard let symbol = dlsym(process, "blas_thread_shutdown_") else { return }
        typealias Shutdown = @convention(c) () -> Int32
        _ = unsafeBitCast(symbol, to: Shutdown.self)()
    }

    /// Below this many multiply-adds a product runs on one thread: splitting costs more than it saves.
    static let parallelThreshold = 1 << 18

    /// Like ``run(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` but split over
    /// `context`'s threads: by columns of C when it is wide, otherwise by rows.
    static func run(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                    alpha: Float, a: UnsafePointer<Float>, lda: Int,
                    b: UnsafePointer<Float>, ldb: Int,
                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                    context: ExecutionContext) {
        let work = m &* n &* k
        let threads = context.threads
        if threads <= 1 || work < parallelThreshold {
            run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        var args = Split(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                         beta: beta, c: c, ldc: ldc, blocks: 0, chunks: 0)
        if n >= m {
            // Column blocks, multiples of 16 so each thread's panel stays vector-aligned.
            let blocks = (n + 15) / 16
            let chunks = min(threads, blocks)
            args.blocks = blocks
            args.chunks = chunks
            context.parallelFor(chunks, with: args) { raw, c0, c1 in
                let s = raw.load(as: Split.self)
                let (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, blocks, chunks) =
                    (s.transA, s.transB, s.m, s.n, s.k, s.alpha, s.a, s.lda, s.b, s.ldb, s.beta, s.c, s.ldc, s.blocks, s.chunks)
                for t in c0..<c1 {
                    let j0 = blocks * t / chunks * 16, j1 = min(n, blocks * (t + 1) / chunks * 16)
                    if j0 >= j1 { continue }
                    // op(B) columns j0..<j1: for B stored k×n they start at b + j0; transposed (n×k), at b + j0·ldb.
                    let bj = transB ? b + j0 * ldb : b + j0
                    Sgemm.run(transA: transA, transB: transB, m: m, n: j1 - j0, k: k, alpha: alpha, a: a, lda: lda,
                        b: bj, ldb: ldb, beta: beta, c: c + j0, ldc: ldc)
                }
            }
        } else {
            args.chunks = min(threads, m)
            context.parallelFor(args.chunks, with: args) { raw, c0, c1 in
                let s = raw.load(as: Split.self)
                let (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, chunks) =
                    (s.transA, s.transB, s.m, s.n, s.k, s.alpha, s.a, s.lda, s.b, s.ldb, s.beta, s.c, s.ldc, s.chunks)
                for t in c0..<c1 {
                    let i0 = m * t / chunks, i1 = m * (t + 1) / chunks
                    if i0 >= i1 { continue }
                    // op(A) rows i0..<i1: for A stored m×k they start at a + i0·lda; transposed (k×m), at a + i0.
                    let ai = transA ? a + i0 : a + i0 * lda
                    Sgemm.run(transA: transA, transB: transB, m: i1 - i0, n: n, k: k, alpha: alpha, a: ai, lda: lda,
                        b: b, ldb: ldb, beta: beta, c: c + i0 * ldc, ldc: ldc)
                }
            }
        }
    }

    /// One split product as its chunks read it (passed by pointer: see
    /// ``ExecutionContext/parallelFor(_:with:_:)``); `blocks` and `chunks` describe the split.
    private struct Split {
        var transA: Bool, transB: Bool, m: Int, n: Int, k: Int
        var alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int
        var beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
        var blocks: Int, chunks: Int
    }

    /// `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`.
    /// - Parameters:
    ///   - transA, transB: Whether A (stored `k×m`) / B (stored `n×k`) are transposed.
    ///   - lda, ldb, ldc: Leading dimensions (row strides) in elements.
    @inline(__always)
    static func run(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                    alpha: Float, a: UnsafePointer<Float>, lda: Int,
                    b: UnsafePointer<Float>, ldb: Int,
                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = singleThreaded
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS leaves C untouched only when beta == 1; make the empty product explicit.
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }

    /// Sets how many threads OpenBLAS uses for subsequent calls (process-wide).
    static func setThreads(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }

    /// The number of threads OpenBLAS currently uses.
    static var threads: Int { Int(openblas_get_num_threads()) }
}

extension Sgemm {
    /// The largest dimension or leading dimension CBLAS accepts (its integers are 32-bit).
    static let maxDimension = Int(Int32.max)

    /// Throws unless every value fits CBLAS's 32-bit integers.
    /// - Throws: ``KilnError/invalidArgument(op:node:reason:)`` naming `op`.
    static func checkDimensions(_ dims: Int..., op: String, node: String?) throws {
        for d in dims where d > maxDimension {
            throw KilnError.invalidArgument(op: op, node: node, reason: "matrix dimension \(d) exceeds the BLAS limit \(maxDimension)")
        }
    }
}
