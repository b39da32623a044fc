/// ONNX `Identity`: the input, unchanged (any dtype; no copy, tensors are copy-on-write).
struct Identity: Operator {
    static let opType = "Identity"
    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 1 else { throw failure("expects 1 input (input), got \(inputs.count)", context: context) }
        return [try input(inputs, 0, "input", context: context)]
    }
}

/// ONNX `Dropout` at inference: the input, unchanged (any dtype), and the optional `mask` output,
/// a bool tensor of the input's shape that is all `true` (at inference nothing is dropped).
///
/// `ratio` (input 1, or the attribute of opset < 12) and `seed` are accepted and ignored;
/// `training_mode` (input 2) must be absent or false. The optimizer removes a `Dropout` whose mask
/// is not named, so the mask is only computed for graphs that ask for it.
struct Dropout: Operator {
    static let opType = "Dropout"

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["seed", "ratio"])
        _ = try attributes.int("seed", default: 0)
        let ratio = try attributes.float("ratio", default: 0.5)
        guard ratio >= 0, ratio < 1 else { throw attributes.error("attribute 'ratio' must be in [0, 1), got \(ratio)") }
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard (1...3).contains(inputs.count) else {
            throw failure("expects 1 to 3 inputs (data, ratio, training_mode), got \(inputs.count)", context: context)
        }
        let x = try input(inputs, 0, "data", context: context)
        if let training = optionalInput(inputs, 2) {
            try require(training, .bool, "training_mode", context: context)
            guard training.count == 1 else {
                throw KilnError.shapeMismatch(op: Self.opType, node: context.node, tensor: "training_mode (must be a scalar)", expected: [], got: training.shape)
            }
            if try training.scalars(as: Bool.self)[0] {
                throw KilnError.unsupportedOp(name: Self.opType, node: context.node, reason: "training_mode = true is not supported (inference only)")
            }
        }
        var mask = try context.allocate(x.shape, dtype: .bool)
        if mask.count > 0 { mask.mutableBase().initializeMemory(as: UInt8.self, repeating: 1, count: mask.count) }
        return [x, mask]
    }
}
