/// ONNX `Split` (opset 1–21): any dtype.
///
/// The sizes come from, in order: the `split` input (opset 13+) or attribute (before 13), or
/// `num_outputs` (opset 18: chunks of `ceil(dim / num_outputs)`, the last one smaller).
///
/// **Loader convention**: before opset 18 a node without `split` divides the axis evenly into as
/// many parts as the node has outputs, a count only the graph knows. The loader passes it as the
/// `num_outputs` attribute (so such a node behaves like its opset-18 form; an even split is the
/// same under both rules). Without `split` or `num_outputs`, `run` throws.
struct Split: Operator {
    static let opType = "Split"
    let axis: Int
    let split: [Int]?
    let numOutputs: Int?

    init(attributes: Attributes) throws {
        axis = try attributes.int("axis", default: 0)
        split = try attributes.ints("split")
        numOutputs = attributes.has("num_outputs") ? try attributes.int("num_outputs") : nil
        if let n = numOutputs, n < 1 { throw attributes.error("num_outputs \(n) must be at least 1") }
        if split != nil && numOutputs != nil { throw attributes.error("'split' and 'num_outputs' are mutually exclusive") }
        try attributes.rejectUnknown(["axis", "split", "num_outputs"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "input", context: context)
        guard x.rank >= 1 else { throw failure("cannot split a rank-0 tensor", context: context) }
        let a = try Shape.normalizeAxis(axis, rank: x.rank, op: Self.opType, node: context.node)
        let dim = x.shape[a]
        var sizes: [Int]
        if let given = try attributeOrInput(split, inputs, 1, "split", context: context) {
            if numOutputs != nil { throw failure("'split' and 'num_outputs' are mutually exclusive", context: context) }
            guard !given.isEmpty, given.allSatisfy({ $0 >= 0 }) else {
                throw failure("split \(given) must be a non-empty list of non-negative sizes", context: context)
            }
            guard given.reduce(0, +) == dim else {
                throw failure("split \(given) sums to \(given.reduce(0, +)), axis \(a) of shape \(x.shape) has \(dim)", context: context)
            }
            sizes = given
        } else if let n = numOutputs {
            // ONNX Runtime's rule: n-1 chunks of ceil(dim / n), the remainder last; a negative
            // remainder (dim 5 into 4) is an error.
            let chunk = (dim + n - 1) / n
            let lastSize = dim - chunk * (n - 1)
            guard lastSize >= 0 else {
                throw failure("num_outputs \(n) cannot split axis \(a) of size \(dim) (shape \(x.shape)) into chunks of \(chunk)", context: context)
            }
            // An empty axis splits into empty parts; bound their number like a real output count.
            guard dim > 0 || n <= 1 << 16 else { throw failure("num_outputs \(n) is implausibly large", context: context) }
            sizes = [Int](repeating: chunk, count: n - 1) + [lastSize]
        } else {
            throw failure("needs 'split' or 'num_outputs' (the loader supplies num_outputs = the node's output count)", context: context)
        }
        let size = x.dtype.byteSize
        let outer = x.shape[0..<a].reduce(1, *)
        let inner = x.shape[(a + 1)...].reduce(1, *)
        let inRow = dim * inner * size
        var outputs: [Tensor] = []
        var offset = 0
        for s in sizes {
            var shape = x.shape
            shape[a] = s
            var y = try context.allocate(shape, dtype: x.dtype)
            let bytes = s * inner * size
            if bytes > 0 {
                let dst = y.mutableBase(), src = x.rawPointer + offset
                let threads = y.byteCount >= dataMovementParallelThreshold ? context.threads : 1
                ExecutionContext(threads: threads).parallelFor(outer, with: (dst, src, bytes, inRow)) { raw, start, end in
                    let (dst, src, bytes, inRow) = raw.load(as: (UnsafeMutableRawPointer, UnsafeRawPointer, Int, Int).self)
                    for o in start..<end { (dst + o &* bytes).copyMemory(from: src + o &* inRow, byteCount: bytes) }
                }
            }
            offset += bytes
            outputs.append(y)
        }
        withExtendedLifetime(x) {}
        return outputs
    }
}
