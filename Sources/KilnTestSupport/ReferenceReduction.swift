import Foundation
import Kiln

/// Naive reduction reference: Double accumulation over every input element, the oracle for the
/// `[A, R, B]` pass kernels on random problems.

/// A reduction the reference knows.
public enum ReferenceReduction: String, CaseIterable, Sendable {
    case sum, mean, max, min, prod, l1, l2, sumSquare, logSum

    /// The ONNX op type (`ReduceSum`, …).
    public var opType: String {
        switch self {
        case .sum: return "ReduceSum"
        case .mean: return "ReduceMean"
        case .max: return "ReduceMax"
        case .min: return "ReduceMin"
        case .prod: return "ReduceProd"
        case .l1: return "ReduceL1"
        case .l2: return "ReduceL2"
        case .sumSquare: return "ReduceSumSquare"
        case .logSum: return "ReduceLogSum"
        }
    }
}

/// Reduces a float32 tensor over `axes` (normalized, distinct; empty means all) in Double, by
/// visiting every input element and accumulating into its output slot.
/// - Throws: When `x` is not float32.
public func referenceReduce(_ x: Tensor, _ kind: ReferenceReduction, axes: [Int], keepDims: Bool) throws -> Tensor {
    let v = try x.scalars(as: Float.self)
    let reduced = Set(axes.isEmpty ? Array(0..<x.rank) : axes)
    let keptShape = (0..<x.rank).map { reduced.contains($0) ? 1 : x.shape[$0] }
    let n = keptShape.reduce(1, *)
    let initial: Double
    switch kind {
    case .max: initial = -.infinity
    case .min: initial = .infinity
    case .prod: initial = 1
    default: initial = 0
    }
    var acc = [Double](repeating: initial, count: n)
    var counts = [Int](repeating: 0, count: n)
    for i in 0..<v.count {
        var idx = unflatten(i, x.shape)
        for a in reduced { idx[a] = 0 }
        let o = referenceFlatOffset(idx, keptShape)
        let e = Double(v[i])
        counts[o] += 1
        switch kind {
        case .sum, .mean, .logSum: acc[o] += e
        case .max: acc[o] = Swift.max(acc[o], e)
        case .min: acc[o] = Swift.min(acc[o], e)
        case .prod: acc[o] *= e
        case .l1: acc[o] += Swift.abs(e)
        case .l2, .sumSquare: acc[o] += e * e
        }
    }
    let out: [Float] = (0..<n).map { o in
        switch kind {
        case .mean: return Float(acc[o] / Double(counts[o]))
        case .l2: return Float(acc[o].squareRoot())
        case .logSum: return Float(Foundation.log(acc[o]))
        default: return Float(acc[o])
        }
    }
    let outShape = keepDims ? keptShape : (0..<x.rank).filter { !reduced.contains($0) }.map { x.shape[$0] }
    return try Tensor(shape: outShape, scalars: out)
}
