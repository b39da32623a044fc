/// Folds `inputs` (≥ 1, all present, one dtype) pairwise with multidirectional broadcasting.
/// Broadcasting is associative, so the pairwise fold has the shape of the n-way broadcast.
private func foldInputs<Op: Operator>(_ op: Op, _ kind: ArithmeticKind, _ inputs: [Tensor?], floatOnly: Bool,
                                      context: ExecutionContext) throws -> Tensor {
    guard !inputs.isEmpty else { throw op.failure("expects at least 1 input, got 0", context: context) }
    let first = try op.input(inputs, 0, "data_0", context: context)
    if floatOnly { try op.require(first, .float32, "data_0", context: context) }
    // Check every shape first so a conflict is reported with all shapes, before any work.
    var shapes: [[Int]] = []
    for i in inputs.indices { shapes.append(try op.input(inputs, i, "data_\(i)", context: context).shape) }
    _ = try BroadcastPlan.outputShape(shapes, op: Op.opType, node: context.node)
    var acc = first
    for i in 1..<inputs.count {
        let x = try op.input(inputs, i, "data_\(i)", context: context)
        acc = try broadcastArithmetic(kind, acc, x, names: ("data_0", "data_\(i)"), op: Op.opType, context: context)
    }
    if inputs.count == 1 {
        guard [.float32, .int64, .int32].contains(first.dtype) else {
            throw KilnError.unsupportedDType(op: Op.opType, node: context.node, tensor: "data_0", dtype: first.dtype)
        }
    }
    return acc
}

/// ONNX `Max`: elementwise maximum of 1 or more inputs with multidirectional broadcasting;
/// float32 (NaN propagates), int64, int32.
struct Max: Operator {
    static let opType = "Max"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try foldInputs(self, .max, inputs, floatOnly: false, context: context)]
    }
}

/// ONNX `Min`: elementwise minimum of 1 or more inputs with multidirectional broadcasting;
/// float32 (NaN propagates), int64, int32.
struct Min: Operator {
    static let opType = "Min"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try foldInputs(self, .min, inputs, floatOnly: false, context: context)]
    }
}

/// ONNX `Sum`: elementwise sum of 1 or more float32 inputs with multidirectional broadcasting,
/// added left to right.
struct Sum: Operator {
    static let opType = "Sum"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try foldInputs(self, .add, inputs, floatOnly: true, context: context)]
    }
}

/// ONNX `Mean`: elementwise mean of 1 or more float32 inputs with multidirectional broadcasting
/// (the left-to-right sum divided by the input count).
struct Mean: Operator {
    static let opType = "Mean"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let sum = try foldInputs(self, .add, inputs, floatOnly: true, context: context)
        if inputs.count == 1 { return [sum] }
        let n = Tensor(scalar: Float(inputs.count))
        return [try broadcastArithmetic(.div, sum, n, op: Self.opType, context: context)]
    }
}
