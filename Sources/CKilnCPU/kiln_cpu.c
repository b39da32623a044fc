#include "kiln_cpu.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long kiln_xgetbv(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

int kiln_cpu_features(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return 0;
    const unsigned long long xcr0 = kiln_xgetbv();
    if ((xcr0 & 0x6) != 0x6) return 0; // XMM and YMM state
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    int features = 0;
    const int avx2 = (b >> 5) & 1;
    if (avx2 && fma) features |= KILN_CPU_AVX2_FMA;
    const int f = (b >> 16) & 1, dq = (b >> 17) & 1, cd = (b >> 28) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    if ((features & KILN_CPU_AVX2_FMA) && f && dq && cd && bw && vl && (xcr0 & 0xE0) == 0xE0) {
        features |= KILN_CPU_AVX512;
    }
    return features;
}

void kiln_cpu_brand(char *out) {
    unsigned int regs[12];
    memset(out, 0, 49);
    if (__get_cpuid_max(0x80000000, 0) < 0x80000004) return;
    for (unsigned int i = 0; i < 3; i++) {
        __cpuid(0x80000002 + i, regs[4 * i], regs[4 * i + 1], regs[4 * i + 2], regs[4 * i + 3]);
    }
    memcpy(out, regs, 48);
}

int kiln_cpu_amd_family(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return 0;
    // "AuthenticAMD" in EBX, EDX, ECX.
    if (b != 0x68747541u || d != 0x69746e65u || c != 0x444d4163u) return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    unsigned int family = (a >> 8) & 0xF;
    if (family == 0xF) family += (a >> 20) & 0xFF;
    return (int)family;
}
#else
int kiln_cpu_features(void) { return 0; }
int kiln_cpu_amd_family(void) { return 0; }
void kiln_cpu_brand(char *out) { memset(out, 0, 49); }
#endif

/* Defined by KilnNativeKernels when the program links it; a weak reference, so a program without it
 * links too and gets NULL. */
extern void *kiln_native_kernel_variants(void) __attribute__((weak));

void *kiln_linked_kernel_variants(void) {
    return kiln_native_kernel_variants ? kiln_native_kernel_variants() : 0;
}
