/// Runs an ``ExecutionPlan``: one inference, in an ``InferenceState``.
struct Executor {
    let plan: ExecutionPlan
    let pool: ThreadPool?
    let memory: MemoryPlanner?

    init(plan: ExecutionPlan, pool: ThreadPool?, memory: MemoryPlanner?) {
        self.plan = plan
        self.pool = pool
        self.memory = memory
    }

    /// Executes the plan in a state of its own (profiling, shape inference, tests).
    /// - Parameters:
    ///   - inputs: One tensor per graph input, in plan order, already validated.
    ///   - observe: Called after each step with its index and outputs (profiling, shape capture).
    /// - Returns: One tensor per graph output, in owned or borrowed-constant memory (never in the arena).
    func run(_ inputs: [Tensor], observe: ((Int, [Tensor]) -> Void)? = nil) throws -> [Tensor] {
        let state = InferenceState(plan: plan)
        defer { state.giveBackArena(to: memory) }
        var outputs: [Tensor] = []
        try run(inputs, state: state, outputs: &outputs, observe: observe)
        return outputs
    }

    /// Executes the plan in `state`.
    /// - Parameters:
    ///   - inputs: One tensor per graph input, in plan order, already validated.
    ///   - outputs: Receives one tensor per graph output. When it already holds as many tensors and
    ///     one has the output's dtype and shape and is not shared, the output is copied into it;
    ///     otherwise it is replaced (never by a tensor in the arena).
    ///   - observe: Called after each step with its index and outputs.
    func run(_ inputs: [Tensor], state: InferenceState, outputs: inout [Tensor],
             observe: ((Int, [Tensor]) -> Void)? = nil) throws {
        guard let pool else { return try runSteps(inputs, state: state, outputs: &outputs, observe: observe) }
        try ThreadPool.withCurrent(pool) { try runSteps(inputs, state: state, outputs: &outputs, observe: observe) }
    }

    private func runSteps(_ inputs: [Tensor], state: InferenceState, outputs: inout [Tensor],
                          observe: ((Int, [Tensor]) -> Void)?) throws {
        let allocator = try state.begin(inputs: inputs, memory: memory)
        var isRecording = false
        if case .recording = allocator.mode { isRecording = true }
        for (slot, t) in plan.constants { state.values[slot] = t }
        for (i, input) in plan.inputs.enumerated() { state.values[input.slot] = inputs[i] }
        if isRecording {
            for slot in state.slotAllocation.indices { state.slotAllocation[slot] = -1 }
        }
        do {
            for (i, step) in plan.steps.enumerated() {
                allocator.step = i
                for (k, slot) in step.inputs.enumerated() { state.args[i][k] = slot >= 0 ? state.values[slot] : nil }
                var context = ExecutionContext(threads: pool?.threads ?? 1, node: step.node, pool: pool, allocator: allocator)
                context.memo = state.memos[i]
                try step.op.run(state.args[i], into: &state.results[i], context: context)
                for k in state.args[i].indices { state.args[i][k] = nil }
                let produced = state.results[i].count
                guard produced >= step.producedCount || produced == step.outputs.count else {
                    throw KilnError.invalidArgument(op: step.opType, node: step.node,
                                                    reason: "produced \(produced) outputs, the graph expects \(step.outputs.count)")
                }
                for (k, slot) in step.outputs.enumerated() where slot >= 0 && k < produced {
                    let t = state.results[i][k]
                    state.values[slot] = t
                    if isRecording, let a = allocator.allocationIndex(of: t.storage.allocationTag) {
                        state.slotAllocation[slot] = a
                    }
                }
                observe?(i, state.results[i])
                state.results[i].removeAll(keepingCapacity: true)
                for slot in step.releases {
                    if let t = state.values[slot] { allocator.reclaim(t.storage) }
                    state.values[slot] = nil
                }
            }
            if outputs.count != plan.outputs.count { outputs.removeAll(keepingCapacity: true) }
            for (i, o) in plan.outputs.enumerated() {
                guard let t = state.values[o.slot] else {
                    throw KilnError.invalidArgument(op: "Model", node: nil, reason: "graph output '\(o.info.name)' was not produced")
                }
                if i < outputs.count {
                    Self.deliver(t, into: &outputs[i])
                } else {
                    outputs.append(t.storage.isArenaSlice ? t.copied() : t)
                }
            }
        } catch {
            state.clearValues()
            throw error
        }
        state.clearValues()
        if isRecording, let memory {
            // Each allocation dies at the last read of any value living in it; one reaching a graph
            // output lives to the end (it is copied out of the arena after the last step).
            var last = allocator.records.map { Optional($0.step) }
            for slot in 0..<plan.slotCount where state.slotAllocation[slot] >= 0 {
                let a = state.slotAllocation[slot]
                let end = state.releaseStep[slot] ?? plan.steps.count
                if let current = last[a] { last[a] = max(current, end) }
            }
            memory.recorded(allocator, signature: state.signature, lastStep: last)
        }
    }

    /// Puts graph output `t` into `out`: copied into `out`'s memory when `t` is in the arena and
    /// `out` matches it and is not shared; `t` itself when it is not in the arena.
    private static func deliver(_ t: Tensor, into out: inout Tensor) {
        guard t.storage.isArenaSlice else {
            out = t
            return
        }
        guard out.dtype == t.dtype, out.shape == t.shape, out.storage.ownsMemory, out.storage !== t.storage,
              isKnownUniquelyReferenced(&out.storage) else {
            out = t.copied()
            return
        }
        let n = t.byteCount
        if n > 0 { out.storage.base.copyMemory(from: t.storage.base, byteCount: n) }
    }
}
