/// The graph IR between loading and planning: nodes in the portable form plus constant tensors.
///
/// Optimizer passes take a graph and return a new one; nothing mutates a graph while iterating it.
struct Graph: Sendable {
    /// ONNX opset of the node semantics.
    var opset: Int
    /// Graph inputs (values supplied at run time).
    var inputs: [ValueInfo]
    /// Graph outputs.
    var outputs: [ValueInfo]
    /// Nodes in topological order.
    var nodes: [NodeDef]
    /// Constant values by name (weights, folded subgraphs).
    var constants: [String: Tensor]

    init(opset: Int, inputs: [ValueInfo], outputs: [ValueInfo], nodes: [NodeDef], constants: [String: Tensor]) {
        self.opset = opset
        self.inputs = inputs
        self.outputs = outputs
        self.nodes = nodes
        self.constants = constants
    }

    /// The graph of an artifact. Self-test tensors are not referenced by nodes and disappear with
    /// dead-value elimination.
    init(_ artifact: Artifact) {
        self.init(opset: artifact.opset, inputs: artifact.inputs, outputs: artifact.outputs,
                  nodes: artifact.nodes, constants: artifact.tensors)
    }

    /// Value name → indices of the nodes that read it.
    func consumers() -> [String: [Int]] {
        var r: [String: [Int]] = [:]
        for (i, n) in nodes.enumerated() {
            for input in n.inputs where !input.isEmpty { r[input, default: []].append(i) }
        }
        return r
    }

    /// Value name → index of the node that produces it.
    func producers() -> [String: Int] {
        var r: [String: Int] = [:]
        for (i, n) in nodes.enumerated() {
            for output in n.outputs { r[output] = i }
        }
        return r
    }

    /// Names of the graph outputs.
    var outputNames: Set<String> { Set(outputs.map(\.name)) }

    /// A value name not used yet, derived from `base`.
    func freshName(_ base: String) -> String {
        var name = base
        var k = 1
        let used = Set(constants.keys).union(nodes.flatMap(\.outputs)).union(inputs.map(\.name))
        while used.contains(name) {
            name = "\(base)_\(k)"
            k += 1
        }
        return name
    }
}
