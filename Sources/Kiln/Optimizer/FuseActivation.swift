extension Optimizer {
    /// Op types whose kernels can apply an activation to their output tile.
    static let fusableProducers: Set<String> = ["Conv", "Gemm"]

    /// Folds a `Relu`, or a `Clip` with constant bounds, into the `Conv`/`Gemm` that feeds it, and a
    /// `HardSwish`, `Sigmoid` or SiLU (`Swish` with α = 1) into a `Conv`, when that producer's output
    /// has no other reader and is not a graph output.
    static func fuseActivation(_ g: Graph) -> Graph {
        let consumers = g.consumers()
        let producers = g.producers()
        let graphOutputs = g.outputNames
        var replaced: [Int: NodeDef] = [:]
        var removed = Set<Int>()
        let activations: Set<String> = ["Relu", "Clip", "HardSwish", "Sigmoid", "Swish"]
        for (ai, act) in g.nodes.enumerated() where activations.contains(act.op) {
            guard let input = act.inputs.first, let pi = producers[input], replaced[pi] == nil else { continue }
            let producer = g.nodes[pi]
            guard fusableProducers.contains(producer.op), producer.outputs.count == 1,
                  producer.attributes.values[FusedActivation.kindAttribute] == nil,
                  consumers[input] == [ai], !graphOutputs.contains(input) else { continue }
            let activation: FusedActivation
            switch act.op {
            case "Relu": activation = .relu
            case "HardSwish": activation = .hardSwish
            case "Sigmoid": activation = .sigmoid
            case "Swish":
                guard (try? act.attributes.float("alpha", default: 1)) == 1 else { continue }
                activation = .silu
            default:
                guard let bounds = clipBounds(act, constants: g.constants), bounds.0 <= bounds.1 else { continue }
                activation = .clip(min: bounds.0, max: bounds.1)
            }
            if !activation.isClamp && producer.op != "Conv" { continue }
            var fused = producer
            for (k, v) in activation.attributes { fused.attributes.values[k] = v }
            fused.outputs = act.outputs
            replaced[pi] = fused
            removed.insert(ai)
        }
        var out = g
        out.nodes = g.nodes.enumerated().compactMap { i, n in removed.contains(i) ? nil : (replaced[i] ?? n) }
        return out
    }

    /// `Clip`'s bounds when they are constants (opset ≥ 11 inputs) or attributes (opset 6).
    static func clipBounds(_ n: NodeDef, constants: [String: Tensor]) -> (Float, Float)? {
        var lo = -Float.infinity, hi = Float.infinity
        if let a = try? n.attributes.float("min", default: -.infinity) { lo = a }
        if let b = try? n.attributes.float("max", default: .infinity) { hi = b }
        for (index, isMin) in [(1, true), (2, false)] where n.inputs.count > index && !n.inputs[index].isEmpty {
            guard let t = constants[n.inputs[index]], t.dtype == .float32, t.count == 1,
                  let v = try? t.scalars(as: Float.self).first else { return nil }
            if isMin { lo = v } else { hi = v }
        }
        return (lo, hi)
    }
}
