extension Optimizer {
    /// Folds an inference `BatchNormalization` into the `Conv` that feeds it:
    /// `W'[m] = W[m] · γ[m]/√(σ²[m]+ε)`, `b'[m] = (b[m] − μ[m]) · γ[m]/√(σ²[m]+ε) + β[m]`.
    /// Applies when the Conv's weight, bias and the BN parameters are constants, the Conv output
    /// feeds only the BN and is not a graph output.
    static func foldBatchNormIntoConv(_ g: Graph) throws -> Graph {
        let consumers = g.consumers()
        let producers = g.producers()
        let graphOutputs = g.outputNames
        var out = g
        var removed = Set<Int>()
        var replaced: [Int: NodeDef] = [:]
        for (bi, bn) in g.nodes.enumerated() where bn.op == "BatchNormalization" {
            guard bn.inputs.count == 5, bn.outputs.count == 1 || bn.outputs.dropFirst().allSatisfy({ $0.isEmpty }),
                  let ci = producers[bn.inputs[0]], replaced[ci] == nil, !removed.contains(ci) else { continue }
            let conv = g.nodes[ci]
            guard conv.op == "Conv", conv.outputs.count == 1, consumers[conv.outputs[0]] == [bi],
                  !graphOutputs.contains(conv.outputs[0]),
                  conv.inputs.count >= 2, let w = out.constants[conv.inputs[1]], w.dtype == .float32, w.rank >= 3,
                  (try? bn.attributes.int("training_mode", default: 0)) == 0,
                  let epsilon = try? bn.attributes.float("epsilon", default: 1e-5) else { continue }
            let params = bn.inputs[1...4].map { out.constants[$0] }
            guard params.allSatisfy({ $0?.dtype == .float32 && $0?.count == w.shape[0] }) else { continue }
            let m = w.shape[0]
            let scale = try params[0]!.scalars(as: Float.self), beta = try params[1]!.scalars(as: Float.self)
            let mean = try params[2]!.scalars(as: Float.self), variance = try params[3]!.scalars(as: Float.self)
            var bias = [Float](repeating: 0, count: m)
            if conv.inputs.count >= 3, !conv.inputs[2].isEmpty {
                guard let b = out.constants[conv.inputs[2]], b.dtype == .float32, b.count == m else { continue }
                bias = try b.scalars(as: Float.self)
            }
            var weights = try w.scalars(as: Float.self)
            let per = weights.count / max(m, 1)
            for c in 0..<m {
                // Same order of operations as PyTorch's eval-mode batch_norm: γ / sqrt(var + eps).
                let f = scale[c] / (variance[c] + epsilon).squareRoot()
                for j in 0..<per { weights[c * per + j] *= f }
                bias[c] = (bias[c] - mean[c]) * f + beta[c]
            }
            let wName = out.freshName(conv.name + ".bn_folded_weight")
            out.constants[wName] = try Tensor(shape: w.shape, scalars: weights)
            let bName = out.freshName(conv.name + ".bn_folded_bias")
            out.constants[bName] = try Tensor(shape: [m], scalars: bias)
            var fused = conv
            fused.inputs = [conv.inputs[0], wName, bName]
            fused.outputs = [bn.outputs[0]]
            replaced[ci] = fused
            removed.insert(bi)
        }
        out.nodes = g.nodes.enumerated().compactMap { i, n in removed.contains(i) ? nil : (replaced[i] ?? n) }
        return out
    }
}
