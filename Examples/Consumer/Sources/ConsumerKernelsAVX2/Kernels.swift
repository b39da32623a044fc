// Kiln's kernel bodies with 8-lane vectors, compiled for AVX2 + FMA (this module's -target-cpu).
import KilnKernels

/// The AVX2 table; `widePass` is an AVX-512 SiLU/sigmoid pass Kiln may pass on Zen 4.
public func avx2Kernels(widePass: ActivationPass?) -> KernelTable {
    makeKernelTable(isa: .avx2, vector: Vec8.self, widePass: widePass)
}
