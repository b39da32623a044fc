// The avx2 variant: KilnKernels' generic bodies instantiated with `Vec8` and compiled with this
// module's own CPU target (Package.swift). Only reached after Kiln's CPUID check.
import KilnKernels

/// This module's tag on the vector types (``ModuleVector``): every kernel it instantiates gets a
/// symbol no other kernel module shares, so the linker cannot swap in another module's copy
/// compiled for another CPU.
enum AVX2Module {}

/// The avx2 kernel table.
/// - Parameter widePass: The AVX-512 variant's activation pass (``avx512ActivationPass`` from
///   KilnKernelsAVX512) for SiLU and sigmoid, or `nil`; pass it only after the CPUID check for AVX-512.
public func avx2KernelTable(widePass: ActivationPass? = nil) -> KernelTable {
    makeKernelTable(isa: .avx2, vector: ModuleVector<Vec8, AVX2Module>.self, widePass: widePass)
}

/// The 16-lane kernel bodies compiled for AVX2 (two `ymm` per vector), labelled `.avx512`: lets the
/// tests check the AVX-512 variant's arithmetic (its `Vec16` instantiation) on a CPU without AVX-512.
public func avx2Wide16KernelTable() -> KernelTable { makeKernelTable(isa: .avx512, vector: ModuleVector<Vec16, AVX2Module>.self) }
