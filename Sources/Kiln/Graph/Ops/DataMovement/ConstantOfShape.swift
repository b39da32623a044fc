/// ONNX `ConstantOfShape` (opset 9–21): a tensor of the shape given by input 0 (1-D `int64`,
/// non-negative; empty means a scalar) filled with `value` (a one-element tensor attribute of
/// any dtype; default float32 0).
struct ConstantOfShape: Operator {
    static let opType = "ConstantOfShape"
    let value: Tensor

    init(attributes: Attributes) throws {
        if let v = try attributes.tensor("value") {
            guard v.count == 1 else { throw attributes.error("attribute 'value' must hold one element, got shape \(v.shape)") }
            value = v
        } else {
            value = Tensor(scalar: Float(0))
        }
        try attributes.rejectUnknown(["value"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let shape = try indexVector(try input(inputs, 0, "input", context: context), "input", context: context)
        guard shape.allSatisfy({ $0 >= 0 }) else { throw failure("shape \(shape) has a negative dimension", context: context) }
        var y = try context.allocate(shape, dtype: value.dtype)
        let dst = y.mutableBase(), n = y.count
        value.withUnsafeBytes { v in fillElements(dst, count: n, value: v.baseAddress!, elementSize: value.dtype.byteSize) }
        return [y]
    }
}
