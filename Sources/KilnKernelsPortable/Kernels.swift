// The library's own kernel table: KilnKernels' generic bodies instantiated with `Vec4` and compiled
// like any other module of the application (no CPU target, no flags), so the `Kiln` library runs on
// any x86-64. CPU-specific variants come from the application (`KernelVariants`).
import KilnKernels

/// The portable (SSE2, 4-lane) kernel table built into the `Kiln` library.
public func portableKernelTable() -> KernelTable { makeKernelTable(isa: .baseline, vector: Vec4.self) }
