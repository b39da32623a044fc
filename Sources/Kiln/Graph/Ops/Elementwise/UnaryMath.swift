/// Runs a float32 unary function on input 0 of a one-input op (also used by the activations).
/// - Throws: ``KilnError`` when the input count is not 1 or the input is not float32.
func runUnaryF32<Op: Operator, F: UnaryOpF32>(_ op: Op, _ f: F, _ inputs: [Tensor?], context: ExecutionContext,
                                              grain: Int = 1 << 16) throws -> Tensor {
    guard inputs.count == 1 else {
        throw op.failure("expects 1 input (X), got \(inputs.count)", context: context)
    }
    let x = try op.input(inputs, 0, "X", context: context)
    try op.require(x, .float32, "X", context: context)
    return try unaryMap_f32(f, x, context: context, grain: grain)
}

/// The float32 kernel or integer form of a `UnaryMath` op.
private func runUnaryMath<Op: Operator, F: UnaryOpF32>(_ op: Op, _ f: F, integer: UnaryIntKind?, _ inputs: [Tensor?],
                                                       context: ExecutionContext, grain: Int = 1 << 16) throws -> Tensor {
    if let kind = integer, inputs.count == 1, let x = inputs[0], x.dtype == .int64 || x.dtype == .int32 {
        return x.dtype == .int64 ? try unaryMap_int(kind, Int64.self, x, context: context) : try unaryMap_int(kind, Int32.self, x, context: context)
    }
    return try runUnaryF32(op, f, inputs, context: context, grain: grain)
}

/// ONNX `Sqrt` (float32; negative inputs give NaN).
struct Sqrt: SingleOutputOperator {
    static let opType = "Sqrt"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryMath(self, SqrtF32(), integer: nil, inputs, context: context)
    }
}

/// ONNX `Exp` (float32, libm `expf`).
struct Exp: SingleOutputOperator {
    static let opType = "Exp"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryMath(self, ExpF32(), integer: nil, inputs, context: context, grain: 1 << 14)
    }
}

/// ONNX `Log` (float32, libm `logf`: 0 → -inf, negative → NaN).
struct Log: SingleOutputOperator {
    static let opType = "Log"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryMath(self, LogF32(), integer: nil, inputs, context: context, grain: 1 << 14)
    }
}

/// ONNX `Abs` (float32, int64, int32; integer `abs(min)` wraps to `min`).
struct Abs: SingleOutputOperator {
    static let opType = "Abs"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryMath(self, AbsF32(), integer: .abs, inputs, context: context)
    }
}

/// ONNX `Neg` (float32, int64, int32; integer `-min` wraps to `min`).
struct Neg: SingleOutputOperator {
    static let opType = "Neg"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryMath(self, NegF32(), integer: .neg, inputs, context: context)
    }
}

/// ONNX `Reciprocal`: `1 / x` (float32; 0 → inf).
struct Reciprocal: SingleOutputOperator {
    static let opType = "Reciprocal"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryMath(self, ReciprocalF32(), integer: nil, inputs, context: context)
    }
}

/// ONNX `Floor` (float32).
struct Floor: SingleOutputOperator {
    static let opType = "Floor"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryMath(self, FloorF32(), integer: nil, inputs, context: context)
    }
}

/// ONNX `Ceil` (float32).
struct Ceil: SingleOutputOperator {
    static let opType = "Ceil"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryMath(self, CeilF32(), integer: nil, inputs, context: context)
    }
}
