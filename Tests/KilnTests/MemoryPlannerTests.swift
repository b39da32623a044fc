import Foundation
import XCTest
@testable import Kiln
import KilnTestSupport

/// The memory planner (Plan/MemoryPlanner.swift): offsets never overlap for allocations alive at the
/// same time, and planned execution gives bit-identical results to unplanned execution.
final class MemoryPlannerTests: XCTestCase {
    typealias Record = InferenceAllocator.Record

    /// Brute-force check: any two allocations whose lifetimes intersect get disjoint byte ranges.
    func assertNoOverlap(_ records: [Record], _ last: [Int?], _ p: MemoryPattern, file: StaticString = #filePath, line: UInt = #line) {
        for i in records.indices {
            guard let oi = p.entries[i].offset else { XCTAssertNil(last[i], file: file, line: line); continue }
            XCTAssertEqual(oi % 64, 0, "offsets are 64-byte aligned", file: file, line: line)
            XCTAssertLessThanOrEqual(oi + records[i].bytes, p.arenaBytes, file: file, line: line)
            for j in records.indices where j > i {
                guard let oj = p.entries[j].offset, let li = last[i], let lj = last[j] else { continue }
                let timeOverlap = records[i].step <= lj && records[j].step <= li
                let spaceOverlap = oi < oj + records[j].bytes && oj < oi + records[i].bytes
                XCTAssertFalse(timeOverlap && spaceOverlap, "allocations \(i) and \(j) overlap while both alive", file: file, line: line)
            }
        }
    }

    func testValueWithTwoConsumersIsNotOverwritten() {
        // a (step 0) is read by steps 1 and 3; b (step 1) dies at 2; c (step 2) and d (step 3) come later.
        let records = [Record(step: 0, bytes: 4096), Record(step: 1, bytes: 4096), Record(step: 2, bytes: 4096), Record(step: 3, bytes: 100)]
        let last: [Int?] = [3, 2, 3, nil]
        let p = MemoryPattern(records: records, lastStep: last)
        assertNoOverlap(records, last, p)
        XCTAssertNil(p.entries[3].offset, "an allocation reaching a graph output stays on the heap")
        XCTAssertNotEqual(p.entries[0].offset, p.entries[2].offset, "a is still alive when c is written")
    }

    func testDisjointLifetimesShareMemory() {
        // A chain where each buffer dies when the next is made: two slots suffice.
        let records = (0..<10).map { Record(step: $0, bytes: 1000) }
        let last: [Int?] = (0..<10).map { $0 + 1 }
        let p = MemoryPattern(records: records, lastStep: last)
        assertNoOverlap(records, last, p)
        XCTAssertEqual(p.arenaBytes, 2 * 1024)
        XCTAssertEqual(p.totalBytes, 10_000)
    }

    func testRandomPatternsNeverOverlap() {
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<200 {
            let n = Int.random(in: 1...40, using: &rng)
            let records = (0..<n).map { _ in Record(step: Int.random(in: 0..<20, using: &rng), bytes: Int.random(in: 1...5000, using: &rng)) }
            let last: [Int?] = records.map { r in Int.random(in: 0..<10, using: &rng) == 0 ? nil : r.step + Int.random(in: 0...6, using: &rng) }
            assertNoOverlap(records, last, MemoryPattern(records: records, lastStep: last))
        }
    }

    /// y = Add(Relu(x), Neg(Relu(x))) with a Reshape view in between: the Relu output has two
    /// consumers and is read through a view after other buffers were allocated.
    func makeModel(planning: Bool) throws -> Model {
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(6)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(6)])]
        let shape = try Tensor(shape: [2], scalars: [Int64(-1), 6])
        w.tensors = [("shape", shape)]
        func node(_ name: String, _ op: String, _ ins: [String], _ outs: [String]) -> NodeDef {
            NodeDef(name: name, op: op, inputs: ins, outputs: outs, attributes: Attributes(op: op, node: name))
        }
        w.nodes = [
            node("relu", "Relu", ["x"], ["a"]),
            node("view", "Reshape", ["a", "shape"], ["a_view"]),
            node("neg", "Neg", ["a"], ["b"]),
            node("exp", "Exp", ["b"], ["e"]),
            node("sig", "Sigmoid", ["e"], ["s"]),
            node("add", "Add", ["a_view", "s"], ["y"]),
        ]
        let artifact = try Artifact(bytes: w.encode())
        return try Model(artifact: artifact, options: .init(threads: 2, memoryPlanning: planning))
    }

    func testPlannedExecutionEqualsUnplannedExactly() throws {
        let planned = try makeModel(planning: true), heap = try makeModel(planning: false)
        var rng = SeededGenerator(seed: 9)
        for batch in [1, 3, 1, 3, 2] {
            let xs = (0..<(batch * 6)).map { _ in Float.random(in: -2...2, using: &rng) }
            let x = try Tensor(shape: [batch, 6], scalars: xs)
            let expected = xs.map { v -> Float in let a = max(v, 0); return a + 1 / (1 + exp(-exp(-a))) }
            for _ in 0..<3 { // first call records, later calls replay the arena
                let y = try planned.predict(["x": x])["y"]!
                XCTAssertEqual(y, try heap.predict(["x": x])["y"]!)
                let r = compare(y, try Tensor(shape: [batch, 6], scalars: expected), .transcendental)
                XCTAssertTrue(r.passed, r.message)
                XCTAssertFalse(y.storage.isArenaSlice, "results never live in a reused arena")
            }
            XCTAssertNotNil(planned.arenaBytes(for: ["x": x]))
        }
    }

    func testResultsSurviveLaterInferences() throws {
        // A returned output must not be overwritten when the arena is reused by the next call.
        let m = try makeModel(planning: true)
        let x1 = try Tensor(shape: [1, 6], scalars: [Float](repeating: 1, count: 6))
        let x2 = try Tensor(shape: [1, 6], scalars: [Float](repeating: -1, count: 6))
        let y1 = try m.predict(["x": x1])["y"]!
        let snapshot = try y1.scalars(as: Float.self)
        for _ in 0..<5 { _ = try m.predict(["x": x2]) }
        XCTAssertEqual(try y1.scalars(as: Float.self), snapshot)
    }
}
