import CBLAS

/// Single-precision GEMM through OpenBLAS: `C = alpha * op(A) * op(B) + beta * C`, row-major.
///
/// Every matrix product in Kiln goes through here, so that the BLAS and its thread count are
/// configured in one place.
enum Sgemm {
    /// `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`.
    /// - Parameters:
    ///   - transA, transB: Whether A (stored `k×m`) / B (stored `n×k`) are transposed.
    ///   - lda, ldb, ldc: Leading dimensions (row strides) in elements.
    @inline(__always)
    static func run(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                    alpha: Float, a: UnsafePointer<Float>, lda: Int,
                    b: UnsafePointer<Float>, ldb: Int,
                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
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
