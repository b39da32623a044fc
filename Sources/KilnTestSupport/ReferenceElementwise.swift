import Foundation
import Kiln

// Naive reference kernels for the elementwise and activation families: plain index-by-index
// loops over `[Scalar]` arrays, written to be obviously correct rather than fast. Tests compare
// the optimized kernels (collapsed broadcasting, SIMD rows, parallel chunks) against these.

/// NumPy multidirectional broadcast of `shapes`, computed directly from the rule: right-align,
/// each dimension must be equal or 1. Returns `nil` when the shapes do not broadcast.
public func referenceBroadcastShape(_ shapes: [[Int]]) -> [Int]? {
    let rank = shapes.map(\.count).max() ?? 0
    var out = [Int](repeating: 1, count: rank)
    for s in shapes {
        for (k, d) in s.enumerated() {
            let i = rank - s.count + k
            if out[i] == 1 {
                out[i] = d
            } else if d != 1 && d != out[i] {
                return nil
            }
        }
    }
    return out
}

/// The flat index into an input of `inputShape` that feeds output multi-index `index` under
/// broadcasting (size-1 input dimensions read index 0).
public func referenceBroadcastSource(_ index: [Int], inputShape: [Int]) -> Int {
    let pad = index.count - inputShape.count
    var flat = 0
    for (k, d) in inputShape.enumerated() {
        let i = d == 1 ? 0 : index[pad + k]
        flat = flat * d + i
    }
    return flat
}

/// Applies `f` to the broadcast inputs element by element.
/// - Parameters:
///   - inputs: Input tensors, all of element type `T`.
///   - f: The scalar function of one element from each input.
/// - Returns: A tensor of the broadcast shape with element type `R`.
/// - Throws: When the shapes do not broadcast or the dtypes do not match `T`.
public func referenceBroadcastMap<T: TensorScalar, R: TensorScalar>(_ inputs: [Tensor], _: T.Type,
                                                                     _ f: ([T]) -> R) throws -> Tensor {
    guard let shape = referenceBroadcastShape(inputs.map(\.shape)) else {
        throw FixtureError(description: "shapes \(inputs.map(\.shape)) do not broadcast")
    }
    let values = try inputs.map { try $0.scalars(as: T.self) }
    let count = shape.reduce(1, *)
    var out: [R] = []
    out.reserveCapacity(count)
    for flat in 0..<count {
        let index = unflatten(flat, shape)
        var args: [T] = []
        for (t, v) in zip(inputs, values) {
            args.append(v[referenceBroadcastSource(index, inputShape: t.shape)])
        }
        out.append(f(args))
    }
    return try Tensor(shape: shape, scalars: out)
}

/// `Where(cond, x, y)` with three-way broadcasting, index by index.
public func referenceWhere<T: TensorScalar>(_ cond: Tensor, _ x: Tensor, _ y: Tensor, _: T.Type) throws -> Tensor {
    guard let shape = referenceBroadcastShape([cond.shape, x.shape, y.shape]) else {
        throw FixtureError(description: "shapes \(cond.shape), \(x.shape), \(y.shape) do not broadcast")
    }
    let c = try cond.scalars(as: Bool.self), xv = try x.scalars(as: T.self), yv = try y.scalars(as: T.self)
    let count = shape.reduce(1, *)
    var out: [T] = []
    out.reserveCapacity(count)
    for flat in 0..<count {
        let index = unflatten(flat, shape)
        out.append(c[referenceBroadcastSource(index, inputShape: cond.shape)]
                   ? xv[referenceBroadcastSource(index, inputShape: x.shape)]
                   : yv[referenceBroadcastSource(index, inputShape: y.shape)])
    }
    return try Tensor(shape: shape, scalars: out)
}

/// Softmax or log-softmax along `axis` (already normalized), computed in `Double` with the max
/// subtracted, one output element at a time.
public func referenceSoftmax(_ x: Tensor, axis: Int, log: Bool) throws -> Tensor {
    let v = try x.scalars(as: Float.self)
    let shape = x.shape
    let strides = shape.indices.map { shape[($0 + 1)...].reduce(1, *) }
    var out = [Float](repeating: 0, count: v.count)
    // (max, Σ exp(x - max)) of each slice along the axis, keyed by the slice's first element.
    var slices: [Int: (Double, Double)] = [:]
    for flat in 0..<v.count {
        let index = unflatten(flat, shape)
        var first = index
        first[axis] = 0
        let base = zip(first, strides).map { $0 * $1 }.reduce(0, +)
        if slices[base] == nil {
            var m = -Double.infinity
            for k in 0..<shape[axis] { m = Swift.max(m, Double(v[base + k * strides[axis]])) }
            var sum = 0.0
            for k in 0..<shape[axis] { sum += Foundation.exp(Double(v[base + k * strides[axis]]) - m) }
            slices[base] = (m, sum)
        }
        let (m, sum) = slices[base]!
        let xi = Double(v[flat])
        out[flat] = Float(log ? (xi - m) - Foundation.log(sum) : Foundation.exp(xi - m) / sum)
    }
    return try Tensor(shape: shape, scalars: out)
}

/// Pointwise activations in `Double`, straight from their ONNX definitions, for checking the
/// float32 kernels (SIMD bodies and tails) on random inputs.
/// - Parameters:
///   - op: ONNX op type (`"Sigmoid"`, `"Gelu"`, …).
///   - x: The input value.
///   - attributes: Attribute values (`alpha`, `beta`, `gamma`, `min`, `max`, `approximate`
///     encoded as 1 for "tanh").
/// - Returns: The activation of `x`, or `nil` for an op this reference does not know.
public func referenceActivation(_ op: String, _ x: Double, _ attributes: [String: Double] = [:]) -> Double? {
    func attr(_ k: String, _ d: Double) -> Double { attributes[k] ?? d }
    func sigmoid(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
    func softplus(_ v: Double) -> Double { Swift.max(v, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(v))) }
    switch op {
    case "Relu": return Swift.max(x, 0)
    case "LeakyRelu": return x < 0 ? attr("alpha", 0.01) * x : x
    case "Clip": return Swift.min(Swift.max(x, attr("min", -.infinity)), attr("max", .infinity))
    case "Sigmoid": return sigmoid(x)
    case "HardSigmoid": return Swift.min(Swift.max(attr("alpha", 0.2) * x + attr("beta", 0.5), 0), 1)
    case "HardSwish": return x * Swift.min(Swift.max(x + 3, 0), 6) / 6
    case "Swish": return x * sigmoid(attr("alpha", 1) * x)
    case "Tanh": return Foundation.tanh(x)
    case "Erf": return Foundation.erf(x)
    case "Gelu":
        if attr("approximate", 0) == 1 {
            return 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
        }
        return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
    case "Elu": return x > 0 ? x : attr("alpha", 1) * Foundation.expm1(x)
    case "Selu":
        let gamma = attr("gamma", 1.05070102214813232421875), alpha = attr("alpha", 1.67326319217681884765625)
        return x > 0 ? gamma * x : gamma * alpha * Foundation.expm1(x)
    case "Softplus": return softplus(x)
    case "Mish": return x * Foundation.tanh(softplus(x))
    default: return nil
    }
}
