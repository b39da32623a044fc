/// ONNX `Concat` (opset 1–21): any dtype, any number (≥ 1) of inputs of equal rank and dtype whose
/// dimensions agree except along `axis` (required; negative counts from the end). Inputs with a
/// zero-size concatenation dimension contribute nothing.
struct Concat: SingleOutputOperator {
    static let opType = "Concat"
    let axis: Int

    init(attributes: Attributes) throws {
        axis = try attributes.int("axis")
        try attributes.rejectUnknown(["axis"])
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        guard !inputs.isEmpty else { throw failure("needs at least one input", context: context) }
        for i in inputs.indices { _ = try input(inputs, i, "inputs[\(i)]", context: context) }
        let first = inputs[0]!
        guard first.rank >= 1 else { throw failure("cannot concatenate rank-0 tensors", context: context) }
        let a = try Shape.normalizeAxis(axis, rank: first.rank, op: Self.opType, node: context.node)
        var total = 0
        for (i, x) in inputs.lazy.map({ $0! }).enumerated() {
            guard x.dtype == first.dtype else {
                throw KilnError.unsupportedDType(op: Self.opType, node: context.node,
                                                 tensor: "inputs[\(i)] (inputs[0] is \(first.dtype))", dtype: x.dtype)
            }
            guard x.rank == first.rank else {
                throw failure("inputs[\(i)] has rank \(x.rank) (shape \(x.shape)), inputs[0] has rank \(first.rank) (shape \(first.shape))", context: context)
            }
            for d in 0..<x.rank where d != a && x.shape[d] != first.shape[d] {
                throw KilnError.shapeMismatch(op: Self.opType, node: context.node,
                                              tensor: "inputs[\(i)] (all dimensions but axis \(a) must match inputs[0])",
                                              expected: first.shape, got: x.shape)
            }
            total += x.shape[a]
        }
        // Kept from the last inference with these shapes (the first input's, and the axis' sum).
        let outShape = context.memoized(first.shape, extra: total) {
            var shape = first.shape
            shape[a] = total
            return shape
        }
        var y = try context.allocate(outShape, dtype: first.dtype)
        let size = first.dtype.byteSize
        let outer = outShape[0..<a].reduce(1, *)
        let inner = outShape[(a + 1)...].reduce(1, *)
        let outRow = outShape[a] * inner * size
        let dst = y.mutableBase()
        // Each input contributes one contiguous block of `shape[a]·inner` elements per outer index.
        let threads = y.byteCount >= dataMovementParallelThreshold ? context.threads : 1
        let args = (inputs, dst, a, inner &* size, outRow)
        ExecutionContext(threads: threads).parallelFor(outer, with: args) { raw, start, end in
            let (inputs, dst, a, innerBytes, outRow) = raw.load(as: ([Tensor?], UnsafeMutableRawPointer, Int, Int, Int).self)
            for o in start..<end {
                var offset = 0
                for x in inputs {
                    let bytes = x!.shape[a] &* innerBytes
                    if bytes > 0 {
                        (dst + (o &* outRow &+ offset)).copyMemory(from: x!.rawPointer + o &* bytes, byteCount: bytes)
                    }
                    offset &+= bytes
                }
            }
        }
        withExtendedLifetime(inputs) {}
        return y
    }
}
