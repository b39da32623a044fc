/// `a <op> b` with multidirectional broadcasting into a bool tensor. Supports float32 (IEEE:
/// NaN compares false, so `Equal(NaN, NaN)` is false), int64, int32, int8, uint8, and bool when
/// `allowBool` (`Equal`).
private func runComparison<Op: Operator, C: ComparisonOp>(_ op: Op, _ cmp: C.Type, allowBool: Bool, _ inputs: [Tensor?],
                                                          context: ExecutionContext) throws -> [Tensor] {
    let (a, b) = try binaryInputs(op, inputs, context: context)
    guard a.dtype == b.dtype else {
        throw op.failure("inputs A \(a.dtype)\(a.shape) and B \(b.dtype)\(b.shape) must have the same dtype", context: context)
    }
    let plan = try BroadcastPlan([a.shape, b.shape], op: Op.opType, node: context.node)
    switch a.dtype {
    case .float32: return [try compareBroadcast(cmp, Float.self, a, b, plan: plan, context: context)]
    case .int64: return [try compareBroadcast(cmp, Int64.self, a, b, plan: plan, context: context)]
    case .int32: return [try compareBroadcast(cmp, Int32.self, a, b, plan: plan, context: context)]
    case .int8: return [try compareBroadcast(cmp, Int8.self, a, b, plan: plan, context: context)]
    case .uint8: return [try compareBroadcast(cmp, UInt8.self, a, b, plan: plan, context: context)]
    case .bool where allowBool:
        // Bool tensors hold 0 or 1, but compare truth values in case a producer wrote another byte.
        return [try logicalBroadcast(XnorOp.self, a, b, plan: plan, context: context)]
    default:
        throw KilnError.unsupportedDType(op: Op.opType, node: context.node, tensor: "A", dtype: a.dtype)
    }
}

/// Truth-value equality of bool bytes.
private enum XnorOp: LogicalOp {
    @inline(__always) static func apply(_ a: Bool, _ b: Bool) -> Bool { a == b }
}

/// ONNX `Equal` → bool, with broadcasting; float32, int64, int32, int8, uint8, bool.
struct Equal: Operator {
    static let opType = "Equal"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try runComparison(self, EqualOp.self, allowBool: true, inputs, context: context)
    }
}

/// ONNX `Less` → bool, with broadcasting; float32, int64, int32, int8, uint8.
struct Less: Operator {
    static let opType = "Less"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try runComparison(self, LessOp.self, allowBool: false, inputs, context: context)
    }
}

/// ONNX `Greater` → bool, with broadcasting; float32, int64, int32, int8, uint8.
struct Greater: Operator {
    static let opType = "Greater"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try runComparison(self, GreaterOp.self, allowBool: false, inputs, context: context)
    }
}

/// ONNX `LessOrEqual` → bool, with broadcasting; float32, int64, int32, int8, uint8.
struct LessOrEqual: Operator {
    static let opType = "LessOrEqual"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try runComparison(self, LessOrEqualOp.self, allowBool: false, inputs, context: context)
    }
}

/// ONNX `GreaterOrEqual` → bool, with broadcasting; float32, int64, int32, int8, uint8.
struct GreaterOrEqual: Operator {
    static let opType = "GreaterOrEqual"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try runComparison(self, GreaterOrEqualOp.self, allowBool: false, inputs, context: context)
    }
}
