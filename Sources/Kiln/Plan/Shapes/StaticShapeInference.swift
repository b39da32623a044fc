/// Every value's shape for concrete input shapes, from the ops' ``ShapeInferable`` functions,
/// without running the model.
///
/// Values are walked in plan order. Each carries its shape and, when it has at most
/// ``valueLimit`` elements and is computable, its value: constants, `Shape` outputs, and the result
/// of any node whose inputs are all known and whose outputs are all small — such a node is simply
/// run (its own `run`, on a handful of elements), so the `Shape → Gather → Concat → Reshape`
/// arithmetic of exported graphs needs no value function per op. The whole walk costs
/// microseconds, against a full inference for a probe.
enum StaticShapeInference {
    /// The largest value, in elements, that is tracked (and computed by running its node).
    static let valueLimit = 64

    /// Why static inference could not finish: the node, its op type and the reason.
    struct Failure: Error, CustomStringConvertible {
        /// The node where inference stopped.
        let node: String
        /// Its op type.
        let opType: String
        /// What was missing or wrong.
        let reason: String

        /// `node 'name' (Op): reason`.
        var description: String { "node '\(node)' (\(opType)): \(reason)" }
    }

    /// The shape of every slot the executor would fill for inputs of `inputShapes`: constants,
    /// inputs, and each step's outputs (as many as its op returns).
    /// - Parameters:
    ///   - plan: The plan whose steps' ops are asked for their shapes.
    ///   - inputShapes: One concrete shape per graph input, in plan order.
    /// - Returns: Slot → shape.
    /// - Throws: ``Failure`` when an op has no shape function, returns `nil` (data-dependent shape,
    ///   or an input value that is not known), or throws (inputs it cannot accept).
    static func shapes(plan: ExecutionPlan, inputShapes: [[Int]]) throws -> [Int: [Int]] {
        try walk(plan: plan, inputShapes: inputShapes) { failure, _ in throw failure }
    }

    /// As ``shapes(plan:inputShapes:)``, but a node static inference cannot do takes its output
    /// shapes from `substitutes` (shapes observed by running the plan) and the walk goes on, so
    /// every other node's shape function is still exercised. For tests.
    /// - Returns: The shapes, and the nodes that took substitutes.
    static func shapes(plan: ExecutionPlan, inputShapes: [[Int]], substitutes: [Int: [Int]]) throws
        -> (shapes: [Int: [Int]], substituted: [Failure]) {
        var substituted: [Failure] = []
        let shapes = try walk(plan: plan, inputShapes: inputShapes) { failure, step in
            substituted.append(failure)
            return step.outputs.prefix { $0 >= 0 && substitutes[$0] != nil }.map { substitutes[$0]! }
        }
        return (shapes, substituted)
    }

    /// The walk over the plan; `unknown` gives the output shapes of a node whose shape function is
    /// missing, gives up or throws (or rethrows the failure).
    private static func walk(plan: ExecutionPlan, inputShapes: [[Int]],
                             unknown: (Failure, ExecutionPlan.Step) throws -> [[Int]]) throws -> [Int: [Int]] {
        var facts = [ShapeFact?](repeating: nil, count: plan.slotCount)
        for (slot, t) in plan.constants {
            facts[slot] = ShapeFact(shape: t.shape, value: t.count <= valueLimit ? t : nil)
        }
        for (i, input) in plan.inputs.enumerated() where i < inputShapes.count {
            facts[input.slot] = ShapeFact(shape: inputShapes[i], value: nil)
        }
        for step in plan.steps {
            func fail(_ reason: String) -> Failure { Failure(node: step.node, opType: step.opType, reason: reason) }
            var inputs: [ShapeFact?] = []
            for slot in step.inputs {
                if slot < 0 { inputs.append(nil); continue }
                guard let f = facts[slot] else { throw fail("input slot \(slot) has no shape") }
                inputs.append(f)
            }
            let given = ShapeFacts(items: inputs)
            var shapes: [[Int]]
            var values: [Tensor]? = nil
            if let op = step.op as? any ShapeInferable {
                var inferred: [[Int]]? = nil, failure: Failure? = nil
                do { inferred = try op.outputShapes(given, outputCount: step.outputs.count) } catch {
                    failure = fail("\(error)")
                }
                if let inferred {
                    shapes = inferred
                    values = try smallValues(step: step, op: op, inputs: given, shapes: inferred)
                } else {
                    shapes = try unknown(failure ?? fail("the output shape depends on values not known before running"), step)
                }
            } else {
                shapes = try unknown(fail("\(type(of: step.op)) has no shape function"), step)
            }
            for (k, slot) in step.outputs.enumerated() where slot >= 0 && k < shapes.count {
                facts[slot] = ShapeFact(shape: shapes[k], value: values?[k])
            }
        }
        var result: [Int: [Int]] = [:]
        for (slot, f) in facts.enumerated() { if let f { result[slot] = f.shape } }
        return result
    }

    /// The outputs' values when they are small and computable: `Shape`'s from its input's shape,
    /// any other node's by running it when all its inputs are known.
    /// - Throws: ``Failure`` when the run disagrees with the shape function (a bug in one of them).
    static func smallValues(step: ExecutionPlan.Step, op: any ShapeInferable, inputs: ShapeFacts,
                            shapes: [[Int]]) throws -> [Tensor]? {
        guard shapes.allSatisfy({ $0.reduce(1, *) <= valueLimit }) else { return nil }
        if let shapeOp = op as? ShapeOp, let x = inputs.shape(0) {
            let dims = shapeOp.dims(of: x)
            return [try Tensor(shape: [dims.count], scalars: dims.map { Int64($0) })]
        }
        guard inputs.count > 0 else { return nil }
        var args: [Tensor?] = []
        for f in inputs.items {
            guard let f else { args.append(nil); continue }
            guard let v = f.value else { return nil }
            args.append(v)
        }
        // A node whose inputs are all tiny costs nothing to run; an error here means the graph
        // cannot run, which the probe will report with its own message.
        guard let outs = try? op.run(args, context: ExecutionContext(threads: 1, node: step.node)) else { return nil }
        for (k, s) in shapes.enumerated() where k < outs.count && outs[k].shape != s {
            throw Failure(node: step.node, opType: step.opType,
                          reason: "shape function gives \(s) for output \(k), running it gives \(outs[k].shape)")
        }
        return outs.count >= shapes.count ? outs : nil
    }
}
