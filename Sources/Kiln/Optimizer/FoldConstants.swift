extension Optimizer {
    /// Outputs larger than this stay computed at run time: folding would trade a cheap op for a large
    /// resident tensor (an `Expand` of a scalar to a feature map, say).
    static let maxFoldedBytes = 16 << 20

    /// Evaluates, at load, every node whose inputs are all constants, and replaces it with its
    /// outputs. Shape computations on static dims, weight transposes and `Constant`-fed arithmetic
    /// disappear this way; shape computations that depend on a symbolic input dim stay.
    static func foldConstants(_ g: Graph, registry: OpRegistry) throws -> Graph {
        var out = g
        var kept: [NodeDef] = []
        for n in g.nodes {
            let inputs = n.inputs.filter { !$0.isEmpty }
            guard inputs.allSatisfy({ out.constants[$0] != nil }), registry.supports(n.op) else {
                kept.append(n)
                continue
            }
            let op = try registry.make(n.op, attributes: n.attributes)
            let values: [Tensor?] = n.inputs.map { $0.isEmpty ? nil : out.constants[$0] }
            let results = try op.run(values, context: ExecutionContext(threads: 1, node: n.name))
            guard results.count >= n.outputs.filter({ !$0.isEmpty }).count,
                  results.allSatisfy({ $0.byteCount <= maxFoldedBytes }) else {
                kept.append(n)
                continue
            }
            for (name, t) in zip(n.outputs, results) where !name.isEmpty {
                // Results may borrow an input's storage (a Reshape of a weight); that is fine: constants are immutable.
                out.constants[name] = t
            }
        }
        out.nodes = kept
        return out
    }
}
