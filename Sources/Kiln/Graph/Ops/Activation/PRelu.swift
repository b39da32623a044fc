/// ONNX `PRelu`: `y = x < 0 ? slope * x : x`, float32.
///
/// `slope` broadcasts *unidirectionally* to `X` (NumPy rules, right-aligned, the output shape is
/// `X`'s): a per-channel slope for `[N, C, H, W]` is `[C, 1, 1]` (as PyTorch exports it) or
/// `[1, C, 1, 1]`; a single slope is `[1]` or `[]`. A rank-1 `[C]` slope aligns with the *last*
/// dimension, as in ONNX and ONNX Runtime (the pre-opset-7 "channel" reading is not applied).
struct PRelu: Operator {
    static let opType = "PRelu"

    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 2 else {
            throw failure("expects 2 inputs (X, slope), got \(inputs.count)", context: context)
        }
        let x = try input(inputs, 0, "X", context: context)
        let slope = try input(inputs, 1, "slope", context: context)
        try require(x, .float32, "X", context: context)
        try require(slope, .float32, "slope", context: context)
        let plan = try BroadcastPlan(unidirectional: slope.shape, to: x.shape, inputName: "slope", op: Self.opType, node: context.node)
        return [try binaryBroadcast_f32(PReluF32.self, x, slope, plan: plan, context: context)]
    }
}
