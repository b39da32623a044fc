/// The arithmetic shared by `Add`, `Sub`, `Mul`, `Div`, `Max`, `Min`, `Sum` and `Mean`.
enum ArithmeticKind: Sendable {
    case add, sub, mul, div, max, min
}

/// `a ⊕ b` with multidirectional broadcasting, for float32, int64 and int32 (both inputs of the
/// same dtype). Integer ops wrap on overflow; integer `div` truncates toward zero and throws on a
/// zero divisor.
/// - Parameters:
///   - kind: The operation.
///   - a: Left operand.
///   - b: Right operand.
///   - names: Input names for errors (`("A", "B")`).
///   - op: Op type for errors.
///   - context: Threads and node name.
/// - Throws: ``KilnError`` for mixed or unsupported dtypes, shapes that do not broadcast, or an
///   integer division by zero.
func broadcastArithmetic(_ kind: ArithmeticKind, _ a: Tensor, _ b: Tensor, names: (String, String) = ("A", "B"),
                         op: String, context: ExecutionContext) throws -> Tensor {
    guard a.dtype == b.dtype else {
        throw KilnError.invalidArgument(op: op, node: context.node,
                                        reason: "inputs \(names.0) \(a.dtype)\(a.shape) and \(names.1) \(b.dtype)\(b.shape) must have the same dtype")
    }
    // Kept from the last inference with these input shapes.
    let plan = try context.memoized(a.shape, b.shape) { try BroadcastPlan([a.shape, b.shape], op: op, node: context.node) }
    switch a.dtype {
    case .float32:
        switch kind {
        case .add: return try binaryBroadcast_f32(AddF32.self, a, b, plan: plan, context: context)
        case .sub: return try binaryBroadcast_f32(SubF32.self, a, b, plan: plan, context: context)
        case .mul: return try binaryBroadcast_f32(MulF32.self, a, b, plan: plan, context: context)
        case .div: return try binaryBroadcast_f32(DivF32.self, a, b, plan: plan, context: context)
        case .max: return try binaryBroadcast_f32(MaxF32.self, a, b, plan: plan, context: context)
        case .min: return try binaryBroadcast_f32(MinF32.self, a, b, plan: plan, context: context)
        }
    case .int64:
        return try integerArithmetic(kind, Int64.self, a, b, plan: plan, names: names, op: op, context: context)
    case .int32:
        return try integerArithmetic(kind, Int32.self, a, b, plan: plan, names: names, op: op, context: context)
    default:
        throw KilnError.unsupportedDType(op: op, node: context.node, tensor: names.0, dtype: a.dtype)
    }
}

private func integerArithmetic<I: FixedWidthInteger & SignedInteger>(_ kind: ArithmeticKind, _ type: I.Type, _ a: Tensor, _ b: Tensor,
                                                                     plan: BroadcastPlan, names: (String, String), op: String,
                                                                     context: ExecutionContext) throws -> Tensor {
    let dtype = a.dtype
    switch kind {
    case .add: return try binaryBroadcast_int(AddInt.self, type, a, b, plan: plan, dtype: dtype, context: context)
    case .sub: return try binaryBroadcast_int(SubInt.self, type, a, b, plan: plan, dtype: dtype, context: context)
    case .mul: return try binaryBroadcast_int(MulInt.self, type, a, b, plan: plan, dtype: dtype, context: context)
    case .div:
        // Every element of a broadcast input is used at least once (unless the output is empty),
        // so a zero anywhere in the divisor is a division by zero.
        if plan.outputCount > 0 && containsZero(b, type) {
            throw KilnError.invalidArgument(op: op, node: context.node,
                                            reason: "integer division by zero (divisor \(names.1) \(b.dtype)\(b.shape) contains 0)")
        }
        return try binaryBroadcast_int(DivInt.self, type, a, b, plan: plan, dtype: dtype, context: context)
    case .max: return try binaryBroadcast_int(MaxInt.self, type, a, b, plan: plan, dtype: dtype, context: context)
    case .min: return try binaryBroadcast_int(MinInt.self, type, a, b, plan: plan, dtype: dtype, context: context)
    }
}

/// Checks a binary op's input count (exactly 2, both present) and returns them.
func binaryInputs<Op: Operator>(_ op: Op, _ inputs: [Tensor?], context: ExecutionContext) throws -> (Tensor, Tensor) {
    guard inputs.count == 2 else {
        throw op.failure("expects 2 inputs (A, B), got \(inputs.count)", context: context)
    }
    return (try op.input(inputs, 0, "A", context: context), try op.input(inputs, 1, "B", context: context))
}

/// ONNX `Add`: `C = A + B` with multidirectional broadcasting; float32, int64, int32.
struct Add: SingleOutputOperator {
    static let opType = "Add"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        let (a, b) = try binaryInputs(self, inputs, context: context)
        return try broadcastArithmetic(.add, a, b, op: Self.opType, context: context)
    }
}

/// ONNX `Sub`: `C = A - B` with multidirectional broadcasting; float32, int64, int32.
struct Sub: SingleOutputOperator {
    static let opType = "Sub"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        let (a, b) = try binaryInputs(self, inputs, context: context)
        return try broadcastArithmetic(.sub, a, b, op: Self.opType, context: context)
    }
}

/// ONNX `Mul`: `C = A * B` with multidirectional broadcasting; float32, int64, int32.
struct Mul: SingleOutputOperator {
    static let opType = "Mul"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        let (a, b) = try binaryInputs(self, inputs, context: context)
        return try broadcastArithmetic(.mul, a, b, op: Self.opType, context: context)
    }
}

/// ONNX `Div`: `C = A / B` with multidirectional broadcasting; float32 (IEEE), int64 and int32
/// (truncating toward zero; a zero divisor throws).
struct Div: SingleOutputOperator {
    static let opType = "Div"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        let (a, b) = try binaryInputs(self, inputs, context: context)
        return try broadcastArithmetic(.div, a, b, op: Self.opType, context: context)
    }
}
