// CPU feature detection for Kiln's kernel dispatch (CPUID + XGETBV), x86-64 only.
#ifndef KILN_CPU_H
#define KILN_CPU_H

/// Bit set of the features Kiln's kernel variants need, each already checked against the OS's
/// saved register state (XCR0).
enum {
    KILN_CPU_AVX2_FMA = 1,      ///< AVX, AVX2, FMA; YMM state enabled by the OS.
    KILN_CPU_AVX512 = 2,        ///< AVX-512 F, CD, BW, DQ, VL; ZMM and opmask state enabled by the OS.
};

/// The features of the running CPU.
int kiln_cpu_features(void);

/// The CPU family (with the extended family added) when the vendor is AMD, else 0. Family 0x19 is
/// Zen 3 and Zen 4; 0x1A is Zen 5.
int kiln_cpu_amd_family(void);

/// The CPU's brand string (e.g. "AMD EPYC 9R14"), NUL-terminated, into `out` (at least 49 bytes).
void kiln_cpu_brand(char *out);

/// The CPU-specific kernel variants the program linked (KilnNativeKernels' `kiln_native_kernel_variants`,
/// a retained `KernelVariantsBox`), or NULL when it linked none.
void *kiln_linked_kernel_variants(void);

/// A spin-wait hint (x86 `pause`): a polling thread yields the core's execution resources to its
/// SMT sibling, which on a 2-vCPU VM is often the thread doing the work being waited for.
static inline void kiln_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
