/// ONNX `Upsample` (opset 7 and 9; deprecated in 10), float32. `scales` is an attribute in opset 7
/// and input 1 in opset 9 (both forms accepted); `mode` is `nearest` (default) or `linear`
/// (`bilinear` from opset 1 is accepted as `linear`). Coordinates are `asymmetric`; nearest picks
/// floor when upsampling and ceil when downsampling, as ONNX Runtime does. Runs the ``Resize``
/// kernel.
struct Upsample: Operator {
    static let opType = "Upsample"
    let spec: ResizeSpec
    let scales: [Float]?

    init(attributes a: Attributes) throws {
        let m = try a.string("mode", default: "nearest")
        let mode: ResizeMode
        switch m {
        case "nearest": mode = .nearest
        case "linear", "bilinear": mode = .linear
        default: throw KilnError.unsupportedOp(name: Self.opType, node: a.node, reason: "mode '\(m)' (supported: nearest, linear)")
        }
        spec = ResizeSpec(mode: mode, coordinates: .asymmetric, nearest: .simple, cubicA: -0.75,
                          excludeOutside: false, extrapolationValue: 0)
        scales = try a.floats("scales")
        try a.rejectUnknown(["mode", "scales"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "X", context: context)
        try require(x, .float32, "X", context: context)
        let s: [Float]
        if let scales {
            guard optionalInput(inputs, 1) == nil else { throw failure("scales given both as attribute and as input 1", context: context) }
            s = scales
        } else {
            let t = try input(inputs, 1, "scales", context: context)
            try require(t, .float32, "scales", context: context)
            s = try t.scalars(as: Float.self)
        }
        guard s.count == x.rank else { throw failure("scales \(s) must have one value per axis of \(x.shape)", context: context) }
        var outShape = x.shape
        for a in 0..<x.rank {
            // ONNX defines Upsample for scales ≥ 1 only (ONNX Runtime rejects the others too).
            guard s[a] >= 1, s[a].isFinite else { throw failure("scale \(s[a]) for axis \(a) must be at least 1", context: context) }
            let d = (s[a] * Float(x.shape[a])).rounded(.towardZero)
            guard d < Float(Shape.maxByteCount) else { throw KilnError.allocationTooLarge(what: "Upsample output axis \(a)", byteCount: "\(d) elements") }
            outShape[a] = Int(d)
        }
        let zeros = [Float](repeating: 0, count: x.rank), ones = [Float](repeating: 1, count: x.rank)
        return [try Resize.resample(x, to: outShape, scales: s, roiStart: zeros, roiEnd: ones, spec: spec,
                                    op: Self.opType, context: context)]
    }
}
