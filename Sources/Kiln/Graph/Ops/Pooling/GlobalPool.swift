/// Shared body of `GlobalAveragePool` and `GlobalMaxPool`: reduce every spatial plane of
/// `[N, C, spatial...]` (at least one spatial dim, none empty) to `[N, C, 1, ...]`.
private func globalPool(_ op: String, _ inputs: [Tensor?], isMax: Bool, context: ExecutionContext) throws -> Tensor {
    guard inputs.count == 1, let x = inputs[0] else {
        throw KilnError.invalidArgument(op: op, node: context.node, reason: "expects 1 input (X)")
    }
    guard x.dtype == .float32 else { throw KilnError.unsupportedDType(op: op, node: context.node, tensor: "X", dtype: x.dtype) }
    guard x.rank >= 3 else {
        throw KilnError.invalidArgument(op: op, node: context.node, reason: "X must be [N, C, spatial...] with rank >= 3, got shape \(x.shape)")
    }
    let spatial = x.shape.dropFirst(2)
    guard !spatial.contains(0) else {
        throw KilnError.invalidArgument(op: op, node: context.node, reason: "cannot pool over empty spatial dims of shape \(x.shape)")
    }
    let size = spatial.reduce(1, &*)
    let planes = x.shape[0] &* x.shape[1]
    let shape = context.memoized(x.shape) { Array(x.shape.prefix(2)) + [Int](repeating: 1, count: spatial.count) }
    var y = try context.allocate(shape, dtype: .float32)
    if planes > 0 {
        globalPool_f32(x.pointer(Float.self), y.mutablePointer(Float.self), planes: planes, size: size, isMax: isMax, context: context)
    }
    withExtendedLifetime(x) {}
    return y
}

/// ONNX `GlobalAveragePool`: mean over all spatial dims, `[N, C, d1, ...] → [N, C, 1, ...]`, float32.
struct GlobalAveragePool: SingleOutputOperator {
    static let opType = "GlobalAveragePool"

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown([])
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try globalPool(Self.opType, inputs, isMax: false, context: context)
    }
}

/// ONNX `GlobalMaxPool`: maximum over all spatial dims, `[N, C, d1, ...] → [N, C, 1, ...]`, float32.
struct GlobalMaxPool: SingleOutputOperator {
    static let opType = "GlobalMaxPool"

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown([])
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try globalPool(Self.opType, inputs, isMax: true, context: context)
    }
}
