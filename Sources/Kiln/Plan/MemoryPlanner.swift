#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Unique tag ranges for allocators, so a tag seen on a tensor identifies one allocation of one
/// inference (tensors outlive inferences: a returned output may be fed back as an input).
private let nextTagBase = Atomic<Int>(0)

/// Hands out op outputs during one inference.
///
/// The first inference for a given set of input shapes runs in *recording* mode: outputs come from
/// the heap and every allocation is logged with the step that made it. The executor then knows, from
/// the plan's liveness, when each allocation dies (the last read of any value that lives in it,
/// views included), and ``MemoryPattern`` packs all of them into one arena. Later inferences with the
/// same input shapes *replay* the pattern: allocation k gets its precomputed offset in an arena taken
/// from a pool, so steady-state inference allocates no tensor memory at all. This is the
/// "memory pattern" approach: it needs no symbolic shape inference, only determinism of shapes given
/// input shapes, and it checks that determinism as it goes (step and size of every allocation); on
/// any mismatch the rest of the inference falls back to the heap.
final class InferenceAllocator: @unchecked Sendable {
    struct Record {
        let step: Int
        let bytes: Int
    }
    enum Mode {
        case heap
        case recording
        case replay(MemoryPattern, ArenaBuffer)
    }

    let mode: Mode
    /// Index of the step being executed (set by the executor).
    var step = 0
    private(set) var records: [Record] = []
    private var next = 0
    private var diverged = false
    let tagBase: Int
    private let lock = Locked(())

    init(mode: Mode) {
        self.mode = mode
        tagBase = nextTagBase.wrappingAdd(1 << 32, ordering: .relaxed).oldValue
    }

    /// The allocation index a storage's tag denotes in this inference, or `nil`.
    func allocationIndex(of tag: Int) -> Int? {
        let i = tag &- tagBase
        return i >= 0 && i < (1 << 32) ? i : nil
    }

    func allocate(_ shape: [Int], dtype: DType) throws -> Tensor {
        let bytes = try Shape.byteCount(shape, dtype: dtype)
        return try lock.withLock { _ in
            switch mode {
            case .heap:
                return try Tensor(uninitialized: shape, dtype: dtype)
            case .recording:
                let t = try Tensor(uninitialized: shape, dtype: dtype)
                t.storage.allocationTag = tagBase &+ records.count
                records.append(Record(step: step, bytes: bytes))
                return t
            case .replay(let pattern, let arena):
                if !diverged, next < pattern.entries.count,
                   pattern.entries[next].step == step, pattern.entries[next].bytes == bytes {
                    let e = pattern.entries[next]
                    next += 1
                    if let offset = e.offset {
                        let storage = TensorStorage(arenaSlice: arena.base + offset, byteCount: bytes, arena: arena)
                        return Tensor(storage: storage, dtype: dtype, shape: shape)
                    }
                    return try Tensor(uninitialized: shape, dtype: dtype)
                }
                // Shapes did not repeat (data-dependent shapes): stop using the arena for this run.
                diverged = true
                return try Tensor(uninitialized: shape, dtype: dtype)
            }
        }
    }
}

/// One arena's worth of memory, 64-byte aligned.
final class ArenaBuffer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int
    /// - Throws: ``KilnError/outOfMemory(what:byteCount:)`` when the system refuses the memory.
    init(byteCount: Int) throws {
        self.byteCount = byteCount
        base = try TensorStorage.allocateAligned(max(byteCount, 64), what: "the inference arena")
    }
    deinit { free(base) }
}

/// The offsets of every allocation of an inference within one arena.
struct MemoryPattern: Sendable {
    /// One allocation: the step that makes it, its size, and its offset (`nil`: on the heap,
    /// because it reaches a graph output).
    struct Entry: Sendable {
        let step: Int
        let bytes: Int
        let offset: Int?
    }
    let entries: [Entry]
    /// Arena size in bytes.
    let arenaBytes: Int
    /// Sum of all allocation sizes (what the heap would have held at most without reuse).
    let totalBytes: Int

