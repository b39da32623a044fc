// The library's own kernel table: KilnKernels' generic bodies instantiated with `Vec4` and compiled
// like any other module of the application (no CPU target, no flags), so the `Kiln` library runs on
// any x86-64. CPU-specific variants come from the application (`KernelVariants`).
import KilnKernels

/// This module's tag on the vector types (``ModuleVector``): every kernel it instantiates gets a
/// symbol no other kernel module shares, so the linker cannot swap in another module's copy
/// compiled for another CPU.
enum PortableModule {}

/// The portable (SSE2, 4-lane) kernel table built into the `Kiln` library.
public func portableKernelTable() -> KernelTable { makeKernelTable(isa: .baseline, vector: ModuleVector<Vec4, PortableModule>.self) }
