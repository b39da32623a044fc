#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    // n = round-to-nearest-even(x·log₂e) by adding 1.5·2²³: the sum's low mantissa bits then hold n
    // as an integer. Same n as `.rounded(.toNearestOrEven)`, but plain vector adds: SIMD rounding
    // and float→int conversion compile to per-lane libm calls without SSE4.1, and were 10× slower.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let t = x * 1.44269504088896341 + magic
    let n = t - magic
    // r = x - n·ln2, with ln2 = 0.693359375 - 2.12194440e-4 (the first part has few mantissa
    // bits, so n·0.693359375 is exact for |n| ≤ 128).
    let r = (x - n * 0.693359375) - n * -2.12194440e-4
    let r2 = r * r
    var p = 1.9875691500e-4 * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let er = p * r2 + r + 1
    // 2ⁿ for n in [-126, 127]: the biased exponent in bits 23...30.
    let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
    let bits = (ni &+ 127) &<< 23
    return er * unsafeBitCast(bits, to: SIMD8<Float>.self)
}

/// The logistic function of eight floats: `1 / (1 + e^-x)`. Where `e^-x` overflows (x < -88.3)
/// the result is 0 (the true value is below 1e-38).
@inline(__always)
func sigmoid8_f32(_ x: SIMD8<Float>) -> SIMD8<Float> {
    1 / (1 + exp8_f32(-x))
}
