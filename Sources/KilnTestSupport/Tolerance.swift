import Kiln

/// How close a computed tensor must be to its reference: `|actual - expected| <= abs + rel * |expected|`
/// element by element. Every test names the tolerance it uses, and why.
public struct Tolerance: Sendable, CustomStringConvertible {
    /// Absolute part.
    public var abs: Float
    /// Relative part (scaled by `|expected|`).
    public var rel: Float

    /// Creates a tolerance.
    public init(abs: Float, rel: Float) {
        self.abs = abs
        self.rel = rel
    }

    /// Bit-exact (data movement, integer ops, comparisons).
    public static let exact = Tolerance(abs: 0, rel: 0)
    /// Elementwise float math done in the same order as the reference (1 ulp-ish).
    public static let elementwise = Tolerance(abs: 1e-6, rel: 1e-6)
    /// Transcendental functions (exp, erf, tanh) where libm and the reference may differ by a few ulp.
    public static let transcendental = Tolerance(abs: 1e-6, rel: 1e-5)
    /// GEMM-backed ops (Conv, Gemm, MatMul): the BLAS sums in another order than the reference.
    public static let gemm = Tolerance(abs: 1e-5, rel: 1e-5)
    /// Winograd F(4,3) convolutions: the transforms multiply by up to 8 (and the filter transform
    /// divides by 24), so rounding errors grow with the output's magnitude and the channel count;
    /// measured at most ~2e-5 relative to the output scale on the unit tests' problems (see
    /// `docs/ops.md`). For outputs of order 1.
    public static let winograd = Tolerance(abs: 1e-4, rel: 1e-4)
    /// Reductions and normalizations over many elements.
    public static let reduction = Tolerance(abs: 1e-5, rel: 1e-5)

    /// Looks up a named tolerance (`exact`, `elementwise`, `transcendental`, `gemm`, `winograd`, `reduction`).
    public static func named(_ name: String) -> Tolerance? {
        switch name {
        case "exact": return .exact
        case "elementwise": return .elementwise
        case "transcendental": return .transcendental
        case "gemm": return .gemm
        case "winograd": return .winograd
        case "reduction": return .reduction
        default: return nil
        }
    }

    /// `abs=…, rel=…`.
    public var description: String { "abs=\(abs), rel=\(rel)" }
}

/// The outcome of comparing two tensors.
public struct Comparison: Sendable, CustomStringConvertible {
    /// Whether every element is within tolerance (and dtype and shape agree).
    public var passed: Bool
    /// Largest `|actual - expected|`.
    public var maxAbsError: Float
    /// Flat index of the worst element relative to its allowance, or `nil`.
    public var worstIndex: Int?
    /// Explanation when not passed.
    public var message: String

    /// The message, or `ok (max abs error …)`.
    public var description: String { passed ? "ok (max abs error \(maxAbsError))" : message }
}

/// Compares `actual` with `expected` under `tolerance`. Integer and bool tensors compare exactly.
/// NaN equals NaN; infinities must match exactly.
public func compare(_ actual: Tensor, _ expected: Tensor, _ tolerance: Tolerance) -> Comparison {
    guard actual.dtype == expected.dtype else {
        return Comparison(passed: false, maxAbsError: .infinity, worstIndex: nil,
                          message: "dtype \(actual.dtype) != expected \(expected.dtype)")
    }
    guard actual.shape == expected.shape else {
        return Comparison(passed: false, maxAbsError: .infinity, worstIndex: nil,
                          message: "shape \(actual.shape) != expected \(expected.shape)")
    }
    guard let av = try? actual.converted(to: .float32).scalars(as: Float.self),
          let ev = try? expected.converted(to: .float32).scalars(as: Float.self) else {
        return Comparison(passed: false, maxAbsError: .infinity, worstIndex: nil, message: "cannot convert to float32 for comparison")
    }
    let tol = actual.dtype.isFloatingPoint ? tolerance : .exact
    var maxAbs: Float = 0
    var worst: Int? = nil
    var worstRatio: Float = 0
    var failures = 0
    for i in 0..<av.count {
        let x = av[i], y = ev[i]
        if x.isNaN && y.isNaN { continue }
        if x.isInfinite || y.isInfinite {
            if x != y { failures += 1; if worst == nil { worst = i; worstRatio = .infinity } }
            continue
        }
        let d = Swift.abs(x - y)
        if !(d <= maxAbs) { maxAbs = d }
        let allowed = tol.abs + tol.rel * Swift.abs(y)
        if !(d <= allowed) {
            failures += 1
            let ratio = allowed > 0 ? d / allowed : .infinity
            if ratio > worstRatio || worst == nil { worstRatio = ratio; worst = i }
        }
    }
    if failures == 0 {
        return Comparison(passed: true, maxAbsError: maxAbs, worstIndex: nil, message: "")
    }
    let w = worst!
    let idx = unflatten(w, actual.shape)
    return Comparison(passed: false, maxAbsError: maxAbs, worstIndex: w,
                      message: "\(failures) of \(av.count) elements outside \(tol); worst at \(idx): got \(av[w]), expected \(ev[w]); max abs error \(maxAbs)")
}

/// Converts a flat row-major index to a multi-index.
public func unflatten(_ flat: Int, _ shape: [Int]) -> [Int] {
    var r = [Int](repeating: 0, count: shape.count)
    var f = flat
    for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] > 0 {
        r[i] = f % shape[i]
        f /= shape[i]
    }
    return r
}
