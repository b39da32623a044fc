// Pointwise activations with float attributes. Attributes are read and checked once, at decode.

/// ONNX `LeakyRelu`: `x < 0 ? alpha * x : x`, float32.
///
/// | attribute | type | default |
/// |---|---|---|
/// | alpha | float | 0.01 |
struct LeakyRelu: SingleOutputOperator {
    static let opType = "LeakyRelu"
    let kernel: LeakyReluF32

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["alpha"])
        kernel = LeakyReluF32(alpha: try attributes.float("alpha", default: 0.01))
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, kernel, inputs, context: context)
    }
}

/// ONNX `HardSigmoid`: `clamp(alpha * x + beta, 0, 1)`, float32.
///
/// | attribute | type | default |
/// |---|---|---|
/// | alpha | float | 0.2 |
/// | beta | float | 0.5 |
struct HardSigmoid: SingleOutputOperator {
    static let opType = "HardSigmoid"
    let kernel: HardSigmoidF32

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["alpha", "beta"])
        kernel = HardSigmoidF32(alpha: try attributes.float("alpha", default: 0.2),
                                beta: try attributes.float("beta", default: 0.5))
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, kernel, inputs, context: context)
    }
}

/// ONNX `Elu`: `x > 0 ? x : alpha * (e^x - 1)`, float32.
///
/// | attribute | type | default |
/// |---|---|---|
/// | alpha | float | 1.0 |
struct Elu: SingleOutputOperator {
    static let opType = "Elu"
    let kernel: EluF32

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["alpha"])
        kernel = EluF32(alpha: try attributes.float("alpha", default: 1))
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, kernel, inputs, context: context, grain: transcendentalGrain)
    }
}

/// ONNX `Selu`: `gamma * (x > 0 ? x : alpha * (e^x - 1))`, float32.
///
/// | attribute | type | default |
/// |---|---|---|
/// | alpha | float | 1.67326319217681884765625 |
/// | gamma | float | 1.05070102214813232421875 |
struct Selu: SingleOutputOperator {
    static let opType = "Selu"
    let kernel: SeluF32

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["alpha", "gamma"])
        kernel = SeluF32(alpha: try attributes.float("alpha", default: 1.67326319217681884765625),
                         gamma: try attributes.float("gamma", default: 1.05070102214813232421875))
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, kernel, inputs, context: context, grain: transcendentalGrain)
    }
}

/// ONNX `Swish` (opset 24): `x * sigmoid(alpha * x)`; with alpha = 1 this is SiLU. Older exports
/// spell SiLU as `Sigmoid` followed by `Mul`, which runs as those two ops.
///
/// | attribute | type | default |
/// |---|---|---|
/// | alpha | float | 1.0 |
struct Swish: SingleOutputOperator {
    static let opType = "Swish"
    let kernel: SwishF32

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["alpha"])
        kernel = SwishF32(alpha: try attributes.float("alpha", default: 1))
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, kernel, inputs, context: context, grain: transcendentalGrain)
    }
}

/// ONNX `Gelu` (opset 20): `0.5 x (1 + erf(x / √2))`, or with `approximate = "tanh"`
/// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`; float32.
///
/// | attribute | type | default | values |
/// |---|---|---|---|
/// | approximate | string | "none" | "none", "tanh" |
struct Gelu: SingleOutputOperator {
    static let opType = "Gelu"
    let useTanh: Bool

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["approximate"])
        let approximate = try attributes.string("approximate", default: "none")
        switch approximate {
        case "none": useTanh = false
        case "tanh": useTanh = true
        default: throw attributes.error("attribute 'approximate' must be \"none\" or \"tanh\", got \"\(approximate)\"")
        }
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        useTanh
            ? try runUnaryF32(self, GeluTanhF32(), inputs, context: context, grain: transcendentalGrain)
            : try runUnaryF32(self, GeluErfF32(), inputs, context: context, grain: transcendentalGrain)
    }
}
