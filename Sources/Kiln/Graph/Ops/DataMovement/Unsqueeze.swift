/// ONNX `Unsqueeze` (opset 1–21): any dtype, zero-copy. `axes` (required) is an attribute before
/// opset 13 and input 1 from 13 on (both forms accepted); axes refer to the output rank and may
/// be negative, repeats are an error.
struct Unsqueeze: Operator {
    static let opType = "Unsqueeze"
    let axes: [Int]?

    init(attributes: Attributes) throws {
        axes = try attributes.ints("axes")
        try attributes.rejectUnknown(["axes"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "data", context: context)
        guard let given = try attributeOrInput(axes, inputs, 1, "axes", context: context) else {
            throw failure("'axes' is required (attribute before opset 13, input 1 after)", context: context)
        }
        let rank = x.rank + given.count
        let inserted = Set(try normalizedAxes(given, rank: rank, context: context))
        var shape: [Int] = []
        var next = 0
        for i in 0..<rank {
            if inserted.contains(i) {
                shape.append(1)
            } else {
                shape.append(x.shape[next])
                next += 1
            }
        }
        return [try x.reshaped(shape)]
    }
}
