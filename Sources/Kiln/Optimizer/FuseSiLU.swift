extension Optimizer {
    /// Replaces `Mul(x, Sigmoid(x))` (SiLU as PyTorch exports it before opset 24) by one `Swish`
    /// node: one pass over memory instead of two and no intermediate tensor. Applies when the
    /// Sigmoid's output feeds only that Mul and is not a graph output.
    static func fuseSiLU(_ g: Graph) -> Graph {
        let consumers = g.consumers()
        let producers = g.producers()
        let graphOutputs = g.outputNames
        var replaced: [Int: NodeDef] = [:]
        var removed = Set<Int>()
        for (mi, mul) in g.nodes.enumerated() where mul.op == "Mul" && mul.inputs.count == 2 {
            for (sigSide, xSide) in [(0, 1), (1, 0)] {
                guard let si = producers[mul.inputs[sigSide]], !removed.contains(si) else { continue }
                let sig = g.nodes[si]
                guard sig.op == "Sigmoid", sig.inputs.first == mul.inputs[xSide],
                      consumers[sig.outputs[0]] == [mi], !graphOutputs.contains(sig.outputs[0]) else { continue }
                replaced[mi] = NodeDef(name: mul.name, op: "Swish", inputs: [mul.inputs[xSide]], outputs: mul.outputs,
                                       attributes: Attributes(op: "Swish", node: mul.name, ["alpha": .float(1)]))
                removed.insert(si)
                break
            }
        }
        var out = g
        out.nodes = g.nodes.enumerated().compactMap { i, n in removed.contains(i) ? nil : (replaced[i] ?? n) }
        return out
    }
}
