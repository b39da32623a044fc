/// ONNX `Resize` (opset 10–19), float32 input.
///
/// Inputs (opset 11+): `X, roi?, scales?, sizes?` — exactly one of `scales` (float32) and `sizes`
/// (int64) is given (an empty tensor counts as absent). With `axes` (opset 18) they cover only the
/// listed axes. A node with exactly two inputs is the opset-10 form `X, scales`, whose coordinates
/// are `asymmetric` and whose nearest rounding is ONNX Runtime's opset-10 rule (floor when
/// upsampling, ceil when downsampling), unless the attributes say otherwise.
///
/// Modes: `nearest` (all `nearest_mode`s), `linear` (N-linear over any axes) and `cubic`; every
/// `coordinate_transformation_mode` (roi is used by `tf_crop_and_resize`); `antialias = 1` (opset
/// 18) for linear and cubic (not with `tf_crop_and_resize`; nearest ignores it, as ONNX says).
/// Unsupported: `keep_aspect_ratio_policy` other than `stretch`.
struct Resize: Operator {
    static let opType = "Resize"
    let spec: ResizeSpec
    /// Whether the coordinate and nearest modes were given explicitly (an opset-10 node has neither).
    let explicitModes: Bool
    let axes: [Int]?

    init(attributes a: Attributes) throws {
        func parse<T: RawRepresentable>(_ name: String, _ fallback: String, _: T.Type) throws -> T where T.RawValue == String {
            let s = try a.string(name, default: fallback)
            guard let v = T(rawValue: s), s != "simple" else {
                throw KilnError.unsupportedOp(name: Self.opType, node: a.node, reason: "\(name) '\(s)'")
            }
            return v
        }
        var spec = ResizeSpec(mode: try parse("mode", "nearest", ResizeMode.self),
                          coordinates: try parse("coordinate_transformation_mode", "half_pixel", ResizeCoordinateMode.self),
                          nearest: try parse("nearest_mode", "round_prefer_floor", ResizeNearestMode.self),
                          cubicA: try a.float("cubic_coeff_a", default: -0.75),
                          excludeOutside: try a.int("exclude_outside", default: 0) != 0,
                          extrapolationValue: try a.float("extrapolation_value", default: 0))
        explicitModes = a.has("coordinate_transformation_mode") || a.has("nearest_mode")
        let antialias = try a.int("antialias", default: 0)
        guard antialias == 0 || antialias == 1 else { throw a.error("antialias \(antialias) must be 0 or 1") }
        if antialias == 1 && spec.coordinates == .tfCropAndResize && spec.mode != .nearest {
            throw KilnError.unsupportedOp(name: Self.opType, node: a.node, reason: "antialias=1 with tf_crop_and_resize is not supported")
        }
        spec.antialias = antialias == 1
        self.spec = spec
        let policy = try a.string("keep_aspect_ratio_policy", default: "stretch")
        guard policy == "stretch" else {
            throw KilnError.unsupportedOp(name: Self.opType, node: a.node, reason: "keep_aspect_ratio_policy '\(policy)' (only 'stretch')")
        }
        axes = try a.ints("axes")
        try a.rejectUnknown(["mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a", "exclude_outside",
                             "extrapolation_value", "antialias", "keep_aspect_ratio_policy", "axes"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "X", context: context)
        try require(x, .float32, "X", context: context)
        func present(_ i: Int) -> Tensor? { optionalInput(inputs, i).flatMap { $0.count == 0 ? nil : $0 } }
        let opset10 = inputs.count == 2
        var spec = self.spec
        if opset10 && !explicitModes {
            spec.coordinates = .asymmetric
            spec.nearest = .simple
        }
        let roiTensor = opset10 ? nil : present(1)
        let scalesTensor = opset10 ? present(1) : present(2)
        let sizesTensor = opset10 ? nil : present(3)
        let ax = try axes.map { try normalizedAxes($0, rank: x.rank, context: context) } ?? Array(0..<x.rank)

        var scales = [Float](repeating: 1, count: x.rank)
        var outShape = x.shape
        switch (scalesTensor, sizesTensor) {
        case (_?, _?):
            throw failure("give either scales or sizes, not both", context: context)
        case (nil, nil):
            throw failure("needs scales or sizes", context: context)
        case (let s?, nil):
            try require(s, .float32, "scales", context: context)
            let v = try s.scalars(as: Float.self)
            guard s.rank == 1, v.count == ax.count else {
                throw failure("scales has shape \(s.shape), expected [\(ax.count)] for input \(x.shape)", context: context)
            }
            for (k, a) in ax.enumerated() {
                guard v[k] > 0, v[k].isFinite else { throw failure("scale \(v[k]) for axis \(a) must be positive", context: context) }
                scales[a] = v[k]
                let d = (v[k] * Float(x.shape[a])).rounded(.towardZero)
                guard d < Float(Shape.maxByteCount) else { throw KilnError.allocationTooLarge(what: "Resize output axis \(a)", byteCount: "\(d) elements") }
                outShape[a] = Int(d)
            }
        case (nil, let s?):
            let v = try indexVector(s, "sizes", context: context)
            guard v.count == ax.count else {
                throw failure("sizes has \(v.count) values, expected \(ax.count) for input \(x.shape)", context: context)
            }
            for (k, a) in ax.enumerated() {
                guard v[k] >= 0 else { throw failure("size \(v[k]) for axis \(a) is negative", context: context) }
                outShape[a] = v[k]
                scales[a] = x.shape[a] > 0 ? Float(v[k]) / Float(x.shape[a]) : 1
            }
        }
        var roiStart = [Float](repeating: 0, count: x.rank), roiEnd = [Float](repeating: 1, count: x.rank)
        if spec.coordinates == .tfCropAndResize, let r = roiTensor {
            try require(r, .float32, "roi", context: context)
            let v = try r.scalars(as: Float.self)
            guard v.count == 2 * ax.count else {
                throw failure("roi has \(v.count) values, expected \(2 * ax.count)", context: context)
            }
            for (k, a) in ax.enumerated() { roiStart[a] = v[k]; roiEnd[a] = v[k + ax.count] }
        }
        return [try Resize.resample(x, to: outShape, scales: scales, roiStart: roiStart, roiEnd: roiEnd, spec: spec,
                                    op: Self.opType, context: context)]
    }

    /// Resamples `x` to `outShape` one axis at a time (innermost first), skipping axes whose table
    /// is the identity.
    static func resample(_ x: Tensor, to outShape: [Int], scales: [Float], roiStart: [Float], roiEnd: [Float],
                         spec: ResizeSpec, op: String, context: ExecutionContext) throws -> Tensor {
        for a in 0..<x.rank where x.shape[a] == 0 && outShape[a] > 0 {
            throw KilnError.invalidArgument(op: op, node: context.node, reason: "cannot resize empty axis \(a) of \(x.shape) to \(outShape[a])")
        }
        // Check the output size before building per-axis tables as long as the output axes.
        _ = try Shape.byteCount(outShape, dtype: .float32, what: "\(op) output")
        if outShape.contains(0) || x.count == 0 { return try Tensor(zeros: outShape, dtype: .float32) }
        var current = x
        for a in stride(from: x.rank - 1, through: 0, by: -1) {
            let table = ResizeAxisTable(spec: spec, inLen: x.shape[a], outLen: outShape[a], scale: scales[a],
                                        roiStart: roiStart[a], roiEnd: roiEnd[a])
            if x.shape[a] == outShape[a] && table.isIdentity { continue }
            var shape = current.shape
            shape[a] = outShape[a]
            var next = try context.allocate(shape, dtype: .float32)
            resizeAxis_f32(src: current.pointer(Float.self), dst: next.mutablePointer(Float.self),
                           outer: shape[0..<a].reduce(1, *), inLen: x.shape[a], inner: shape[(a + 1)...].reduce(1, *),
                           outLen: outShape[a], table: table, extrapolationValue: spec.extrapolationValue, context: context)
            withExtendedLifetime(current) {}
            current = next
        }
        return current
    }
}
