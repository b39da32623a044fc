/// ONNX `LSTM` (opset 7 / 14), float32: the recurrent layer of CRNN text recognizers.
///
/// Inputs `X` (`[seq, batch, in]`, or `[batch, seq, in]` with `layout = 1`), `W [dirs, 4H, in]`,
/// `R [dirs, 4H, H]` (gates in ONNX's order i, o, f, c), optional `B [dirs, 8H]`,
/// `sequence_lens [batch]`, `initial_h` / `initial_c` (`[dirs, batch, H]`) and peepholes
/// `P [dirs, 3H]`. Outputs `Y [seq, dirs, batch, H]` (zeros past a sequence's length), `Y_h` and
/// `Y_c` (`[dirs, batch, H]`, the last valid step's states). Per step, with `f`, `g`, `h` the
/// direction's activations (Sigmoid, Tanh, Tanh by default):
/// `i = f(X·Wiᵀ + H·Riᵀ + Pi⊙C + Wbi + Rbi)`, `f = f(… Pf⊙C …)` (or `1 − i` with
/// `input_forget = 1`), `c̃ = g(…)`, `C' = f⊙C + i⊙c̃`, `o = f(… + Po⊙C' …)`, `H' = o⊙h(C')`.
///
/// The input projection of every step is one GEMM; each step adds `H·Rᵀ` (one GEMM over the batch)
/// and updates the states. There is no prepared form: the weights are read in place (`W` and `R`
/// as stored are the GEMM's transposed operand) and only the bias sum is made per call.
struct LSTM: Operator {
    static let opType = "LSTM"

    let common: RecurrentAttributes
    let inputForget: Bool

    init(attributes: Attributes) throws {
        common = try RecurrentAttributes(attributes, defaultActivations: ["Sigmoid", "Tanh", "Tanh"], extra: ["input_forget"])
        let f = try attributes.int("input_forget", default: 0)
        guard f == 0 || f == 1 else { throw attributes.error("input_forget \(f) must be 0 or 1") }
        inputForget = f == 1
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let p = try RecurrentInputs(self, inputs, gates: 4, maxInputs: 8, attributes: common, context: context)
        let initialC = try RecurrentInputs.state(self, inputs, 6, "initial_c", layout: p.layout, hidden: p.hidden, context: context)
        let peepholes = optionalInput(inputs, 7)
        if let peepholes {
            try require(peepholes, .float32, "P", context: context)
            guard peepholes.shape == [common.directions, 3 * p.hidden] else {
                throw KilnError.shapeMismatch(op: Self.opType, node: context.node, tensor: "P",
                                              expected: [common.directions, 3 * p.hidden], got: peepholes.shape)
            }
        }
        let hs = p.hidden, n = 4 * hs
        var y = try context.allocate(p.outputShape, dtype: .float32)
        var yh = try context.allocate(p.stateShape, dtype: .float32)
        var yc = try context.allocate(p.stateShape, dtype: .float32)
        p.run(gates: 4, summedBias: 0..<4, reverse: common.isReverse, initialStates: [p.initialH, initialC],
              y: y.mutablePointer(Float.self), finals: [yh.mutablePointer(Float.self), yc.mutablePointer(Float.self)],
              context: context) { step in
            let d = step.direction
            Sgemm.run(transA: false, transB: true, m: p.batch, n: n, k: hs, alpha: 1, a: step.states[0], lda: hs,
                      b: p.r.pointer(Float.self) + d * n * hs, ldb: hs, beta: 1, c: step.gates, ldc: n, context: context)
            let peep = peepholes.map { $0.pointer(Float.self) + d * 3 * hs }
            for b in 0..<p.batch where step.live[b] {
                lstmCell(step.gates + b * n, h: step.states[0] + b * hs, c: step.states[1] + b * hs, hidden: hs,
                         peepholes: peep, activations: common.activations[d])
            }
        }
        withExtendedLifetime((p, peepholes)) {}
        return [y, yh, yc]
    }

    /// One step of one sequence: `g` holds the four gate pre-activations (i, o, f, c) without the
    /// peepholes; `h` and `c` are updated in place.
    private func lstmCell(_ g: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>,
                          hidden hs: Int, peepholes: UnsafePointer<Float>?, activations acts: [RecurrentActivation]) {
        let gi = g, go = g + hs, gf = g + 2 * hs, gc = g + 3 * hs
        if let pp = peepholes {
            for j in 0..<hs {
                gi[j] += pp[j] * c[j]
                gf[j] += pp[2 * hs + j] * c[j]
            }
        }
        clipInPlace_f32(gi, count: hs, threshold: common.clip)
        acts[0].apply(gi, count: hs)
        if inputForget {
            for j in 0..<hs { gf[j] = 1 - gi[j] }
        } else {
            clipInPlace_f32(gf, count: hs, threshold: common.clip)
            acts[0].apply(gf, count: hs)
        }
        clipInPlace_f32(gc, count: hs, threshold: common.clip)
        acts[1].apply(gc, count: hs)
        for j in 0..<hs { c[j] = gf[j] * c[j] + gi[j] * gc[j] }
        if let pp = peepholes {
            for j in 0..<hs { go[j] += pp[hs + j] * c[j] }
        }
        clipInPlace_f32(go, count: hs, threshold: common.clip)
        acts[0].apply(go, count: hs)
        // h(C') goes through the c̃ slot, which is no longer needed.
        gc.update(from: c, count: hs)
        acts[2].apply(gc, count: hs)
        for j in 0..<hs { h[j] = go[j] * gc[j] }
    }
}
