/// ONNX `LayerNormalization` (opset 17), float32: normalizes `X` over the dims `axis...` (default
/// the last) to zero mean and unit variance, then `Y = n · Scale + B`, where `Scale` and the
/// optional `B` broadcast unidirectionally to `X.shape[axis...]`. Statistics are computed in
/// float32 (`stash_type` 1). Produces only `Y`; the optional `Mean` and `InvStdDev` outputs are
/// not computed.
struct LayerNormalization: Operator {
    static let opType = "LayerNormalization"

    let axis: Int
    let epsilon: Float

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["axis", "epsilon", "stash_type"])
        axis = try attributes.int("axis", default: -1)
        epsilon = try attributes.float("epsilon", default: 1e-5)
        let stash = try attributes.int("stash_type", default: 1)
        guard stash == 1 else {
            throw KilnError.unsupportedOp(name: Self.opType, node: attributes.node, reason: "stash_type \(stash) is not supported (only 1, float32)")
        }
        guard epsilon.isFinite, epsilon >= 0 else { throw attributes.error("epsilon \(epsilon) must be finite and non-negative") }
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 2 || inputs.count == 3 else { throw failure("expects 2 or 3 inputs (X, Scale, B), got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "X", context: context)
        let scale = try input(inputs, 1, "Scale", context: context)
        let bias = optionalInput(inputs, 2)
        try require(x, .float32, "X", context: context)
        try require(scale, .float32, "Scale", context: context)
        if let bias { try require(bias, .float32, "B", context: context) }
        guard x.rank >= 1 else { throw failure("X must have rank >= 1, got a scalar", context: context) }
        let ax = try Shape.normalizeAxis(axis, rank: x.rank, op: Self.opType, node: context.node)
        let normShape = Array(x.shape[ax...])
        let rows = x.shape[..<ax].reduce(1, &*)
        let cols = normShape.reduce(1, &*)
        let scaleFull = try expand(scale, to: normShape, name: "Scale", context: context)
        let biasFull = try bias.map { try expand($0, to: normShape, name: "B", context: context) }
        var y = try context.allocate(x.shape, dtype: .float32)
        if y.count > 0 {
            let xp = x.pointer(Float.self), yp = y.mutablePointer(Float.self)
            scaleFull.withUnsafeBufferPointer { sp in
                if let biasFull {
                    biasFull.withUnsafeBufferPointer { bp in
                        layerNorm_f32(xp, yp, rows: rows, cols: cols, epsilon: epsilon, scale: sp.baseAddress!, bias: bp.baseAddress!, context: context)
                    }
                } else {
                    layerNorm_f32(xp, yp, rows: rows, cols: cols, epsilon: epsilon, scale: sp.baseAddress!, bias: nil, context: context)
                }
            }
        }
        withExtendedLifetime(x) {}
        return [y]
    }

    /// `t` broadcast unidirectionally to `shape` (the normalized dims), as a flat array.
    private func expand(_ t: Tensor, to shape: [Int], name: String, context: ExecutionContext) throws -> [Float] {
        let values = try t.scalars(as: Float.self)
        if t.shape == shape { return values }
        let mismatch = KilnError.shapeMismatch(op: Self.opType, node: context.node,
                                               tensor: "\(name) (must broadcast to the normalized dims of X)", expected: shape, got: t.shape)
        guard t.rank <= shape.count else { throw mismatch }
        let padded = [Int](repeating: 1, count: shape.count - t.rank) + t.shape
        for (d, s) in zip(padded, shape) where d != s && d != 1 { throw mismatch }
        let count = shape.reduce(1, &*)
        let srcStrides = Shape.strides(padded)
        let dstStrides = Shape.strides(shape)
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count {
            var rem = i, src = 0
            for d in 0..<shape.count {
                let coord = rem / dstStrides[d]
                rem -= coord * dstStrides[d]
                if padded[d] != 1 { src += coord * srcStrides[d] }
            }
            out[i] = values[src]
        }
        return out
    }
}
