import Synchronization

/// Shape arithmetic shared by tensors, ops and loaders. Every function validates instead of trapping.
public enum Shape {
    /// The largest tensor Kiln will allocate, in bytes: 16 GiB unless set lower. A shape asking for
    /// more is an ``KilnError/allocationTooLarge(what:byteCount:)`` error rather than an attempt
    /// that ends in the OOM killer. Process-wide; a service that knows its memory budget (or a
    /// fuzz target) lowers it before loading models.
    public static var maxByteCount: Int {
        get { byteLimit.load(ordering: .relaxed) }
        set { byteLimit.store(max(newValue, 0), ordering: .relaxed) }
    }
    private static let byteLimit = Atomic<Int>(1 << 34)

    /// The number of elements of `shape`.
    /// - Parameters:
    ///   - shape: Dimensions, each ≥ 0.
    ///   - what: Names the tensor in the error (`"Conv output"`).
    /// - Returns: The product of the dimensions (1 for a scalar).
    /// - Throws: ``KilnError/invalidArgument(op:node:reason:)`` for a negative dimension,
    ///   ``KilnError/allocationTooLarge(what:byteCount:)`` when the product overflows.
    public static func elementCount(_ shape: [Int], what: String = "tensor") throws -> Int {
        var count = 1
        for d in shape {
            guard d >= 0 else {
                throw KilnError.invalidArgument(op: what, node: nil, reason: "negative dimension in shape \(shape)")
            }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw KilnError.allocationTooLarge(what: what, byteCount: "more than \(Int.max)")
            }
            count = p
        }
        return count
    }

    /// The number of bytes of a `dtype` tensor of `shape`, checked against ``maxByteCount``.
    /// - Throws: As ``elementCount(_:what:)``, and when the size exceeds ``maxByteCount``.
    public static func byteCount(_ shape: [Int], dtype: DType, what: String = "tensor") throws -> Int {
        let n = try elementCount(shape, what: what)
        let (bytes, overflow) = n.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes <= maxByteCount else {
            throw KilnError.allocationTooLarge(what: "\(what) \(shape) of \(dtype)", byteCount: overflow ? "more than \(Int.max)" : String(bytes))
        }
        return bytes
    }

    /// Row-major strides, in elements, of `shape`.
    public static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc &*= shape[i]
        }
        return strides
    }

    /// Normalizes a possibly negative `axis` for a tensor of `rank` (ONNX: `-rank ... rank-1`).
    /// - Throws: ``KilnError/invalidArgument(op:node:reason:)`` naming `op` when out of range.
    public static func normalizeAxis(_ axis: Int, rank: Int, op: String, node: String? = nil) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else {
            throw KilnError.invalidArgument(op: op, node: node, reason: "axis \(axis) is out of range for rank \(rank)")
        }
        return a
    }

    /// NumPy/ONNX multidirectional broadcasting of two shapes.
    /// - Throws: ``KilnError/shapeMismatch(op:node:tensor:expected:got:)`` when a pair of
    ///   dimensions is neither equal nor 1.
    public static func broadcast(_ a: [Int], _ b: [Int], op: String, node: String? = nil) throws -> [Int] {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 {
                out[i] = da
            } else if da == 1 {
                out[i] = db
            } else {
                throw KilnError.shapeMismatch(op: op, node: node, tensor: "broadcast of \(a) and \(b)", expected: a, got: b)
            }
        }
        return out
    }
}
