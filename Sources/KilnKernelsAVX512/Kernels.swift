// The avx512 variant: KilnKernels' generic bodies instantiated with `Vec16` and compiled with this
// module's own CPU target (Package.swift). Only reached after Kiln's CPUID check.
import KilnKernels

/// This module's tag on the vector types (``ModuleVector``): every kernel it instantiates gets a
/// symbol no other kernel module shares, so the linker cannot swap in another module's copy
/// compiled for another CPU.
enum AVX512Module {}

/// The avx512 kernel table.
public func avx512KernelTable() -> KernelTable { makeKernelTable(isa: .avx512, vector: ModuleVector<Vec16, AVX512Module>.self) }

/// `Epilogue.activateInPlace` with 16-lane vectors, compiled for AVX-512: the wide pass the AVX2
/// table uses on AMD Zen 4 (``Epilogue/widePass``). Only call it after the CPUID check for AVX-512.
public let avx512ActivationPass: ActivationPass = { p, count, activation in
    Epilogue(activation: Epilogue.Activation(rawValue: activation) ?? .none).activateInPlace(p, count: count, vector: ModuleVector<Vec16, AVX512Module>.self)
}
