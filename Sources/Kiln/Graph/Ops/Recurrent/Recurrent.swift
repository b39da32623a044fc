/// Registers the recurrent op family (CRNN text recognizers, sequence models).
enum RecurrentOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
        registry.register(RNN.self)
        registry.register(GRU.self)
        registry.register(LSTM.self)
    }
}

/// The attributes ONNX's `RNN`, `GRU` and `LSTM` share, decoded and checked.
struct RecurrentAttributes: Sendable {
    /// `forward`, `reverse` or `bidirectional`.
    let direction: String
    /// `hidden_size`, when given (it must then equal the weights' hidden size).
    let hiddenSize: Int?
    /// `layout = 1`: batch-first inputs and outputs.
    let batchFirst: Bool
    /// `clip`: pre-activations are clamped to `[-clip, clip]`; `nil` for none.
    let clip: Float?
    /// The activation functions of each direction (`perDirection` of them: f, g[, h]).
    let activations: [[RecurrentActivation]]

    /// Number of directions (1 or 2).
    var directions: Int { direction == "bidirectional" ? 2 : 1 }

    /// Whether direction `d` runs backwards in time.
    func isReverse(_ d: Int) -> Bool { direction == "reverse" || d == 1 }

    /// Decodes the shared attributes.
    /// - Parameters:
    ///   - attributes: The node's attributes.
    ///   - defaultActivations: The op's default functions for one direction (`["Sigmoid", "Tanh"]`).
    ///   - extra: The op's own attribute names, also accepted.
    /// - Throws: ``KilnError`` naming the node for an unknown attribute or an illegal value.
    init(_ attributes: Attributes, defaultActivations: [String], extra: Set<String>) throws {
        let shared: Set<String> = ["activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout"]
        try attributes.rejectUnknown(shared.union(extra))
        direction = try attributes.string("direction", default: "forward")
        guard ["forward", "reverse", "bidirectional"].contains(direction) else {
            throw attributes.error("direction '\(direction)' must be forward, reverse or bidirectional")
        }
        if attributes.has("hidden_size") {
            let h = try attributes.int("hidden_size")
            guard h >= 1 else { throw attributes.error("hidden_size \(h) must be at least 1") }
            hiddenSize = h
        } else {
            hiddenSize = nil
        }
        let layout = try attributes.int("layout", default: 0)
        guard layout == 0 || layout == 1 else { throw attributes.error("layout \(layout) must be 0 or 1") }
        batchFirst = layout == 1
        if attributes.has("clip") {
            let c = try attributes.float("clip")
            guard c > 0, c.isFinite else { throw attributes.error("clip \(c) must be positive and finite") }
            clip = c
        } else {
            clip = nil
        }
        let perDirection = defaultActivations.count
        let directions = direction == "bidirectional" ? 2 : 1
        var names = try attributes.strings("activations") ?? []
        if names.isEmpty {
            names = Array(repeating: defaultActivations, count: directions).flatMap { $0 }
        } else if names.count == perDirection && directions == 2 {
            names += names  // one set given for a bidirectional op: both directions use it
        }
        guard names.count == perDirection * directions else {
            throw attributes.error("activations lists \(names.count) functions; this op needs \(perDirection) per direction (\(perDirection * directions))")
        }
        var alphas = ArraySlice(try attributes.floats("activation_alpha") ?? [])
        var betas = ArraySlice(try attributes.floats("activation_beta") ?? [])
        var parsed: [RecurrentActivation] = []
        for name in names {
            guard let f = RecurrentActivation.parse(name, alphas: &alphas, betas: &betas) else {
                throw KilnError.unsupportedOp(name: attributes.op, node: attributes.node, reason: "activation '\(name)' is not supported")
            }
            parsed.append(f)
        }
        activations = (0..<directions).map { Array(parsed[$0 * perDirection ..< ($0 + 1) * perDirection]) }
    }
}

/// The validated inputs of one recurrent node: `X, W, R, B, sequence_lens, initial_h` (the six
/// every recurrent op shares), with their sizes.
struct RecurrentInputs {
    let x: Tensor, w: Tensor, r: Tensor
    /// `B` (`[dirs, 2 · gates · H]`), `nil` when omitted.
    let bias: Tensor?
    /// `initial_h`, `nil` when omitted (zeros).
    let initialH: Tensor?
    /// Steps of each sequence of the batch (all `seq` without `sequence_lens`).
    let lengths: [Int]
    let seq: Int, batch: Int, inputSize: Int, hidden: Int
    let layout: RecurrentLayout

