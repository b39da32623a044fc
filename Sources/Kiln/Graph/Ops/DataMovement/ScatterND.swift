/// ONNX `ScatterND` (opset 11, 13, 16, 18): a copy of `data` with the slices that `indices` names
/// replaced by (or, with `reduction`, combined with) `updates`.
///
/// `indices` is `int64` `[..., q]` (`q ≤ rank(data)`, negative entries count from the end);
/// `updates` is `indices.shape[..<last] + data.shape[q...]`. Updates apply in index order, so
/// with `reduction = none` a repeated index keeps the last update (ONNX leaves that undefined).
/// `reduction`: `none` (any dtype), `add`, `mul`, `max`, `min` (float32, int64, int32).
struct ScatterND: Operator {
    static let opType = "ScatterND"

    let reduction: String

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["reduction"])
        reduction = try attributes.string("reduction", default: "none")
        guard ["none", "add", "mul", "max", "min"].contains(reduction) else {
            throw attributes.error("reduction '\(reduction)' must be none, add, mul, max or min")
        }
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 3 else { throw failure("expects 3 inputs (data, indices, updates), got \(inputs.count)", context: context) }
        let data = try input(inputs, 0, "data", context: context)
        let indicesTensor = try input(inputs, 1, "indices", context: context)
        let updates = try input(inputs, 2, "updates", context: context)
        try require(indicesTensor, .int64, "indices", context: context)
        guard updates.dtype == data.dtype else {
            throw KilnError.unsupportedDType(op: Self.opType, node: context.node, tensor: "updates (must match data)", dtype: updates.dtype)
        }
        guard indicesTensor.rank >= 1, let q = indicesTensor.shape.last, q <= data.rank else {
            throw failure("indices \(indicesTensor.shape) must have rank >= 1 and a last dim <= rank(data) = \(data.rank)", context: context)
        }
        let expected = Array(indicesTensor.shape.dropLast()) + Array(data.shape[q...])
        guard updates.shape == expected else {
            throw KilnError.shapeMismatch(op: Self.opType, node: context.node, tensor: "updates", expected: expected, got: updates.shape)
        }
        let raw = try indicesTensor.scalars(as: Int64.self)
        let slice = data.shape[q...].reduce(1, *)
        // Element offset of each index tuple's slice in data, checked before anything is written.
        let strides = Shape.strides(data.shape)
        let tuples = indicesTensor.shape.dropLast().reduce(1, *)
        var offsets = [Int](repeating: 0, count: tuples)
        for t in 0..<tuples {
            for d in 0..<q {
                let dim = data.shape[d]
                let i = Int(raw[t * q + d])
                guard i >= -dim, i < dim else {
                    throw failure("index \(raw[t * q ..< (t + 1) * q].map { Int($0) }) is out of range for data \(data.shape)", context: context)
                }
                offsets[t] += (i < 0 ? i + dim : i) * strides[d]
            }
        }
        var y = data.copied()
        if slice == 0 || offsets.isEmpty { return [y] }
        if reduction == "none" {
            let size = data.dtype.byteSize
            let src = updates.rawPointer, dst = y.mutableBase()
            for (u, offset) in offsets.enumerated() {
                (dst + offset * size).copyMemory(from: src + u * slice * size, byteCount: slice * size)
            }
        } else {
            switch data.dtype {
            case .float32: combine(&y, updates, offsets: offsets, slice: slice, add: { $0 + $1 } as (Float, Float) -> Float, mul: { $0 * $1 })
            // Integers wrap on overflow, as ONNX Runtime's do.
            case .int64: combine(&y, updates, offsets: offsets, slice: slice, add: { $0 &+ $1 } as (Int64, Int64) -> Int64, mul: { $0 &* $1 })
            case .int32: combine(&y, updates, offsets: offsets, slice: slice, add: { $0 &+ $1 } as (Int32, Int32) -> Int32, mul: { $0 &* $1 })
            default: throw KilnError.unsupportedDType(op: Self.opType, node: context.node, tensor: "data (reduction \(reduction))", dtype: data.dtype)
            }
        }
        withExtendedLifetime(updates) {}
        return [y]
    }

    private func combine<T: Comparable>(_ y: inout Tensor, _ updates: Tensor, offsets: [Int], slice: Int,
                                         add: @escaping (T, T) -> T, mul: @escaping (T, T) -> T) {
        let src = updates.pointer(T.self), dst = y.mutablePointer(T.self)
        let f: (T, T) -> T
        switch reduction {
        case "add": f = add
        case "mul": f = mul
        case "max": f = { Swift.max($0, $1) }
        default: f = { Swift.min($0, $1) }
        }
        for (u, offset) in offsets.enumerated() {
            for j in 0..<slice { dst[offset + j] = f(dst[offset + j], src[u * slice + j]) }
        }
    }
}
