// The CPU-specific kernels of Kiln's own programs (`kiln`, `kiln-bench`, `kiln-serve`) and tests.
//
// This target belongs to no library product: its three variant modules are built with `-target-cpu`
// (Package.swift), a choice an application makes for itself. Linking it is enough: Kiln's dispatch
// finds `kiln_native_kernel_variants` through a weak reference (Sources/CKilnCPU) at its first use
// and calls each variant only after the CPUID check. An application does the same with its own
// modules and `KernelDispatch.install(_:)` (Examples/Consumer).
import KilnKernels
import KilnKernelsAVX2
import KilnKernelsAVX512
import KilnKernelsBaseline

/// The baseline (built with `-O` even in debug builds), AVX2 and AVX-512 variants.
public let nativeKernelVariants = KernelVariants(
    baseline: { baselineKernelTable() },
    avx2: { avx2KernelTable(widePass: $0) },
    avx512: { avx512KernelTable() },
    avx512ActivationPass: { avx512ActivationPass },
    avx2Wide16: { avx2Wide16KernelTable() })

/// The link-time hook Kiln's dispatch looks for: ``nativeKernelVariants``, retained, in a
/// `KernelVariantsBox`.
@_cdecl("kiln_native_kernel_variants")
public func kilnNativeKernelVariants() -> UnsafeMutableRawPointer {
    Unmanaged.passRetained(KernelVariantsBox(nativeKernelVariants)).toOpaque()
}
