/// ONNX `Flatten` (opset 1–21): any dtype, zero-copy. Output `[prod(shape[..<axis]), prod(shape[axis...])]`;
/// `axis` in `-rank ... rank` (default 1).
struct Flatten: Operator {
    static let opType = "Flatten"
    let axis: Int

    init(attributes: Attributes) throws {
        axis = try attributes.int("axis", default: 1)
        try attributes.rejectUnknown(["axis"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "input", context: context)
        // The axis may equal the rank (everything goes to the first dimension).
        let a = try Shape.normalizeAxis(axis, rank: x.rank + 1, op: Self.opType, node: context.node)
        let outer = x.shape[0..<a].reduce(1, *)
        let inner = x.shape[a...].reduce(1, *)
        return [try x.reshaped([outer, inner])]
    }
}
