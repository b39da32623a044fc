import CBLAS

/// Which kernel set OpenBLAS runs. A `DYNAMIC_ARCH` OpenBLAS (Debian's, Ubuntu's) picks it from the
/// CPU at load unless `OPENBLAS_CORETYPE` forces one; on an AVX-512 CPU, forcing an AVX2 core
/// (`Haswell`) costs about a third of GEMM throughput (ResNet-18: 21.6 ms with `Haswell`, 15.0 ms
/// with the detected `Cooperlake`, 2 threads). Benchmarks print it so numbers can be compared.
enum BLASCore {
    /// The kernel set OpenBLAS uses (`Haswell`, `SkylakeX`, `Cooperlake`, …).
    static var name: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }
}
