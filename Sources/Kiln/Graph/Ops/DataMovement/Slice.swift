/// ONNX `Slice`: any dtype.
///
/// Opset 10+ form: inputs `data, starts, ends, axes?, steps?` (`int32` or `int64`). Opset 1–9 form:
/// attributes `starts`, `ends`, `axes?` (steps 1). Negative starts/ends count from the end; values
/// beyond the dimension (such as the `INT64_MAX` ends that exporters emit) are clamped; negative
/// steps walk backwards; a step of 0 is an error. The copy is one ``stridedCopy`` with
/// `step·stride` source strides.
struct Slice: Operator {
    static let opType = "Slice"
    let starts: [Int]?
    let ends: [Int]?
    let axes: [Int]?

    init(attributes: Attributes) throws {
        starts = try attributes.ints("starts")
        ends = try attributes.ints("ends")
        axes = try attributes.ints("axes")
        if (starts == nil) != (ends == nil) { throw attributes.error("attributes 'starts' and 'ends' go together") }
        if axes != nil && starts == nil { throw attributes.error("attribute 'axes' needs 'starts' and 'ends'") }
        try attributes.rejectUnknown(["starts", "ends", "axes"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "data", context: context)
        let s: [Int], e: [Int], ax: [Int]?, st: [Int]?
        if let starts, let ends {
            guard inputs.count <= 1 else {
                throw failure("starts/ends given as attributes (opset < 10) and as inputs", context: context)
            }
            s = starts; e = ends; ax = axes; st = nil
        } else {
            s = try indexVector(try input(inputs, 1, "starts", context: context), "starts", allowInt32: true, context: context)
            e = try indexVector(try input(inputs, 2, "ends", context: context), "ends", allowInt32: true, context: context)
            ax = try optionalInput(inputs, 3).map { try indexVector($0, "axes", allowInt32: true, context: context) }
            st = try optionalInput(inputs, 4).map { try indexVector($0, "steps", allowInt32: true, context: context) }
        }
        let axesList = ax ?? Array(0..<s.count)
        let steps = st ?? [Int](repeating: 1, count: s.count)
        guard e.count == s.count, axesList.count == s.count, steps.count == s.count else {
            throw failure("starts (\(s.count)), ends (\(e.count)), axes (\(axesList.count)) and steps (\(steps.count)) must have the same length", context: context)
        }
        let normalized = try normalizedAxes(axesList, rank: x.rank, context: context)
        var begin = [Int](repeating: 0, count: x.rank)
        var step = [Int](repeating: 1, count: x.rank)
        var outShape = x.shape
        for (k, a) in normalized.enumerated() {
            let r = Slice.resolve(start: s[k], end: e[k], step: steps[k], dim: x.shape[a])
            guard let r else { throw failure("step for axis \(axesList[k]) is 0", context: context) }
            // With at most one element the step is irrelevant; keeping it 1 avoids overflowing
            // `stride·step` for steps like INT64_MAX.
            begin[a] = r.start; step[a] = r.count > 1 ? steps[k] : 1; outShape[a] = r.count
        }
        var y = try context.allocate(outShape, dtype: x.dtype)
        let strides = Shape.strides(x.shape)
        var offset = 0
        for i in 0..<x.rank where outShape[i] > 0 { offset += begin[i] * strides[i] }
        stridedCopy(shape: outShape, src: x.rawPointer + offset * x.dtype.byteSize,
                    srcStrides: (0..<x.rank).map { strides[$0] * step[$0] },
                    dst: y.mutableBase(), dstStrides: Shape.strides(outShape),
                    elementSize: x.dtype.byteSize, context: context)
        withExtendedLifetime(x) {}
        return [y]
    }

    /// The first index and element count of one axis (ONNX clamping rules), or `nil` for step 0.
    static func resolve(start: Int, end: Int, step: Int, dim: Int) -> (start: Int, count: Int)? {
        guard step != 0 else { return nil }
        // Adding `dim` to a negative value cannot overflow; huge positive values are clamped below.
        var s = start < 0 ? start + dim : start
        var e = end < 0 ? end + dim : end
        if step > 0 {
            s = min(max(s, 0), dim)
            e = min(max(e, 0), dim)
            let n = e > s ? (e - s - 1) / step + 1 : 0
            return (s, n)
        } else {
            s = min(max(s, 0), dim - 1)
            e = min(max(e, -1), dim - 1)
            let magnitude = step == Int.min ? Int.max : -step
            let n = s > e ? (s - e - 1) / magnitude + 1 : 0
            return (max(s, 0), n)
        }
    }
}
