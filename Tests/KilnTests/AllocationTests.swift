import CAllocCount
import Foundation
import XCTest
@testable import Kiln
import KilnTestSupport

/// A warm inference through ``Model/predict(_:into:)`` makes no heap allocation (issue 7), and the
/// reusable inference state behind it gives the same results as the dictionary `predict`, across
/// input-shape changes and from many threads at once.
///
/// The count comes from CAllocCount, which interposes malloc in this test bundle (never in the Kiln
/// library); under AddressSanitizer or ThreadSanitizer it is unavailable and the count tests skip.
final class AllocationTests: XCTestCase {
    /// x [N, 3, 16, 16] → Conv 3×3 (8) + Relu → MaxPool 2×2 → Conv 1×1 (16) + residual-free Clip
    /// → Add(·, HardSigmoid(·)) → GlobalAveragePool → Flatten → Gemm (10): planned convolutions,
    /// pooling, a broadcast-free binary op, a view, and a linear layer.
    static func makeModel(threads: Int) throws -> Model {
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(3), .fixed(16), .fixed(16)])]
        w.outputs = [ValueInfo(name: "logits", dtype: .float32, shape: [.symbol("N"), .fixed(10)])]
        var rng = SeededGenerator(seed: 7)
        func random(_ shape: [Int]) throws -> Tensor {
            try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -0.5...0.5, using: &rng) })
        }
        w.tensors = [("w1", try random([8, 3, 3, 3])), ("b1", try random([8])),
                     ("w2", try random([16, 8, 1, 1])), ("b2", try random([16])),
                     ("fc", try random([10, 16])), ("fcb", try random([10]))]
        func node(_ name: String, _ op: String, _ ins: [String], _ outs: [String], _ attrs: [String: AttributeValue] = [:]) -> NodeDef {
            NodeDef(name: name, op: op, inputs: ins, outputs: outs, attributes: Attributes(op: op, node: name, attrs))
        }
        w.nodes = [
            node("conv1", "Conv", ["x", "w1", "b1"], ["c1"], ["pads": .ints([1, 1, 1, 1])]),
            node("relu", "Relu", ["c1"], ["r1"]),
            node("pool", "MaxPool", ["r1"], ["p1"], ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])]),
            node("conv2", "Conv", ["p1", "w2", "b2"], ["c2"]),
            node("gate", "HardSigmoid", ["c2"], ["g"]),
            node("mul", "Mul", ["c2", "g"], ["m"]),
            node("gap", "GlobalAveragePool", ["m"], ["gp"]),
            node("flat", "Flatten", ["gp"], ["f"]),
            node("fc", "Gemm", ["f", "fc", "fcb"], ["logits"], ["transB": .int(1)]),
        ]
        return try Model(artifact: Artifact(bytes: w.encode()), options: .init(threads: threads))
    }

    static func input(batch: Int, seed: UInt64) throws -> Tensor {
        var rng = SeededGenerator(seed: seed)
        let n = batch * 3 * 16 * 16
        return try Tensor(shape: [batch, 3, 16, 16], scalars: (0..<n).map { _ in Float.random(in: -1...1, using: &rng) })
    }

    /// Heap allocations of one call of `body`, counted over every thread of the process.
    func allocations(_ body: () throws -> Void) throws -> Int {
        kiln_alloc_count_start()
        defer { _ = kiln_alloc_count_stop() }
        try body()
        return Int(kiln_alloc_count_stop())
    }

    #if DEBUG
    /// Most heap allocations of a warm inference of this model, at 1 and at 2 threads. An
    /// unoptimized build allocates what the optimizer removes (closure contexts of `reduce` and
    /// friends, iterators): 119 and 125 when this test was written, 119 at both since the parallel
    /// loops stopped boxing their closures, and 121 at 2 threads since the kernel table gained the
    /// channel-blocked kernels (measured on CI, 2026-12-02; not traced further: the optimized build
    /// of the same code allocates nothing). The ceiling still catches a new allocation per step;
    /// `make allocs` runs this test optimized, where the bar is 0.
    static let ceiling = (oneThread: 119, twoThreads: 121)
    #else
    /// Most heap allocations of a warm inference of this model, at 1 and at 2 threads (optimized
    /// build). At 2 threads three of its parallel loops fan out to the pool (each allocated a box
    /// for its closure, 3 in all, until they moved to `ExecutionContext.parallelFor(_:with:_:)`,
    /// whose capture-free bodies need none).
    static let ceiling = (oneThread: 0, twoThreads: 0)
    #endif

    func testWarmInferenceAllocatesNothing() throws {
        try XCTSkipUnless(kiln_alloc_count_available() != 0, "allocation counting is off under sanitizers")
        for (threads, ceiling) in [(1, Self.ceiling.oneThread), (2, Self.ceiling.twoThreads)] {
            let model = try Self.makeModel(threads: threads)
            let x = try Self.input(batch: 1, seed: 1)
            let inputs = [x]
            var outputs: [Tensor] = []
            for _ in 0..<3 { try model.predict(inputs, into: &outputs) } // records, then warms the state
            let count = try allocations { try model.predict(inputs, into: &outputs) }
            XCTAssertLessThanOrEqual(count, ceiling, "heap allocations of a warm inference at \(threads) thread(s)")
            XCTAssertEqual(outputs[0], try model.predict(["x": x])["logits"]!)
        }
    }

    /// The pool's two entries on a loop that fans out: the closure form allocates (this is what the
    /// count above would see if an inference loop went back to it), the capture-free form does not.
    /// Under a sanitizer only the results are checked (the loops still run, for ThreadSanitizer).
    func testCaptureFreeParallelLoopsAllocateNothing() throws {
        let counting = kiln_alloc_count_available() != 0
        let pool = ThreadPool(threads: 2)
        let context = ExecutionContext(pool: pool)
        // A new worker's thread start-up allocates: wait until it takes part, so that no count
        // below sees it (otherwise the first loops can all run on this thread before it is up).
        var workerRan = false
        let caller = pthread_self()
        for _ in 0..<100_000 where !workerRan {
            withUnsafeMutablePointer(to: &workerRan) { flag in
                context.parallelFor(64, with: (flag, caller)) { raw, _, _ in
                    let (flag, caller) = raw.load(as: (UnsafeMutablePointer<Bool>, pthread_t).self)
                    if pthread_equal(pthread_self(), caller) == 0 { flag.pointee = true }
                }
            }
        }
        XCTAssertTrue(workerRan, "the pool's worker never ran a chunk")
        var sums = [Int](repeating: 0, count: 1000)
        try sums.withUnsafeMutableBufferPointer { buffer in
            let out = buffer.baseAddress!
            func captureFree() {
                context.parallelFor(1000, with: (out, 7)) { raw, start, end in
                    let (out, k) = raw.load(as: (UnsafeMutablePointer<Int>, Int).self)
                    for i in start..<end { out[i] += i &* k }
                }
            }
            func closure() {
                context.parallelFor(1000) { start, end in
                    for i in start..<end { out[i] += i }
                }
            }
            for _ in 0..<3 { captureFree(); closure() } // the threads' job objects
            let captureFreeCount = try allocations { for _ in 0..<10 { captureFree() } }
            let closureCount = try allocations { for _ in 0..<10 { closure() } }
            if counting {
                XCTAssertEqual(captureFreeCount, 0, "capture-free loops")
                XCTAssertGreaterThan(closureCount, 0,
                                     "closure loops (if 0, the loop no longer fans out and the test above proves nothing)")
            }
        }
        XCTAssertEqual(sums, (0..<1000).map { 13 * 8 * $0 })
    }

    func testOutputsAreWrittenInPlaceAndMatchPredict() throws {
        let model = try Self.makeModel(threads: 2)
        var outputs: [Tensor] = []
        let x1 = try Self.input(batch: 1, seed: 1), x2 = try Self.input(batch: 1, seed: 2)
        try model.predict([x1], into: &outputs)
        try model.predict([x1], into: &outputs)
        let storage = outputs[0].storage
        XCTAssertFalse(storage.isArenaSlice, "outputs never live in the arena")
        let first = outputs[0]  // shares the storage: the next call must not write into it
        try model.predict([x2], into: &outputs)
        XCTAssertEqual(first, try model.predict(["x": x1])["logits"]!, "a tensor the caller kept is not overwritten")
        XCTAssertEqual(outputs[0], try model.predict(["x": x2])["logits"]!)
        try model.predict([x1], into: &outputs)
        let address = outputs[0].storage.base  // no reference kept: the storage stays unshared
        try model.predict([x2], into: &outputs)
        XCTAssertEqual(outputs[0].storage.base, address, "an unshared output of the right shape is written in place")
        XCTAssertEqual(outputs[0], try model.predict(["x": x2])["logits"]!)
    }

    func testInputShapeChangesAndErrors() throws {
        let model = try Self.makeModel(threads: 1)
        let reference = try Model(artifact: model.artifact, options: .init(threads: 1, memoryPlanning: false))
        var outputs: [Tensor] = []
        for (i, batch) in [1, 2, 1, 3, 3, 2, 1].enumerated() {
            let x = try Self.input(batch: batch, seed: UInt64(i))
            try model.predict([x], into: &outputs)
            XCTAssertEqual(outputs[0].shape, [batch, 10])
            XCTAssertEqual(outputs[0], try reference.predict(["x": x])["logits"]!, "batch \(batch)")
        }
        XCTAssertThrowsError(try model.predict([], into: &outputs))
        XCTAssertThrowsError(try model.predict([try Tensor(zeros: [1, 3, 15, 16])], into: &outputs))
        XCTAssertThrowsError(try model.predict([try Tensor(zeros: [1, 3, 16, 16], dtype: .int64)], into: &outputs))
        // The state is usable after a rejected call.
        let x = try Self.input(batch: 2, seed: 9)
        try model.predict([x], into: &outputs)
        XCTAssertEqual(outputs[0], try reference.predict(["x": x])["logits"]!)
    }

    func testConcurrentCallersEachWithTheirOwnOutputs() throws {
        let model = try Self.makeModel(threads: 2)
        let xs = try (0..<4).map { try Self.input(batch: 1 + $0 % 2, seed: UInt64($0)) }
        let expected = try xs.map { try model.predict(["x": $0])["logits"]! }
        let failures = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            var outputs: [Tensor] = []
            for i in 0..<20 {
                let k = (t + i) % xs.count
                do {
                    try model.predict([xs[k]], into: &outputs)
                    if outputs[0] != expected[k] { failures.withLock { $0 += 1 } }
                } catch {
                    failures.withLock { $0 += 1 }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
    }
}
