// Kiln's kernel bodies with 16-lane vectors, compiled for AVX-512 (this module's -target-cpu).
import KilnKernels

/// Tags this module's kernel instantiations (``ModuleVector``), so their symbols are its own.
enum ConsumerAVX512 {}

/// The AVX-512 table.
public func avx512Kernels() -> KernelTable { makeKernelTable(isa: .avx512, vector: ModuleVector<Vec16, ConsumerAVX512>.self) }
