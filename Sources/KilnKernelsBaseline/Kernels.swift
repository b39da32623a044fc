// The baseline variant of Kiln's own programs: KilnKernels' generic bodies instantiated with `Vec4`,
// optimized even in debug builds (Package.swift). Part of KilnNativeKernels, not of the library.
import KilnKernels

/// The baseline kernel table.
public func baselineKernelTable() -> KernelTable { makeKernelTable(isa: .baseline, vector: Vec4.self) }
