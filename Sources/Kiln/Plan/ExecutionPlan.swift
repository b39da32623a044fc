import KilnKernels

/// An operator with a prepared form: given the constant inputs at plan time it returns an
/// equivalent operator that did all the work that depends only on them (packing weights, choosing
/// kernels), or `nil` to keep the portable form.
protocol PreparableOperator: Operator {
    /// The prepared form, or `nil`.
    /// - Parameters:
    ///   - inputs: The node's input names (`""` for an omitted optional input).
    ///   - constants: Per input, its value when it is a constant of the graph.
    ///   - kernels: The ISA variant to prepare for.
    ///   - node: The node name, for errors.
    /// - Throws: ``KilnError`` when a constant input is malformed.
    func prepared(inputs: [String], constants: [Tensor?], kernels: KernelTable, node: String) throws -> (any Operator)?
}

/// The compiled, immutable form of a graph: operators decoded once, values numbered into slots,
/// and for every step the slots it reads, writes and may release afterwards.
///
/// A plan is `Sendable` and shared by every concurrent inference of a model; the mutable state of
/// one inference (the slot values, the arena) lives in ``Executor``.
final class ExecutionPlan: Sendable {
    /// One node, ready to run.
    struct Step: Sendable {
        /// Node name, for errors and profiling.
        let node: String
        /// Op type.
        let opType: String
        /// The decoded operator (with any fused activation).
        let op: any Operator
        /// Input slots; -1 for an omitted optional input.
        let inputs: [Int]
        /// Output slots; -1 for an omitted output.
        let outputs: [Int]
        /// Slots whose value is dead after this step (last reader, or produced and never read).
        let releases: [Int]
        /// Outputs the graph uses (`outputs` without the omitted ones).
        var producedCount: Int { outputs.count { $0 >= 0 } }
    }

    /// Steps in execution order.
    let steps: [Step]
    /// Number of value slots.
    let slotCount: Int
    /// Constant values and their slots (weights in `float32`, folded subgraphs).
    let constants: [(slot: Int, tensor: Tensor)]
    /// Graph inputs and their slots.
    let inputs: [(info: ValueInfo, slot: Int)]
    /// Graph outputs and their slots.
    let outputs: [(info: ValueInfo, slot: Int)]
    /// The optimized graph the plan was made from (for inspection).
    let graph: Graph
    /// Value name → slot.
    let slots: [String: Int]
    /// The kernel variant prepared ops were planned for.
    let kernels: KernelTable

    /// The slot of a value, or `nil` when the plan has none (removed by the optimizer).
    func slot(of name: String) -> Int? { slots[name] }

    /// Plans `graph`.
    /// - Parameter pool: Prepares the ops (packs their weights) in parallel on this pool: each op's
    ///   preparation depends only on its own constants. `nil`: one after the other on the caller.
    /// - Throws: ``KilnError/unsupportedOp(name:node:reason:)`` for an op the registry lacks,
    ///   or the decoder's error for illegal attributes, naming the node.
    /// - Parameter blockedLayouts: Let activations stay channel-blocked between the ops that handle
    ///   it (``assignLayouts(_:graphOutputs:kernels:)``); `KILN_LAYOUT=plain` turns it off as well.
    init(graph: Graph, registry: OpRegistry, kernels: KernelTable = KernelDispatch.table(), pool: ThreadPool? = nil,
         blockedLayouts: Bool = true) throws {
        self.graph = graph
        self.kernels = kernels
        var slotOf: [String: Int] = [:]
        func slot(_ name: String) -> Int {
            if let s = slotOf[name] { return s }
            let s = slotOf.count
            slotOf[name] = s
            return s
        }
        constants = graph.constants.sorted { $0.key < $1.key }.map { (slot($0.key), $0.value) }
        inputs = graph.inputs.map { ($0, slot($0.name)) }
        var steps: [(node: NodeDef, op: any Operator, inputs: [Int], outputs: [Int])] = []
        let unsupported = graph.nodes.filter { !registry.supports($0.op) }
        if let first = unsupported.first {
            // Name every offending node at once, not just the first; with a single one, `node` says
            // which (callers match on it, as for any other node error).
            throw KilnError.unsupportedOp(name: first.op, node: unsupported.count == 1 ? first.name : nil,
                                          reason: "no kernel for node(s) \(unsupported.map { "'\($0.name)' (\($0.op))" }.joined(separator: ", "))")
        }
        for n in graph.nodes {
            var attributes = n.attributes
            let activation = try FusedActivation.extract(from: &attributes)
            var op = try registry.make(n.op, attributes: attributes)
            if activation != .none {
                guard let fusable = op as? any FusableOperator else {
                    throw KilnError.unsupportedOp(name: n.op, node: n.name, reason: "cannot fuse an activation into this op")
                }
                op = fusable.fused(with: activation)
            }
            steps.append((n, op, n.inputs.map { $0.isEmpty ? -1 : slot($0) }, n.outputs.map { $0.isEmpty ? -1 : slot($0) }))
        }
        // Prepare: an op whose weights are constants gets its planned form (packed weights,
        // chosen kernels) once, here.
        // Layouts first, so that each convolution packs only the weights its layout needs.
        if blockedLayouts { Self.assignLayouts(&steps, graph: graph, graphOutputs: Set(graph.outputs.compactMap { slotOf[$0.name] }), kernels: kernels) }
        try Self.prepare(&steps, graph: graph, kernels: kernels, pool: pool)
        outputs = graph.outputs.map { ($0, slot($0.name)) }
        slotCount = slotOf.count
        slots = slotOf

        // Liveness: a slot dies after its last reader; outputs nobody reads die where produced.
        // Graph inputs, outputs and constants are never released by the executor.
        var lastUse = [Int](repeating: -1, count: slotCount)
        for (i, s) in steps.enumerated() {
            for slot in s.inputs where slot >= 0 { lastUse[slot] = i }
            for slot in s.outputs where slot >= 0 && lastUse[slot] < i { lastUse[slot] = i }
        }
        var pinned = Set(outputs.map(\.slot))
        pinned.formUnion(inputs.map(\.slot))
        pinned.formUnion(constants.map(\.slot))
        var releases = [[Int]](repeating: [], count: steps.count)
        for slot in 0..<slotCount where lastUse[slot] >= 0 && !pinned.contains(slot) {
            releases[lastUse[slot]].append(slot)
        }
        self.steps = steps.enumerated().map { i, s in
            Step(node: s.node.name, opType: s.node.op, op: s.op, inputs: s.inputs, outputs: s.outputs, releases: releases[i])
        }
    }

