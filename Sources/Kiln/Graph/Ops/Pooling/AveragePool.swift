/// ONNX `AveragePool` (opset 19), 1-D and 2-D, float32, NCHW: `kernel_shape`, `strides`, `pads`,
/// `dilations`, `auto_pad`, `ceil_mode`, `count_include_pad`.
///
/// With `count_include_pad = 1` the divisor counts the window taps inside the padded input; taps
/// past the end padding (possible with `ceil_mode`) are not counted, as in PyTorch and ONNX Runtime.
struct AveragePool: SingleOutputOperator {
    static let opType = "AveragePool"

    let pool: Pool2D

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"])
        let cip = try attributes.int("count_include_pad", default: 0)
        guard cip == 0 || cip == 1 else { throw attributes.error("count_include_pad must be 0 or 1, got \(cip)") }
        pool = try Pool2D(attributes, kind: .average(countIncludePad: cip == 1))
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        guard inputs.count == 1 else { throw failure("expects 1 input, got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "X", context: context)
        return try pool.run(x, context: context)
    }
}
