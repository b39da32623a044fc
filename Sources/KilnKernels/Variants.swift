/// Kernel tables compiled for particular CPUs, handed to Kiln's dispatch by the program that built
/// them (`KernelDispatch.install(_:)` in Kiln).
///
/// The `Kiln` library itself carries only its portable table, compiled without a CPU target, so it
/// runs on any x86-64 and needs no compiler flags from the package that depends on it. Faster
/// variants are KilnKernels' generic bodies instantiated in a module *of the application's own
/// package* built with `-target-cpu` (Kiln's `kiln`, `kiln-bench` and `kiln-serve` link such modules;
/// `Examples/Consumer` shows the three lines an application needs).
///
/// Each member builds its table when called, so no code of a variant runs before Kiln's CPUID check:
/// `avx2` is called only on a CPU with AVX2 and FMA, `avx512` and `avx512ActivationPass` only on one
/// with AVX-512.
public struct KernelVariants: Sendable {
    /// The 4-lane bodies (optimized even in a debug build of the application, if its module says so);
    /// replaces the library's own portable table.
    public var baseline: (@Sendable () -> KernelTable)?
    /// The 8-lane bodies for AVX2 + FMA; the argument is the AVX-512 activation pass to use for
    /// SiLU/sigmoid (``Epilogue/widePass``) or `nil`.
    public var avx2: (@Sendable (ActivationPass?) -> KernelTable)?
    /// The 16-lane bodies for AVX-512.
    public var avx512: (@Sendable () -> KernelTable)?
    /// `Epilogue.activateInPlace` with 16-lane vectors compiled for AVX-512: the wide pass the AVX2
    /// table uses where AVX2 is preferred on an AVX-512 CPU (AMD Zen 4).
    public var avx512ActivationPass: (@Sendable () -> ActivationPass)?
    /// The 16-lane bodies compiled for AVX2 (labelled `.avx512`): lets tests check the AVX-512
    /// arithmetic on a CPU without AVX-512. Never chosen by the dispatch.
    public var avx2Wide16: (@Sendable () -> KernelTable)?

    /// Variants; leave out what the application does not build.
    public init(baseline: (@Sendable () -> KernelTable)? = nil,
                avx2: (@Sendable (ActivationPass?) -> KernelTable)? = nil,
                avx512: (@Sendable () -> KernelTable)? = nil,
                avx512ActivationPass: (@Sendable () -> ActivationPass)? = nil,
                avx2Wide16: (@Sendable () -> KernelTable)? = nil) {
        self.baseline = baseline
        self.avx2 = avx2
        self.avx512 = avx512
        self.avx512ActivationPass = avx512ActivationPass
        self.avx2Wide16 = avx2Wide16
    }
}

/// ``KernelVariants`` behind a reference, to cross the C boundary of the link-time hook
/// (`kiln_native_kernel_variants`, see Kiln's `KernelDispatch`).
public final class KernelVariantsBox: Sendable {
    /// The variants.
    public let variants: KernelVariants
    /// Boxes `variants`.
    public init(_ variants: KernelVariants) { self.variants = variants }
}
