#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Pointwise activation functions as `UnaryOpF32` values (see Kernels/Elementwise/UnaryKernels.swift),
// run over tensors by `unaryMap_f32`. Piecewise-linear ones are fully SIMD. Those built on `e^x`
// alone (Sigmoid, Swish, tanh-Gelu, Mish) use the 8-lane `exp8_f32` (≤ 2 ulp, VectorExp.swift);
// the rest call libm (`expm1f`, `log1pf`, `tanhf`, `erff`) lane by lane, which keeps them within
// a few ulp of PyTorch (the "transcendental" tolerance).

/// `LeakyRelu`: `x < 0 ? alpha * x : x`.
struct LeakyReluF32: UnaryOpF32 {
    var alpha: Float
    @inline(__always) func apply(_ x: Float) -> Float { x < 0 ? alpha * x : x }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        x.replacing(with: x * alpha, where: x .< SIMD8<Float>(repeating: 0))
    }
}

/// `Clip`: `min(max(x, lo), hi)`; NaN stays NaN; `lo > hi` gives `hi` everywhere (as ONNX says).
struct ClipF32: UnaryOpF32 {
    var lo: Float
    var hi: Float
    @inline(__always) func apply(_ x: Float) -> Float {
        let t = x < lo ? lo : x
        return t > hi ? hi : t
    }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let l = SIMD8<Float>(repeating: lo), h = SIMD8<Float>(repeating: hi)
        let t = x.replacing(with: l, where: x .< l)
        return t.replacing(with: h, where: t .> h)
    }
}

/// `HardSigmoid`: `clamp(alpha * x + beta, 0, 1)`.
struct HardSigmoidF32: UnaryOpF32 {
    var alpha: Float
    var beta: Float
    @inline(__always) func apply(_ x: Float) -> Float {
        let t = alpha * x + beta
        return t < 0 ? 0 : (t > 1 ? 1 : t)
    }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let t = x * alpha + beta
        let z = SIMD8<Float>(repeating: 0), o = SIMD8<Float>(repeating: 1)
        let u = t.replacing(with: z, where: t .< z)
        return u.replacing(with: o, where: u .> o)
    }
}

/// `HardSwish`: `x * clamp(x + 3, 0, 6) / 6`, in PyTorch's order of operations.
struct HardSwishF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float {
        let t = x + 3
        let c = t < 0 ? 0 : (t > 6 ? 6 : t)
        return x * c / 6
    }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let t = x + 3
        let z = SIMD8<Float>(repeating: 0), six = SIMD8<Float>(repeating: 6)
        let u = t.replacing(with: z, where: t .< z)
        return x * u.replacing(with: six, where: u .> six) / six
    }
}

/// The logistic function without overflow: `1 / (1 + e^-x)` for `x ≥ 0`, `e^x / (1 + e^x)` below.
@inline(__always)
func sigmoidScalar(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + expf(-x)) }
    let e = expf(x)
    return e / (1 + e)
}

/// `Sigmoid`.
struct SigmoidF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { sigmoidScalar(x) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { sigmoid8_f32(x) }
}

/// `Swish` (opset 24; `SiLU` when alpha = 1): `x * sigmoid(alpha * x)`.
struct SwishF32: UnaryOpF32 {
    var alpha: Float
    @inline(__always) func apply(_ x: Float) -> Float { x * sigmoidScalar(alpha * x) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { x * sigmoid8_f32(alpha * x) }
}

/// `Tanh` (libm `tanhf`).
struct TanhF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { lanewise(x, tanhf) }
}

/// `Erf` (libm `erff`).
struct ErfF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { erff(x) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { lanewise(x, erff) }
}

/// Exact `Gelu`: `0.5 * x * (1 + erf(x / √2))`.
struct GeluErfF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.70710678118654752)) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let e = lanewise(x * 0.70710678118654752, erff)
        return 0.5 * x * (1 + e)
    }
}

/// `Gelu` with `approximate = "tanh"`: `0.5 * x * (1 + tanh(u))`, `u = √(2/π) * (x + 0.044715 x³)`,
/// computed as `x * sigmoid(2u)` (the same function: `(1 + tanh u) / 2 = sigmoid(2u)`), which has
/// no cancellation for negative `x` and needs only `e^x`.
struct GeluTanhF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float {
        x * sigmoidScalar(1.5957691216057307 * (x + 0.044715 * x * x * x))
    }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        x * sigmoid8_f32(1.5957691216057307 * (x + 0.044715 * x * x * x))
    }
}

/// `Elu`: `x > 0 ? x : alpha * (e^x - 1)` (with `expm1f`, accurate near 0).
struct EluF32: UnaryOpF32 {
    var alpha: Float
    @inline(__always) func apply(_ x: Float) -> Float { x > 0 ? x : alpha * expm1f(x) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var r = SIMD8<Float>()
        for i in 0..<8 { r[i] = apply(x[i]) }
        return r
    }
}

/// `Selu`: `gamma * (x > 0 ? x : alpha * (e^x - 1))`.
struct SeluF32: UnaryOpF32 {
    var alpha: Float
    var gamma: Float
    @inline(__always) func apply(_ x: Float) -> Float { x > 0 ? gamma * x : gamma * (alpha * expm1f(x)) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var r = SIMD8<Float>()
        for i in 0..<8 { r[i] = apply(x[i]) }
        return r
    }
}

/// `log(1 + e^x)` without overflow: `max(x, 0) + log1p(e^-|x|)`.
@inline(__always)
func softplusScalar(_ x: Float) -> Float {
    (x > 0 ? x : 0) + log1pf(expf(-Swift.abs(x)))
}

/// `Softplus`.
struct SoftplusF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { softplusScalar(x) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { lanewise(x, softplusScalar) }
}

/// `Mish`: `x * tanh(softplus(x))`, computed as `x * n / (n + 2)` with `n = e^x (e^x + 2)`
/// (`tanh(log(1 + e^x))` in closed form), which needs only `e^x`. `e^x` is taken at `min(x, 20)`:
/// beyond that `n / (n + 2)` is 1 in float32 either way, and `n` cannot overflow.
struct MishF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float {
        let e = expf(x < 20 ? x : 20)
        let n = e * (e + 2)
        return x * (n / (n + 2))
    }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let t = SIMD8<Float>(repeating: 20)
        let e = exp8_f32(x.replacing(with: t, where: x .> t))
        let n = e * (e + 2)
        return x * (n / (n + 2))
    }
}
