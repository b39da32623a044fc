extension Optimizer {
    /// Folds `Add(Conv(x), r)` — the residual connection of ResNet and MobileNet blocks — into the
    /// `Conv`, which then adds `r` to its output tile before any activation, in registers.
    ///
    /// The fused `Conv` carries `r` as a fourth input (`B` becomes `""` when absent). It applies only
    /// when the Conv's output has no other reader, is not a graph output, carries no fused
    /// activation yet (an activation before the `Add` cannot move after it), and `r` is available
    /// before the Conv runs (a graph input, a constant, or produced by an earlier node). Shapes are
    /// not known here: when `r` turns out not to have the output's shape (a broadcast `Add`), the
    /// kernel adds it with broadcasting after the convolution, so the rewrite is always exact.
    /// Runs before ``fuseActivation(_:)`` so that `Relu(Add(Conv, r))` fuses completely.
    static func fuseResidualAdd(_ g: Graph) -> Graph {
        fuseAddIntoProducer(g) { conv, ci, other, producers in
            guard conv.op == "Conv", conv.inputs.count >= 2, conv.inputs.count <= 3,
                  conv.attributes.values[FusedActivation.kindAttribute] == nil else { return nil }
            // `other` must exist when the Conv runs.
            if let oi = producers[other], oi >= ci { return nil }
            var fused = conv
            fused.inputs = [conv.inputs[0], conv.inputs[1], conv.inputs.count > 2 ? conv.inputs[2] : "", other]
            return fused
        }
    }

    /// The skeleton of the `Add` fusions: for every two-input `Add` whose one side is the only
    /// output of a node read by nothing else and not a graph output, `fuse(producer, index, other
    /// input, producers)` may return the producer rewritten to include the `Add`; it then takes
    /// the `Add`'s output name and the `Add` is removed.
    static func fuseAddIntoProducer(_ g: Graph,
                                    _ fuse: (NodeDef, Int, String, [String: Int]) -> NodeDef?) -> Graph {
        let consumers = g.consumers()
        let producers = g.producers()
        let graphOutputs = g.outputNames
        var replaced: [Int: NodeDef] = [:]
        var removed = Set<Int>()
        for (ai, add) in g.nodes.enumerated() where add.op == "Add" && add.inputs.count == 2 && add.outputs.count == 1 {
            for side in 0..<2 {
                let out = add.inputs[side], other = add.inputs[1 - side]
                guard !out.isEmpty, !other.isEmpty, out != other,
                      let pi = producers[out], replaced[pi] == nil, !removed.contains(pi),
                      g.nodes[pi].outputs.count == 1, consumers[out] == [ai], !graphOutputs.contains(out),
                      var fused = fuse(g.nodes[pi], pi, other, producers) else { continue }
                fused.outputs = add.outputs
                replaced[pi] = fused
                removed.insert(ai)
                break
            }
        }
        var out = g
        out.nodes = g.nodes.enumerated().compactMap { i, n in removed.contains(i) ? nil : (replaced[i] ?? n) }
        return out
    }
}
