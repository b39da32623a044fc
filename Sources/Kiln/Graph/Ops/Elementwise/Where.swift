/// ONNX `Where`: `output = condition ? X : Y` with multidirectional broadcasting of all three
/// inputs. `condition` is bool; `X` and `Y` share any dtype (elements are copied, not interpreted).
struct Where: Operator {
    static let opType = "Where"

    init(attributes: Attributes) throws { try attributes.rejectUnknown([]) }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 3 else {
            throw failure("expects 3 inputs (condition, X, Y), got \(inputs.count)", context: context)
        }
        let c = try input(inputs, 0, "condition", context: context)
        let x = try input(inputs, 1, "X", context: context)
        let y = try input(inputs, 2, "Y", context: context)
        try require(c, .bool, "condition", context: context)
        guard x.dtype == y.dtype else {
            throw failure("inputs X \(x.dtype)\(x.shape) and Y \(y.dtype)\(y.shape) must have the same dtype", context: context)
        }
        let plan = try BroadcastPlan([c.shape, x.shape, y.shape], op: Self.opType, node: context.node)
        switch x.dtype.byteSize {
        case 1: return [try whereBroadcast(UInt8.self, c, x, y, dtype: x.dtype, plan: plan, context: context)]
        case 2: return [try whereBroadcast(UInt16.self, c, x, y, dtype: x.dtype, plan: plan, context: context)]
        case 4: return [try whereBroadcast(UInt32.self, c, x, y, dtype: x.dtype, plan: plan, context: context)]
        default: return [try whereBroadcast(UInt64.self, c, x, y, dtype: x.dtype, plan: plan, context: context)]
        }
    }
}
