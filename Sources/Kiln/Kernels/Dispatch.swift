import CKilnCPU
import Foundation
import KilnKernels
import KilnKernelsPortable

/// Which of Kiln's kernel variants run.
///
/// The `Kiln` library carries one table of its own, portable (SSE2, 4 lanes), compiled like the rest
/// of the application: it sets no CPU target, so depending on Kiln never needs compiler flags. The
/// AVX2 and AVX-512 variants are KilnKernels' bodies instantiated in modules the *application* builds
/// with `-target-cpu` and hands over with ``install(_:)`` (Kiln's own programs and tests link
/// KilnNativeKernels, which the dispatch finds by itself). Each variant is built only after CPUID
/// says the CPU runs it.
///
/// `KILN_ISA=avx512|avx2|baseline` chooses a variant (for tests and benchmarks); a variant the CPU
/// lacks or the program did not link is never chosen: asking for one falls back to the best
/// available, with a warning on stderr. ``Model/Options/isa`` overrides the choice per model.
public enum KernelDispatch {
    /// The variants this CPU can run, best last (whether or not the program linked them).
    public static let cpuSupported: [KernelISA] = {
        let f = Int(kiln_cpu_features())
        var r: [KernelISA] = [.baseline]
        if f & Int(KILN_CPU_AVX2_FMA) != 0 { r.append(.avx2) }
        if f & Int(KILN_CPU_AVX512) != 0 { r.append(.avx512) }
        return r
    }()

    /// The variants Kiln can run here, best last: those of ``cpuSupported`` the program has
    /// (``install(_:)`` or a linked KilnNativeKernels); always at least `.baseline`.
    public static var supported: [KernelISA] { state.withLock { $0.supported } }

    /// Whether the variants in use came from the program (``install(_:)`` or KilnNativeKernels),
    /// rather than the library's portable table alone.
    public static var hasInstalledVariants: Bool { state.withLock { $0.installed } }

    /// The variant chosen when `KILN_ISA` is not set: the best available one, except AVX2 on AMD's
    /// Zen 4 (family 0x19). Zen 4 executes each 512-bit instruction as two 256-bit halves, so the
    /// AVX-512 variant has no more arithmetic throughput, and measured there its 6×32 GEMM tile
    /// ran at 49–64 GFLOPS against 89–97 for the AVX2 6×16 tile on the same shapes (one core,
    /// EPYC family 0x19 model 0x11, 2026-12-01; EfficientNet-Lite0 19.5 ms against 13.3 ms).
    /// That measurement ran the AVX2 module's Haswell copies of the 16-lane kernels (the linker
    /// merged the two modules' symbols until `ModuleVector`, 2026-12-02), so the choice is to be
    /// measured again on Zen 4. Zen 5 (family 0x1A) has full-width 512-bit units and keeps AVX-512.
    public static var preferredISA: KernelISA { state.withLock { $0.preferred } }

    /// The process default: `KILN_ISA` when set and available, else ``preferredISA``.
    public static var defaultISA: KernelISA { state.withLock { $0.defaultISA } }

    /// Hands Kiln the CPU-specific variants the application built (see `KernelVariants`). Only
    /// those the CPU runs are built, after the CPUID check. Models loaded afterwards use them;
    /// models loaded before keep their kernels. Call it once at start-up, before loading models.
    public static func install(_ variants: KernelVariants) {
        state.withLock { $0 = Resolved(variants: variants) }
    }

    /// The CPU's brand string.
    public static let cpuName: String = {
        var buf = [CChar](repeating: 0, count: 49)
        kiln_cpu_brand(&buf)
        let s = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return s.trimmingCharacters(in: .whitespaces)
    }()

    /// The process default: the table of ``defaultISA`` — with the wide activation pass when that is
    /// the preferred AVX2 on a CPU with AVX-512 and `KILN_ISA` did not ask for a variant.
    static func table() -> KernelTable { state.withLock { $0.defaultTable } }

    /// The kernels of `isa` alone, or of the best available variant below it.
    static func table(_ isa: KernelISA) -> KernelTable { state.withLock { $0.table(isa) } }

