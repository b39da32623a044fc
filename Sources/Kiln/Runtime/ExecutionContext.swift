import Dispatch

/// What a kernel may use while it runs: a thread budget, and the node name for error messages.
///
/// Kiln's own parallel loops (``parallelFor(_:_:)``) and OpenBLAS never run at the same time
/// within one op: a kernel either calls GEMM (which OpenBLAS parallelizes) or runs its own
/// parallel loop, so the two never oversubscribe the budget.
public struct ExecutionContext: Sendable {
    /// Threads this op may use (≥ 1).
    public var threads: Int
    /// The node being executed, for error messages.
    public var node: String?

    /// Creates a context.
    /// - Parameters:
    ///   - threads: Thread budget; values below 1 mean 1.
    ///   - node: Node name for errors.
    public init(threads: Int = 1, node: String? = nil) {
        self.threads = max(1, threads)
        self.node = node
    }

    /// Runs `body(chunkStart, chunkEnd)` over `0..<count` split into at most ``threads`` contiguous
    /// chunks. With one thread, or little work, it runs inline on the caller's thread.
    /// - Parameters:
    ///   - count: Number of work items.
    ///   - body: Processes items `start..<end`; called concurrently for disjoint ranges.
    @inlinable
    public func parallelFor(_ count: Int, _ body: (Int, Int) -> Void) {
        let chunks = min(threads, count)
        if chunks <= 1 {
            if count > 0 { body(0, count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // The chunks are disjoint and concurrentPerform returns only when all are done, so
            // sharing the non-Sendable closure across its threads is safe.
            nonisolated(unsafe) let shared = body
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let start = count &* c / chunks
                let end = count &* (c &+ 1) / chunks
                if start < end { shared(start, end) }
            }
        }
    }
}
