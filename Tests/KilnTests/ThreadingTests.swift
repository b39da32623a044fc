import Foundation
import XCTest
@testable import Kiln
import KilnTestSupport

final class ThreadingTests: XCTestCase {
    func testPoolRunsEveryChunkOnceFromConcurrentCallers() {
        let pool = ThreadPool(threads: 3)
        let callers = 8, chunks = 37
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: callers * chunks)
        counts.initialize(repeating: 0, count: callers * chunks)
        defer { counts.deallocate() }
        nonisolated(unsafe) let shared = counts
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            for _ in 0..<20 {
                pool.run(chunks: chunks) { c in shared[caller * chunks + c] += 1 }
            }
        }
        for i in 0..<(callers * chunks) { XCTAssertEqual(counts[i], 20, "chunk \(i)") }
    }

    func testCurrentPoolIsScopedToTheCallingThread() {
        let pool = ThreadPool(threads: 2)
        XCTAssertNil(ThreadPool.current)
        ThreadPool.withCurrent(pool) {
            XCTAssertTrue(ThreadPool.current === pool)
            let other = ThreadPool(threads: 2)
            ThreadPool.withCurrent(other) { XCTAssertTrue(ThreadPool.current === other) }
            XCTAssertTrue(ThreadPool.current === pool, "restored after a nested scope")
            // `sync` would run on this thread; a new thread must not see this thread's pool.
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var seen: ThreadPool? = pool
            Thread { seen = ThreadPool.current; done.signal() }.start()
            done.wait()
            XCTAssertNil(seen, "other threads are unaffected")
        }
        XCTAssertNil(ThreadPool.current)
    }

    func testParallelForCoversTheRangeExactly() {
        for threads in [1, 2, 5] {
            let pool = ThreadPool(threads: threads)
            let ctx = ExecutionContext(pool: pool)
            for count in [0, 1, 2, 7, 100] {
                let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
                hits.initialize(repeating: 0, count: max(count, 1))
                ctx.parallelFor(count) { s, e in for i in s..<e { hits[i] += 1 } }
                for i in 0..<count { XCTAssertEqual(hits[i], 1, "threads \(threads) count \(count) index \(i)") }
                hits.deallocate()
            }
        }
    }

    /// The partitioned GEMM must equal the single-call GEMM exactly: each element is computed by the
    /// same BLAS kernel over the same k-sum, only the tiling of C differs.
    func testPartitionedSgemmMatchesSingleCall() throws {
        var rng = SeededGenerator(seed: 11)
        let pool = ThreadPool(threads: 3)
        for (m, n, k, ta, tb) in [(64, 4096, 27, false, false), (2048, 49, 512, false, false), (100, 300, 70, true, true),
                                  (300, 100, 90, true, false), (5, 70000, 1, false, true)] {
            let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) }
            let b = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &rng) }
            var c1 = [Float](repeating: 0.5, count: m * n), c2 = c1
            let lda = ta ? m : k, ldb = tb ? k : n
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                c1.withUnsafeMutableBufferPointer { pc in
                    Sgemm.run(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 1.5, a: pa.baseAddress!, lda: lda,
                              b: pb.baseAddress!, ldb: ldb, beta: 0.25, c: pc.baseAddress!, ldc: n)
                }
                c2.withUnsafeMutableBufferPointer { pc in
                    Sgemm.run(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 1.5, a: pa.baseAddress!, lda: lda,
                              b: pb.baseAddress!, ldb: ldb, beta: 0.25, c: pc.baseAddress!, ldc: n,
                              context: ExecutionContext(pool: pool))
                }
            } }
            let t1 = try Tensor(shape: [m, n], scalars: c1), t2 = try Tensor(shape: [m, n], scalars: c2)
            // OpenBLAS may block k differently for a narrower panel, which reorders each k-sum. With
            // |a|, |b| ≤ 1 and k ≤ 512 the reordering error stays far below 1e-4 (bound ≈ k·ε·Σ|ab|).
            let r = compare(t2, t1, Tolerance(abs: 1e-4, rel: 1e-5))
            XCTAssertTrue(r.passed, "m=\(m) n=\(n) k=\(k) transA=\(ta) transB=\(tb): \(r.message)")
        }
    }
}
