/// The reusable mutable state of one inference: the slot values, each step's argument and result
/// lists, each step's memo (shapes an op computed from its input shapes), the allocator and the
/// arena it replays. A state serves one inference at a time; a model keeps a pool of them
/// (``InferenceStatePool``) and each call checks one out, so concurrent calls never share one,
/// while a warm state makes an inference with the same input shapes as its last one allocate
/// nothing: every list keeps its capacity, and the arena slices and their tensors' storage objects
/// are handed out again (ONNX Runtime's per-session execution frame, kept across runs).
final class InferenceState: @unchecked Sendable {
    /// One value per slot during an inference; all `nil` between inferences.
    var values: [Tensor?]
    /// Per step, its input list (`nil` between inferences).
    var args: [[Tensor?]]
    /// Per step, its output list (empty between inferences, capacity kept).
    var results: [[Tensor]]
    /// Per step, what its op remembers between inferences (see ``ExecutionContext/memoized(_:_:_:)``).
    let memos: [StepMemo]
    /// Step at which each slot is released (`nil`: never, i.e. graph outputs, inputs, constants).
    let releaseStep: [Int?]
    /// Recording: which allocation each slot's value lives in.
    var slotAllocation: [Int]
    let allocator = InferenceAllocator(mode: .heap)
    /// The input shapes of the last inference (the memory pattern's key).
    private(set) var signature: [[Int]] = []

    init(plan: ExecutionPlan) {
        values = [Tensor?](repeating: nil, count: plan.slotCount)
        args = plan.steps.map { [Tensor?](repeating: nil, count: $0.inputs.count) }
        results = plan.steps.map { s in
            var r: [Tensor] = []
            r.reserveCapacity(s.outputs.count)
            return r
        }
        memos = plan.steps.map { _ in StepMemo() }
        var r = [Int?](repeating: nil, count: plan.slotCount)
        for (i, s) in plan.steps.enumerated() {
            for slot in s.releases { r[slot] = i }
        }
        releaseStep = r
        slotAllocation = [Int](repeating: -1, count: plan.slotCount)
    }

    /// Readies the allocator for an inference on `inputs`: the arena this state already holds when
    /// the shapes are those of its last inference, otherwise the planner's pattern for the new
    /// shapes (with a pooled arena), or a recording run when there is none yet.
    /// - Throws: ``KilnError/outOfMemory(what:byteCount:)`` when a new arena cannot be allocated.
    func begin(inputs: [Tensor], memory: MemoryPlanner?) throws -> InferenceAllocator {
        guard let memory else {
            allocator.reset(mode: .heap)
            return allocator
        }
        if case .replay(let pattern, let arena) = allocator.mode, sameShapes(inputs) {
            allocator.reset(mode: .replay(pattern, arena))
            return allocator
        }
        giveBackArena(to: memory)
        signature = inputs.map(\.shape)
        allocator.reset(mode: try memory.mode(for: signature))
        return allocator
    }

    /// Returns the arena this state holds to the planner's pool (before it is dropped, or when the
    /// input shapes change).
    func giveBackArena(to memory: MemoryPlanner?) {
        if let memory, case .replay(_, let arena) = allocator.mode {
            memory.giveBack(arena, signature: signature)
            allocator.reset(mode: .heap)
        }
    }

    private func sameShapes(_ inputs: [Tensor]) -> Bool {
        guard inputs.count == signature.count else { return false }
        for i in inputs.indices where inputs[i].shape != signature[i] { return false }
        return true
    }

    /// Drops the values of an inference, handing the arena slices back to the allocator.
    func clearValues() {
        for slot in values.indices {
            if let t = values[slot] {
                allocator.reclaim(t.storage)
                values[slot] = nil
            }
        }
        for i in args.indices {
            for k in args[i].indices { args[i][k] = nil }
            results[i].removeAll(keepingCapacity: true)
        }
    }
}

/// What one step's op keeps between inferences of one ``InferenceState``: a value computed from
/// its input shapes, with those shapes as the key.
final class StepMemo: @unchecked Sendable {
    var key0: [Int] = []
    var key1: [Int] = []
    var extra = 0
    var value: AnyObject?
}

/// A memoized value (a class, so that reading it back is a class cast).
final class MemoBox<Value> {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A model's inference states not in use. A call checks one out (or makes one), runs, and checks
/// it back in; so concurrent calls each have their own, and their number is the largest number of
/// concurrent calls seen.
final class InferenceStatePool: Sendable {
    private let free = Locked<[InferenceState]>([])
    private let plan: ExecutionPlan

    init(plan: ExecutionPlan) { self.plan = plan }

    /// Runs `body` with a state no other call is using.
    func withState<R>(_ body: (InferenceState) throws -> R) rethrows -> R {
        let state = free.withLock { $0.popLast() } ?? InferenceState(plan: plan)
        defer { free.withLock { $0.append(state) } }
        return try body(state)
    }
}
