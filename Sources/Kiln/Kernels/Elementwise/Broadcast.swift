/// Iteration plan for NumPy/ONNX multidirectional broadcasting of up to three inputs into one
/// contiguous, row-major output.
///
/// Built once per call from the input shapes, the plan reduces the problem before any element is
/// touched:
/// 1. every input is right-aligned to the output rank and gets per-dimension element strides, with
///    stride 0 along dimensions it broadcasts;
/// 2. output dimensions of size 1 are dropped;
/// 3. adjacent dimensions are merged when every input walks them as one (contiguous across both,
///    or broadcast across both).
///
/// What remains is a list of *rows*: the last (inner) dimension, walked with one constant stride
/// per input, which is always 0 (broadcast) or 1 (contiguous). The common forms therefore reduce
/// to few long rows: same shape → one row with strides (1, 1); tensor ⊕ scalar → one row with
/// strides (1, 0); per-channel `[N, C, H, W] ⊕ [1, C, 1, 1]` (or `[C, 1, 1]`) → `N·C` rows of
/// `H·W` with strides (1, 0). Row kernels specialize on those strides.
///
/// Use ``forEachSegment(_:_:_:)`` over a flat output range `start..<end` (which may cut rows, so
/// any split of the output into chunks works with `ExecutionContext.parallelFor`).
struct BroadcastPlan: Sendable {
    /// The most inputs a plan handles (`Where` has three).
    static let maxInputs = 3

    /// The broadcast output shape (uncollapsed).
    let outputShape: [Int]
    /// Number of output elements.
    let outputCount: Int
    /// Collapsed dimensions, outermost first; the last is the row. Never empty.
    let dims: [Int]
    /// `strides[i][d]`: element stride of input `i` along collapsed dimension `d`; 0 when broadcast.
    /// Inputs beyond those given have all-zero strides.
    let strides: [[Int]]

    /// Elements per row (the collapsed inner dimension).
    var rowLength: Int { dims[dims.count - 1] }

    /// The stride of input `i` along the row: 0 (broadcast) or 1 (contiguous).
    func rowStride(_ i: Int) -> Int { strides[i][dims.count - 1] }

    /// The output shape of multidirectional broadcasting of `shapes`.
    /// - Throws: ``KilnError/shapeMismatch(op:node:tensor:expected:got:)`` naming both shapes of
    ///   the first conflicting pair.
    static func outputShape(_ shapes: [[Int]], op: String, node: String?) throws -> [Int] {
        guard var out = shapes.first else { return [] }
        for s in shapes.dropFirst() {
            out = try Shape.broadcast(out, s, op: op, node: node)
        }
        return out
    }

    /// Plans multidirectional broadcasting of `inputShapes` (1 to 3 of them).
    /// - Parameters:
    ///   - inputShapes: Shapes of the inputs, in the order the row kernels receive them.
    ///   - op: Op type for errors.
    ///   - node: Node name for errors.
    /// - Throws: ``KilnError/shapeMismatch(op:node:tensor:expected:got:)`` when the shapes do not
    ///   broadcast; ``KilnError/invalidArgument(op:node:reason:)`` for more than 3 inputs.
    init(_ inputShapes: [[Int]], op: String, node: String?) throws {
        guard !inputShapes.isEmpty, inputShapes.count <= Self.maxInputs else {
            throw KilnError.invalidArgument(op: op, node: node, reason: "broadcasting takes 1 to \(Self.maxInputs) inputs, got \(inputShapes.count)")
        }
        let out = try Self.outputShape(inputShapes, op: op, node: node)
        try self.init(inputShapes, output: out, op: op, node: node)
    }

    /// Plans unidirectional broadcasting of `input` to `target` (ONNX `PRelu`'s slope): the output
    /// shape is `target`, so `input` may only have size-1 dimensions where they differ.
    /// - Throws: ``KilnError/shapeMismatch(op:node:tensor:expected:got:)`` when `input` does not
    ///   broadcast to `target`.
    init(unidirectional input: [Int], to target: [Int], inputName: String, op: String, node: String?) throws {
        let out = try Shape.broadcast(target, input, op: op, node: node)
        guard out == target else {
            throw KilnError.shapeMismatch(op: op, node: node, tensor: "\(inputName) (unidirectional broadcast of \(input) to \(target))",
                                          expected: target, got: input)
        }
        try self.init([target, input], output: target, op: op, node: node)
    }

