/// ONNX `ArgMax` and `ArgMin` (opset 1–13): the `int64` index of the largest (smallest) element
/// along `axis` (default 0, negative allowed), keeping the axis as size 1 when `keepdims` (default 1).
/// Ties give the first index, or the last with `select_last_index = 1` (opset 12). NaN counts as
/// the extreme. Inputs: float32 (float16 widened), int64 and the other integer types (widened
/// to int64). The axis must not be empty.
struct ArgReduceCore: Sendable {
    let op: String
    let findMax: Bool
    let axis: Int
    let keepDims: Bool
    let selectLast: Bool

    init(_ a: Attributes, op: String, findMax: Bool) throws {
        self.op = op
        self.findMax = findMax
        axis = try a.int("axis", default: 0)
        keepDims = try a.int("keepdims", default: 1) != 0
        selectLast = try a.int("select_last_index", default: 0) != 0
        try a.rejectUnknown(["axis", "keepdims", "select_last_index"])
    }

    func run<Op: Operator>(_ owner: Op, _ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        var x = try owner.input(inputs, 0, "data", context: context)
        switch x.dtype {
        case .float32, .int64: break
        case .float16: x = try x.converted(to: .float32)
        case .int32, .int8, .uint8: x = try x.converted(to: .int64)
        case .bool: throw KilnError.unsupportedDType(op: op, node: context.node, tensor: "data", dtype: x.dtype)
        }
        // A scalar behaves as shape [1] (ONNX Runtime accepts axis 0 on it).
        let shape = x.rank == 0 ? [1] : x.shape
        let a = try Shape.normalizeAxis(axis, rank: shape.count, op: op, node: context.node)
        guard shape[a] > 0 else {
            throw KilnError.invalidArgument(op: op, node: context.node, reason: "cannot take the arg-extreme of empty axis \(a) of \(x.shape)")
        }
        var outShape = shape
        if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
        var y = try context.allocate(outShape, dtype: .int64)
        if y.count == 0 { return [y] }
        let A = shape[..<a].reduce(1, *), R = shape[a], B = shape[(a + 1)...].reduce(1, *)
        if x.dtype == .float32 {
            argExtreme_ARB(x.pointer(Float.self), y.mutablePointer(Int64.self), A: A, R: R, B: B,
                           max: findMax, selectLast: selectLast, context: context)
        } else {
            argExtreme_ARB(x.pointer(Int64.self), y.mutablePointer(Int64.self), A: A, R: R, B: B,
                           max: findMax, selectLast: selectLast, context: context)
        }
        withExtendedLifetime(x) {}
        return [y]
    }
}

/// ONNX `ArgMax`.
struct ArgMax: Operator {
    static let opType = "ArgMax"
    let core: ArgReduceCore
    init(attributes: Attributes) throws { core = try ArgReduceCore(attributes, op: Self.opType, findMax: true) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { try core.run(self, inputs, context: context) }
}

/// ONNX `ArgMin`.
struct ArgMin: Operator {
    static let opType = "ArgMin"
    let core: ArgReduceCore
    init(attributes: Attributes) throws { core = try ArgReduceCore(attributes, op: Self.opType, findMax: false) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { try core.run(self, inputs, context: context) }
}
