/// ONNX `RNN` (opset 7 / 14), float32: the plain recurrent layer,
/// `H' = f(X·Wᵀ + H·Rᵀ + Wb + Rb)` with `f` the direction's activation (Tanh by default).
///
/// Inputs `X` (`[seq, batch, in]`, or `[batch, seq, in]` with `layout = 1`), `W [dirs, H, in]`,
/// `R [dirs, H, H]`, optional `B [dirs, 2H]`, `sequence_lens [batch]` and `initial_h
/// [dirs, batch, H]`. Outputs `Y [seq, dirs, batch, H]` (zeros past a sequence's length) and
/// `Y_h [dirs, batch, H]`. One GEMM per step. No prepared form, as `LSTM`.
struct RNN: Operator {
    static let opType = "RNN"

    let common: RecurrentAttributes

    init(attributes: Attributes) throws {
        common = try RecurrentAttributes(attributes, defaultActivations: ["Tanh"], extra: [])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let p = try RecurrentInputs(self, inputs, gates: 1, maxInputs: 6, attributes: common, context: context)
        let hs = p.hidden
        var y = try context.allocate(p.outputShape, dtype: .float32)
        var yh = try context.allocate(p.stateShape, dtype: .float32)
        p.run(gates: 1, summedBias: 0..<1, reverse: common.isReverse, initialStates: [p.initialH],
              y: y.mutablePointer(Float.self), finals: [yh.mutablePointer(Float.self)], context: context) { step in
            let d = step.direction, h = step.states[0], g = step.gates
            Sgemm.run(transA: false, transB: true, m: p.batch, n: hs, k: hs, alpha: 1, a: h, lda: hs,
                      b: p.r.pointer(Float.self) + d * hs * hs, ldb: hs, beta: 1, c: g, ldc: hs, context: context)
            for b in 0..<p.batch where step.live[b] {
                clipInPlace_f32(g + b * hs, count: hs, threshold: common.clip)
                common.activations[d][0].apply(g + b * hs, count: hs)
                (h + b * hs).update(from: g + b * hs, count: hs)
            }
        }
        withExtendedLifetime(p) {}
        return [y, yh]
    }
}
