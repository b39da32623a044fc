import Foundation
import XCTest
@testable import Kiln
import KilnTestSupport

/// One loaded `Model` shared by many threads (docs/reliability.md): results bit-identical to the
/// serial result, failures that leave the model usable, and memory exhaustion reported as an
/// error. `make tsan` runs this class under ThreadSanitizer.
final class ConcurrencyTests: XCTestCase {
    /// Collects what the worker threads saw.
    final class Tally: @unchecked Sendable {
        let lock = NSLock()
        var calls = 0
        var mismatches: [String] = []
        var errors: [String] = []
        func record(_ body: (Tally) -> Void) { lock.withLock { body(self) } }
    }

    /// Runs `total` calls spread over `threads` threads; call `i` gets `body(i)`.
    func spread(_ total: Int, threads: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for t in 0..<threads {
            group.enter()
            let thread = Thread {
                for i in stride(from: t, to: total, by: threads) { body(i) }
                group.leave()
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
        group.wait()
    }

    /// 8 threads, 1,000 `predict` calls in total on one model, batch sizes 1–4 interleaved: every
    /// output equals, bit for bit, the output of the same batch computed serially before. Two
    /// models: convolutions (packed GEMM, Winograd, depthwise) and a transformer (MatMul, Softmax,
    /// LayerNorm). Each model runs its own 2-thread pool, so callers also contend for the pool.
    func testThousandMixedBatchCallsFromEightThreadsMatchTheSerialResultsBitForBit() throws {
        for (name, total) in [("tiny_resnet", 1000), ("tiny_vit", 1000)] {
            let url = ModelFixtureTests.modelsDirectory.appendingPathComponent("\(name).kiln")
            let model = try Model(contentsOf: url, options: .init(threads: 2))
            let batches = [1, 2, 3, 4]
            let feeds = try batches.map { try ModelFixtureTests.tiledSelfTestInputs(model.artifact, batch: $0) }
            let serial = try feeds.map { try model.predict($0) }
            let tally = Tally()
            nonisolated(unsafe) let shared = model
            spread(total, threads: 8) { i in
                let b = (i &* 7 &+ i / 8) % batches.count
                do {
                    let r = try shared.predict(feeds[b])
                    let same = serial[b].allSatisfy { k, v in r[k] == v }
                    tally.record { $0.calls += 1; if !same { $0.mismatches.append("call \(i) batch \(batches[b])") } }
                } catch {
                    tally.record { $0.errors.append("call \(i): \(error)") }
                }
            }
            XCTAssertEqual(tally.errors, [], name)
            XCTAssertEqual(tally.calls, total, name)
            XCTAssertEqual(tally.mismatches, [], "\(name): concurrent results differ from the serial ones")
        }
    }

    /// A Winograd-eligible convolution packs its direct-path weights on first use (`PackedConvWeights`)
    /// and builds its Winograd filters on first use: 8 threads make the first calls at once on a
    /// fresh `PlannedConv`, small maps (direct path) and large ones (Winograd) interleaved, and every
    /// result equals, bit for bit, the serial result of another instance.
    func testConcurrentFirstCallsPrepareLazyWeightsOnce() throws {
        var r = SeededGenerator(seed: 7)
        func random(_ shape: [Int]) throws -> Tensor {
            try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1..<1, using: &r) })
        }
        let conv = try Conv(attributes: Attributes(op: "Conv", node: "lazy", ["pads": .ints([1, 1, 1, 1])]))
        let w = try random([33, 16, 3, 3]), b = try random([33])
        let inputs = [try random([1, 16, 6, 5]), try random([1, 16, 20, 18])] // 4 tiles (direct), 25 tiles (Winograd)
        let reference = try PlannedConv(conv, weight: w, bias: b, kernels: KernelDispatch.table(), node: "lazy")
        let serial = try inputs.map { try reference.run([$0, w, b], context: ExecutionContext(threads: 2))[0] }
        for _ in 0..<5 {
            let planned = try PlannedConv(conv, weight: w, bias: b, kernels: KernelDispatch.table(), node: "lazy")
            XCTAssertEqual(planned.packedA?.isPacked, false, "packed at load although Winograd is possible")
            XCTAssertEqual(planned.winogradWeights?.isPrepared, false)
            let tally = Tally()
            nonisolated(unsafe) let shared = planned
            spread(64, threads: 8) { i in
                do {
                    let y = try shared.run([inputs[i % 2], w, b], context: ExecutionContext(threads: 2))[0]
                    tally.record { $0.calls += 1; if y != serial[i % 2] { $0.mismatches.append("call \(i)") } }
                } catch {
                    tally.record { $0.errors.append("call \(i): \(error)") }
                }
            }
            XCTAssertEqual(tally.errors, [])
            XCTAssertEqual(tally.calls, 64)
            XCTAssertEqual(tally.mismatches, [], "concurrent first calls differ from the serial results")
            XCTAssertEqual(planned.packedA?.isPacked, true)
            XCTAssertEqual(planned.winogradWeights?.isPrepared, true)
        }
    }

    /// An op that throws in the middle of the graph (an odd size reaches the Concat of two
    /// branches that no longer line up) leaves the model usable: calls that fail and calls that
    /// succeed interleave on 4 threads, and every success equals the serial result.
    func testAThrowingOpMidGraphLeavesTheModelUsable() throws {
        let model = try Model(contentsOf: DynamicShapeTests.directory.appendingPathComponent("dynamic_hw.kiln"),
                              options: .init(threads: 2))
        let values: [Float] = (0..<(2 * 3 * 24 * 32)).map { i -> Float in Float(i % 17) / 17 - 0.5 }
        let good = try Tensor(shape: [2, 3, 24, 32], scalars: values)
        let bad = try Tensor(zeros: [1, 3, 25, 33])
        let expected = try model.predict(["images": good])
        // Serially first: the failure is in the middle of the plan (after both convolutions).
        assertKilnError("odd size", { try model.predict(["images": bad]) }) { "\($0)".contains("Concat") }
        XCTAssertTrue(try model.predict(["images": good]) == expected, "the call after a failure")
        let tally = Tally()
        nonisolated(unsafe) let shared = model
        spread(200, threads: 4) { i in
            if i % 3 == 0 {
                do {
                    _ = try shared.predict(["images": bad])
                    tally.record { $0.mismatches.append("call \(i): the odd size did not fail") }
                } catch { tally.record { $0.calls += 1 } }
            } else {
                do {
                    let r = try shared.predict(["images": good])
                    tally.record { if r != expected { $0.mismatches.append("call \(i) differs") } }
                } catch {
                    tally.record { $0.errors.append("call \(i): \(error)") }
                }
            }
        }
        XCTAssertEqual(tally.errors, [])
        XCTAssertEqual(tally.mismatches, [])
        XCTAssertEqual(tally.calls, 67, "every odd-size call failed with an error")
        XCTAssertTrue(try model.predict(["images": good]) == expected)
    }

    /// Memory the system refuses is a typed error, not a crash: tensor storage and the inference
    /// arena both come from `posix_memalign`, which fails at once for a request beyond the address
    /// space. The per-tensor limit (`Shape.maxByteCount`) is enforced before any allocation.
    func testRefusedMemoryIsATypedError() throws {
        for request in [1 << 60, Int.max / 2] {
            XCTAssertThrowsError(try TensorStorage(uninitializedByteCount: request)) { error in
                guard case KilnError.outOfMemory(_, let bytes) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(bytes, request)
            }
            XCTAssertThrowsError(try ArenaBuffer(byteCount: request)) { error in
                guard case KilnError.outOfMemory = error else { return XCTFail("\(error)") }
            }
        }
        let saved = Shape.maxByteCount
        defer { Shape.maxByteCount = saved }
        Shape.maxByteCount = 1 << 20
        XCTAssertThrowsError(try Tensor(zeros: [1024, 1024, 2])) { error in
            guard case KilnError.allocationTooLarge = error else { return XCTFail("\(error)") }
        }
        XCTAssertNoThrow(try Tensor(zeros: [512, 512]))
        // A model whose intermediate exceeds the limit fails with the error and stays usable.
        let model = try Model(contentsOf: DynamicShapeTests.directory.appendingPathComponent("dynamic_hw.kiln"),
                              options: .init(threads: 1))
        Shape.maxByteCount = saved
        let big = try Tensor(zeros: [1, 3, 256, 256])
        let expected = try model.predict(["images": big])
        Shape.maxByteCount = 1 << 20
        XCTAssertThrowsError(try model.predict(["images": big])) { error in
            guard case KilnError.allocationTooLarge = error else { return XCTFail("\(error)") }
        }
        Shape.maxByteCount = saved
        XCTAssertTrue(try model.predict(["images": big]) == expected)
    }
}
