/// Shared decoding and execution of `Softmax` and `LogSoftmax` (opset ≥ 13 semantics: normalize
/// along the single axis `axis`; the opset < 13 "flatten to 2-D at axis" form is not emulated).
struct SoftmaxCore: Sendable {
    /// The axis, possibly negative.
    let axis: Int

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["axis"])
        axis = try attributes.int("axis", default: -1)
    }

    func run<Op: Operator>(_ op: Op, _ inputs: [Tensor?], log: Bool, context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 1 else {
            throw op.failure("expects 1 input (input), got \(inputs.count)", context: context)
        }
        let x = try op.input(inputs, 0, "input", context: context)
        try op.require(x, .float32, "input", context: context)
        let a = try Shape.normalizeAxis(axis, rank: x.rank, op: Op.opType, node: context.node)
        let outer = x.shape[..<a].reduce(1, &*)
        let inner = x.shape[(a + 1)...].reduce(1, &*)
        var y = try context.allocate(x.shape, dtype: .float32)
        softmax_f32(x.pointer(Float.self), y.mutablePointer(Float.self), outer: outer, axis: x.shape[a], inner: inner,
                    log: log, context: context)
        withExtendedLifetime(x) {}
        return [y]
    }
}

/// ONNX `Softmax` (opset 13): `exp(x - max) / Σ exp(x - max)` along `axis`, float32.
///
/// | attribute | type | default | values |
/// |---|---|---|---|
/// | axis | int | -1 | `-rank ..< rank` |
struct Softmax: Operator {
    static let opType = "Softmax"
    let core: SoftmaxCore
    init(attributes: Attributes) throws { core = try SoftmaxCore(attributes: attributes) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try core.run(self, inputs, log: false, context: context)
    }
}

/// ONNX `LogSoftmax` (opset 13): `(x - max) - log Σ exp(x - max)` along `axis`, float32.
///
/// | attribute | type | default | values |
/// |---|---|---|---|
/// | axis | int | -1 | `-rank ..< rank` |
struct LogSoftmax: Operator {
    static let opType = "LogSoftmax"
    let core: SoftmaxCore
    init(attributes: Attributes) throws { core = try SoftmaxCore(attributes: attributes) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try core.run(self, inputs, log: true, context: context)
    }
}
