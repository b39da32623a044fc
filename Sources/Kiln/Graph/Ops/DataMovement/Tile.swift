/// ONNX `Tile` (opset 6–21): any dtype. `repeats` (input 1, `int64`, one non-negative value per
/// axis). Output axis `a` is `repeats[a]` copies of input axis `a`; the copy is one
/// ``stridedCopy`` over the view `[r0, d0, r1, d1, …]` reading stride 0 along each `r`.
struct Tile: Operator {
    static let opType = "Tile"

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown([])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "input", context: context)
        let repeats = try indexVector(try input(inputs, 1, "repeats", context: context), "repeats", context: context)
        guard repeats.count == x.rank, repeats.allSatisfy({ $0 >= 0 }) else {
            throw failure("repeats \(repeats) must hold \(x.rank) non-negative values for shape \(x.shape)", context: context)
        }
        var outShape = x.shape
        for a in 0..<x.rank {
            let (d, o) = x.shape[a].multipliedReportingOverflow(by: repeats[a])
            guard !o else { throw KilnError.allocationTooLarge(what: "Tile output", byteCount: "more than \(Int.max)") }
            outShape[a] = d
        }
        var y = try context.allocate(outShape, dtype: x.dtype)
        let inStrides = Shape.strides(x.shape)
        var view: [Int] = [], src: [Int] = []
        for a in 0..<x.rank {
            view += [repeats[a], x.shape[a]]
            src += [0, inStrides[a]]
        }
        stridedCopy(shape: view, src: x.rawPointer, srcStrides: src, dst: y.mutableBase(),
                    dstStrides: Shape.strides(view), elementSize: x.dtype.byteSize, context: context)
        withExtendedLifetime(x) {}
        return [y]
    }
}
