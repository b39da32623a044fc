// Static output shapes of the compute ops: convolutions (portable, planned, with a fused residual),
// Gemm/MatMul (portable and planned), pooling, reductions, TopK, GridSample. See `ShapeInferable`.

extension Conv: ShapeInferable {
    /// The convolution's output (``geometry(input:weight:bias:node:)``), broadcast with the fused
    /// residual (input 3, from `fuseResidualAdd`) when there is one.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), let w = inputs.shape(1) else { return nil }
        let (_, out) = try geometry(input: x, weight: w, bias: inputs.shape(2), node: nil)
        return [try Conv.addingResidual(out, inputs.shape(3))]
    }

    /// `out` broadcast with the residual's shape, as ``addResidual(_:_:context:)`` adds it.
    static func addingResidual(_ out: [Int], _ residual: [Int]?) throws -> [Int] {
        guard let residual else { return out }
        return try Shape.broadcast(out, residual, op: opType)
    }
}

extension PlannedConv: ShapeInferable {
    /// As ``Conv``, with the packed weight's original shape.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0) else { return nil }
        let (_, out) = try conv.geometry(input: x, weight: weightShape, bias: bias?.shape, node: nil)
        return [try Conv.addingResidual(out, inputs.shape(3))]
    }
}

extension ConvTranspose: ShapeInferable {
    /// ``geometry(input:weight:bias:node:)``'s output shape.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), let w = inputs.shape(1) else { return nil }
        return [try geometry(input: x, weight: w, bias: inputs.shape(2), node: nil).1]
    }
}

extension Gemm: ShapeInferable {
    /// `[M, N]` from `A` and `B` (each possibly transposed).
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let a = inputs.shape(0), let b = inputs.shape(1) else { return nil }
        return [try gemmShape(a: a, b: b)]
    }

    /// `[M, N]` of `A · B` under `transA`/`transB`.
    /// - Throws: ``KilnError`` when an operand is not 2-D or the inner dimensions differ.
    func gemmShape(a: [Int], b: [Int]) throws -> [Int] {
        guard a.count == 2, b.count == 2 else {
            throw KilnError.invalidArgument(op: Self.opType, node: nil, reason: "A \(a) and B \(b) must be 2-D")
        }
        let m = transA ? a[1] : a[0], k = transA ? a[0] : a[1]
        let kb = transB ? b[1] : b[0], n = transB ? b[0] : b[1]
        guard k == kb else { throw innerDimensionMismatch(a: a, b: b, k: k, kb: kb, node: nil) }
        return [m, n]
    }
}

extension PlannedGemm: ShapeInferable {
    /// As ``Gemm``, with the prepared weight.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let a = inputs.shape(0) else { return nil }
        return [try gemm.gemmShape(a: a, b: weight.shape)]
    }
}

extension MatMul: ShapeInferable {
    /// NumPy `matmul` broadcasting (``MatMulGeometry``).
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let a = inputs.shape(0), let b = inputs.shape(1) else { return nil }
        guard !a.isEmpty, !b.isEmpty else {
            throw KilnError.invalidArgument(op: Self.opType, node: nil, reason: "A \(a) and B \(b) must have rank >= 1")
        }
        return [try MatMulGeometry(a: a, b: b, node: nil).outputShape]
    }
}

extension PlannedMatMul: ShapeInferable {
    /// As ``MatMul``, with the packed weight's original shape.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let a = inputs.shape(0) else { return nil }
        return [try MatMulGeometry(a: a, b: weightShape, node: nil).outputShape]
    }
}

extension Pool2D {
    /// `[N, C] + output spatial dims` (pads, `auto_pad`, dilations and `ceil_mode` resolved by
    /// ``SpatialAttributes/resolve(spatial:kernel:op:node:)``, as `run` does).
    func outputShape(_ x: [Int]) throws -> [Int] {
        let sr = kernelShape.count
        guard x.count == 2 + sr else {
            throw KilnError.invalidArgument(op: op, node: nil, reason: "X must have rank \(2 + sr), got shape \(x)")
        }
        let axes = try window.resolve(spatial: Array(x.suffix(sr)), kernel: kernelShape, op: op, node: nil)
        return Array(x.prefix(2)) + axes.map(\.output)
    }
}

