/// ONNX `Shape` (opset 1–21): the input's dimensions as a 1-D `int64` tensor, optionally the
/// slice `start ..< end` (opset 15; negative values count from the end, out-of-range values clamp).
struct ShapeOp: Operator {
    static let opType = "Shape"
    let start: Int
    let end: Int?

    init(attributes: Attributes) throws {
        start = try attributes.int("start", default: 0)
        end = attributes.has("end") ? try attributes.int("end") : nil
        try attributes.rejectUnknown(["start", "end"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "data", context: context)
        let r = x.rank
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + r : v, 0), r) }
        let s = clamp(start), e = clamp(end ?? r)
        let dims = s < e ? Array(x.shape[s..<e]) : []
        return [try Tensor(shape: [dims.count], scalars: dims.map { Int64($0) })]
    }
}
