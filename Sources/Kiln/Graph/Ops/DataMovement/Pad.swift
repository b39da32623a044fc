/// ONNX `Pad`: any dtype; modes `constant`, `reflect`, `edge` and `wrap` (opset 19).
///
/// Opset 11+ form: inputs `data, pads (int64), constant_value?, axes?` (axes: opset 18). Opset 2–10
/// form: attributes `pads` and `value` (float). `pads` is `[x1_begin, x2_begin, …, x1_end, x2_end, …]`
/// for the padded axes; negative values crop. Non-constant modes pad the cropped input; `reflect`
/// needs every pad smaller than that dimension and `edge`/`wrap` a non-empty dimension, as in ONNX
/// Runtime.
struct Pad: Operator {
    static let opType = "Pad"
    enum Mode: String { case constant, reflect, edge, wrap }
    let mode: Mode
    let pads: [Int]?
    let value: Float?

    init(attributes: Attributes) throws {
        let m = try attributes.string("mode", default: "constant")
        guard let mode = Mode(rawValue: m) else {
            throw KilnError.unsupportedOp(name: Self.opType, node: attributes.node, reason: "mode '\(m)' (supported: constant, reflect, edge, wrap)")
        }
        self.mode = mode
        pads = try attributes.ints("pads")
        value = attributes.has("value") ? try attributes.float("value") : nil
        try attributes.rejectUnknown(["mode", "pads", "value"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "data", context: context)
        guard let given = try attributeOrInput(pads, inputs, 1, "pads", context: context) else {
            throw failure("'pads' is required (attribute before opset 11, input 1 after)", context: context)
        }
        let axes = try optionalInput(inputs, 3).map { try normalizedAxes(try indexVector($0, "axes", allowInt32: true, context: context), rank: x.rank, context: context) }
            ?? Array(0..<x.rank)
        guard given.count == 2 * axes.count else {
            throw failure("pads has \(given.count) values, expected \(2 * axes.count) (begin and end for \(axes.count) axes of shape \(x.shape))", context: context)
        }
        var begin = [Int](repeating: 0, count: x.rank), end = begin
        for (k, a) in axes.enumerated() { begin[a] = given[k]; end[a] = given[k + axes.count] }
        var outShape = x.shape
        for a in 0..<x.rank {
            let (s1, o1) = x.shape[a].addingReportingOverflow(begin[a])
            let (d, o2) = s1.addingReportingOverflow(end[a])
            guard !o1, !o2, d >= 0 else {
                throw failure("pads \(given) crop axis \(a) of shape \(x.shape) below zero", context: context)
            }
            outShape[a] = d
        }
        var y = try context.allocate(outShape, dtype: x.dtype)
        if y.count == 0 { return [y] }
        let size = x.dtype.byteSize
        let strides = Shape.strides(x.shape)
        if mode == .constant {
            let fill = try constantValue(inputs, dtype: x.dtype, context: context)
            let dst = y.mutableBase()
            fill.withUnsafeBytes { v in fillElements(dst, count: y.count, value: v.baseAddress!, elementSize: size) }
            // Copy the part of the input that survives cropping to its place in the output.
            var srcOffset = 0, dstOffset = 0
            var region = x.shape
            let outStrides = Shape.strides(outShape)
            for a in 0..<x.rank {
                let lo = max(0, -begin[a]), hi = x.shape[a] - max(0, -end[a])
                region[a] = max(0, hi - lo)
                srcOffset += lo * strides[a]
                dstOffset += max(0, begin[a]) * outStrides[a]
            }
            if !region.contains(0) {
                stridedCopy(shape: region, src: x.rawPointer + srcOffset * size, srcStrides: strides,
                            dst: dst + dstOffset * size, dstStrides: outStrides, elementSize: size, context: context)
            }
        } else {
            var tables: [[Int]] = []
            for a in 0..<x.rank {
                let lo = max(0, -begin[a]), len = x.shape[a] - max(0, -end[a]) - lo
                let before = max(0, begin[a]), after = max(0, end[a])
                if before > 0 || after > 0 {
                    guard len > 0 else {
                        throw failure("\(mode.rawValue) padding of axis \(a) needs a non-empty (cropped) input, shape \(x.shape), pads \(given)", context: context)
                    }
                    if mode == .reflect && (before >= len || after >= len) {
                        throw failure("reflect pads (\(before), \(after)) of axis \(a) must be smaller than its size \(len) (shape \(x.shape))", context: context)
                    }
                }
                tables.append((0..<outShape[a]).map { o in
                    var p = o - before
                    if p < 0 || p >= len {
                        switch mode {
                        case .reflect: p = p < 0 ? -p : 2 * (len - 1) - p
                        case .edge: p = p < 0 ? 0 : len - 1
                        case .wrap: p = ((p % len) + len) % len
                        case .constant: break
                        }
                    }
                    return (lo + p) * strides[a]
                })
            }
            tableGather(shape: outShape, tables: tables, src: x.rawPointer, dst: y.mutableBase(), elementSize: size, context: context)
        }
        withExtendedLifetime(x) {}
        return [y]
    }

    /// The padding value as one element of `dtype`: input 2, else the `value` attribute, else 0.
    private func constantValue(_ inputs: [Tensor?], dtype: DType, context: ExecutionContext) throws -> Tensor {
        if let v = optionalInput(inputs, 2) {
            guard value == nil else { throw failure("constant value given both as attribute 'value' and as input 2", context: context) }
            guard v.dtype == dtype else {
                throw KilnError.unsupportedDType(op: Self.opType, node: context.node, tensor: "constant_value (data is \(dtype))", dtype: v.dtype)
            }
            guard v.count == 1 else { throw failure("constant_value must hold one element, got shape \(v.shape)", context: context) }
            return v
        }
        return try Tensor(scalar: value ?? 0).converted(to: dtype)
    }
}
