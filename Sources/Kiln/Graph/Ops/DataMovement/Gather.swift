/// ONNX `Gather` (opset 1–21): any data dtype, `int64` or `int32` indices of any rank.
///
/// Output shape `data.shape[..<axis] + indices.shape + data.shape[(axis+1)...]`. Negative indices
/// count from the end; an index outside `-dim ..< dim` is an error (checked before any copy).
struct Gather: Operator {
    static let opType = "Gather"
    let axis: Int

    init(attributes: Attributes) throws {
        axis = try attributes.int("axis", default: 0)
        try attributes.rejectUnknown(["axis"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try input(inputs, 0, "data", context: context)
        let indicesTensor = try input(inputs, 1, "indices", context: context)
        guard data.rank >= 1 else { throw failure("data must have rank ≥ 1, got a scalar", context: context) }
        let a = try Shape.normalizeAxis(axis, rank: data.rank, op: Self.opType, node: context.node)
        let dim = data.shape[a]
        let raw: [Int]
        switch indicesTensor.dtype {
        case .int64: raw = try indicesTensor.scalars(as: Int64.self).map { Int($0) }
        case .int32: raw = try indicesTensor.scalars(as: Int32.self).map { Int($0) }
        default: throw KilnError.unsupportedDType(op: Self.opType, node: context.node, tensor: "indices", dtype: indicesTensor.dtype)
        }
        let indices = try raw.map { i in
            guard i >= -dim, i < dim else {
                throw failure("index \(i) is out of range for axis \(a) of size \(dim) (data shape \(data.shape))", context: context)
            }
            return i < 0 ? i + dim : i
        }
        let outShape = Array(data.shape[..<a]) + indicesTensor.shape + Array(data.shape[(a + 1)...])
        var y = try context.allocate(outShape, dtype: data.dtype)
        let size = data.dtype.byteSize
        let outer = data.shape[..<a].reduce(1, *)
        let block = data.shape[(a + 1)...].reduce(1, *) * size
        let n = indices.count
        if block > 0 && n > 0 {
            let src = data.rawPointer, dst = y.mutableBase()
            let threads = y.byteCount >= dataMovementParallelThreshold ? context.threads : 1
            indices.withUnsafeBufferPointer { idx in
                let args = (src, dst, idx.baseAddress!, n, dim, block)
                ExecutionContext(threads: threads).parallelFor(outer &* n, with: args) { raw, start, end in
                    let (src, dst, idx, n, dim, block) =
                        raw.load(as: (UnsafeRawPointer, UnsafeMutableRawPointer, UnsafePointer<Int>, Int, Int, Int).self)
                    for item in start..<end {
                        let o = item / n, k = item % n
                        (dst + item &* block).copyMemory(from: src + (o &* dim &+ idx[k]) &* block, byteCount: block)
                    }
                }
            }
        }
        withExtendedLifetime(data) {}
        return [y]
    }
}
