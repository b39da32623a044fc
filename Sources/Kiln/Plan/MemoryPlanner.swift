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

    private(set) var mode: Mode
    /// Index of the step being executed (set by the executor).
    var step = 0
    private(set) var records: [Record] = []
    private var next = 0
    private var diverged = false
    private(set) var tagBase: Int
    /// Replay: the arena slices of earlier inferences by allocation index, handed out again when the
    /// same allocation comes round (``reclaim(_:)`` puts them back), so a warm inference creates no
    /// storage objects. Valid for the current pattern and arena only.
    private var slices: [TensorStorage?] = []
    private let lock = Locked(())

    init(mode: Mode) {
        self.mode = mode
        tagBase = Self.freshTagBase()
    }

    private static func freshTagBase() -> Int {
        nextTagBase.wrappingAdd(1 << 32, ordering: .relaxed).oldValue
    }

    /// Makes the allocator ready for another inference in `mode`. The kept arena slices survive
    /// when the mode replays the same arena as before.
    func reset(mode: Mode) {
        lock.withLock { _ in
            var sameArena = false
            if case .replay(_, let old) = self.mode, case .replay(_, let new) = mode { sameArena = old === new }
            if !sameArena { slices.removeAll(keepingCapacity: true) }
            if case .recording = mode { tagBase = Self.freshTagBase() }
            self.mode = mode
            records.removeAll(keepingCapacity: true)
            next = 0
            diverged = false
            step = 0
        }
    }

    /// The allocation index a storage's tag denotes in this inference, or `nil`.
    func allocationIndex(of tag: Int) -> Int? {
        let i = tag &- tagBase
        return i >= 0 && i < (1 << 32) ? i : nil
    }

    /// Keeps `storage` for the next inference when it is a slice of this allocator's replay arena
    /// (called when the value holding it dies).
    func reclaim(_ storage: TensorStorage) {
        guard case .replay(_, let arena) = mode, storage.owner === arena else { return }
        let k = storage.allocationTag
        lock.withLock { _ in
            if k >= 0, k < slices.count, slices[k] == nil { slices[k] = storage }
        }
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
                    let k = next
                    let e = pattern.entries[k]
                    next += 1
                    guard let offset = e.offset else { return try Tensor(uninitialized: shape, dtype: dtype) }
                    if slices.count < pattern.entries.count {
                        slices.append(contentsOf: repeatElement(nil, count: pattern.entries.count - slices.count))
                    }
                    // Taken out of the list, so the tensor holds the only reference (kernels write
                    // through it without a copy-on-write copy).
                    if let storage = slices[k] {
                        slices[k] = nil
                        return Tensor(storage: storage, dtype: dtype, shape: shape)
                    }
                    let storage = TensorStorage(arenaSlice: arena.base + offset, byteCount: bytes, arena: arena)
                    storage.allocationTag = k
                    return Tensor(storage: storage, dtype: dtype, shape: shape)
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

    /// The mode of an inference with `signature` (the input shapes): recording when no pattern is
    /// known yet, else replay in a pooled (or new) arena, which the caller owns until it gives it back
    /// with ``giveBack(_:signature:)``.
    /// - Throws: ``KilnError/outOfMemory(what:byteCount:)`` when a new arena cannot be allocated.
    func mode(for signature: [[Int]]) throws -> InferenceAllocator.Mode {
        let (pattern, pooled) = state.withLock { s -> (MemoryPattern?, ArenaBuffer?) in
            guard let pattern = s.patterns[signature] else { return (nil, nil) }
            return (pattern, s.freeArenas[signature]?.popLast())
        }
        guard let pattern else { return .recording }
        // A new arena is allocated outside the lock, so other callers are not held up by it.
        let arena = try pooled ?? ArenaBuffer(byteCount: pattern.arenaBytes)
        return .replay(pattern, arena)
    }

    /// Returns an arena taken with ``mode(for:)`` to the pool of `signature`.
    func giveBack(_ arena: ArenaBuffer, signature: [[Int]]) {
        state.withLock { s in s.freeArenas[signature, default: []].append(arena) }
    }

    /// Called when a recording inference finished: stores its pattern. `lastStep` gives each
    /// allocation's last step; a failed inference reports none, and nothing is recorded.
    func recorded(_ allocator: InferenceAllocator, signature: [[Int]], lastStep: [Int?]) {
        guard case .recording = allocator.mode, lastStep.count == allocator.records.count else { return }
        let pattern = MemoryPattern(records: allocator.records, lastStep: lastStep)
        state.withLock { s in
            if s.patterns[signature] == nil, s.patterns.count < Self.maxSignatures { s.patterns[signature] = pattern }
        }
    }

    /// The pattern for `signature`, if recorded.
    func pattern(for signature: [[Int]]) -> MemoryPattern? {
        state.withLock { $0.patterns[signature] }
    }
}
