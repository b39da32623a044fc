// Kiln's kernel bodies with 16-lane vectors, compiled for AVX-512 (this module's -target-cpu).
import KilnKernels

/// The AVX-512 table.
public func avx512Kernels() -> KernelTable { makeKernelTable(isa: .avx512, vector: Vec16.self) }