    private init(_ inputShapes: [[Int]], output out: [Int], op: String, node: String?) throws {
        outputShape = out
        outputCount = try Shape.elementCount(out, what: "\(op) output")
        let rank = out.count
        // Per-input strides over the full output rank.
        var full = [[Int]](repeating: [Int](repeating: 0, count: rank), count: Self.maxInputs)
        for (i, s) in inputShapes.enumerated() {
            let pad = rank - s.count
            var acc = 1
            for d in stride(from: rank - 1, through: pad, by: -1) {
                let dim = s[d - pad]
                full[i][d] = dim == 1 ? 0 : acc
                acc &*= dim
            }
        }
        // Drop size-1 output dims, then merge neighbours that every input walks as one.
        var dims: [Int] = []
        var strides = [[Int]](repeating: [], count: Self.maxInputs)
        for d in 0..<rank where out[d] != 1 {
            if let last = dims.last {
                var mergeable = true
                for i in 0..<Self.maxInputs where strides[i][strides[i].count - 1] != full[i][d] &* out[d] {
                    mergeable = false
                    break
                }
                if mergeable {
                    dims[dims.count - 1] = last &* out[d]
                    for i in 0..<Self.maxInputs { strides[i][strides[i].count - 1] = full[i][d] }
                    continue
                }
            }
            dims.append(out[d])
            for i in 0..<Self.maxInputs { strides[i].append(full[i][d]) }
        }
        if dims.isEmpty {
            // All-ones (or rank-0) output: a single row of one element.
            dims = [1]
            for i in 0..<Self.maxInputs { strides[i] = [0] }
        }
        self.dims = dims
        self.strides = strides
    }

    /// Walks the flat output range `start..<end` as row segments.
    ///
    /// `body(outputOffset, offset0, offset1, offset2, count)` receives the element offset of the
    /// segment in the output and in each input; within the segment input `i` advances by
    /// ``rowStride(_:)`` per element.
    /// - Parameters:
    ///   - start: First flat output index (≥ 0).
    ///   - end: One past the last flat output index (≤ ``outputCount``).
    ///   - body: Called once per segment, in order.
    @inline(__always)
    func forEachSegment(_ start: Int, _ end: Int, _ body: (Int, Int, Int, Int, Int) -> Void) {
        guard start < end else { return }
        let inner = rowLength
        let outer = dims.count &- 1
        let s0 = strides[0], s1 = strides[1], s2 = strides[2]
        // On the stack: this runs once per chunk of every broadcasting op.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: max(outer, 1)) { index in
        index.initialize(repeating: 0)
        var row = start / inner
        var col = start % inner
        var base0 = 0, base1 = 0, base2 = 0
        var d = outer &- 1
        while d >= 0 {
            let i = row % dims[d]
            row /= dims[d]
            index[d] = i
            base0 &+= i &* s0[d]
            base1 &+= i &* s1[d]
            base2 &+= i &* s2[d]
            d &-= 1
        }
        let r0 = s0[outer], r1 = s1[outer], r2 = s2[outer]
        var pos = start
        while pos < end {
            let n = min(inner &- col, end &- pos)
            body(pos, base0 &+ col &* r0, base1 &+ col &* r1, base2 &+ col &* r2, n)
            pos &+= n
            col = 0
            // Odometer step to the next row.
            var k = outer &- 1
            while k >= 0 {
                index[k] &+= 1
                base0 &+= s0[k]
                base1 &+= s1[k]
                base2 &+= s2[k]
                if index[k] < dims[k] { break }
                base0 &-= s0[k] &* dims[k]
                base1 &-= s1[k] &* dims[k]
                base2 &-= s2[k] &* dims[k]
                index[k] = 0
                k &-= 1
            }
        }
        }
    }

    /// Runs `body` over the output in chunks, in parallel when the output is large enough to pay
    /// for a thread (≥ 2¹⁶ elements).
    /// - Parameters:
    ///   - context: Thread budget.
    ///   - body: As for ``forEachSegment(_:_:_:)``; segments of different chunks are disjoint.
    ///
    /// A closure that fans out allocates (see ``ExecutionContext/parallelFor(_:_:)``): the float32
    /// arithmetic that models run goes through ``runner(_:)`` with a capture-free body instead;
    /// this serves the comparisons and integer ops.
    func run(context: ExecutionContext, _ body: (Int, Int, Int, Int, Int) -> Void) {
        runner(context).parallelFor(outputCount) { start, end in
            forEachSegment(start, end, body)
        }
    }

    /// The context the output's chunks run on: `context`'s threads once the output is large
    /// enough to pay for a thread (≥ 2¹⁶ elements), else one.
    func runner(_ context: ExecutionContext) -> ExecutionContext {
        ExecutionContext(threads: outputCount >= 1 << 16 ? context.threads : 1)
    }
}
