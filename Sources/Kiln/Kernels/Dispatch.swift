import CKilnCPU
import Foundation
import KilnKernels
import KilnKernelsAVX2
import KilnKernelsAVX512
import KilnKernelsBaseline

/// Which of Kiln's kernel variants run, chosen once per process from CPUID.
///
/// `KILN_ISA=avx512|avx2|baseline` chooses a variant (for tests and benchmarks); a variant the CPU
/// lacks is never chosen: asking for one falls back to the best supported, with a warning on stderr.
/// ``Model/Options/isa`` overrides the choice per model.
public enum KernelDispatch {
    /// The variants this CPU can run, best last.
    public static let supported: [KernelISA] = {
        let f = Int(kiln_cpu_features())
        var r: [KernelISA] = [.baseline]
        if f & Int(KILN_CPU_AVX2_FMA) != 0 { r.append(.avx2) }
        if f & Int(KILN_CPU_AVX512) != 0 { r.append(.avx512) }
        return r
    }()

    /// The variant chosen when `KILN_ISA` is not set: the best supported one, except AVX2 on AMD's
    /// Zen 4 (family 0x19). Zen 4 executes each 512-bit instruction as two 256-bit halves, so the
    /// AVX-512 variant has no more arithmetic throughput, and measured there its 6×32 GEMM tile
    /// ran at 49–64 GFLOPS against 89–97 for the AVX2 6×16 tile on the same shapes (one core,
    /// EPYC family 0x19 model 0x11, 2026-12-01; EfficientNet-Lite0 19.5 ms against 13.3 ms).
    /// Zen 5 (family 0x1A) has full-width 512-bit units and keeps AVX-512.
    public static let preferredISA: KernelISA = {
        let best = supported.last!
        if best == .avx512, kiln_cpu_amd_family() == 0x19 { return .avx2 }
        return best
    }()

    /// The process default: `KILN_ISA` when set and supported, else ``preferredISA``.
    public static let defaultISA: KernelISA = {
        let best = preferredISA
        guard let requested = ProcessInfo.processInfo.environment["KILN_ISA"], !requested.isEmpty else { return best }
        guard let isa = KernelISA(rawValue: requested.lowercased()) else {
            FileHandle.standardError.write(Data("kiln: KILN_ISA=\(requested) is not one of \(KernelISA.allCases.map(\.rawValue).joined(separator: ", ")); using \(best.rawValue)\n".utf8))
            return best
        }
        guard supported.contains(isa) else {
            FileHandle.standardError.write(Data("kiln: KILN_ISA=\(requested) is not supported by this CPU; using \(best.rawValue)\n".utf8))
            return best
        }
        return isa
    }()

    /// The CPU's brand string.
    public static let cpuName: String = {
        var buf = [CChar](repeating: 0, count: 49)
        kiln_cpu_brand(&buf)
        let s = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return s.trimmingCharacters(in: .whitespaces)
    }()

    private static let baselineTable = baselineKernelTable()
    private static let avx2Table: KernelTable? = supported.contains(.avx2) ? avx2KernelTable() : nil
    private static let avx512Table: KernelTable? = supported.contains(.avx512) ? avx512KernelTable() : nil
    /// Where AVX2 is preferred over a supported AVX-512 (Zen 4): the AVX2 kernels with the AVX-512
    /// variant's SiLU/sigmoid pass (``Epilogue/widePass``), the process default there unless
    /// `KILN_ISA` names a variant.
    private static let avx2WidePassTable: KernelTable? =
        preferredISA == .avx2 && supported.contains(.avx512) ? avx2KernelTable(widePass: avx512ActivationPass) : nil

    /// The process default: the table of ``defaultISA`` — with the wide activation pass when that is
    /// the preferred AVX2 on a CPU with AVX-512 and `KILN_ISA` did not ask for a variant.
    static func table() -> KernelTable { defaultTable }

    private static let defaultTable: KernelTable = {
        let requested = ProcessInfo.processInfo.environment["KILN_ISA"].map { !$0.isEmpty } ?? false
        if !requested, defaultISA == .avx2, let wide = avx2WidePassTable { return wide }
        return table(defaultISA)
    }()

    /// The kernels of `isa` alone, or of the best supported variant below it.
    static func table(_ isa: KernelISA) -> KernelTable {
        switch isa {
        case .avx512: return avx512Table ?? avx2Table ?? baselineTable
        case .avx2: return avx2Table ?? baselineTable
        case .baseline: return baselineTable
        }
    }

    /// The 16-lane kernel bodies on AVX2 (tests of the AVX-512 variant's arithmetic on CPUs without it).
    static var avx2Wide16: KernelTable? { supported.contains(.avx2) ? avx2Wide16KernelTable() : nil }
}

/// An instruction-set variant of Kiln's kernels (see ``KernelDispatch``).
public typealias KernelISA = KilnKernels.KernelISA
