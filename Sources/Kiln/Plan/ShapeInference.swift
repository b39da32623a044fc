/// Shapes of every value of a planned graph, with the batch as a symbol.
///
/// Kiln infers shapes by *probing* rather than by per-op shape functions: at load, the plan runs on
/// the artifact's self-test input (or zeros when there is none and only the batch is symbolic), and
/// again with the batch doubled. A dim equal in both runs is fixed; a dim that doubles is `k·N`;
/// anything else is unknown (`?`). Other input symbols (an image's height and width) are not
/// tracked: dims that depend on them come out as their size at the self-test input, which the
/// exporter chooses so that the model runs (a probe with 1 in their place would fail on a 3×3
/// pool or a concat of strided branches). Probing uses the same kernels that will run, so every op and
/// every shape computation (Shape → Gather → Concat → Reshape chains included) is covered, and a
/// graph that cannot run at all fails at load instead of on its first request. The first probe also
/// records the memory pattern and touches the mapped weights, so the first real request is fast.
struct ShapeInference {
    /// The batch symbol: the symbolic dim at axis 0 of the first input, if any.
    static func batchSymbol(_ inputs: [ValueInfo]) -> String? {
        guard let first = inputs.first?.shape.first, case .symbol(let s) = first else { return nil }
        return s
    }

    /// Infers value shapes, or returns `nil` when the model cannot be probed (non-batch symbolic
    /// dims without a self-test input, or a zero-input probe that fails).
    /// - Throws: What the executor throws when the probe uses the stored self-test input (the
    ///   reference framework ran that input, so Kiln must too).
    static func infer(plan: ExecutionPlan, artifact: Artifact, pool: ThreadPool, memory: MemoryPlanner?) throws -> [String: [Dim]]? {
        var base: [Tensor] = []
        var fromSelfTest = false
        if let spec = artifact.selfTest, spec.inputs.count == plan.inputs.count,
           let tensors = Optional(plan.inputs.compactMap({ spec.inputs[$0.info.name].flatMap { artifact.tensors[$0] } })),
           tensors.count == plan.inputs.count {
            base = try tensors.map { try $0.dtype == .float16 ? $0.converted(to: .float32) : $0 }
            fromSelfTest = true
        } else {
            let batch = batchSymbol(plan.inputs.map(\.info))
            for (info, _) in plan.inputs {
                var shape: [Int] = []
                for (axis, d) in info.shape.enumerated() {
                    switch d {
                    case .fixed(let n): shape.append(n)
                    case .symbol(let s):
                        guard axis == 0, s == batch else { return nil }
                        shape.append(1)
                    }
                }
                base.append(try Tensor(zeros: shape, dtype: info.dtype))
            }
        }
        let executor = Executor(plan: plan, pool: pool, memory: memory)
        func probe(_ inputs: [Tensor]) throws -> [Int: [Int]] {
            var shapes: [Int: [Int]] = [:]
            for (slot, t) in plan.constants { shapes[slot] = t.shape }
            for (i, input) in plan.inputs.enumerated() { shapes[input.slot] = inputs[i].shape }
            _ = try executor.run(inputs) { step, outs in
                for (k, slot) in plan.steps[step].outputs.enumerated() where slot >= 0 && k < outs.count {
                    shapes[slot] = outs[k].shape
                }
            }
            return shapes
        }
        let first: [Int: [Int]]
        do { first = try probe(base) } catch {
            if fromSelfTest { throw error }
            return nil
        }
        var second: [Int: [Int]]? = nil
        let batch = batchSymbol(plan.inputs.map(\.info))
        if let batch {
            // Double the batch of every input whose axis 0 is the batch symbol, repeating its rows.
            let doubled: [Tensor] = try zip(plan.inputs, base).map { input, t in
                guard case .symbol(let s)? = input.info.shape.first, s == batch, t.rank > 0 else { return t }
                return try repeatRows(t)
            }
            second = try? probe(doubled)
        }
        var names: [Int: String] = [:]
        for (name, _) in plan.graph.constants { if let s = plan.slot(of: name) { names[s] = name } }
        for step in plan.graph.nodes { for o in step.outputs where !o.isEmpty { if let s = plan.slot(of: o) { names[s] = o } } }
        for (info, slot) in plan.inputs { names[slot] = info.name }
        var result: [String: [Dim]] = [:]
        for (slot, shape) in first {
            guard let name = names[slot] else { continue }
            let other = second?[slot]
            result[name] = shape.enumerated().map { axis, d in
                guard let batch, let other else { return .fixed(d) }
                guard axis < other.count, other.count == shape.count else { return .symbol("?") }
                let e = other[axis]
                if e == d { return .fixed(d) }
                // The base batch b: 1 for zeros, the self-test's batch otherwise.
                let b = base.first?.shape.first ?? 1
                if e == 2 * d, d % max(b, 1) == 0 {
                    let k = d / max(b, 1)
                    return .symbol(k == 1 ? batch : "\(k)·\(batch)")
                }
                return .symbol("?")
            }
        }
        return result
    }

    /// `t` with its axis-0 rows repeated once (batch doubled).
    static func repeatRows(_ t: Tensor) throws -> Tensor {
        var out = try Tensor(uninitialized: [t.shape[0] * 2] + t.shape.dropFirst(), dtype: t.dtype)
        let n = t.byteCount
        let dst = out.mutableBase()
        if n > 0 {
            dst.copyMemory(from: t.rawPointer, byteCount: n)
            (dst + n).copyMemory(from: t.rawPointer, byteCount: n)
        }
        return out
    }
}
