/// ONNX `Clip`: `y = min(max(x, min), max)`, float32, any shape. `Clip(0, 6)` is ReLU6.
///
/// The bounds come from optional scalar inputs 1 (`min`) and 2 (`max`) (opset ≥ 11), or from the
/// float attributes `min` and `max` (opset 6); giving the same bound both ways is an error. A
/// missing bound is ±∞. NaN inputs stay NaN. When `min > max` every output is `max` (ONNX).
///
/// | attribute | type | default |
/// |---|---|---|
/// | min (opset 6) | float | -∞ |
/// | max (opset 6) | float | +∞ |
struct Clip: SingleOutputOperator {
    static let opType = "Clip"
    /// Bounds given as attributes (opset 6), `nil` when absent.
    let minAttribute: Float?
    let maxAttribute: Float?

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["min", "max"])
        minAttribute = attributes.has("min") ? try attributes.float("min") : nil
        maxAttribute = attributes.has("max") ? try attributes.float("max") : nil
    }

    /// The value of optional bound input `index`, or the attribute, or `fallback`.
    private func bound(_ inputs: [Tensor?], _ index: Int, _ name: String, attribute: Float?, fallback: Float,
                       context: ExecutionContext) throws -> Float {
        guard let t = optionalInput(inputs, index) else { return attribute ?? fallback }
        guard attribute == nil else {
            throw failure("'\(name)' is given both as input \(index) and as an attribute", context: context)
        }
        try require(t, .float32, name, context: context)
        guard t.count == 1 else {
            throw KilnError.shapeMismatch(op: Self.opType, node: context.node, tensor: "\(name) (must be a scalar)", expected: [], got: t.shape)
        }
        return t.pointer(Float.self).pointee
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        guard (1...3).contains(inputs.count) else {
            throw failure("expects 1 to 3 inputs (input, min, max), got \(inputs.count)", context: context)
        }
        let lo = try bound(inputs, 1, "min", attribute: minAttribute, fallback: -.infinity, context: context)
        let hi = try bound(inputs, 2, "max", attribute: maxAttribute, fallback: .infinity, context: context)
        let x = try input(inputs, 0, "X", context: context)
        try require(x, .float32, "X", context: context)
        return try unaryMap_f32(ClipF32(lo: lo, hi: hi), x, context: context)
    }
}
