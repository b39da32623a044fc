/// ONNX `Squeeze` (opset 1–21): any dtype, zero-copy. `axes` is an attribute before opset 13 and
/// input 1 from 13 on (both forms accepted). Without axes, every size-1 dimension is removed;
/// a listed axis whose size is not 1 is an error.
struct Squeeze: Operator {
    static let opType = "Squeeze"
    let axes: [Int]?

    init(attributes: Attributes) throws {
        axes = try attributes.ints("axes")
        try attributes.rejectUnknown(["axes"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "data", context: context)
        let given = try attributeOrInput(axes, inputs, 1, "axes", context: context)
        var drop = Set<Int>()
        if let given {
            for a in try normalizedAxes(given, rank: x.rank, context: context) {
                guard x.shape[a] == 1 else {
                    throw failure("cannot squeeze axis \(a) of shape \(x.shape): its size is not 1", context: context)
                }
                drop.insert(a)
            }
        } else {
            for (i, d) in x.shape.enumerated() where d == 1 { drop.insert(i) }
        }
        let shape = x.shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
        return [try x.reshaped(shape)]
    }
}
