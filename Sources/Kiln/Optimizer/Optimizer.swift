/// One graph rewrite: takes a graph, returns a new one.
struct OptimizerPass: Sendable {
    /// What the pass does, in the words of its function (`foldBatchNormIntoConv`).
    let name: String
    /// The rewrite.
    let apply: @Sendable (Graph, OpRegistry) throws -> Graph
}

/// Runs the optimizer passes between loading and planning. Every pass preserves the graph's
/// outputs to within float rounding (BatchNorm folding reassociates a multiply).
enum Optimizer {
    /// The default pipeline, in order.
    static let defaultPasses: [OptimizerPass] = [
        OptimizerPass(name: "normalizeOpsetForms", apply: { g, _ in try normalizeOpsetForms(g) }),
        OptimizerPass(name: "widenFloat16Constants", apply: { g, _ in try widenFloat16Constants(g) }),
        OptimizerPass(name: "eliminateIdentity", apply: { g, _ in eliminateIdentity(g) }),
        OptimizerPass(name: "foldConstants", apply: { g, r in try foldConstants(g, registry: r) }),
        OptimizerPass(name: "foldPadIntoConv", apply: { g, _ in foldPadIntoConv(g) }),
        OptimizerPass(name: "foldBatchNormIntoConv", apply: { g, _ in try foldBatchNormIntoConv(g) }),
        OptimizerPass(name: "fuseSiLU", apply: { g, _ in fuseSiLU(g) }),
        OptimizerPass(name: "fuseResidualAdd", apply: { g, _ in fuseResidualAdd(g) }),
        OptimizerPass(name: "fuseMatMulBias", apply: { g, _ in fuseMatMulBias(g) }),
        OptimizerPass(name: "fuseActivation", apply: { g, _ in fuseActivation(g) }),
        OptimizerPass(name: "eliminateDeadNodes", apply: { g, _ in eliminateDeadNodes(g) }),
    ]

    /// The passes that only make the graph executable (no rewrites of the math).
    static let requiredPasses: [OptimizerPass] = [
        OptimizerPass(name: "normalizeOpsetForms", apply: { g, _ in try normalizeOpsetForms(g) }),
        OptimizerPass(name: "widenFloat16Constants", apply: { g, _ in try widenFloat16Constants(g) }),
        OptimizerPass(name: "eliminateDeadNodes", apply: { g, _ in eliminateDeadNodes(g) }),
    ]

    /// Applies `passes` in order.
    static func optimize(_ graph: Graph, registry: OpRegistry, passes: [OptimizerPass] = defaultPasses) throws -> Graph {
        var g = graph
        for pass in passes { g = try pass.apply(g, registry) }
        return g
    }

    /// `float16` constants are a storage format: widen them to `float32` once, at load.
    static func widenFloat16Constants(_ g: Graph) throws -> Graph {
        var out = g
        for (name, t) in g.constants where t.dtype == .float16 {
            out.constants[name] = try t.converted(to: .float32)
        }
        return out
    }

    /// Removes `Identity` and inference-mode `Dropout` by rewiring their consumers to their input.
    /// A node whose output is a graph output is kept, so output names never change.
    static func eliminateIdentity(_ g: Graph) -> Graph {
        var alias: [String: String] = [:]
        var kept: [NodeDef] = []
        let graphOutputs = g.outputNames
        for var n in g.nodes {
            n.inputs = n.inputs.map { alias[$0] ?? $0 }
            let isPassThrough = n.op == "Identity" || (n.op == "Dropout" && (n.outputs.count == 1 || n.outputs[1].isEmpty))
            if isPassThrough, let input = n.inputs.first, !input.isEmpty, !graphOutputs.contains(n.outputs[0]) {
                alias[n.outputs[0]] = input
                continue
            }
            kept.append(n)
        }
        var out = g
        out.nodes = kept
        return out
    }

    /// Removes nodes none of whose outputs reach a graph output, and constants nobody reads.
    static func eliminateDeadNodes(_ g: Graph) -> Graph {
        var live = g.outputNames
        var kept: [NodeDef] = []
        for n in g.nodes.reversed() where n.outputs.contains(where: { live.contains($0) }) {
            kept.append(n)
            for input in n.inputs where !input.isEmpty { live.insert(input) }
        }
        var out = g
        out.nodes = kept.reversed()
        out.constants = g.constants.filter { live.contains($0.key) }
        return out
    }
}
