/// The ONNX `Reduce*` ops: `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin`, `ReduceProd`,
/// `ReduceL1`, `ReduceL2`, `ReduceSumSquare`, `ReduceLogSum`.
///
/// Attributes `keepdims` (default 1) and `noop_with_empty_axes` (opset 13/18, default 0). `axes`
/// is an attribute before opset 13 (ReduceSum) / 18 (the others) and input 1 after; both forms are
/// accepted for every op. Axes may be negative; empty or absent axes reduce everything unless
/// `noop_with_empty_axes = 1`, which reduces over no axis (the input for Sum/Mean/Max/Min/Prod;
/// the element map for the others, `x²` for SumSquare, as ONNX Runtime does).
///
/// Dtypes: float32 for all; int64 also for Sum, Max, Min and Prod (wrapping, as ONNX Runtime).
/// Reducing an empty axis yields the identity (0, 1, ±∞; Mean gives NaN, LogSum −∞).
struct ReduceCore: Sendable {
    /// What the first pass computes, and what happens after the last.
    enum Finish: Sendable { case none, mean, sqrt, log }

    let op: String
    let kind: ReduceKernelKind
    let finish: Finish
    let allowsInt64: Bool
    let keepDims: Bool
    let noopWithEmptyAxes: Bool
    let axes: [Int]?

    init(_ a: Attributes, op: String, kind: ReduceKernelKind, finish: Finish, allowsInt64: Bool) throws {
        self.op = op
        self.kind = kind
        self.finish = finish
        self.allowsInt64 = allowsInt64
        keepDims = try a.int("keepdims", default: 1) != 0
        noopWithEmptyAxes = try a.int("noop_with_empty_axes", default: 0) != 0
        axes = try a.ints("axes")
        try a.rejectUnknown(["keepdims", "noop_with_empty_axes", "axes"])
    }

    func run<Op: Operator>(_ owner: Op, _ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try owner.input(inputs, 0, "data", context: context)
        guard x.dtype == .float32 || (allowsInt64 && x.dtype == .int64) else {
            throw KilnError.unsupportedDType(op: op, node: context.node, tensor: "data", dtype: x.dtype)
        }
        let given = try owner.attributeOrInput(axes, inputs, 1, "axes", allowInt32: false, context: context) ?? []
        // With noop_with_empty_axes, empty axes reduce over no axis at all: the element map and
        // finish still apply (ReduceSumSquare gives x², ReduceL1 |x|), as in ONNX Runtime.
        let reduced: Set<Int> = given.isEmpty
            ? (noopWithEmptyAxes ? [] : Set(0..<x.rank))
            : Set(try owner.normalizedAxes(given, rank: x.rank, context: context))
        var outShape: [Int] = []
        for (i, d) in x.shape.enumerated() {
            if !reduced.contains(i) { outShape.append(d) } else if keepDims { outShape.append(1) }
        }
        var y = try context.allocate(outShape, dtype: x.dtype)
        let count = y.count
        if count == 0 { return [y] }
        let reducedCount = reduced.reduce(1) { $0 * x.shape[$1] }
        if reducedCount == 0 {
            // Every output element reduces an empty set.
            if x.dtype == .int64 {
                y.mutablePointer(Int64.self).update(repeating: kind.identityI64, count: count)
            } else {
                y.mutablePointer(Float.self).update(repeating: kind.identityF32, count: count)
                finishF32(y.mutablePointer(Float.self), count, reducedCount: 0)
            }
            return [y]
        }
        // Coalesce into alternating kept/reduced groups (size-1 axes dropped).
        var groups: [(size: Int, reduced: Bool)] = []
        for (i, d) in x.shape.enumerated() where d != 1 {
            let r = reduced.contains(i)
            if let last = groups.last, last.reduced == r { groups[groups.count - 1].size *= d } else { groups.append((d, r)) }
        }
        // Passes innermost reduced group first; the first pass applies the element map (x², |x|).
        var current = x
        var passKind = kind
        var passes = 0
        while let g = groups.lastIndex(where: { $0.reduced }) {
            let A = groups[..<g].reduce(1) { $0 * $1.size }
            let R = groups[g].size
            let B = groups[(g + 1)...].reduce(1) { $0 * $1.size }
            current = try pass(current, A: A, R: R, B: B, kind: passKind, context: context)
            groups.remove(at: g)
            passKind = kind.combiner
            passes += 1
        }
        if passes == 0 {
            // Only size-1 axes are reduced: still apply the element map once.
            current = try pass(current, A: current.count, R: 1, B: 1, kind: kind, context: context)
        }
        if current.dtype == .float32 {
            var c = current
            finishF32(c.mutablePointer(Float.self), count, reducedCount: reducedCount)
            current = c
        }
        return [try current.reshaped(outShape)]
    }

