/// Runs an ``ExecutionPlan`` once: the mutable state of one inference.
struct Executor {
    let plan: ExecutionPlan
    let pool: ThreadPool?
    let memory: MemoryPlanner?

    /// Step at which each slot is released (`nil`: never, i.e. graph outputs, inputs, constants).
    let releaseStep: [Int?]

    init(plan: ExecutionPlan, pool: ThreadPool?, memory: MemoryPlanner?) {
        self.plan = plan
        self.pool = pool
        self.memory = memory
        var r = [Int?](repeating: nil, count: plan.slotCount)
        for (i, s) in plan.steps.enumerated() {
            for slot in s.releases { r[slot] = i }
        }
        releaseStep = r
    }

    /// Executes the plan.
    /// - Parameters:
    ///   - inputs: One tensor per graph input, in plan order, already validated.
    ///   - observe: Called after each step with its index and outputs (profiling, shape capture).
    /// - Returns: One tensor per graph output, in owned or borrowed-constant memory (never in the arena).
    func run(_ inputs: [Tensor], observe: ((Int, [Tensor]) -> Void)? = nil) throws -> [Tensor] {
        guard let pool else { return try runSteps(inputs, observe: observe) }
        return try ThreadPool.withCurrent(pool) { try runSteps(inputs, observe: observe) }
    }

    private func runSteps(_ inputs: [Tensor], observe: ((Int, [Tensor]) -> Void)?) throws -> [Tensor] {
        var values = [Tensor?](repeating: nil, count: plan.slotCount)
        for (slot, t) in plan.constants { values[slot] = t }
        for (i, input) in plan.inputs.enumerated() { values[input.slot] = inputs[i] }

        let signature = inputs.map(\.shape)
        let allocator = try memory?.allocator(for: signature) ?? InferenceAllocator(mode: .heap)
        var isRecording = false
        if case .recording = allocator.mode { isRecording = true }
        // Recording: which allocation each slot's value lives in.
        var slotAllocation = isRecording ? [Int](repeating: -1, count: plan.slotCount) : []

        defer {
            // Drop every intermediate before the arena goes back to the pool.
            values.removeAll()
        }
        var outputs: [Tensor] = []
        do {
            for (i, step) in plan.steps.enumerated() {
                allocator.step = i
                let args: [Tensor?] = step.inputs.map { $0 >= 0 ? values[$0] : nil }
                let context = ExecutionContext(threads: pool?.threads ?? 1, node: step.node, pool: pool, allocator: allocator)
                let results = try step.op.run(args, context: context)
                let expected = step.outputs.filter { $0 >= 0 }.count
                guard results.count >= expected || results.count == step.outputs.count else {
                    throw KilnError.invalidArgument(op: step.opType, node: step.node,
                                                    reason: "produced \(results.count) outputs, the graph expects \(step.outputs.count)")
                }
                for (k, slot) in step.outputs.enumerated() where slot >= 0 && k < results.count {
                    values[slot] = results[k]
                    if isRecording, let a = allocator.allocationIndex(of: results[k].storage.allocationTag) {
                        slotAllocation[slot] = a
                    }
                }
                observe?(i, results)
                for slot in step.releases { values[slot] = nil }
            }
            for o in plan.outputs {
                guard let t = values[o.slot] else {
                    throw KilnError.invalidArgument(op: "Model", node: nil, reason: "graph output '\(o.info.name)' was not produced")
                }
                outputs.append(t.storage.isArenaSlice ? t.copied() : t)
            }
        } catch {
            values.removeAll()
            memory?.finished(allocator, signature: signature, lastStep: { [] })
            throw error
        }
        values.removeAll()
        if isRecording {
            memory?.finished(allocator, signature: signature) {
                var last = allocator.records.map { Optional($0.step) }
                for slot in 0..<plan.slotCount where slotAllocation[slot] >= 0 {
                    let a = slotAllocation[slot]
                    if let r = releaseStep[slot], let current = last[a] {
                        last[a] = max(current, r)
                    } else {
                        last[a] = nil // reaches a graph output (or is never released): keep on the heap
                    }
                }
                return last
            }
        } else {
            memory?.finished(allocator, signature: signature, lastStep: { [] })
        }
        return outputs
    }
}
