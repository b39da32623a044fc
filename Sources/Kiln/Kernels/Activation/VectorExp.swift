#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KilnKernels

/// `e^x` for eight floats at once, within 2 ulp of the correctly rounded result (checked by
/// `ActivationTests.testVectorExpAccuracy` against `Double` over the whole finite range).
///
/// The kernels' `kilnExpNegated` of `−x` without fused multiply-adds (this module is built for any
/// x86-64): `x = n·ln2 + r` with `ln2` split in two so the reduction is exact, a degree-6 polynomial
/// for `e^r` on `|r| ≤ ln2/2` (Estrin's form), and `2ⁿ` assembled in the exponent bits. Lanes outside `[-87.3, 88.3]` (where `2ⁿ` would be
/// subnormal or overflow), infinities and NaN make the whole vector take libm `expf` lane by lane,
/// so those results are exactly libm's; in the activations that use this (Sigmoid, Swish,
/// Softmax) such lanes are rare.
@inline(__always)
func exp8_f32(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let lo = SIMD8<Float>(repeating: -87.33654475), hi = SIMD8<Float>(repeating: 88.37626266)
    let outside = (x .< lo) .| (x .> hi) .| (x .!= x)
    if any(outside) {
        return lanewise(x, expf)
    }
    // In range: the kernels' exp (KilnKernels.kilnExpNegated), the same polynomial for every ISA.
    return kilnExpNegated(0 - x, SIMD8<Int32>.self)
}

/// The logistic function of eight floats: `1 / (1 + e^-x)`. Where `e^-x` overflows (x < -88.3)
/// the result is 0 (the true value is below 1e-38).
@inline(__always)
func sigmoid8_f32(_ x: SIMD8<Float>) -> SIMD8<Float> {
    1 / (1 + exp8_f32(-x))
}
