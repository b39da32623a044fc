/// ONNX `Relu`: `y = max(x, 0)`, float32, any shape (NaN stays NaN).
struct Relu: SingleOutputOperator {
    static let opType = "Relu"

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown([])
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        try runUnaryF32(self, ReluF32(), inputs, context: context)
    }
}
