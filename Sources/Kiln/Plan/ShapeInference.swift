import Foundation

/// Shapes of every value of a planned graph, with the batch as a symbol.
///
/// Kiln infers shapes *statically* and checks them with *one* probe. At load, the ops' shape
/// functions (``ShapeInferable``, `Plan/Shapes/`) give every value's concrete shape for the probe's
/// input shapes and again with the batch doubled, in microseconds; a dim equal in both is fixed, a
/// dim that doubles is `k·N`, anything else is unknown (`?`). Then the plan runs once on the
/// artifact's self-test input (or zeros when there is none and only the batch is symbolic), and the
/// static shapes must equal the shapes that run produced, value by value. That probe stays: it
/// validates the graph end to end with the kernels that will serve requests (a graph that cannot run
/// fails at load, not on its first request), records the memory pattern and touches the mapped
/// weights, so the first real request is fast.
///
/// When static inference cannot finish — an op without a shape function, a shape that depends on
/// data (`NonMaxSuppression`, `TopK` with a computed `k`), a `Reshape` target that is not known — the
/// batch is doubled and the plan probed a second time, as before static shapes existed. A mismatch
/// between static and probed shapes is a bug in a shape function: the probed shapes win, the
/// mismatch is recorded in ``Report/mismatches`` (the tests fail on it) and printed in debug builds.
///
/// Other input symbols (an image's height and width) are not tracked: dims that depend on them come
/// out as their size at the self-test input, which the exporter chooses so that the model runs (a
/// probe with 1 in their place would fail on a 3×3 pool or a concat of strided branches).
struct ShapeInference {
    /// The batch symbol: the symbolic dim at axis 0 of the first input, if any.
    static func batchSymbol(_ inputs: [ValueInfo]) -> String? {
        guard let first = inputs.first?.shape.first, case .symbol(let s) = first else { return nil }
        return s
    }

    /// How shapes were inferred at load, for tests and diagnostics.
    struct Report: Sendable {
        /// Where the shapes came from.
        enum Source: Sendable, Equatable {
            /// Static shape functions, equal to the one probe's shapes.
            case staticChecked
            /// Probing (static inference gave up, was disabled, or disagreed).
            case probed
        }
        /// Where the shapes came from.
        var source: Source = .probed
        /// Inferences run at load for shapes (1 when static shapes were used, 2 with a symbolic
        /// batch otherwise).
        var probeRuns = 0
        /// Why static inference gave up, if it did.
        var staticFailure: String?
        /// Values whose static shape differs from the probed one (`name: static vs probed`); a
        /// non-empty list is a bug in a shape function.
        var mismatches: [String] = []
    }

    /// Infers value shapes; `nil` when the model cannot be probed (non-batch symbolic dims without a
    /// self-test input, or a zero-input probe that fails).
    /// - Parameter useStaticShapes: `false` forces the doubled-batch probe (tests compare the two).
    /// - Returns: The shapes by value name, and how they were obtained.
    /// - Throws: What the executor throws when the probe uses the stored self-test input (the
    ///   reference framework ran that input, so Kiln must too).
    static func infer(plan: ExecutionPlan, artifact: Artifact, pool: ThreadPool, memory: MemoryPlanner?,
                      useStaticShapes: Bool = true) throws -> (shapes: [String: [Dim]]?, report: Report) {
        var report = Report()
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
                        guard axis == 0, s == batch else { return (nil, report) }
                        shape.append(1)
                    }
                }
                base.append(try Tensor(zeros: shape, dtype: info.dtype))
            }
        }
        let executor = Executor(plan: plan, pool: pool, memory: memory)
        func probe(_ inputs: [Tensor]) throws -> [Int: [Int]] {
            report.probeRuns += 1
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
        let batch = batchSymbol(plan.inputs.map(\.info))
        // Double the batch of every input whose axis 0 is the batch symbol.
        func isBatched(_ info: ValueInfo) -> Bool {
            guard let batch, case .symbol(let s)? = info.shape.first else { return false }
            return s == batch
        }
        let baseShapes = base.map(\.shape)
        let doubledShapes = zip(plan.inputs, baseShapes).map { input, s in
            isBatched(input.info) && !s.isEmpty ? [s[0] * 2] + s.dropFirst() : s
        }
        // Static shapes at the probe's batch and at twice it (microseconds), checked against one probe.
        var staticFirst: [Int: [Int]]? = nil, staticSecond: [Int: [Int]]? = nil
        if useStaticShapes {
            do {
                staticFirst = try StaticShapeInference.shapes(plan: plan, inputShapes: baseShapes)
                if batch != nil { staticSecond = try StaticShapeInference.shapes(plan: plan, inputShapes: doubledShapes) }
            } catch {
                report.staticFailure = "\(error)"
                staticFirst = nil
            }
        } else {
            report.staticFailure = "static shape inference disabled"
        }
        let first: [Int: [Int]]
        do { first = try probe(base) } catch {
            if fromSelfTest { throw error }
            return (nil, report)
        }
        if let staticFirst {
            report.mismatches = mismatches(plan: plan, static: staticFirst, probed: first)
            if report.mismatches.isEmpty {
                report.source = .staticChecked
            } else {
                #if DEBUG
                FileHandle.standardError.write(Data("Kiln: static shapes disagree with the probe (a bug; falling back to probing): \(report.mismatches.prefix(5))\n".utf8))
                #endif
            }
        }
        var second: [Int: [Int]]? = nil
        if report.source == .staticChecked {
            second = staticSecond
        } else if batch != nil {
            let doubled: [Tensor] = try zip(plan.inputs, base).map { input, t in
                isBatched(input.info) && t.rank > 0 ? try repeatRows(t) : t
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
        return (result, report)
    }

    /// The values whose statically inferred shape differs from the probed one (or that only one of
    /// the two has), described as `name: static vs probed`.
    static func mismatches(plan: ExecutionPlan, static inferred: [Int: [Int]], probed: [Int: [Int]]) -> [String] {
        var names: [Int: String] = [:]
        for (name, slot) in plan.slots { names[slot] = name }
        var result: [String] = []
        for slot in Set(inferred.keys).union(probed.keys).sorted() where inferred[slot] != probed[slot] {
            let describe = { (s: [Int]?) in s.map { "\($0)" } ?? "none" }
            result.append("\(names[slot] ?? "slot \(slot)"): static \(describe(inferred[slot])) vs probed \(describe(probed[slot]))")
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
