// Static output shapes of the data-movement ops. Those whose shape depends on a small integer input
// (`Reshape`'s target, `Slice`'s bounds, `Resize`'s sizes, …) read its value from the input's
// `ShapeFact`, and give up (`nil`) when it is not known. See `ShapeInferable`.

/// A ``KilnError/invalidArgument(op:node:reason:)`` for a static shape function (no node name).
private func invalid(_ op: String, _ reason: String) -> KilnError {
    .invalidArgument(op: op, node: nil, reason: reason)
}

/// `axes` for `rank`, negatives from the end, repeats rejected (as ``Operator/normalizedAxes``).
private func normalized(_ axes: [Int], rank: Int, op: String) throws -> [Int] {
    var seen = Set<Int>()
    return try axes.map { a in
        let n = try Shape.normalizeAxis(a, rank: rank, op: op)
        guard seen.insert(n).inserted else { throw invalid(op, "axis \(a) is repeated in \(axes)") }
        return n
    }
}

extension Reshape: ShapeInferable {
    /// ``Reshape/resolve(_:input:allowZero:op:node:)`` on the known target (`0` copies, `-1` infers).
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), let spec = inputs[1]?.ints else { return nil }
        return [try Reshape.resolve(spec, input: x, allowZero: allowZero, op: Self.opType, node: nil)]
    }
}

extension Flatten: ShapeInferable {
    /// `[product of dims before axis, product of the rest]`.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0) else { return nil }
        let a = axis < 0 ? axis + x.count : axis
        guard a >= 0, a <= x.count else { throw invalid(Self.opType, "axis \(axis) is out of range for \(x)") }
        return [[x[..<a].reduce(1, *), x[a...].reduce(1, *)]]
    }
}

extension Squeeze: ShapeInferable {
    /// The input without the given axes (each of size 1), or without every 1 when none are given.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0) else { return nil }
        var drop = Set<Int>()
        switch inputs.attributeOrInput(axes, 1) {
        case .unknown: return nil
        case .absent: for (i, d) in x.enumerated() where d == 1 { drop.insert(i) }
        case .known(let given):
            for a in try normalized(given, rank: x.count, op: Self.opType) {
                guard x[a] == 1 else { throw invalid(Self.opType, "cannot squeeze axis \(a) of \(x)") }
                drop.insert(a)
            }
        }
        return [x.enumerated().filter { !drop.contains($0.offset) }.map(\.element)]
    }
}

extension Unsqueeze: ShapeInferable {
    /// The input with a 1 inserted at each given axis (axes of the output rank).
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), case .known(let given) = inputs.attributeOrInput(axes, 1) else { return nil }
        let rank = x.count + given.count
        let inserted = Set(try normalized(given, rank: rank, op: Self.opType))
        var out: [Int] = [], next = 0
        for i in 0..<rank {
            if inserted.contains(i) { out.append(1) } else { out.append(x[next]); next += 1 }
        }
        return [out]
    }
}

extension Transpose: ShapeInferable {
    /// Output axis `i` is input axis `perm[i]` (reversed axes by default).
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0) else { return nil }
        let p = perm ?? Array((0..<x.count).reversed())
        guard p.count == x.count, Set(p).count == p.count, p.allSatisfy({ $0 >= 0 && $0 < x.count }) else {
            throw invalid(Self.opType, "perm \(p) is not a permutation of the axes of \(x)")
        }
        return [p.map { x[$0] }]
    }
}

extension Concat: ShapeInferable {
    /// The inputs' common shape with `axis` summed.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        let shapes = inputs.items.compactMap { $0?.shape }
        guard shapes.count == inputs.count, let first = shapes.first, !first.isEmpty else { return nil }
        let a = try Shape.normalizeAxis(axis, rank: first.count, op: Self.opType)
        var out = first
        out[a] = 0
        for s in shapes {
            guard s.count == first.count, (0..<s.count).allSatisfy({ $0 == a || s[$0] == first[$0] }) else {
                throw KilnError.shapeMismatch(op: Self.opType, node: nil, tensor: "input (all dimensions but axis \(a) must match)",
                                              expected: first, got: s)
            }
            out[a] += s[a]
        }
        return [out]
    }
}

