/// ONNX `Expand` (opset 8–21): any dtype. Broadcasts `input` against `shape` (input 1, `int64`)
/// in both directions (NumPy rules: a `1` in `shape` keeps the input dimension). The copy is one
/// ``stridedCopy`` with stride 0 on broadcast axes.
struct Expand: Operator {
    static let opType = "Expand"

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown([])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "input", context: context)
        let target = try indexVector(try input(inputs, 1, "shape", context: context), "shape", context: context)
        guard target.allSatisfy({ $0 >= 0 }) else { throw failure("shape \(target) has a negative dimension", context: context) }
        let outShape = try Shape.broadcast(x.shape, target, op: Self.opType, node: context.node)
        var y = try context.allocate(outShape, dtype: x.dtype)
        // Input strides aligned to the output's trailing axes; broadcast axes read stride 0.
        let inStrides = Shape.strides(x.shape)
        let lead = outShape.count - x.rank
        let srcStrides = (0..<outShape.count).map { i -> Int in
            i < lead || x.shape[i - lead] == 1 ? 0 : inStrides[i - lead]
        }
        stridedCopy(shape: outShape, src: x.rawPointer, srcStrides: srcStrides, dst: y.mutableBase(),
                    dstStrides: Shape.strides(outShape), elementSize: x.dtype.byteSize, context: context)
        withExtendedLifetime(x) {}
        return [y]
    }
}
