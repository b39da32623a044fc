/// ONNX `Transpose` (opset 1–21): any dtype. `perm` defaults to reversing the axes.
///
/// Output axis `i` is input axis `perm[i]`. The copy is one ``stridedCopy`` whose coalescing turns
/// 2-D transposes and NCHW↔NHWC-like permutations into batched blocked 2-D transposes, and
/// permutations that keep the inner axes into contiguous runs.
struct Transpose: Operator {
    static let opType = "Transpose"
    let perm: [Int]?

    init(attributes: Attributes) throws {
        perm = try attributes.ints("perm")
        try attributes.rejectUnknown(["perm"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "data", context: context)
        let p = perm ?? Array((0..<x.rank).reversed())
        guard p.count == x.rank, Set(p).count == p.count, p.allSatisfy({ $0 >= 0 && $0 < x.rank }) else {
            throw failure("perm \(p) is not a permutation of the \(x.rank) axes of shape \(x.shape)", context: context)
        }
        return [try Transpose.apply(x, perm: p, context: context)]
    }

    /// `x` with its axes permuted by `perm` (already validated).
    static func apply(_ x: Tensor, perm: [Int], context: ExecutionContext) throws -> Tensor {
        if perm == Array(0..<x.rank) { return x }
        let outShape = perm.map { x.shape[$0] }
        var y = try context.allocate(outShape, dtype: x.dtype)
        let inStrides = Shape.strides(x.shape)
        stridedCopy(shape: outShape, src: x.rawPointer, srcStrides: perm.map { inStrides[$0] },
                    dst: y.mutableBase(), dstStrides: Shape.strides(outShape),
                    elementSize: x.dtype.byteSize, context: context)
        withExtendedLifetime(x) {}
        return y
    }
}