/// An op whose single output's shape is a function of its first input's shape alone.
protocol ShapeFromFirstInput: ShapeInferable {
    /// The output shape for a first input of shape `x`.
    /// - Throws: ``KilnError`` when `x` is not a valid input shape.
    func outputShape(ofFirstInput x: [Int]) throws -> [Int]
}

extension ShapeFromFirstInput {
    /// `[outputShape(ofFirstInput: shape of input 0)]`.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        try inputs.shape(0).map { [try outputShape(ofFirstInput: $0)] }
    }
}

extension MaxPool: ShapeFromFirstInput {
    /// ``Pool2D/outputShape(_:)``.
    func outputShape(ofFirstInput x: [Int]) throws -> [Int] { try pool.outputShape(x) }
}

extension AveragePool: ShapeFromFirstInput {
    /// ``Pool2D/outputShape(_:)``.
    func outputShape(ofFirstInput x: [Int]) throws -> [Int] { try pool.outputShape(x) }
}

/// `GlobalAveragePool` / `GlobalMaxPool`: `[N, C, 1, …, 1]`.
protocol GlobalPoolShape: ShapeFromFirstInput {}

extension GlobalPoolShape {
    /// `[N, C]` followed by a 1 per spatial dim.
    func outputShape(ofFirstInput x: [Int]) throws -> [Int] {
        guard x.count >= 2 else {
            throw KilnError.invalidArgument(op: Self.opType, node: nil, reason: "X must be [N, C, …], got \(x)")
        }
        return Array(x.prefix(2)) + [Int](repeating: 1, count: x.count - 2)
    }
}

extension GlobalAveragePool: GlobalPoolShape {}
extension GlobalMaxPool: GlobalPoolShape {}

extension ReduceCore {
    /// The reduced shape: `axes` from the attribute or input 1 (unknown value: `nil`); none given
    /// reduces every axis unless `noop_with_empty_axes`; reduced axes kept as 1 under `keepdims`.
    func outputShape(_ inputs: ShapeFacts) throws -> [Int]? {
        guard let x = inputs.shape(0) else { return nil }
        let given: [Int]
        switch inputs.attributeOrInput(axes, 1) {
        case .unknown: return nil
        case .absent: given = []
        case .known(let v): given = v
        }
        let reduced = given.isEmpty
            ? (noopWithEmptyAxes ? [] : Set(0..<x.count))
            : Set(try given.map { try Shape.normalizeAxis($0, rank: x.count, op: op) })
        var out: [Int] = []
        for (i, d) in x.enumerated() {
            if !reduced.contains(i) { out.append(d) } else if keepDims { out.append(1) }
        }
        return out
    }
}

/// The `Reduce*` ops, which share a ``ReduceCore``.
protocol ReducesThroughCore: ShapeInferable {
    /// The shared reduction.
    var core: ReduceCore { get }
}

extension ReducesThroughCore {
    /// ``ReduceCore/outputShape(_:)``.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        try core.outputShape(inputs).map { [$0] }
    }
}

extension ReduceSum: ReducesThroughCore {}
extension ReduceMean: ReducesThroughCore {}
extension ReduceMax: ReducesThroughCore {}
extension ReduceMin: ReducesThroughCore {}
extension ReduceProd: ReducesThroughCore {}
extension ReduceL1: ReducesThroughCore {}
extension ReduceL2: ReducesThroughCore {}
extension ReduceSumSquare: ReducesThroughCore {}
extension ReduceLogSum: ReducesThroughCore {}

extension ArgReduceCore {
    /// The input without `axis` (or with it as 1 under `keepdims`); a scalar counts as `[1]`.
    func outputShape(_ x: [Int]) throws -> [Int] {
        var shape = x.isEmpty ? [1] : x
        let a = try Shape.normalizeAxis(axis, rank: shape.count, op: op)
        if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
        return shape
    }
}

extension ArgMax: ShapeFromFirstInput {
    /// ``ArgReduceCore/outputShape(_:)``.
    func outputShape(ofFirstInput x: [Int]) throws -> [Int] { try core.outputShape(x) }
}

extension ArgMin: ShapeFromFirstInput {
    /// ``ArgReduceCore/outputShape(_:)``.
    func outputShape(ofFirstInput x: [Int]) throws -> [Int] { try core.outputShape(x) }
}

