/// ONNX `GRU` (opset 7 / 14), float32.
///
/// Inputs `X` (`[seq, batch, in]`, or `[batch, seq, in]` with `layout = 1`), `W [dirs, 3H, in]`,
/// `R [dirs, 3H, H]` (gates in ONNX's order z, r, h), optional `B [dirs, 6H]`, `sequence_lens [batch]`
/// and `initial_h [dirs, batch, H]`. Outputs `Y [seq, dirs, batch, H]` (zeros past a sequence's
/// length) and `Y_h [dirs, batch, H]`. Per step, with `f`, `g` the direction's activations
/// (Sigmoid, Tanh by default): `z = f(X·Wzᵀ + H·Rzᵀ + Wbz + Rbz)`, `r = f(…)`, and
/// `h̃ = g(X·Whᵀ + (r⊙H)·Rhᵀ + Rbh + Wbh)`, or with `linear_before_reset = 1` (PyTorch's GRU)
/// `h̃ = g(X·Whᵀ + r⊙(H·Rhᵀ + Rbh) + Wbh)`; then `H' = (1 − z)⊙h̃ + z⊙H`.
///
/// Per step: one GEMM for the z and r recurrences, then one for the h recurrence (of `r⊙H`, or of
/// `H` kept apart with `linear_before_reset = 1`). No prepared form, as `LSTM`.
struct GRU: Operator {
    static let opType = "GRU"

    let common: RecurrentAttributes
    let linearBeforeReset: Bool

    init(attributes: Attributes) throws {
        common = try RecurrentAttributes(attributes, defaultActivations: ["Sigmoid", "Tanh"], extra: ["linear_before_reset"])
        let l = try attributes.int("linear_before_reset", default: 0)
        guard l == 0 || l == 1 else { throw attributes.error("linear_before_reset \(l) must be 0 or 1") }
        linearBeforeReset = l == 1
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let p = try RecurrentInputs(self, inputs, gates: 3, maxInputs: 6, attributes: common, context: context)
        let hs = p.hidden, n = 3 * hs, batch = p.batch
        var y = try context.allocate(p.outputShape, dtype: .float32)
        var yh = try context.allocate(p.stateShape, dtype: .float32)
        // r⊙H (or H·Rhᵀ with linear_before_reset), one row per sequence.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, batch * hs))
        defer { scratch.deallocate() }
        // Rbh stays out of the projection when it is multiplied by r.
        p.run(gates: 3, summedBias: linearBeforeReset ? 0..<2 : 0..<3, reverse: common.isReverse, initialStates: [p.initialH],
              y: y.mutablePointer(Float.self), finals: [yh.mutablePointer(Float.self)], context: context) { step in
            let d = step.direction, h = step.states[0], g = step.gates
            let r = p.r.pointer(Float.self) + d * n * hs
            let acts = common.activations[d]
            Sgemm.run(transA: false, transB: true, m: batch, n: 2 * hs, k: hs, alpha: 1, a: h, lda: hs,
                      b: r, ldb: hs, beta: 1, c: g, ldc: n, context: context)
            for b in 0..<batch where step.live[b] {
                let zr = g + b * n
                clipInPlace_f32(zr, count: 2 * hs, threshold: common.clip)
                acts[0].apply(zr, count: 2 * hs)
            }
            if linearBeforeReset {
                Sgemm.run(transA: false, transB: true, m: batch, n: hs, k: hs, alpha: 1, a: h, lda: hs,
                          b: r + 2 * hs * hs, ldb: hs, beta: 0, c: scratch, ldc: hs, context: context)
                let rbh = p.bias.map { $0.pointer(Float.self) + d * 2 * n + n + 2 * hs }
                for b in 0..<batch where step.live[b] {
                    let rg = g + b * n + hs, hg = g + b * n + 2 * hs, hr = scratch + b * hs
                    for j in 0..<hs { hg[j] += rg[j] * (hr[j] + (rbh?[j] ?? 0)) }
                }
            } else {
                for b in 0..<batch {
                    let rg = g + b * n + hs, hb = h + b * hs, out = scratch + b * hs
                    for j in 0..<hs { out[j] = rg[j] * hb[j] }
                }
                Sgemm.run(transA: false, transB: true, m: batch, n: hs, k: hs, alpha: 1, a: scratch, lda: hs,
                          b: r + 2 * hs * hs, ldb: hs, beta: 1, c: g + 2 * hs, ldc: n, context: context)
            }
            for b in 0..<batch where step.live[b] {
                let z = g + b * n, hg = g + b * n + 2 * hs, hb = h + b * hs
                clipInPlace_f32(hg, count: hs, threshold: common.clip)
                acts[1].apply(hg, count: hs)
                for j in 0..<hs { hb[j] = (1 - z[j]) * hg[j] + z[j] * hb[j] }
            }
        }
        withExtendedLifetime(p) {}
        return [y, yh]
    }
}