    /// The 16-lane kernel bodies on AVX2 (tests of the AVX-512 variant's arithmetic on CPUs without it).
    static var avx2Wide16: KernelTable? { state.withLock { $0.avx2Wide16 } }

    /// The tables in use, built once per ``install(_:)`` (or at first use, from the linked variants).
    private static let state: Locked<Resolved> = {
        if let raw = kiln_linked_kernel_variants() {
            let box = Unmanaged<KernelVariantsBox>.fromOpaque(raw).takeRetainedValue()
            return Locked(Resolved(variants: box.variants))
        }
        return Locked(Resolved(variants: KernelVariants()))
    }()

    /// The tables one set of variants yields on this CPU.
    private struct Resolved {
        let installed: Bool
        let baseline: KernelTable
        let avx2: KernelTable?
        let avx512: KernelTable?
        let avx2Wide16: KernelTable?
        let supported: [KernelISA]
        let preferred: KernelISA
        let defaultISA: KernelISA
        let defaultTable: KernelTable

        init(variants v: KernelVariants) {
            installed = v.baseline != nil || v.avx2 != nil || v.avx512 != nil
            let cpu = KernelDispatch.cpuSupported
            baseline = v.baseline?() ?? portableKernelTable()
            let avx2 = cpu.contains(.avx2) ? v.avx2?(nil) : nil
            let avx512 = cpu.contains(.avx512) ? v.avx512?() : nil
            self.avx2 = avx2
            self.avx512 = avx512
            avx2Wide16 = cpu.contains(.avx2) ? v.avx2Wide16?() : nil
            var supported: [KernelISA] = [.baseline]
            if avx2 != nil { supported.append(.avx2) }
            if avx512 != nil { supported.append(.avx512) }
            self.supported = supported
            var preferred = supported.last!
            if preferred == .avx512, avx2 != nil, kiln_cpu_amd_family() == 0x19 { preferred = .avx2 }
            self.preferred = preferred

            var chosen = preferred
            var requested = false
            if let name = ProcessInfo.processInfo.environment["KILN_ISA"], !name.isEmpty {
                if let isa = KernelISA(rawValue: name.lowercased()) {
                    if supported.contains(isa) {
                        chosen = isa
                        requested = true
                    } else {
                        let why = cpu.contains(isa) ? "not linked into this program (KernelDispatch.install)" : "not supported by this CPU"
                        FileHandle.standardError.write(Data("kiln: KILN_ISA=\(name) is \(why); using \(preferred.rawValue)\n".utf8))
                    }
                } else {
                    FileHandle.standardError.write(Data("kiln: KILN_ISA=\(name) is not one of \(KernelISA.allCases.map(\.rawValue).joined(separator: ", ")); using \(preferred.rawValue)\n".utf8))
                }
            }
            defaultISA = chosen
            // Where AVX2 is preferred over an available AVX-512 (Zen 4): the AVX2 kernels with the
            // AVX-512 variant's SiLU/sigmoid pass (``Epilogue/widePass``), unless `KILN_ISA` asked.
            if !requested, chosen == .avx2, avx512 != nil, let pass = v.avx512ActivationPass?(), let wide = v.avx2?(pass) {
                defaultTable = wide
            } else {
                defaultTable = Resolved.pick(chosen, baseline: baseline, avx2: avx2, avx512: avx512)
            }
        }

        func table(_ isa: KernelISA) -> KernelTable { Resolved.pick(isa, baseline: baseline, avx2: avx2, avx512: avx512) }

        private static func pick(_ isa: KernelISA, baseline: KernelTable, avx2: KernelTable?, avx512: KernelTable?) -> KernelTable {
            switch isa {
            case .avx512: return avx512 ?? avx2 ?? baseline
            case .avx2: return avx2 ?? baseline
            case .baseline: return baseline
            }
        }
    }
}

/// An instruction-set variant of Kiln's kernels (see ``KernelDispatch``).
public typealias KernelISA = KilnKernels.KernelISA