extension Split: ShapeInferable {
    /// One shape per piece: sizes from `split` (attribute or input 1) or `num_outputs` equal chunks
    /// (the last one smaller).
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), !x.isEmpty else { return nil }
        let a = try Shape.normalizeAxis(axis, rank: x.count, op: Self.opType)
        let dim = x[a]
        let sizes: [Int]
        switch inputs.attributeOrInput(split, 1) {
        case .unknown: return nil
        case .known(let given):
            guard given.allSatisfy({ $0 >= 0 }), given.reduce(0, +) == dim else {
                throw invalid(Self.opType, "split \(given) does not divide axis \(a) of \(x)")
            }
            sizes = given
        case .absent:
            guard let n = numOutputs else { return nil }
            let chunk = (dim + n - 1) / n
            guard dim - chunk * (n - 1) >= 0 else { throw invalid(Self.opType, "num_outputs \(n) cannot split \(x)") }
            sizes = [Int](repeating: chunk, count: n - 1) + [dim - chunk * (n - 1)]
        }
        return sizes.map { var s = x; s[a] = $0; return s }
    }
}

extension Slice: ShapeInferable {
    /// Per sliced axis, the element count of ``Slice/resolve(start:end:step:dim:)`` (negative
    /// bounds from the end, clamped, negative steps backwards).
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0) else { return nil }
        let s: [Int], e: [Int], ax: [Int]?, st: [Int]?
        if let starts, let ends {
            (s, e, ax, st) = (starts, ends, axes, nil)
        } else {
            guard let starts = inputs[1]?.ints, let ends = inputs[2]?.ints else { return nil }
            func optional(_ i: Int) -> [Int]?? {
                switch inputs.intList(i) {
                case .absent: return .some(nil)
                case .unknown: return nil
                case .known(let v): return .some(v)
                }
            }
            guard let axesInput = optional(3), let stepsInput = optional(4) else { return nil }
            (s, e, ax, st) = (starts, ends, axesInput, stepsInput)
        }
        let axesList = ax ?? Array(0..<s.count)
        let steps = st ?? [Int](repeating: 1, count: s.count)
        guard e.count == s.count, axesList.count == s.count, steps.count == s.count else {
            throw invalid(Self.opType, "starts, ends, axes and steps must have the same length")
        }
        var out = x
        for (k, a) in try normalized(axesList, rank: x.count, op: Self.opType).enumerated() {
            guard let r = Slice.resolve(start: s[k], end: e[k], step: steps[k], dim: x[a]) else {
                throw invalid(Self.opType, "step for axis \(axesList[k]) is 0")
            }
            out[a] = r.count
        }
        return [out]
    }
}

extension Gather: ShapeInferable {
    /// `data` with `axis` replaced by the indices' shape.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let data = inputs.shape(0), let indices = inputs.shape(1), !data.isEmpty else { return nil }
        let a = try Shape.normalizeAxis(axis, rank: data.count, op: Self.opType)
        return [Array(data[..<a]) + indices + Array(data[(a + 1)...])]
    }
}

extension ScatterND: ShapeInferable {
    /// The shape of `data`.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        inputs.shape(0).map { [$0] }
    }
}

extension Pad: ShapeInferable {
    /// Each padded axis grown by its begin and end pads (negative pads crop).
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), case .known(let given) = inputs.attributeOrInput(pads, 1) else { return nil }
        let axesList: [Int]
        switch inputs.intList(3) {
        case .unknown: return nil
        case .absent: axesList = Array(0..<x.count)
        case .known(let v): axesList = try normalized(v, rank: x.count, op: Self.opType)
        }
        guard given.count == 2 * axesList.count else { throw invalid(Self.opType, "pads \(given) do not match the axes of \(x)") }
        var out = x
        for (k, a) in axesList.enumerated() {
            out[a] += given[k] + given[k + axesList.count]
            guard out[a] >= 0 else { throw invalid(Self.opType, "pads \(given) crop axis \(a) of \(x) below zero") }
        }
        return [out]
    }
}

extension Expand: ShapeInferable {
    /// The broadcast of the input's shape and the known target.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), let target = inputs[1]?.ints else { return nil }
        return [try Shape.broadcast(x, target, op: Self.opType)]
    }
}

extension Tile: ShapeInferable {
    /// Each axis times its known repeat count.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), let repeats = inputs[1]?.ints else { return nil }
        guard repeats.count == x.count else { throw invalid(Self.opType, "repeats \(repeats) do not match \(x)") }
        return [zip(x, repeats).map { $0 * $1 }]
    }
}

