// Even/odd lane selection for Kiln's kernel vectors, as one shuffle instruction.
//
// The standard library's `SIMD.evenHalf` / `oddHalf` are element loops that the optimizer does not
// turn into a shuffle for 16- and 32-lane vectors: an AVX-512 stride-2 load (`loadEven`) became 16
// scalar inserts (measured in SqueezeNet's 3×3 stride-2 MaxPool on an Intel Xeon). Clang's
// `__builtin_shufflevector` is a single LLVM shuffle, lowered by the calling Swift module for its
// own CPU target (`vpermt2ps` with AVX-512, `vshufps`/`vpermps` with AVX2, `shufps` with SSE2).
// Swift sees the vector types as `SIMD4/8/16<Float>`; the functions are inlined into the kernels.
#ifndef KILN_SIMD_H
#define KILN_SIMD_H

typedef float kiln_float4 __attribute__((ext_vector_type(4)));
typedef float kiln_float8 __attribute__((ext_vector_type(8)));
typedef float kiln_float16 __attribute__((ext_vector_type(16)));

/// The even lanes of the concatenation `a ++ b` (4 + 4 lanes).
static inline __attribute__((always_inline)) kiln_float4 kiln_even4(kiln_float4 a, kiln_float4 b) {
    return __builtin_shufflevector(a, b, 0, 2, 4, 6);
}
/// The odd lanes of the concatenation `a ++ b` (4 + 4 lanes).
static inline __attribute__((always_inline)) kiln_float4 kiln_odd4(kiln_float4 a, kiln_float4 b) {
    return __builtin_shufflevector(a, b, 1, 3, 5, 7);
}
/// The even lanes of the concatenation `a ++ b` (8 + 8 lanes).
static inline __attribute__((always_inline)) kiln_float8 kiln_even8(kiln_float8 a, kiln_float8 b) {
    return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
}
/// The odd lanes of the concatenation `a ++ b` (8 + 8 lanes).
static inline __attribute__((always_inline)) kiln_float8 kiln_odd8(kiln_float8 a, kiln_float8 b) {
    return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
}
/// The even lanes of the concatenation `a ++ b` (16 + 16 lanes).
static inline __attribute__((always_inline)) kiln_float16 kiln_even16(kiln_float16 a, kiln_float16 b) {
    return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
}
/// The odd lanes of the concatenation `a ++ b` (16 + 16 lanes).
static inline __attribute__((always_inline)) kiln_float16 kiln_odd16(kiln_float16 a, kiln_float16 b) {
    return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

#endif
