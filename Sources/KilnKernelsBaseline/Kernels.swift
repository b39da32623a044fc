// The baseline variant: KilnKernels' generic bodies instantiated with `Vec4` and compiled with this
// module's own CPU target (Package.swift). Only reached after Kiln's CPUID check.
import KilnKernels

/// The baseline kernel table.
public func baselineKernelTable() -> KernelTable { makeKernelTable(isa: .baseline, vector: Vec4.self) }
