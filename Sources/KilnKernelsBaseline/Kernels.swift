// The baseline variant of Kiln's own programs: KilnKernels' generic bodies instantiated with `Vec4`,
// optimized even in debug builds (Package.swift). Part of KilnNativeKernels, not of the library.
import KilnKernels

/// This module's tag on the vector types (``ModuleVector``): every kernel it instantiates gets a
/// symbol no other kernel module shares, so the linker cannot swap in another module's copy
/// compiled for another CPU.
enum BaselineModule {}

/// The baseline kernel table.
public func baselineKernelTable() -> KernelTable { makeKernelTable(isa: .baseline, vector: ModuleVector<Vec4, BaselineModule>.self) }