extension TopK: ShapeInferable {
    /// Values and indices with `axis` cut to `k`; `nil` when `k` is an input whose value is not
    /// known statically.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), !x.isEmpty else { return nil }
        let k: Int
        switch inputs.attributeOrInput(kAttribute.map { [$0] }, 1) {
        case .known(let v) where v.count == 1: k = v[0]
        default: return nil
        }
        var out = x
        out[try Shape.normalizeAxis(axis, rank: x.count, op: Self.opType)] = k
        return [out, out]
    }
}

extension GridSample: ShapeInferable {
    /// `[N, C, Ho, Wo]` from `X [N, C, H, W]` and `grid [N, Ho, Wo, 2]`.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), let grid = inputs.shape(1), x.count == 4, grid.count == 4 else { return nil }
        return [[x[0], x[1], grid[1], grid[2]]]
    }
}

extension NonMaxSuppression: ShapeInferable {
    /// Always `nil`: how many boxes survive depends on the scores.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? { nil }
}

extension RecurrentAttributes {
    /// `Y` and `states` copies of the state shape (`Y_h`, and `Y_c` for LSTM), from `X` and `R`
    /// (`[seq, batch, input]` / `[dirs, gates·H, H]`; batch first under `layout = 1`).
    func outputShapes(x: [Int], r: [Int], states: Int) -> [[Int]]? {
        guard x.count == 3, r.count == 3 else { return nil }
        let seq = batchFirst ? x[1] : x[0], batch = batchFirst ? x[0] : x[1], hidden = r[2], d = directions
        let y = batchFirst ? [batch, seq, d, hidden] : [seq, d, batch, hidden]
        let state = batchFirst ? [batch, d, hidden] : [d, batch, hidden]
        return [y] + [[Int]](repeating: state, count: states)
    }
}

/// `RNN` / `GRU` / `LSTM`: `Y` and the final states, from ``RecurrentAttributes``.
protocol RecurrentShape: ShapeInferable {
    /// The shared attributes (direction, layout).
    var common: RecurrentAttributes { get }
    /// How many state outputs `run` returns (`Y_h`; LSTM also `Y_c`).
    static var stateOutputs: Int { get }
}

extension RecurrentShape {
    /// ``RecurrentAttributes/outputShapes(x:r:states:)``.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard let x = inputs.shape(0), let r = inputs.shape(2) else { return nil }
        return common.outputShapes(x: x, r: r, states: Self.stateOutputs)
    }
}

extension RNN: RecurrentShape {
    /// `Y_h`.
    static var stateOutputs: Int { 1 }
}

extension GRU: RecurrentShape {
    /// `Y_h`.
    static var stateOutputs: Int { 1 }
}

extension LSTM: RecurrentShape {
    /// `Y_h` and `Y_c`.
    static var stateOutputs: Int { 2 }
}

extension Einsum: ShapeInferable {
    /// Each output subscript's size: a letter's from the operands that carry it (they must agree),
    /// the ellipsis dims as the broadcast of every operand's ellipsis dims (aligned from the right).
    /// Without `->` the output is the ellipsis dims, then the letters used once, alphabetically.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        guard inputs.count == operands.count else { return nil }
        func fail(_ reason: String) -> KilnError { .invalidArgument(op: Self.opType, node: nil, reason: reason) }
        var letterSizes: [Character: Int] = [:], uses: [Character: Int] = [:]
        var ellipsis: [Int] = []
        for (k, term) in operands.enumerated() {
            guard let shape = inputs.shape(k) else { return nil }
            let explicit = term.filter { $0 != "." }.count
            guard term.contains(".") ? shape.count >= explicit : shape.count == explicit else {
                throw fail("operand \(k) does not fit shape \(shape)")
            }
            var axis = 0
            for c in term {
                if c == "." {
                    let n = shape.count - explicit
                    ellipsis = try Shape.broadcast(ellipsis, Array(shape[axis ..< axis + n]), op: Self.opType)
                    axis += n
                    continue
                }
                if let size = letterSizes[c], size != shape[axis] { throw fail("'\(c)' is \(shape[axis]) in operand \(k) but \(size) elsewhere") }
                letterSizes[c] = shape[axis]
                uses[c, default: 0] += 1
                axis += 1
            }
        }
        guard let explicitOutput else {
            return [ellipsis + uses.filter { $0.value == 1 }.keys.sorted().map { letterSizes[$0]! }]
        }
        return [explicitOutput.flatMap { $0 == "." ? ellipsis : [letterSizes[$0]!] }]
    }
}