    /// Packs allocations whose lifetimes `[step, lastStep]` overlap into disjoint byte ranges, largest
    /// first, each at the lowest offset that fits (greedy by size, as in XNNPACK's planner). Allocations
    /// with `lastStep == nil` (reaching a graph output) stay on the heap.
    init(records: [InferenceAllocator.Record], lastStep: [Int?]) {
        struct Placed { let start: Int; let end: Int; let offset: Int; let size: Int }
        var placed: [Placed] = []
        var offsets = [Int?](repeating: nil, count: records.count)
        let order = records.indices.filter { lastStep[$0] != nil }.sorted {
            records[$0].bytes != records[$1].bytes ? records[$0].bytes > records[$1].bytes : $0 < $1
        }
        var arena = 0
        for i in order {
            let size = (records[i].bytes + 63) / 64 * 64
            let start = records[i].step, end = lastStep[i]!
            // Byte ranges already taken by allocations alive at the same time, by offset.
            let busy = placed.filter { $0.start <= end && start <= $0.end }.sorted { $0.offset < $1.offset }
            var offset = 0
            for b in busy {
                if offset + size <= b.offset { break }
                offset = max(offset, b.offset + b.size)
            }
            placed.append(Placed(start: start, end: end, offset: offset, size: size))
            offsets[i] = offset
            arena = max(arena, offset + size)
        }
        entries = records.indices.map { Entry(step: records[$0].step, bytes: records[$0].bytes, offset: offsets[$0]) }
        arenaBytes = arena
        totalBytes = records.reduce(0) { $0 + $1.bytes }
    }
}

/// Per-model cache of memory patterns (by input shapes) and a pool of free arenas for each.
final class MemoryPlanner: Sendable {
    private struct State {
        var patterns: [[[Int]]: MemoryPattern] = [:]
        var freeArenas: [[[Int]]: [ArenaBuffer]] = [:]
    }
    private let state = Locked(State())
    /// Input-shape signatures kept at most (each holds a pattern and its arenas).
    static let maxSignatures = 16

    /// The allocator for an inference with `signature` (the input shapes).
    /// - Throws: ``KilnError/outOfMemory(what:byteCount:)`` when a new arena cannot be allocated.
    func allocator(for signature: [[Int]]) throws -> InferenceAllocator {
        let (pattern, pooled) = state.withLock { s -> (MemoryPattern?, ArenaBuffer?) in
            guard let pattern = s.patterns[signature] else { return (nil, nil) }
            return (pattern, s.freeArenas[signature]?.popLast())
        }
        guard let pattern else { return InferenceAllocator(mode: .recording) }
        // A new arena is allocated outside the lock, so other callers are not held up by it.
        let arena = try pooled ?? ArenaBuffer(byteCount: pattern.arenaBytes)
        return InferenceAllocator(mode: .replay(pattern, arena))
    }

    /// Called when an inference finished: stores a recorded pattern, or returns the arena.
    func finished(_ allocator: InferenceAllocator, signature: [[Int]], lastStep: () -> [Int?]) {
        switch allocator.mode {
        case .heap: return
        case .recording:
            let last = lastStep()
            // A failed inference reports no lifetimes: record nothing.
            guard last.count == allocator.records.count else { return }
            let pattern = MemoryPattern(records: allocator.records, lastStep: last)
            state.withLock { s in
                if s.patterns[signature] == nil, s.patterns.count < Self.maxSignatures { s.patterns[signature] = pattern }
            }
        case .replay(_, let arena):
            state.withLock { s in s.freeArenas[signature, default: []].append(arena) }
        }
    }

    /// The pattern for `signature`, if recorded.
    func pattern(for signature: [[Int]]) -> MemoryPattern? {
        state.withLock { $0.patterns[signature] }
    }
}
