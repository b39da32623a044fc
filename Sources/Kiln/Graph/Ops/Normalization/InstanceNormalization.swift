/// ONNX `InstanceNormalization`, float32: `X` is `[N, C, spatial...]` (rank ≥ 3), `scale` and `B`
/// are `[C]`; each `(n, c)` plane is normalized to zero mean and unit variance over its spatial
/// elements, then `Y = n · scale[c] + B[c]`.
struct InstanceNormalization: Operator {
    static let opType = "InstanceNormalization"

    let epsilon: Float

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["epsilon"])
        epsilon = try attributes.float("epsilon", default: 1e-5)
        guard epsilon.isFinite, epsilon >= 0 else { throw attributes.error("epsilon \(epsilon) must be finite and non-negative") }
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 3 else { throw failure("expects 3 inputs (input, scale, B), got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "input", context: context)
        let scale = try input(inputs, 1, "scale", context: context)
        let bias = try input(inputs, 2, "B", context: context)
        try require(x, .float32, "input", context: context)
        try require(scale, .float32, "scale", context: context)
        try require(bias, .float32, "B", context: context)
        guard x.rank >= 3 else { throw failure("input must be [N, C, spatial...] with rank >= 3, got shape \(x.shape)", context: context) }
        let c = x.shape[1]
        for (t, name) in [(scale, "scale"), (bias, "B")] where t.shape != [c] {
            throw KilnError.shapeMismatch(op: Self.opType, node: context.node, tensor: "\(name) (one value per channel of input \(x.shape))",
                                          expected: [c], got: t.shape)
        }
        let size = x.shape.dropFirst(2).reduce(1, &*)
        var y = try context.allocate(x.shape, dtype: .float32)
        if y.count > 0 {
            instanceNorm_f32(x.pointer(Float.self), y.mutablePointer(Float.self), batch: x.shape[0], channels: c, size: size,
                             epsilon: epsilon, scale: scale.pointer(Float.self), bias: bias.pointer(Float.self), context: context)
        }
        withExtendedLifetime((x, scale, bias)) {}
        return [y]
    }
}
