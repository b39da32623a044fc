extension Optimizer {
    /// Rewrites node forms whose meaning depends on the opset into the forms the kernels implement,
    /// so that kernels need not know the opset:
    /// - `Softmax`/`LogSoftmax` before opset 13 normalize over all dims from `axis` on (coerced to 2-D):
    ///   they become `Flatten(axis) → Softmax(axis 1) → Reshape(Shape(x))`.
    /// - `Split` before opset 18 without `split` splits evenly into as many parts as it has outputs:
    ///   that count becomes the `num_outputs` attribute.
    static func normalizeOpsetForms(_ g: Graph) throws -> Graph {
        var out = g
        var nodes: [NodeDef] = []
        var used = Set(g.constants.keys).union(g.nodes.flatMap(\.outputs)).union(g.inputs.map(\.name))
        var usedNodeNames = Set(g.nodes.map(\.name))
        func fresh(_ base: String, _ names: inout Set<String>) -> String {
            var name = base, k = 1
            while names.contains(name) { name = "\(base)_\(k)"; k += 1 }
            names.insert(name)
            return name
        }
        for n in g.nodes {
            if (n.op == "Softmax" || n.op == "LogSoftmax"), g.opset < 13, let x = n.inputs.first, n.outputs.count == 1 {
                let axis = try n.attributes.int("axis", default: 1)
                let shape = fresh(n.name + "/legacy_shape", &used)
                let flat = fresh(n.name + "/legacy_flat", &used)
                let soft = fresh(n.name + "/legacy_softmax", &used)
                nodes.append(NodeDef(name: fresh(n.name + "/shape", &usedNodeNames), op: "Shape", inputs: [x], outputs: [shape],
                                     attributes: Attributes(op: "Shape", node: n.name)))
                nodes.append(NodeDef(name: fresh(n.name + "/flatten", &usedNodeNames), op: "Flatten", inputs: [x], outputs: [flat],
                                     attributes: Attributes(op: "Flatten", node: n.name, ["axis": .int(axis)])))
                nodes.append(NodeDef(name: n.name, op: n.op, inputs: [flat], outputs: [soft],
                                     attributes: Attributes(op: n.op, node: n.name, ["axis": .int(1)])))
                nodes.append(NodeDef(name: fresh(n.name + "/reshape", &usedNodeNames), op: "Reshape", inputs: [soft, shape], outputs: n.outputs,
                                     attributes: Attributes(op: "Reshape", node: n.name)))
                continue
            }
            if n.op == "Split", !n.attributes.has("split"), !n.attributes.has("num_outputs"),
               n.inputs.count < 2 || n.inputs[1].isEmpty {
                var m = n
                m.attributes.values["num_outputs"] = .int(n.outputs.count)
                nodes.append(m)
                continue
            }
            nodes.append(n)
        }
        out.nodes = nodes
        return out
    }
}
