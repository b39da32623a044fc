/// ONNX `Pow`: `Z = X ^ Y` with multidirectional broadcasting.
///
/// `X` is float32; `Y` is float32, int64 or int32 (integer exponents are converted to float32,
/// exactly for |Y| ≤ 2²⁴). Computed with libm `powf`, so a negative base with an integral exponent
/// gives the signed result and with a fractional one NaN. A single-element exponent equal to 2
/// (the form LayerNorm decompositions use) is computed as `X * X`, which is correctly rounded.
struct Pow: Operator {
    static let opType = "Pow"

    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 2 else {
            throw failure("expects 2 inputs (X, Y), got \(inputs.count)", context: context)
        }
        let x = try input(inputs, 0, "X", context: context)
        var y = try input(inputs, 1, "Y", context: context)
        try require(x, .float32, "X", context: context)
        switch y.dtype {
        case .float32: break
        case .int64, .int32: y = try y.converted(to: .float32)
        default: throw KilnError.unsupportedDType(op: Self.opType, node: context.node, tensor: "Y", dtype: y.dtype)
        }
        let plan = try BroadcastPlan([x.shape, y.shape], op: Self.opType, node: context.node)
        if y.count == 1, try y.scalars(as: Float.self)[0] == 2 {
            return [try binaryBroadcast_f32(MulF32.self, x, x, plan: BroadcastPlan([x.shape, x.shape, y.shape], op: Self.opType, node: context.node),
                                            context: context)]
        }
        return [try binaryBroadcast_f32(PowF32.self, x, y, plan: plan, context: context)]
    }
}
