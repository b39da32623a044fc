// Kiln's kernel bodies with 8-lane vectors, compiled for AVX2 + FMA (this module's -target-cpu).
import KilnKernels

/// Tags this module's kernel instantiations (``ModuleVector``), so their symbols are its own.
enum ConsumerAVX2 {}

/// The AVX2 table; `widePass` is an AVX-512 SiLU/sigmoid pass Kiln may pass on Zen 4.
public func avx2Kernels(widePass: ActivationPass?) -> KernelTable {
    makeKernelTable(isa: .avx2, vector: ModuleVector<Vec8, ConsumerAVX2>.self, widePass: widePass)
}
