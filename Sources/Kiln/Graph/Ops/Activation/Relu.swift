/// ONNX `Relu`: `y = max(x, 0)`, float32, any shape.
struct Relu: Operator {
    static let opType = "Relu"

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown([])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "X", context: context)
        try require(x, .float32, "X", context: context)
        var y = try Tensor(uninitialized: x.shape, dtype: .float32)
        let src = x.pointer(Float.self)
        let dst = y.mutablePointer(Float.self)
        let n = x.count
        // Split into cache-friendly chunks only when there is enough work to pay for a thread.
        let chunks = n >= 1 << 16 ? context.threads : 1
        ExecutionContext(threads: chunks).parallelFor(n) { start, end in
            relu_f32(src + start, dst + start, count: end &- start)
        }
        withExtendedLifetime(x) {}
        return [y]
    }
}
