// The avx512 variant: KilnKernels' generic bodies instantiated with `Vec16` and compiled with this
// module's own CPU target (Package.swift). Only reached after Kiln's CPUID check.
import KilnKernels

/// The avx512 kernel table.
public func avx512KernelTable() -> KernelTable { makeKernelTable(isa: .avx512, vector: Vec16.self) }