extension ShapeOp: ShapeInferable {
    /// `[number of dims in start ..< end]`.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        inputs.shape(0).map { [[dims(of: $0).count]] }
    }

    /// The dims `run` returns for an input of shape `x` (`start ..< end`, clamped).
    func dims(of x: [Int]) -> [Int] {
        let r = x.count
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + r : v, 0), r) }
        let s = clamp(start), e = clamp(end ?? r)
        return s < e ? Array(x[s..<e]) : []
    }
}

extension ConstantOfShape: ShapeInferable {
    /// The known value of input 0.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let shape = inputs[0]?.ints else { return nil }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw invalid(Self.opType, "shape \(shape) has a negative dimension") }
        return [shape]
    }
}

extension RangeOp: ShapeInferable {
    /// Runs the op on the three known scalars (the count is the result's length); `nil` when a
    /// bound is not known.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        let values = inputs.items.map { $0?.value }
        guard values.count == 3, values.allSatisfy({ $0 != nil }) else { return nil }
        return try run(values, context: ExecutionContext(threads: 1)).map(\.shape)
    }
}

extension DepthToSpace: ShapeInferable {
    /// `[N, C / b², H · b, W · b]`.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0) else { return nil }
        let b = blocksize
        guard x.count == 4, x[1] % (b * b) == 0 else { throw invalid(Self.opType, "cannot rearrange \(x) with blocksize \(b)") }
        return [[x[0], x[1] / (b * b), x[2] * b, x[3] * b]]
    }
}

extension SpaceToDepth: ShapeInferable {
    /// `[N, C · b², H / b, W / b]`.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0) else { return nil }
        let b = blocksize
        guard x.count == 4, x[2] % b == 0, x[3] % b == 0 else { throw invalid(Self.opType, "cannot rearrange \(x) with blocksize \(b)") }
        return [[x[0], x[1] * b * b, x[2] / b, x[3] / b]]
    }
}

/// Output dims of a resize by `scales` (per listed axis): `floor(scale · dim)`, as `run` does in
/// `Float`.
private func scaled(_ x: [Int], axes: [Int], scales: [Float], op: String) throws -> [Int] {
    guard scales.count == axes.count else { throw invalid(op, "scales \(scales) do not match the axes of \(x)") }
    var out = x
    for (k, a) in axes.enumerated() {
        guard scales[k] > 0, scales[k].isFinite else { throw invalid(op, "scale \(scales[k]) must be positive") }
        let d = (scales[k] * Float(x[a])).rounded(.towardZero)
        guard d < Float(Shape.maxByteCount) else { throw KilnError.allocationTooLarge(what: "\(op) output axis \(a)", byteCount: "\(d) elements") }
        out[a] = Int(d)
    }
    return out
}

extension Resize: ShapeInferable {
    /// From `sizes` when given, else `floor(scale · dim)` per axis (opset 10: scales are input 1;
    /// later: roi, scales, sizes are inputs 1–3, an empty tensor meaning omitted).
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0) else { return nil }
        func present(_ i: Int) -> ShapeFact? { inputs[i].flatMap { $0.shape.reduce(1, *) == 0 ? nil : $0 } }
        let opset10 = inputs.count == 2
        let scales = opset10 ? present(1) : present(2)
        let sizes = opset10 ? nil : present(3)
        let ax = try axes.map { try normalized($0, rank: x.count, op: Self.opType) } ?? Array(0..<x.count)
        switch (scales, sizes) {
        case (let s?, nil):
            guard let v = s.floats else { return nil }
            return [try scaled(x, axes: ax, scales: v, op: Self.opType)]
        case (nil, let s?):
            guard let v = s.ints else { return nil }
            guard v.count == ax.count, v.allSatisfy({ $0 >= 0 }) else { throw invalid(Self.opType, "sizes \(v) do not fit \(x)") }
            var out = x
            for (k, a) in ax.enumerated() { out[a] = v[k] }
            return [out]
        default:
            throw invalid(Self.opType, "give either scales or sizes")
        }
    }
}

extension Upsample: ShapeInferable {
    /// `floor(scale · dim)` per axis, scales from the attribute (opset 7) or input 1 (opset 9).
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), let s = scales ?? inputs[1]?.floats else { return nil }
        return [try scaled(x, axes: Array(0..<x.count), scales: s, op: Self.opType)]
    }
}
