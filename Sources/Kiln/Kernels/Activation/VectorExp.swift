#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KilnKernels

/// `e^x` for eight floats at once, within 2 ulp of the correctly rounded result (checked by
/// `ActivationTests.testVectorExpAccuracy` against `Double` over the whole finite range).
///
/// Cephes' `expf` scheme: `x = n·ln2 + r` with `n = round(x·log₂e)` and `ln2` split in two so the
/// reduction is exact without FMA, a degree-6 minimax polynomial for `e^r` on `|r| ≤ ln2/2`, and
/// `2ⁿ` assembled in the exponent bits. Lanes outside `[-87.3, 88.3]` (where `2ⁿ` would be
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
    // In range: the kernels' exp (KilnKernels.kilnExp), the same polynomial for every ISA.
    return kilnExp(x, SIMD8<Int32>.self)
}

/// The logistic function of eight floats: `1 / (1 + e^-x)`. Where `e^-x` overflows (x < -88.3)
/// the result is 0 (the true value is below 1e-38).
@inline(__always)
func sigmoid8_f32(_ x: SIMD8<Float>) -> SIMD8<Float> {
    1 / (1 + exp8_f32(-x))
}
