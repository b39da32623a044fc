/// ONNX `TopK` (opset 1, 10, 11): the `k` largest (or smallest, `largest = 0`) elements along
/// `axis` (default -1) and their `int64` indices, in order (largest first, or smallest first).
///
/// `k` is input 1 (a one-element `int64` tensor, opset 10+) or the attribute of opset 1; it must be
/// in `0...dim`. Ties keep the lower index first (as ONNX Runtime and PyTorch). NaN counts as
/// larger than every number. `sorted = 0` allows any order; Kiln returns the sorted one.
/// Data: float32, int64, int32.
struct TopK: Operator {
    static let opType = "TopK"

    let axis: Int
    let largest: Bool
    let kAttribute: Int?

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["axis", "largest", "sorted", "k"])
        axis = try attributes.int("axis", default: -1)
        let l = try attributes.int("largest", default: 1), s = try attributes.int("sorted", default: 1)
        guard l == 0 || l == 1 else { throw attributes.error("largest \(l) must be 0 or 1") }
        guard s == 0 || s == 1 else { throw attributes.error("sorted \(s) must be 0 or 1") }
        largest = l == 1
        kAttribute = attributes.has("k") ? try attributes.int("k") : nil
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard (1...2).contains(inputs.count) else { throw failure("expects 1 or 2 inputs (X, K), got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "X", context: context)
        guard x.rank >= 1 else { throw failure("X must have rank >= 1, got a scalar", context: context) }
        let k: Int
        if let kt = optionalInput(inputs, 1) {
            guard kAttribute == nil else { throw failure("k is given both as an attribute and as input 1", context: context) }
            let v = try indexVector(kt, "K", context: context)
            guard v.count == 1 else { throw failure("K must hold one value, got \(v.count)", context: context) }
            k = v[0]
        } else if let kAttribute {
            k = kAttribute
        } else {
            throw failure("k is missing (input 1, or the opset-1 attribute)", context: context)
        }
        let a = try Shape.normalizeAxis(axis, rank: x.rank, op: Self.opType, node: context.node)
        let n = x.shape[a]
        guard k >= 0, k <= n else { throw failure("k \(k) is outside 0...\(n) (axis \(a) of \(x.shape))", context: context) }
        var outShape = x.shape
        outShape[a] = k
        var values = try context.allocate(outShape, dtype: x.dtype)
        var indices = try context.allocate(outShape, dtype: .int64)
        let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
        let geometry = TopKGeometry(outer: outer, n: n, inner: inner, k: k)
        switch x.dtype {
        case .float32:
            // NaN sorts above every number, so it is "largest" and never "smallest".
            let before: (Float, Float) -> Bool = largest ? { $0.isNaN ? !$1.isNaN : $0 > $1 } : { $1.isNaN ? !$0.isNaN : $0 < $1 }
            topK(x.pointer(Float.self), values.mutablePointer(Float.self), indices.mutablePointer(Int64.self), geometry, before, context)
        case .int64:
            topK(x.pointer(Int64.self), values.mutablePointer(Int64.self), indices.mutablePointer(Int64.self), geometry,
                 largest ? { $0 > $1 } : { $0 < $1 }, context)
        case .int32:
            topK(x.pointer(Int32.self), values.mutablePointer(Int32.self), indices.mutablePointer(Int64.self), geometry,
                 largest ? { $0 > $1 } : { $0 < $1 }, context)
        default:
            throw KilnError.unsupportedDType(op: Self.opType, node: context.node, tensor: "X", dtype: x.dtype)
        }
        withExtendedLifetime(x) {}
        return [values, indices]
    }
}

/// `[outer, n, inner]` viewed around the axis, and how many to keep.
struct TopKGeometry {
    let outer: Int, n: Int, inner: Int, k: Int
}

/// For each of the `outer · inner` lines of `n` elements, the first `k` in the order `before`
/// (ties by lower index), written to `values` and `indices` (`[outer, k, inner]`).
func topK<T>(_ x: UnsafePointer<T>, _ values: UnsafeMutablePointer<T>, _ indices: UnsafeMutablePointer<Int64>,
             _ g: TopKGeometry, _ before: (T, T) -> Bool, _ context: ExecutionContext) {
    guard g.k > 0 else { return }
    let lines = g.outer * g.inner
    func work(_ start: Int, _ end: Int) {
        var order = [Int](repeating: 0, count: g.n)
        for line in start..<end {
            let o = line / g.inner, i = line % g.inner
            let base = x + o * g.n * g.inner + i
            for j in 0..<g.n { order[j] = j }
            order.sort { a, b in
                let va = base[a * g.inner], vb = base[b * g.inner]
                if before(va, vb) { return true }
                if before(vb, va) { return false }
                return a < b
            }
            for j in 0..<g.k {
                let dst = (o * g.k + j) * g.inner + i
                values[dst] = base[order[j] * g.inner]
                indices[dst] = Int64(order[j])
            }
        }
    }
    // Lines are independent; split them when there is enough work to pay for a thread.
    if lines * g.n >= 1 << 16 { context.parallelFor(lines, work) } else { work(0, lines) }
}