    private func pass(_ x: Tensor, A: Int, R: Int, B: Int, kind: ReduceKernelKind, context: ExecutionContext) throws -> Tensor {
        var y = try context.allocate([A * B], dtype: x.dtype)
        if x.dtype == .int64 {
            reduce_i64_ARB(x.pointer(Int64.self), y.mutablePointer(Int64.self), A: A, R: R, B: B, kind: kind, context: context)
        } else {
            reduce_f32_ARB(x.pointer(Float.self), y.mutablePointer(Float.self), A: A, R: R, B: B, kind: kind, context: context)
        }
        withExtendedLifetime(x) {}
        return y
    }

    private func finishF32(_ p: UnsafeMutablePointer<Float>, _ n: Int, reducedCount: Int) {
        switch finish {
        case .none: break
        case .mean:
            let c = Float(reducedCount)
            for i in 0..<n { p[i] = p[i] / c }
        case .sqrt: for i in 0..<n { p[i] = p[i].squareRoot() }
        case .log: for i in 0..<n { p[i] = logf(p[i]) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ONNX `ReduceSum` (axes input from opset 13).
struct ReduceSum: Operator {
    static let opType = "ReduceSum"
    let core: ReduceCore
    init(attributes: Attributes) throws { core = try ReduceCore(attributes, op: Self.opType, kind: .sum, finish: .none, allowsInt64: true) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { try core.run(self, inputs, context: context) }
}

/// ONNX `ReduceMean`: the sum divided by the number of reduced elements.
struct ReduceMean: Operator {
    static let opType = "ReduceMean"
    let core: ReduceCore
    init(attributes: Attributes) throws { core = try ReduceCore(attributes, op: Self.opType, kind: .sum, finish: .mean, allowsInt64: false) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { try core.run(self, inputs, context: context) }
}

/// ONNX `ReduceMax` (NaN propagates).
struct ReduceMax: Operator {
    static let opType = "ReduceMax"
    let core: ReduceCore
    init(attributes: Attributes) throws { core = try ReduceCore(attributes, op: Self.opType, kind: .max, finish: .none, allowsInt64: true) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { try core.run(self, inputs, context: context) }
}

/// ONNX `ReduceMin` (NaN propagates).
struct ReduceMin: Operator {
    static let opType = "ReduceMin"
    let core: ReduceCore
    init(attributes: Attributes) throws { core = try ReduceCore(attributes, op: Self.opType, kind: .min, finish: .none, allowsInt64: true) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { try core.run(self, inputs, context: context) }
}

/// ONNX `ReduceProd`.
struct ReduceProd: Operator {
    static let opType = "ReduceProd"
    let core: ReduceCore
    init(attributes: Attributes) throws { core = try ReduceCore(attributes, op: Self.opType, kind: .prod, finish: .none, allowsInt64: true) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { try core.run(self, inputs, context: context) }
}

/// ONNX `ReduceL1`: `Σ|x|`.
struct ReduceL1: Operator {
    static let opType = "ReduceL1"
    let core: ReduceCore
    init(attributes: Attributes) throws { core = try ReduceCore(attributes, op: Self.opType, kind: .sumAbs, finish: .none, allowsInt64: false) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { try core.run(self, inputs, context: context) }
}

/// ONNX `ReduceL2`: `sqrt(Σx²)`.
struct ReduceL2: Operator {
    static let opType = "ReduceL2"
    let core: ReduceCore
    init(attributes: Attributes) throws { core = try ReduceCore(attributes, op: Self.opType, kind: .sumSquare, finish: .sqrt, allowsInt64: false) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { try core.run(self, inputs, context: context) }
}

/// ONNX `ReduceSumSquare`: `Σx²`.
struct ReduceSumSquare: Operator {
    static let opType = "ReduceSumSquare"
    let core: ReduceCore
    init(attributes: Attributes) throws { core = try ReduceCore(attributes, op: Self.opType, kind: .sumSquare, finish: .none, allowsInt64: false) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { try core.run(self, inputs, context: context) }
}

/// ONNX `ReduceLogSum`: `log(Σx)`.
struct ReduceLogSum: Operator {
    static let opType = "ReduceLogSum"
    let core: ReduceCore
    init(attributes: Attributes) throws { core = try ReduceCore(attributes, op: Self.opType, kind: .sum, finish: .log, allowsInt64: false) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { try core.run(self, inputs, context: context) }
}
