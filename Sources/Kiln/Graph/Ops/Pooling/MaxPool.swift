/// ONNX `MaxPool`, 1-D and 2-D, float32, NCHW: `kernel_shape`, `strides`, `pads`, `dilations`,
/// `auto_pad`, `ceil_mode`. Produces only `Y`; the optional `Indices` output is not computed.
/// `storage_order` must be 0.
struct MaxPool: SingleOutputOperator {
    static let opType = "MaxPool"

    let pool: Pool2D

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"])
        let order = try attributes.int("storage_order", default: 0)
        guard order == 0 else {
            throw KilnError.unsupportedOp(name: Self.opType, node: attributes.node,
                                          reason: "storage_order \(order) is not supported (only 0, row-major Indices)")
        }
        pool = try Pool2D(attributes, kind: .max)
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        guard inputs.count == 1 else { throw failure("expects 1 input, got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "X", context: context)
        return try pool.run(x, context: context)
    }
}
