/// ONNX `BatchNormalization` in inference mode, float32: `X` is `[N, C, ...]` (rank ≥ 2) and
/// `scale`, `B`, `input_mean`, `input_var` are `[C]`;
/// `Y = (X - mean) / sqrt(var + epsilon) · scale + B`, per channel. `training_mode` must be 0;
/// `momentum` is read and ignored (it only matters in training). Produces only `Y`.
struct BatchNormalization: Operator {
    static let opType = "BatchNormalization"

    let epsilon: Float

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["epsilon", "momentum", "training_mode"])
        epsilon = try attributes.float("epsilon", default: 1e-5)
        _ = try attributes.float("momentum", default: 0.9)
        let training = try attributes.int("training_mode", default: 0)
        guard training == 0 else {
            throw KilnError.unsupportedOp(name: Self.opType, node: attributes.node,
                                          reason: "training_mode \(training) is not supported (inference only)")
        }
        guard epsilon.isFinite, epsilon >= 0 else { throw attributes.error("epsilon \(epsilon) must be finite and non-negative") }
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 5 else { throw failure("expects 5 inputs (X, scale, B, input_mean, input_var), got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "X", context: context)
        try require(x, .float32, "X", context: context)
        guard x.rank >= 2 else { throw failure("X must be [N, C, ...] with rank >= 2, got shape \(x.shape)", context: context) }
        let c = x.shape[1]
        var params: [[Float]] = []
        for (i, name) in ["scale", "B", "input_mean", "input_var"].enumerated() {
            let t = try input(inputs, i + 1, name, context: context)
            try require(t, .float32, name, context: context)
            guard t.shape == [c] else {
                throw KilnError.shapeMismatch(op: Self.opType, node: context.node, tensor: "\(name) (one value per channel of X \(x.shape))",
                                              expected: [c], got: t.shape)
            }
            params.append(try t.scalars(as: Float.self))
        }
        // Fold the four parameter vectors into one multiply-add per element.
        var a = [Float](repeating: 0, count: c), b = [Float](repeating: 0, count: c)
        for i in 0..<c {
            a[i] = params[0][i] / (params[3][i] + epsilon).squareRoot()
            b[i] = params[1][i] - params[2][i] * a[i]
        }
        var y = try context.allocate(x.shape, dtype: .float32)
        let size = x.shape.dropFirst(2).reduce(1, &*)
        if y.count > 0 {
            let xp = x.pointer(Float.self), yp = y.mutablePointer(Float.self)
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    batchNormInference_f32(xp, yp, batch: x.shape[0], channels: c, size: size,
                                           a: ap.baseAddress!, b: bp.baseAddress!, context: context)
                }
            }
        }
        withExtendedLifetime(x) {}
        return [y]
    }
}
