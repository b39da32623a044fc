/// Runs a two-input logical op on bool tensors with broadcasting.
private func runLogical<Op: Operator, L: LogicalOp>(_ op: Op, _ logic: L.Type, _ inputs: [Tensor?],
                                                    context: ExecutionContext) throws -> [Tensor] {
    let (a, b) = try binaryInputs(op, inputs, context: context)
    try op.require(a, .bool, "A", context: context)
    try op.require(b, .bool, "B", context: context)
    let plan = try BroadcastPlan([a.shape, b.shape], op: Op.opType, node: context.node)
    return [try logicalBroadcast(logic, a, b, plan: plan, context: context)]
}

/// ONNX `And` on bool tensors, with broadcasting.
struct And: Operator {
    static let opType = "And"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try runLogical(self, AndOp.self, inputs, context: context)
    }
}

/// ONNX `Or` on bool tensors, with broadcasting.
struct Or: Operator {
    static let opType = "Or"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try runLogical(self, OrOp.self, inputs, context: context)
    }
}

/// ONNX `Xor` on bool tensors, with broadcasting.
struct Xor: Operator {
    static let opType = "Xor"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try runLogical(self, XorOp.self, inputs, context: context)
    }
}

/// ONNX `Not` on a bool tensor.
struct Not: Operator {
    static let opType = "Not"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 1 else { throw failure("expects 1 input (X), got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "X", context: context)
        try require(x, .bool, "X", context: context)
        var y = try context.allocate(x.shape, dtype: .bool)
        let src = x.pointer(UInt8.self)
        let dst = y.mutablePointer(UInt8.self)
        let n = x.count
        var i = 0
        while i < n { dst[i] = src[i] == 0 ? 1 : 0; i &+= 1 }
        withExtendedLifetime(x) {}
        return [y]
    }
}
