// The avx512 variant: KilnKernels' generic bodies instantiated with `Vec16` and compiled with this
// module's own CPU target (Package.swift). Only reached after Kiln's CPUID check.
import KilnKernels

/// The avx512 kernel table.
public func avx512KernelTable() -> KernelTable { makeKernelTable(isa: .avx512, vector: Vec16.self) }

/// `Epilogue.activateInPlace` with 16-lane vectors, compiled for AVX-512: the wide pass the AVX2
/// table uses on AMD Zen 4 (``Epilogue/widePass``). Only call it after the CPUID check for AVX-512.
public let avx512ActivationPass: ActivationPass = { p, count, activation in
    Epilogue(activation: Epilogue.Activation(rawValue: activation) ?? .none).activateInPlace(p, count: count, vector: Vec16.self)
}
