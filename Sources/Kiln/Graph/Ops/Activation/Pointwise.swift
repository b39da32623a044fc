// Attribute-free pointwise activations: one small op type each, all running a kernel from
// Kernels/Activation/ActivationKernels.swift over a float32 tensor of any shape.

/// Element count above which a transcendental activation is split across threads (lower than
/// for cheap ops: each element costs a libm call).
let transcendentalGrain = 1 << 14

/// ONNX `Sigmoid`: `1 / (1 + e^-x)`, float32.
struct Sigmoid: SingleOutputOperator {
    static let opType = "Sigmoid"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, SigmoidF32(), inputs, context: context, grain: transcendentalGrain)
    }
}

/// ONNX `Tanh`, float32.
struct Tanh: SingleOutputOperator {
    static let opType = "Tanh"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, TanhF32(), inputs, context: context, grain: transcendentalGrain)
    }
}

/// ONNX `Erf`, float32.
struct Erf: SingleOutputOperator {
    static let opType = "Erf"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, ErfF32(), inputs, context: context, grain: transcendentalGrain)
    }
}

/// ONNX `HardSwish`: `x * clamp(x + 3, 0, 6) / 6` (= `x * HardSigmoid(x, 1/6, 1/2)`), float32.
struct HardSwish: SingleOutputOperator {
    static let opType = "HardSwish"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, HardSwishF32(), inputs, context: context)
    }
}

/// ONNX `Softplus`: `log(1 + e^x)`, computed without overflow, float32.
struct Softplus: SingleOutputOperator {
    static let opType = "Softplus"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, SoftplusF32(), inputs, context: context, grain: transcendentalGrain)
    }
}

/// ONNX `Mish`: `x * tanh(softplus(x))`, float32.
struct Mish: SingleOutputOperator {
    static let opType = "Mish"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, MishF32(), inputs, context: context, grain: transcendentalGrain)
    }
}
