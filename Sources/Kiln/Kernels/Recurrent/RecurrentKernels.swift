import Foundation

/// An activation function of a recurrent op's `activations` attribute, with the `alpha` / `beta`
/// it takes. Names and defaults are ONNX's (the same as the standalone ops of those names).
enum RecurrentActivation: Sendable, Equatable {
    case sigmoid, tanh, relu, softsign, softplus
    case hardSigmoid(alpha: Float, beta: Float)
    case leakyRelu(alpha: Float)
    case thresholdedRelu(alpha: Float)
    case scaledTanh(alpha: Float, beta: Float)
    case affine(alpha: Float, beta: Float)
    case elu(alpha: Float)

    /// Parses `name` (case-insensitive), taking its parameters from `alphas` / `betas` in order.
    ///
    /// As in ONNX Runtime, the lists are consumed only by functions that take a parameter
    /// (`LeakyRelu` one alpha; `HardSigmoid`, `ScaledTanh`, `Affine` an alpha and a beta), and a
    /// function finding its list exhausted uses its default.
    /// - Returns: `nil` for a name ONNX does not define for recurrent ops.
    static func parse(_ name: String, alphas: inout ArraySlice<Float>, betas: inout ArraySlice<Float>) -> RecurrentActivation? {
        func take(_ list: inout ArraySlice<Float>, _ fallback: Float) -> Float { list.popFirst() ?? fallback }
        switch name.lowercased() {
        case "sigmoid": return .sigmoid
        case "tanh": return .tanh
        case "relu": return .relu
        case "softsign": return .softsign
        case "softplus": return .softplus
        case "hardsigmoid":
            let a = take(&alphas, 0.2)
            return .hardSigmoid(alpha: a, beta: take(&betas, 0.5))
        case "leakyrelu": return .leakyRelu(alpha: take(&alphas, 0.01))
        case "thresholdedrelu": return .thresholdedRelu(alpha: take(&alphas, 1))
        case "scaledtanh":
            let a = take(&alphas, 1)
            return .scaledTanh(alpha: a, beta: take(&betas, 1))
        case "affine":
            let a = take(&alphas, 1)
            return .affine(alpha: a, beta: take(&betas, 0))
        case "elu": return .elu(alpha: take(&alphas, 1))
        default: return nil
        }
    }

    /// Applies the function to `count` values in place.
    func apply(_ p: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .sigmoid: for i in 0..<count { p[i] = sigmoidScalar(p[i]) }
        case .tanh: for i in 0..<count { p[i] = tanhf(p[i]) }
        case .relu: for i in 0..<count { p[i] = max(p[i], 0) }
        case .softsign: for i in 0..<count { p[i] = p[i] / (1 + abs(p[i])) }
        case .softplus: for i in 0..<count { p[i] = p[i] > 20 ? p[i] : log1pf(expf(p[i])) }
        case let .hardSigmoid(a, b): for i in 0..<count { p[i] = min(max(a * p[i] + b, 0), 1) }
        case let .leakyRelu(a): for i in 0..<count where p[i] < 0 { p[i] *= a }
        case let .thresholdedRelu(a): for i in 0..<count where p[i] <= a { p[i] = 0 }
        case let .scaledTanh(a, b): for i in 0..<count { p[i] = a * tanhf(b * p[i]) }
        case let .affine(a, b): for i in 0..<count { p[i] = a * p[i] + b }
        case let .elu(a): for i in 0..<count where p[i] < 0 { p[i] = a * expm1f(p[i]) }
        }
    }
}

/// Clamps `count` values to `[-threshold, threshold]` in place (a recurrent op's `clip`).
@inline(__always)
func clipInPlace_f32(_ p: UnsafeMutablePointer<Float>, count: Int, threshold: Float?) {
    guard let t = threshold else { return }
    for i in 0..<count { p[i] = min(max(p[i], -t), t) }
}

/// Where each (time, direction, batch) row of a recurrent op's tensors lives, for both `layout`s:
/// 0 is `X [seq, batch, in]`, `Y [seq, dirs, batch, H]`, states `[dirs, batch, H]`; 1 is
/// `X [batch, seq, in]`, `Y [batch, seq, dirs, H]`, states `[batch, dirs, H]`. Offsets are in rows.
struct RecurrentLayout: Sendable {
    let batchFirst: Bool
    let seq: Int
    let batch: Int
    let directions: Int

    /// Row of `X` (and of the input projection, which keeps X's order) for step `t` of `b`.
    @inline(__always) func inputRow(_ t: Int, _ b: Int) -> Int { batchFirst ? b * seq + t : t * batch + b }
    /// Row of `Y` for step `t`, direction `d`, sequence `b`.
    @inline(__always) func outputRow(_ t: Int, _ d: Int, _ b: Int) -> Int {
        batchFirst ? (b * seq + t) * directions + d : (t * directions + d) * batch + b
    }
    /// Row of an initial or final state (`initial_h`, `Y_h`, ...) for direction `d`, sequence `b`.
    @inline(__always) func stateRow(_ d: Int, _ b: Int) -> Int { batchFirst ? b * directions + d : d * batch + b }
}

/// `G[rows, n] = X[rows, k] · Wᵀ + bias` with `W` stored `[n, k]` (a recurrent op's input
/// projection for every step at once), `bias` of length `n` or `nil`.
func recurrentInputProjection_f32(_ x: UnsafePointer<Float>, rows: Int, k: Int, w: UnsafePointer<Float>, n: Int,
                                  bias: [Float]?, into g: UnsafeMutablePointer<Float>, context: ExecutionContext) {
    Sgemm.run(transA: false, transB: true, m: rows, n: n, k: k, alpha: 1, a: x, lda: k, b: w, ldb: k,
              beta: 0, c: g, ldc: n, context: context)
    guard let bias else { return }
    bias.withUnsafeBufferPointer { bp in
        for r in 0..<rows {
            let row = g + r * n
            for j in 0..<n { row[j] += bp[j] }
        }
    }
}