    /// Replaces every preparable op of `steps` by its prepared form, on `pool`'s threads when it has
    /// several: the ops are claimed one at a time, the largest weights first, so that one big layer
    /// does not finish last alone. An error is the one the first failing node in graph order throws,
    /// as when preparing one after the other.
    private static func prepare(_ steps: inout [(node: NodeDef, op: any Operator, inputs: [Int], outputs: [Int])],
                                graph: Graph, kernels: KernelTable, pool: ThreadPool?) throws {
        var work: [(step: Int, op: any PreparableOperator, constants: [Tensor?], bytes: Int)] = []
        for (i, s) in steps.enumerated() {
            guard let preparable = s.op as? any PreparableOperator else { continue }
            let constants = s.node.inputs.map { $0.isEmpty ? nil : graph.constants[$0] }
            work.append((i, preparable, constants, constants.reduce(0) { $0 + ($1?.byteCount ?? 0) }))
        }
        work.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.step < $1.step }
        let results = UnsafeMutableBufferPointer<Result<(any Operator)?, any Error>>.allocate(capacity: work.count)
        defer { results.deinitialize().deallocate() }
        func prepareOne(_ j: Int) {
            let w = work[j], node = steps[w.step].node
            results.baseAddress!.advanced(by: j).initialize(to: Result {
                try w.op.prepared(inputs: node.inputs, constants: w.constants, kernels: kernels, node: node.name)
            })
        }
        if let pool, pool.threads > 1, work.count > 1 {
            pool.run(chunks: work.count, prepareOne)
        } else {
            for j in work.indices { prepareOne(j) }
        }
        var firstError: (step: Int, error: any Error)?
        for (j, w) in work.enumerated() {
            switch results[j] {
            case .success(let planned?): steps[w.step].op = planned
            case .success(nil): break
            case .failure(let error): if w.step < firstError?.step ?? .max { firstError = (w.step, error) }
            }
        }
        if let firstError { throw firstError.error }
    }

    /// Chooses which activations stay channel-blocked (Kiln's `NCHWc`: `[N][C / lanes][H·W][lanes]`,
    /// see `BlockedLayout.swift`) and gives the ops that read or write them their blocked forms.
    ///
    /// Candidates are the outputs of convolutions that can write the layout
    /// (``Conv/blockedKind(weight:bias:hasBias:lanes:)``: 1×1 and depthwise) and of `Add`/`Sub`/`Mul`/`Div`, never a
    /// graph output. A candidate stays blocked when every reader handles the layout: the `X` of a
    /// 1×1 or depthwise convolution, a convolution's fused residual, a global pool, an arithmetic
    /// op. Then, to a fixed point: a fused residual has its convolution's output layout, and an
    /// arithmetic op's output is blocked exactly when one of its inputs is (an op whose reader needs
    /// NCHW takes its operands plain). In a MobileNet or an EfficientNet the expand, depthwise and
    /// project convolutions of every block, their squeeze-and-excitation scale and the global pools
    /// then pass blocked activations, with no transposes between them.
    private static func assignLayouts(_ steps: inout [(node: NodeDef, op: any Operator, inputs: [Int], outputs: [Int])],
                                      graph: Graph, graphOutputs: Set<Int>, kernels: KernelTable) {
        guard PlannedConv.blockedLayoutEnabled else { return }
        func arithmetic(_ op: any Operator) -> ArithmeticKind? {
            switch op {
            case is Add: return .add
            case is Sub: return .sub
            case is Mul: return .mul
            case is Div: return .div
            default: return nil
            }
        }
        // The blocked kind of each convolution, from its constants (it is prepared afterwards).
        var kinds = [Int: Conv.BlockedKind]()
        for (i, s) in steps.enumerated() {
            guard let c = s.op as? Conv, s.node.inputs.count > 1 else { continue }
            let constant = { (j: Int) in j < s.node.inputs.count && !s.node.inputs[j].isEmpty ? graph.constants[s.node.inputs[j]] : nil }
            let hasBias = s.node.inputs.count > 2 && !s.node.inputs[2].isEmpty
            if let kind = c.blockedKind(weight: constant(1), bias: constant(2), hasBias: hasBias, lanes: kernels.lanes) { kinds[i] = kind }
        }
        // Values of one pixel per plane (a global pool, and what convolutions and elementwise ops
        // make of it: a squeeze-and-excitation gate) are stored alike in both layouts: never
        // candidates, so an op reading one and a plain map does not take it for a blocked operand.
        var onePixel = Set<Int>()
        for (i, s) in steps.enumerated() {
            let variable = zip(s.inputs, s.node.inputs).filter { $0.0 >= 0 && graph.constants[$0.1] == nil }.map(\.0)
            let fromPool = s.op is GlobalAveragePool || s.op is GlobalMaxPool
            let keepsPixels = kinds[i] == .pointwise || s.op is Relu || s.op is Sigmoid || s.op is HardSigmoid || s.op is Clip
                || s.op is HardSwish || arithmetic(s.op) != nil
            if fromPool || (keepsPixels && !variable.isEmpty && variable.allSatisfy { onePixel.contains($0) }) {
                for o in s.outputs where o >= 0 { onePixel.insert(o) }
            }
        }
        var blocked = Set<Int>()
        var convWrites = false
        for (i, s) in steps.enumerated() {
            guard let o = s.outputs.first, o >= 0, !graphOutputs.contains(o), !onePixel.contains(o) else { continue }
            if kinds[i] != nil {
                blocked.insert(o)
                convWrites = true
            }
            if arithmetic(s.op) != nil && s.inputs.count == 2 { blocked.insert(o) }
        }
        if !convWrites { return }
        for (i, s) in steps.enumerated() {
            for (j, slot) in s.inputs.enumerated() where blocked.contains(slot) {
                let reads: Bool
                switch s.op {
                case is Conv: reads = kinds[i]?.readsBlocked == true && (j == 0 || j == 3)
                case is GlobalAveragePool, is GlobalMaxPool: reads = j == 0
                default: reads = arithmetic(s.op) != nil && s.inputs.count == 2
                }
                if !reads { blocked.remove(slot) }
            }
        }
        var changed = true
        while changed {
            changed = false
            for s in steps {
                guard let o = s.outputs.first, o >= 0 else { continue }
                let outBlocked = blocked.contains(o)
                if s.op is Conv {
                    let r = s.inputs.count > 3 ? s.inputs[3] : -1
                    if r >= 0 && blocked.contains(r) != outBlocked {
                        blocked.remove(outBlocked ? o : r)
                        changed = true
                    }
                } else if arithmetic(s.op) != nil {
                    let inBlocked = s.inputs.contains { blocked.contains($0) }
                    if outBlocked && !inBlocked {
                        blocked.remove(o)
                        changed = true
                    } else if !outBlocked && inBlocked {
                        // Its reader needs NCHW: take the operands plain (their producers write
                        // it) rather than convert them here.
                        for slot in s.inputs { blocked.remove(slot) }
                        changed = true
                    }
                }
            }
        }
        for i in steps.indices {
            let s = steps[i]
            guard let o = s.outputs.first else { continue }
            let inputs = s.inputs.map { blocked.contains($0) }
            switch s.op {
            case var c as Conv:
                if inputs[0] || blocked.contains(o) {
                    c.blockedInput = inputs[0]
                    c.blockedOutput = blocked.contains(o)
                    steps[i].op = c
                }
            case let p as GlobalAveragePool where inputs[0]:
                steps[i].op = BlockedGlobalPool(base: p, isMax: false, kernels: kernels)
            case let p as GlobalMaxPool where inputs[0]:
                steps[i].op = BlockedGlobalPool(base: p, isMax: true, kernels: kernels)
            default:
                if let kind = arithmetic(s.op), let base = s.op as? any SingleOutputOperator, inputs.count == 2,
                   inputs[0] || inputs[1] || blocked.contains(o) {
                    steps[i].op = BlockedBinary(base: base, kind: kind, inputBlocked: (inputs[0], inputs[1]),
                                                outputBlocked: blocked.contains(o), kernels: kernels)
                }
            }
        }
    }

    /// Multiply-accumulate count by op type is computed from shapes observed at run time; see
    /// ``Model/profile(_:)``.
    var opCounts: [String: Int] {
        var r: [String: Int] = [:]
        for s in steps { r[s.opType, default: 0] += 1 }
        return r
    }
}
