/// ONNX `Concat` (opset 1–21): any dtype, any number (≥ 1) of inputs of equal rank and dtype whose
/// dimensions agree except along `axis` (required; negative counts from the end). Inputs with a
/// zero-size concatenation dimension contribute nothing.
struct Concat: Operator {
    static let opType = "Concat"
    let axis: Int

    init(attributes: Attributes) throws {
        axis = try attributes.int("axis")
        try attributes.rejectUnknown(["axis"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard !inputs.isEmpty else { throw failure("needs at least one input", context: context) }
        let xs = try (0..<inputs.count).map { try input(inputs, $0, "inputs[\($0)]", context: context) }
        let first = xs[0]
        guard first.rank >= 1 else { throw failure("cannot concatenate rank-0 tensors", context: context) }
        let a = try Shape.normalizeAxis(axis, rank: first.rank, op: Self.opType, node: context.node)
        var outShape = first.shape
        outShape[a] = 0
        for (i, x) in xs.enumerated() {
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
            outShape[a] += x.shape[a]
        }
        var y = try context.allocate(outShape, dtype: first.dtype)
        let size = first.dtype.byteSize
        let outer = outShape[0..<a].reduce(1, *)
        let inner = outShape[(a + 1)...].reduce(1, *)
        let outRow = outShape[a] * inner * size
        let dst = y.mutableBase()
        // Each input contributes one contiguous block of `shape[a]·inner` elements per outer index.
        var pieces: [(src: UnsafeRawPointer, bytes: Int, offset: Int)] = []
        var offset = 0
        for x in xs where x.shape[a] > 0 {
            let bytes = x.shape[a] * inner * size
            pieces.append((x.rawPointer, bytes, offset))
            offset += bytes
        }
        let threads = y.byteCount >= dataMovementParallelThreshold ? context.threads : 1
        ExecutionContext(threads: threads).parallelFor(outer) { start, end in
            for o in start..<end {
                for piece in pieces where piece.bytes > 0 {
                    (dst + (o &* outRow &+ piece.offset)).copyMemory(from: piece.src + o &* piece.bytes, byteCount: piece.bytes)
                }
            }
        }
        withExtendedLifetime(xs) {}
        return [y]
    }
}
