extension Optimizer {
    /// Folds a zero-valued constant `Pad` of the spatial axes into the `Conv` it feeds (TensorFlow
    /// "SAME" padding as PyTorch ports export it): the Conv pads the same zeros without a copy of
    /// the feature map. Applies when the pads are constants, non-negative, zero on the batch and
    /// channel axes, the fill value is 0, and the Pad output feeds only that Conv.
    static func foldPadIntoConv(_ g: Graph) -> Graph {
        let consumers = g.consumers()
        let producers = g.producers()
        let graphOutputs = g.outputNames
        var replaced: [Int: NodeDef] = [:]
        var removed = Set<Int>()
        for (ci, conv) in g.nodes.enumerated() where conv.op == "Conv" {
            guard let input = conv.inputs.first, let pi = producers[input], !removed.contains(pi), replaced[pi] == nil else { continue }
            let pad = g.nodes[pi]
            guard pad.op == "Pad", consumers[input] == [ci], !graphOutputs.contains(input),
                  (try? pad.attributes.string("mode", default: "constant")) == "constant",
                  let pads = constantPads(pad, constants: g.constants), pads.count >= 6, pads.count % 2 == 0 else { continue }
            let rank = pads.count / 2
            let begins = Array(pads[0..<rank]), ends = Array(pads[rank...])
            guard begins[0] == 0, begins[1] == 0, ends[0] == 0, ends[1] == 0, pads.allSatisfy({ $0 >= 0 }),
                  (try? conv.attributes.string("auto_pad", default: "NOTSET")) == "NOTSET" else { continue }
            let spatial = rank - 2
            let existing = (try? conv.attributes.ints("pads")) ?? nil ?? [Int](repeating: 0, count: 2 * spatial)
            guard existing.count == 2 * spatial else { continue }
            var merged = existing
            for i in 0..<spatial {
                merged[i] += begins[2 + i]
                merged[spatial + i] += ends[2 + i]
            }
            var fused = conv
            fused.inputs[0] = pad.inputs[0]
            fused.attributes.values["pads"] = .ints(merged)
            replaced[ci] = fused
            removed.insert(pi)
        }
        var out = g
        out.nodes = g.nodes.enumerated().compactMap { i, n in removed.contains(i) ? nil : (replaced[i] ?? n) }
        return out
    }

    /// A Pad's pads when constant and its fill value is zero (opset ≥ 11 inputs, or opset 2 attributes);
    /// `nil` otherwise (including the opset-18 `axes` input).
    static func constantPads(_ pad: NodeDef, constants: [String: Tensor]) -> [Int]? {
        if pad.inputs.count >= 4, !pad.inputs[3].isEmpty { return nil }
        if pad.inputs.count >= 3, !pad.inputs[2].isEmpty {
            guard let v = constants[pad.inputs[2]], v.count == 1,
                  let value = try? v.converted(to: .float32).scalars(as: Float.self).first, value == 0 else { return nil }
        }
        if pad.inputs.count >= 2, !pad.inputs[1].isEmpty {
            guard let t = constants[pad.inputs[1]], t.dtype == .int64, let v = try? t.scalars(as: Int64.self) else { return nil }
            return v.map { Int($0) }
        }
        guard (try? pad.attributes.float("value", default: 0)) == 0, let p = try? pad.attributes.ints("pads") else { return nil }
        return p
    }
}
