/// What a kernel may use while it runs: a thread budget, and the node name for error messages.
///
/// All parallelism is Kiln's: ``parallelFor(_:with:_:)`` runs on the model's ``ThreadPool`` and GEMMs are
/// partitioned over the same pool, while OpenBLAS itself stays single-threaded. So one inference
/// never uses more than ``threads`` threads.
public struct ExecutionContext: Sendable {
    /// Threads this op may use (≥ 1).
    public var threads: Int
    /// The node being executed, for error messages.
    public var node: String?
    /// The pool that runs parallel loops; without one, loops with more than one thread run on
    /// ``ThreadPool/shared``.
    public var pool: ThreadPool?
    /// Where op outputs come from during a planned inference (an arena); `nil` means the heap.
    var allocator: InferenceAllocator?
    /// This step's memo in the running inference state; `nil` outside a model's inference.
    var memo: StepMemo?

    /// Creates a context.
    /// - Parameters:
    ///   - threads: Thread budget; values below 1 mean 1.
    ///   - node: Node name for errors.
    ///   - pool: The pool to run on (a model passes its own).
    public init(threads: Int = 1, node: String? = nil, pool: ThreadPool? = nil) {
        self.threads = max(1, pool?.threads ?? threads)
        self.node = node
        self.pool = pool
    }

    init(threads: Int, node: String?, pool: ThreadPool?, allocator: InferenceAllocator?) {
        self.init(threads: threads, node: node, pool: pool)
        self.allocator = allocator
    }

    /// A tensor for an op's output, from the inference arena when there is one. Contents are
    /// undefined: the op must write every element.
    /// - Throws: ``KilnError`` when the shape is invalid or too large.
    func allocate(_ shape: [Int], dtype: DType) throws -> Tensor {
        if let allocator { return try allocator.allocate(shape, dtype: dtype) }
        return try Tensor(uninitialized: shape, dtype: dtype)
    }

    /// `make()`, or the value it returned at this step of the previous inference in the same
    /// inference state when the keys (input shapes, and one more number) are equal: lets an op keep
    /// the shapes it derives from its input shapes instead of allocating new arrays for them on
    /// every inference. `make` must depend on nothing but the keys and the op's attributes.
    func memoized<T>(_ key0: [Int], _ key1: [Int] = [], extra: Int = 0, _ make: () throws -> T) rethrows -> T {
        guard let memo else { return try make() }
        if let box = memo.value as? MemoBox<T>, memo.key0 == key0, memo.key1 == key1, memo.extra == extra { return box.value }
        let value = try make()
        memo.key0 = key0
        memo.key1 = key1
        memo.extra = extra
        memo.value = MemoBox(value)
        return value
    }

    /// Chunks per thread of a parallel loop. The pool's threads claim chunks one at a time, so when
    /// one thread is slowed — another process, or on a VM the host taking its vCPU for a while —
    /// the others take over its remaining chunks instead of waiting for it at the loop's end. With
    /// one chunk per thread a stalled vCPU held every loop of the inference (2 threads on a shared
    /// 2-vCPU VM: SqueezeNet p50 moved between 4.5 and 9.8 ms from run to run).
    public static let chunksPerThread = 4

    /// Runs `body(chunkStart, chunkEnd)` over `0..<count` split into at most
    /// ``threads`` × ``chunksPerThread`` contiguous chunks, claimed dynamically by the pool's threads
    /// (the caller included). With one thread, or little work, it runs inline on the caller's thread.
    ///
    /// A loop that fans out allocates one small object here (see ``ThreadPool/run(chunks:_:)``):
    /// loops that run during inference use ``parallelFor(_:with:_:)``, which allocates nothing.
    /// - Parameters:
    ///   - count: Number of work items.
    ///   - body: Processes items `start..<end`; called concurrently for disjoint ranges.
    @inlinable
    public func parallelFor(_ count: Int, _ body: (Int, Int) -> Void) {
        let chunks = chunkCount(count)
        if chunks <= 1 {
            if count > 0 { body(0, count) }
            return
        }
        // Without an explicit pool: the pool of the inference running on this thread (kernels that
        // were only given a thread count), else a process-wide pool (kernels called directly, tests).
        // `chunks` is at most `threads` either way, so the budget holds.
        (pool ?? ThreadPool.current ?? ThreadPool.shared).run(chunks: chunks) { c in
            let start = count &* c / chunks
            let end = count &* (c &+ 1) / chunks
            if start < end { body(start, end) }
        }
    }

    /// The number of chunks a loop over `count` items is split into (≤ 1 runs on the caller only).
    @inlinable
    func chunkCount(_ count: Int) -> Int {
        threads <= 1 ? min(1, count) : min(threads &* Self.chunksPerThread, count)
    }

    /// A range body that captures nothing: `body(args, start, end)` processes items `start..<end`,
    /// reading what it needs from `args` (a pointer to the caller's arguments). See
    /// ``parallelFor(_:with:_:)``.
    public typealias RangeBody = @convention(c) (UnsafeMutableRawPointer, Int, Int) -> Void

    /// Runs `body(args, chunkStart, chunkEnd)` over `0..<count`, split and scheduled as
    /// ``parallelFor(_:_:)`` does, without allocating: the form every loop of an inference uses.
    ///
    /// A closure that captures values is a heap object once the pool's threads can reach it, so
    /// the loop's inputs travel in `args` instead (a struct or tuple, kept on this call's stack)
    /// and `body` is a `@convention(c)` closure, which the compiler does not let capture anything.
    /// `body` reads them back with `args.load(as: Args.self)` and should call a concrete kernel
    /// function, so the inner loops stay in specialized code.
    /// - Parameters:
    ///   - count: Number of work items.
    ///   - args: The loop's inputs, visible to `body` through its first parameter.
    ///   - body: Processes items `start..<end`; called concurrently for disjoint ranges.
    @inlinable
    public func parallelFor<Args>(_ count: Int, with args: Args, _ body: RangeBody) {
        var args = args
        withUnsafeMutablePointer(to: &args) { parallelFor(count, context: UnsafeMutableRawPointer($0), body) }
    }

    /// ``parallelFor(_:with:_:)`` on an untyped argument pointer.
    @usableFromInline
    func parallelFor(_ count: Int, context: UnsafeMutableRawPointer, _ body: RangeBody) {
        let chunks = chunkCount(count)
        if chunks <= 1 {
            if count > 0 { body(context, 0, count) }
            return
        }
        var loop = RangeLoop(count: count, chunks: chunks, body: body, args: context)
        withUnsafeMutablePointer(to: &loop) { loop in
            // As in `parallelFor(_:_:)`: the model's pool, else this thread's, else the shared one.
            (pool ?? ThreadPool.current ?? ThreadPool.shared).run(chunks: chunks, context: UnsafeMutableRawPointer(loop)) { raw, c in
                let loop = raw.load(as: RangeLoop.self)
                let start = loop.count &* c / loop.chunks
                let end = loop.count &* (c &+ 1) / loop.chunks
                if start < end { loop.body(loop.args, start, end) }
            }
        }
    }
}

/// One ``ExecutionContext/parallelFor(_:with:_:)`` loop as its chunks see it: how to turn a chunk
/// number into an item range, and the range body with its arguments.
struct RangeLoop {
    var count: Int
    var chunks: Int
    var body: ExecutionContext.RangeBody
    var args: UnsafeMutableRawPointer
}
