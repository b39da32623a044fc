import Foundation

/// What one step of an inference did: shapes, work and time. Produced by ``Model/profile(_:)``.
public struct StepProfile: Sendable {
    /// Node name.
    public var node: String
    /// Op type.
    public var opType: String
    /// Shapes of the step's inputs (`nil` for omitted optional inputs).
    public var inputShapes: [[Int]?]
    /// Shapes of the step's outputs.
    public var outputShapes: [[Int]]
    /// Multiply-accumulates (Conv, ConvTranspose, Gemm, MatMul, LSTM, GRU, RNN; 0 for other ops).
    public var macs: Int
    /// Wall time of the step in seconds.
    public var seconds: Double
}

extension Model {
    /// Runs one inference and reports every step's output shapes, multiply-accumulate count and time.
    ///
    /// The inference uses the model's memory plan, as ``predict(_:)->[String:Tensor]`` does (one
    /// untimed inference first records it when these input shapes are new), so the times are those
    /// of a warm model: outputs in the reused arena, not freshly faulted-in heap pages.
    /// - Parameter inputs: Inputs by name; `nil` uses the self-test input, or zeros with symbolic
    ///   dims set to 1.
    /// - Throws: What ``predict(_:)->[String:Tensor]`` throws.
    public func profile(_ inputs: [String: Tensor]? = nil) throws -> [StepProfile] {
        let feeds = try inputs ?? defaultInputs()
        let ordered = try validate(feeds)
        var result: [StepProfile] = []
        var shapes: [Int: [Int]] = [:] // slot → shape, for MAC counts that need input shapes
        for (slot, t) in plan.constants { shapes[slot] = t.shape }
        for (i, input) in plan.inputs.enumerated() { shapes[input.slot] = ordered[i].shape }
        if let memory, memory.pattern(for: ordered.map(\.shape)) == nil {
            _ = try Executor(plan: plan, pool: pool, memory: memory).run(ordered)
        }
        var last = DispatchTime.now().uptimeNanoseconds
        _ = try Executor(plan: plan, pool: pool, memory: memory).run(ordered) { i, outs in
            let now = DispatchTime.now().uptimeNanoseconds
            let step = self.plan.steps[i]
            for (k, slot) in step.outputs.enumerated() where slot >= 0 && k < outs.count { shapes[slot] = outs[k].shape }
            let ins = step.inputs.map { $0 >= 0 ? shapes[$0] : nil }
            result.append(StepProfile(node: step.node, opType: step.opType, inputShapes: ins, outputShapes: outs.map(\.shape),
                                      macs: Self.macs(step.opType, inputs: ins, outputs: outs.map(\.shape)),
                                      seconds: Double(now - last) / 1e9))
            last = DispatchTime.now().uptimeNanoseconds
        }
        return result
    }

    /// The self-test input, or zeros with every symbolic dim set to 1.
    public func defaultInputs() throws -> [String: Tensor] {
        if let spec = artifact.selfTest, spec.inputs.count == artifact.inputs.count {
            return try spec.inputs.mapValues { name in
                let t = artifact.tensors[name]!
                return try t.dtype == .float16 ? t.converted(to: .float32) : t
            }
        }
        var feeds: [String: Tensor] = [:]
        for info in artifact.inputs {
            let shape = info.shape.map { d -> Int in if case .fixed(let n) = d { return n } else { return 1 } }
            feeds[info.name] = try Tensor(zeros: shape, dtype: info.dtype)
        }
        return feeds
    }

    static func macs(_ op: String, inputs: [[Int]?], outputs: [[Int]]) -> Int {
        guard let y = outputs.first else { return 0 }
        let outCount = y.reduce(1, *)
        switch op {
        case "Conv":
            // Each output element sums C/group · prod(kernel) products.
            guard inputs.count > 1, let w = inputs[1], w.count >= 3 else { return 0 }
            return outCount * w.dropFirst().reduce(1, *)
        case "ConvTranspose":
            guard let x = inputs[0], inputs.count > 1, let w = inputs[1], w.count >= 3 else { return 0 }
            return x.reduce(1, *) * w.dropFirst().reduce(1, *)
        case "Gemm", "MatMul":
            guard let a = inputs[0], inputs.count > 1, let b = inputs[1], !a.isEmpty, !b.isEmpty else { return 0 }
            // Output elements times the shared dimension K.
            let k = op == "MatMul" ? a[a.count - 1] : max(a[0] * a[a.count - 1] / max(y.first ?? 1, 1), 1)
            return outCount * k
        case "LSTM", "GRU", "RNN":
            // Every (step, sequence) multiplies its input by W and its state by R, per direction:
            // seq · batch · (W.count + R.count) (either layout: X's dims before the last).
            guard inputs.count > 2, let x = inputs[0], let w = inputs[1], let r = inputs[2] else { return 0 }
            return x.dropLast().reduce(1, *) * (w.reduce(1, *) + r.reduce(1, *))
        default:
            return 0
        }
    }
}
