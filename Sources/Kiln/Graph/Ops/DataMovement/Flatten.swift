/// ONNX `Flatten` (opset 1–21): any dtype, zero-copy. Output `[prod(shape[..<axis]), prod(shape[axis...])]`;
/// `axis` in `-rank ... rank` (default 1).
struct Flatten: SingleOutputOperator {
    static let opType = "Flatten"
    let axis: Int

    init(attributes: Attributes) throws {
        axis = try attributes.int("axis", default: 1)
        try attributes.rejectUnknown(["axis"])
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        let x = try input(inputs, 0, "input", context: context)
        // The axis may equal the rank (everything goes to the first dimension); negative values
        // count from the rank, not from rank + 1.
        let a = axis < 0 ? axis + x.rank : axis
        guard a >= 0, a <= x.rank else {
            throw failure("axis \(axis) is out of range -\(x.rank)...\(x.rank) for shape \(x.shape)", context: context)
        }
        let shape = context.memoized(x.shape) { [x.shape[0..<a].reduce(1, *), x.shape[a...].reduce(1, *)] }
        return try x.reshaped(shape)
    }
}