    /// Checks counts, dtypes and shapes against the op's gate count and attributes.
    /// - Throws: ``KilnError`` naming the op, node and tensor.
    init<Op: Operator>(_ op: Op, _ inputs: [Tensor?], gates: Int, maxInputs: Int, attributes a: RecurrentAttributes,
                       context: ExecutionContext) throws {
        guard (3...maxInputs).contains(inputs.count) else {
            throw op.failure("expects 3 to \(maxInputs) inputs, got \(inputs.count)", context: context)
        }
        x = try op.input(inputs, 0, "X", context: context)
        w = try op.input(inputs, 1, "W", context: context)
        r = try op.input(inputs, 2, "R", context: context)
        for (t, name) in [(x, "X"), (w, "W"), (r, "R")] {
            try op.require(t, .float32, name, context: context)
            guard t.rank == 3 else { throw op.failure("\(name) must have rank 3, got shape \(t.shape)", context: context) }
        }
        seq = a.batchFirst ? x.shape[1] : x.shape[0]
        batch = a.batchFirst ? x.shape[0] : x.shape[1]
        inputSize = x.shape[2]
        hidden = r.shape[2]
        let dirs = a.directions
        func expect(_ t: Tensor, _ name: String, _ shape: [Int]) throws {
            guard t.shape == shape else {
                throw KilnError.shapeMismatch(op: Op.opType, node: context.node, tensor: name, expected: shape, got: t.shape)
            }
        }
        if let h = a.hiddenSize, h != hidden {
            throw op.failure("hidden_size \(h) but R is \(r.shape) (hidden size \(hidden))", context: context)
        }
        guard hidden >= 1 else { throw op.failure("R \(r.shape) has hidden size 0", context: context) }
        try expect(w, "W", [dirs, gates * hidden, inputSize])
        try expect(r, "R", [dirs, gates * hidden, hidden])
        bias = op.optionalInput(inputs, 3)
        if let bias {
            try op.require(bias, .float32, "B", context: context)
            try expect(bias, "B", [dirs, 2 * gates * hidden])
        }
        if let lens = op.optionalInput(inputs, 4) {
            let values: [Int]
            switch lens.dtype {
            case .int32: values = try lens.scalars(as: Int32.self).map { Int($0) }
            case .int64: values = try lens.scalars(as: Int64.self).map { Int($0) }
            default: throw KilnError.unsupportedDType(op: Op.opType, node: context.node, tensor: "sequence_lens", dtype: lens.dtype)
            }
            try expect(lens, "sequence_lens", [batch])
            let steps = seq
            if let bad = values.first(where: { $0 < 1 || $0 > steps }) {
                throw op.failure("sequence_lens value \(bad) is outside 1...\(steps) (the sequence length)", context: context)
            }
            lengths = values
        } else {
            lengths = Array(repeating: seq, count: batch)
        }
        layout = RecurrentLayout(batchFirst: a.batchFirst, seq: seq, batch: batch, directions: dirs)
        initialH = try Self.state(op, inputs, 5, "initial_h", layout: layout, hidden: hidden, context: context)
        try Sgemm.checkDimensions(seq * batch, gates * hidden, inputSize, op: Op.opType, node: context.node)
    }

    /// Optional state input `index` (`initial_h`, `initial_c`), checked to be `[dirs, batch, H]`
    /// (`[batch, dirs, H]` batch-first).
    /// - Throws: ``KilnError`` for a wrong dtype or shape.
    static func state<Op: Operator>(_ op: Op, _ inputs: [Tensor?], _ index: Int, _ name: String, layout: RecurrentLayout,
                                    hidden: Int, context: ExecutionContext) throws -> Tensor? {
        guard let t = op.optionalInput(inputs, index) else { return nil }
        try op.require(t, .float32, name, context: context)
        let shape = layout.batchFirst ? [layout.batch, layout.directions, hidden] : [layout.directions, layout.batch, hidden]
        guard t.shape == shape else {
            throw KilnError.shapeMismatch(op: Op.opType, node: context.node, tensor: name, expected: shape, got: t.shape)
        }
        return t
    }

    /// The shape of `Y`.
    var outputShape: [Int] {
        layout.batchFirst ? [batch, seq, layout.directions, hidden] : [seq, layout.directions, batch, hidden]
    }

    /// The shape of `Y_h` (and `Y_c`).
    var stateShape: [Int] {
        layout.batchFirst ? [batch, layout.directions, hidden] : [layout.directions, batch, hidden]
    }

