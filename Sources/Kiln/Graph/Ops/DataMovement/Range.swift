/// ONNX `Range` (opset 11–21): `start, start + delta, …` up to (excluding) `limit`, with
/// `max(ceil((limit - start) / delta), 0)` elements. Inputs are scalars (rank 0, or shape `[1]`)
/// of one dtype: `float32`, `int64` or `int32`. `delta = 0` is an error.
struct RangeOp: Operator {
    static let opType = "Range"

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown([])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let names = ["start", "limit", "delta"]
        let xs = try (0..<3).map { try input(inputs, $0, names[$0], context: context) }
        let dtype = xs[0].dtype
        for (i, x) in xs.enumerated() {
            guard x.dtype == dtype else {
                throw KilnError.unsupportedDType(op: Self.opType, node: context.node, tensor: "\(names[i]) (start is \(dtype))", dtype: x.dtype)
            }
            guard x.count == 1, x.rank <= 1 else { throw failure("\(names[i]) must be a scalar, got shape \(x.shape)", context: context) }
        }
        switch dtype {
        case .float32:
            let v = try xs.map { try $0.scalars(as: Float.self)[0] }
            guard v[2] != 0, v.allSatisfy({ $0.isFinite }) else { throw failure("start/limit/delta \(v) must be finite with delta ≠ 0", context: context) }
            let n = try count(Double(v[1] - v[0]) / Double(v[2]), context: context)
            // ONNX Runtime accumulates `value += delta`; doing the same keeps float outputs identical.
            var y = try context.allocate([n], dtype: .float32)
            let out = y.mutablePointer(Float.self)
            var value = v[0]
            for i in 0..<n { out[i] = value; value += v[2] }
            return [y]
        case .int64, .int32:
            let v = try xs.map { dtype == .int64 ? Int(try $0.scalars(as: Int64.self)[0]) : Int(try $0.scalars(as: Int32.self)[0]) }
            guard v[2] != 0 else { throw failure("delta is 0", context: context) }
            // Exact integer ceil((limit - start) / delta); the difference of two int64 values can
            // overflow, the count of a real range cannot.
            let (diff, overflow) = v[1].subtractingReportingOverflow(v[0])
            guard !overflow else { throw failure("range \(v[0]) ..< \(v[1]) is too large", context: context) }
            var q = diff / v[2]
            if diff % v[2] != 0 && (diff > 0) == (v[2] > 0) { q += 1 }
            let n = try count(Double(max(q, 0)), context: context)
            // Every value lies between start and limit, so `start + i·delta` cannot overflow.
            var y = try context.allocate([n], dtype: dtype)
            if dtype == .int64 {
                let out = y.mutablePointer(Int64.self)
                for i in 0..<n { out[i] = Int64(v[0] + i * v[2]) }
            } else {
                let out = y.mutablePointer(Int32.self)
                for i in 0..<n { out[i] = Int32(truncatingIfNeeded: v[0] + i * v[2]) }
            }
            return [y]
        default:
            throw KilnError.unsupportedDType(op: Self.opType, node: context.node, tensor: "start", dtype: dtype)
        }
    }

    private func count(_ steps: Double, context: ExecutionContext) throws -> Int {
        let n = max(steps.rounded(.up), 0)
        guard n < Double(Shape.maxByteCount) else { throw KilnError.allocationTooLarge(what: "Range output of \(n) elements", byteCount: "more than \(Shape.maxByteCount)") }
        return Int(n)
    }
}
