/// ONNX `LRN` (local response normalization across channels, AlexNet / GoogLeNet), float32:
/// `X` is `[N, C, spatial...]` (rank ≥ 3) and
/// `Y[n, c, ...] = X[n, c, ...] / (bias + alpha / size · Σ X[n, i, ...]²)^beta`, the sum running over
/// the channels `i` in `[c − ⌊(size − 1) / 2⌋, c + ⌈(size − 1) / 2⌉]` that exist.
struct LRN: Operator {
    static let opType = "LRN"

    let size: Int
    let alpha: Float
    let beta: Float
    let bias: Float

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["size", "alpha", "beta", "bias"])
        size = try attributes.int("size")
        alpha = try attributes.float("alpha", default: 1e-4)
        beta = try attributes.float("beta", default: 0.75)
        bias = try attributes.float("bias", default: 1)
        guard size >= 1 else { throw attributes.error("size \(size) must be at least 1") }
        for (name, v) in [("alpha", alpha), ("beta", beta), ("bias", bias)] where !v.isFinite {
            throw attributes.error("\(name) \(v) must be finite")
        }
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 1 else { throw failure("expects 1 input (X), got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "X", context: context)
        try require(x, .float32, "X", context: context)
        guard x.rank >= 3 else { throw failure("X must be [N, C, spatial...] with rank >= 3, got shape \(x.shape)", context: context) }
        var y = try context.allocate(x.shape, dtype: .float32)
        if y.count > 0 {
            lrnAcrossChannels_f32(x.pointer(Float.self), y.mutablePointer(Float.self), batch: x.shape[0], channels: x.shape[1],
                                  spatial: x.shape.dropFirst(2).reduce(1, &*), size: size, alpha: alpha, beta: beta, bias: bias,
                                  context: context)
        }
        withExtendedLifetime(x) {}
        return [y]
    }
}