    /// Direction `d`'s input bias plus recurrence bias for the gates in `summed` (gate indices whose
    /// `Wb + Rb` may be added once to the input projection), `Wb` alone for the others; `nil` without `B`.
    func projectionBias(direction d: Int, gates: Int, summed: Range<Int>) -> [Float]? {
        guard let bias else { return nil }
        let n = gates * hidden
        let p = bias.pointer(Float.self) + d * 2 * n
        return (0..<n).map { j in summed.contains(j / hidden) ? p[j] + p[n + j] : p[j] }
    }
}

/// What a recurrent op's step sees: the gate pre-activations of the whole batch (`[batch, gates·H]`,
/// the input projection of each live sequence's current step already in), the states
/// (`[batch, H]` each, the hidden state first) and which sequences are live.
struct RecurrentStep {
    /// Direction being run.
    let direction: Int
    /// `[batch, gates · H]`.
    let gates: UnsafeMutablePointer<Float>
    /// `[batch, H]` each: `H`, then `C` for an LSTM.
    let states: [UnsafeMutablePointer<Float>]
    /// Per sequence of the batch, whether it has a step here (false past its `sequence_lens`).
    let live: [Bool]
}

extension RecurrentInputs {
    /// Runs every direction of a recurrent op and fills its outputs: `Y` (zeros past each
    /// sequence's length) from the hidden state after each step, and one final-state tensor per
    /// state (`Y_h`, `Y_c`).
    ///
    /// Per direction, the input projection `X·Wᵀ + bias` of every step is one GEMM; then per step
    /// the live sequences' rows are copied into the gate buffer and `step` adds the recurrence and
    /// updates the states.
    /// - Parameters:
    ///   - gates: Gates per hidden unit (1 RNN, 3 GRU, 4 LSTM).
    ///   - summedBias: The gates whose recurrence bias is added to the input projection.
    ///   - initialStates: `initial_h` (and `initial_c`), `nil` for zeros.
    ///   - y: `Y`, of ``outputShape``, zeroed here.
    ///   - finals: `Y_h` (and `Y_c`), of ``stateShape``.
    func run(gates: Int, summedBias: Range<Int>, reverse: (Int) -> Bool, initialStates: [Tensor?],
             y: UnsafeMutablePointer<Float>, finals: [UnsafeMutablePointer<Float>], context: ExecutionContext,
             step: (RecurrentStep) -> Void) {
        let hs = hidden, n = gates * hidden
        y.initialize(repeating: 0, count: seq * layout.directions * batch * hs)
        guard batch > 0 else { return }
        let projection = UnsafeMutablePointer<Float>.allocate(capacity: max(1, seq * batch * n))
        let gateRows = UnsafeMutablePointer<Float>.allocate(capacity: batch * n)
        let states = initialStates.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: batch * hs) }
        defer {
            projection.deallocate()
            gateRows.deallocate()
            states.forEach { $0.deallocate() }
        }
        for d in 0..<layout.directions {
            for (k, t) in initialStates.enumerated() {
                let s = states[k]
                s.initialize(repeating: 0, count: batch * hs)
                if let t {
                    for b in 0..<batch { (s + b * hs).update(from: t.pointer(Float.self) + layout.stateRow(d, b) * hs, count: hs) }
                }
            }
            if seq > 0 {
                recurrentInputProjection_f32(x.pointer(Float.self), rows: seq * batch, k: inputSize,
                                             w: w.pointer(Float.self) + d * n * inputSize, n: n,
                                             bias: projectionBias(direction: d, gates: gates, summed: summedBias),
                                             into: projection, context: context)
            }
            for s in 0..<seq {
                let times = lengths.map { len in s < len ? (reverse(d) ? len - 1 - s : s) : -1 }
                for b in 0..<batch {
                    let row = gateRows + b * n
                    if times[b] >= 0 {
                        row.update(from: projection + layout.inputRow(times[b], b) * n, count: n)
                    } else {
                        row.initialize(repeating: 0, count: n)
                    }
                }
                step(RecurrentStep(direction: d, gates: gateRows, states: states, live: times.map { $0 >= 0 }))
                for b in 0..<batch where times[b] >= 0 {
                    (y + layout.outputRow(times[b], d, b) * hs).update(from: states[0] + b * hs, count: hs)
                }
            }
            for (k, f) in finals.enumerated() {
                for b in 0..<batch { (f + layout.stateRow(d, b) * hs).update(from: states[k] + b * hs, count: hs) }
            }
        }
        withExtendedLifetime((x, w, initialStates)) {}
    }
}
