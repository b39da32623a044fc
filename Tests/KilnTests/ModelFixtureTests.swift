import Foundation
import XCTest
@testable import Kiln  // ValueInfo / NodeDef memberwise initializers, to write artifacts
import KilnTestSupport

/// Whole-model tests over the committed fixtures in `Fixtures/models/*.kiln` (written by
/// `Fixtures/models/gen_models.py`): tiny ResNet / MobileNetV3 / ViT / U-Net exported from PyTorch,
/// and hand-built ONNX graphs for the ops PyTorch does not emit. Together they use every
/// registered op (checked by ``testFixturesCoverEveryRegisteredOp``).
struct ModelFixtureError: Error { var message: String }

final class ModelFixtureTests: XCTestCase {
    static let modelsDirectory = fixturesDirectory.appendingPathComponent("models")

    /// Every committed fixture, sorted by name.
    static func fixtureURLs() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: modelsDirectory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "kiln" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func fixtures(file: StaticString = #filePath, line: UInt = #line) throws -> [URL] {
        let urls = try Self.fixtureURLs()
        XCTAssertGreaterThanOrEqual(urls.count, 10, "Fixtures/models holds too few .kiln files; run gen_models.py",
                                    file: file, line: line)
        return urls
    }

    /// The self-test's inputs with the batch (dim 0) cut to row 0 and tiled `batch` times.
    static func tiledSelfTestInputs(_ artifact: Artifact, batch: Int) throws -> [String: Tensor] {
        guard let spec = artifact.selfTest else { throw ModelFixtureError(message: "no self-test") }
        var feeds: [String: Tensor] = [:]
        for (input, tensorName) in spec.inputs {
            guard let t = artifact.tensors[tensorName], t.dtype == .float32, t.rank >= 1, t.shape[0] >= 1 else {
                throw ModelFixtureError(message: "self-test input '\(input)' is not a float32 tensor with a batch dim")
            }
            let all = try t.scalars(as: Float.self)
            let rowSize = t.count / t.shape[0]
            let row = Array(all[0..<rowSize])
            feeds[input] = try Tensor(shape: [batch] + t.shape.dropFirst(), scalars: Array([[Float]](repeating: row, count: batch).joined()))
        }
        return feeds
    }

    // MARK: - Self-test under every load option

    /// Each fixture's stored self-test passes with the tolerance stored in the artifact
    /// (`selftest.tolerance`: abs 1e-4 + rel 1e-4 for every fixture, the exporter's default; torch
    /// or ONNX Runtime reference), with the optimizer on and off, memory planning on and off, and
    /// 1 or 2 threads.
    func testEveryFixturePassesItsSelfTestUnderEveryOption() throws {
        for url in try fixtures() {
            let artifact = try Artifact(contentsOf: url, verifyDataHash: true)
            let spec = try XCTUnwrap(artifact.selfTest, "\(url.lastPathComponent) has no self-test")
            XCTAssertEqual(spec.abs, 1e-4, "\(url.lastPathComponent): stored abs tolerance")
            XCTAssertEqual(spec.rel, 1e-4, "\(url.lastPathComponent): stored rel tolerance")
            for optimize in [true, false] {
                for planning in [true, false] {
                    for threads in [1, 2] {
                        let what = "\(url.lastPathComponent) optimize=\(optimize) memoryPlanning=\(planning) threads=\(threads)"
                        do {
                            let model = try Model(artifact: artifact, options: .init(threads: threads, optimize: optimize,
                                                                                     memoryPlanning: planning))
                            let report = try model.verify()
                            XCTAssertTrue(report.passed, "\(what):\n\(report)")
                        } catch {
                            XCTFail("\(what): \(error)")
                        }
                    }
                }
            }
        }
    }

    // MARK: - Batch

    /// Batch 1 and batch 3 of the self-test's first row: every row of the batch-3 result equals
    /// the batch-1 result within 1e-5 abs (rows are independent in every fixture).
    func testBatchRowsMatchBatchOne() throws {
        for url in try fixtures() {
            let name = url.lastPathComponent
            let model = try Model(contentsOf: url, options: .init(threads: 2))
            let one = try model.predict(Self.tiledSelfTestInputs(model.artifact, batch: 1))
            let three = try model.predict(Self.tiledSelfTestInputs(model.artifact, batch: 3))
            for info in model.outputs {
                let a = try XCTUnwrap(one[info.name]).converted(to: .float32)
                let b = try XCTUnwrap(three[info.name]).converted(to: .float32)
                XCTAssertEqual(a.shape.first, 1, "\(name) \(info.name): batch-1 shape \(a.shape)")
                XCTAssertEqual(b.shape, [3] + a.shape.dropFirst(), "\(name) \(info.name): batch-3 shape")
                guard b.shape == [3] + a.shape.dropFirst() else { continue }
                let ra = try a.scalars(as: Float.self), rb = try b.scalars(as: Float.self)
                for row in 0..<3 {
                    var worst: Float = 0
                    for i in 0..<ra.count { worst = max(worst, abs(rb[row * ra.count + i] - ra[i])) }
                    XCTAssertLessThanOrEqual(worst, 1e-5, "\(name) \(info.name): batch row \(row) differs from batch 1 by \(worst)")
                }
            }
        }
    }

    // MARK: - Arena replay and thread safety

    /// The first call records the arena pattern, later calls replay it; a call with another batch
    /// size in between records a second pattern. Every replay is bit-identical to the first call.
    func testRepeatedPredictIsBitIdentical() throws {
        for url in try fixtures() {
            let name = url.lastPathComponent
            let model = try Model(contentsOf: url, options: .init(threads: 2, memoryPlanning: true))
            let feeds = try Self.tiledSelfTestInputs(model.artifact, batch: 2)
            let first = try model.predict(feeds)
            XCTAssertNotNil(model.arenaBytes(for: feeds), "\(name): no arena recorded after the first call")
            for round in 0..<3 {
                if round == 1 { _ = try model.predict(Self.tiledSelfTestInputs(model.artifact, batch: 3)) }
                let again = try model.predict(feeds)
                for (k, v) in first { XCTAssertTrue(again[k] == v, "\(name) \(k): call \(round + 2) differs from the first") }
            }
        }
    }

    /// Eight threads calling `predict` on one shared `Model` get the single-caller result bit for bit.
    func testConcurrentPredictOnOneModel() throws {
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var values: [[String: Tensor]] = []
            var errors: [String] = []
        }
        for url in try fixtures() {
            let name = url.lastPathComponent
            let model = try Model(contentsOf: url, options: .init(threads: 2))
            let feeds = try Self.tiledSelfTestInputs(model.artifact, batch: 2)
            let expected = try model.predict(feeds)
            let results = Results()
            let group = DispatchGroup()
            for _ in 0..<8 {
                group.enter()
                let thread = Thread {
                    for _ in 0..<3 {
                        do {
                            let r = try model.predict(feeds)
                            results.lock.withLock { results.values.append(r) }
                        } catch {
                            results.lock.withLock { results.errors.append("\(error)") }
                        }
                    }
                    group.leave()
                }
                thread.start()
            }
            group.wait()
            XCTAssertEqual(results.errors, [], name)
            XCTAssertEqual(results.values.count, 24, name)
            for r in results.values {
                for (k, v) in expected { XCTAssertTrue(r[k] == v, "\(name) \(k): a concurrent call differs from the single call") }
            }
        }
    }

    // MARK: - Op coverage

    /// The committed fixtures, as stored (before optimization), use every registered op.
    func testFixturesCoverEveryRegisteredOp() throws {
        var used = Set<String>()
        for url in try fixtures() {
            used.formUnion(try Artifact(contentsOf: url).nodes.map(\.op))
        }
        let registered = Set(OpRegistry.standard.opTypes)
        let missing = registered.subtracting(used).sorted()
        let unknown = used.subtracting(registered).sorted()
        XCTAssertEqual(missing, [], "registered ops no fixture in Fixtures/models uses: \(missing.joined(separator: ", ")) — add them to gen_models.py")
        XCTAssertEqual(unknown, [], "fixtures use ops the registry lacks: \(unknown.joined(separator: ", "))")
    }

    /// The exporter refuses ops missing from `kiln_export.ops.SUPPORTED_OPS`, so that list must be
    /// the registry. Regression: ArgMin, CastLike, ReduceL1, ReduceLogSum, ReduceSumSquare, Swish
    /// and Xor were registered but refused by `kiln-export` (found while building the op fixtures).
    func testExporterSupportedOpsMatchRegistry() throws {
        let url = fixturesDirectory.deletingLastPathComponent().appendingPathComponent("exporter/kiln_export/ops.py")
        let text = try String(contentsOf: url, encoding: .utf8)
        guard let decl = text.range(of: "SUPPORTED_OPS: frozenset[str] = frozenset("),
              let open = text.range(of: "\"\"\"", range: decl.upperBound..<text.endIndex),
              let close = text.range(of: "\"\"\"", range: open.upperBound..<text.endIndex) else {
            return XCTFail("exporter/kiln_export/ops.py: no SUPPORTED_OPS = frozenset(\"\"\" ... \"\"\".split()) literal")
        }
        let listed = Set(text[open.upperBound..<close.lowerBound].split(whereSeparator: \.isWhitespace).map(String.init))
        let registered = Set(OpRegistry.standard.opTypes)
        XCTAssertEqual(registered.subtracting(listed).sorted(), [], "registered but refused by kiln-export (add to ops.py)")
        XCTAssertEqual(listed.subtracting(registered).sorted(), [], "accepted by kiln-export but not registered")
    }

    // MARK: - Input validation

    /// `ops_elementwise.kiln` has two inputs `x`, `y`: f32 [N, 3, 4].
    func elementwiseModel() throws -> Model {
        try Model(contentsOf: Self.modelsDirectory.appendingPathComponent("ops_elementwise.kiln"), options: .init(threads: 1))
    }

    func assertThrows(_ what: String, _ expected: (KilnError) -> Bool, _ body: () throws -> Void,
                      file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("\(what): no error", file: file, line: line)
        } catch let e as KilnError {
            XCTAssertTrue(expected(e), "\(what): wrong error \(e)", file: file, line: line)
        } catch {
            XCTFail("\(what): not a KilnError: \(error)", file: file, line: line)
        }
    }

    func testInputValidation() throws {
        let model = try elementwiseModel()
        let good = try Tensor(zeros: [2, 3, 4])
        XCTAssertNoThrow(try model.predict(["x": good, "y": good]))
        assertThrows("unknown input name", { if case .invalidArgument(_, _, let r) = $0 { return r.contains("'z'") } else { return false } }) {
            _ = try model.predict(["x": good, "z": good])
        }
        assertThrows("missing input", { if case .invalidArgument(_, _, let r) = $0 { return r.contains("'y'") } else { return false } }) {
            _ = try model.predict(["x": good])
        }
        assertThrows("wrong dtype", { if case .unsupportedDType(_, _, let t, .int64) = $0 { return t.contains("'y'") } else { return false } }) {
            _ = try model.predict(["x": good, "y": try Tensor(zeros: [2, 3, 4], dtype: .int64)])
        }
        assertThrows("wrong rank", { if case .shapeMismatch(_, _, _, [-1, 3, 4], [2, 12]) = $0 { return true } else { return false } }) {
            _ = try model.predict(["x": try Tensor(zeros: [2, 12]), "y": good])
        }
        assertThrows("wrong fixed dim", { if case .shapeMismatch(_, _, _, [-1, 3, 4], [2, 3, 5]) = $0 { return true } else { return false } }) {
            _ = try model.predict(["x": good, "y": try Tensor(zeros: [2, 3, 5])])
        }
        assertThrows("inconsistent symbolic dim", {
            if case .shapeMismatch(_, _, let t, _, [1, 3, 4]) = $0 { return t.contains("symbolic dim N") } else { return false }
        }) {
            _ = try model.predict(["x": good, "y": try Tensor(zeros: [1, 3, 4])])
        }
    }

    // MARK: - Load-time rejection

    /// y = <op>(x) with x, y: f32 [N, 4], written by the Swift writer.
    func oneNodeArtifact(op: String, node: String, attributes: [String: AttributeValue] = [:]) throws -> Artifact {
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(4)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(4)])]
        w.nodes = [NodeDef(name: node, op: op, inputs: ["x"], outputs: ["y"], attributes: Attributes(op: op, node: node, attributes))]
        return try Artifact(bytes: w.encode())
    }

    func testUnknownOpIsRejectedNamingTheNode() throws {
        let artifact = try oneNodeArtifact(op: "Det", node: "/head/grid")
        for optimize in [true, false] {
            assertThrows("unknown op (optimize \(optimize))", {
                if case .unsupportedOp("Det", "/head/grid", _) = $0 { return true } else { return false }
            }) {
                _ = try Model(artifact: artifact, options: .init(threads: 1, optimize: optimize))
            }
        }
        // Two unknown nodes: both are listed in one error.
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(4)])]
        w.outputs = [ValueInfo(name: "z", dtype: .float32, shape: [.symbol("N"), .fixed(4)])]
        w.nodes = [NodeDef(name: "a", op: "Foo", inputs: ["x"], outputs: ["y"], attributes: Attributes(op: "Foo", node: "a")),
                   NodeDef(name: "b", op: "Bar", inputs: ["y"], outputs: ["z"], attributes: Attributes(op: "Bar", node: "b"))]
        let two = try Artifact(bytes: w.encode())
        assertThrows("two unknown ops", {
            if case .unsupportedOp("Foo", nil, let r) = $0 { return r.contains("'a' (Foo)") && r.contains("'b' (Bar)") } else { return false }
        }) {
            _ = try Model(artifact: two, options: .init(threads: 1))
        }
    }

    func testIllegalAttributeIsRejectedNamingTheNode() throws {
        let unknownAttribute = try oneNodeArtifact(op: "Relu", node: "/stem/act", attributes: ["alpha": .float(0.1)])
        assertThrows("unknown attribute", {
            if case .unsupportedOp("Relu", "/stem/act", let r) = $0 { return r.contains("alpha") } else { return false }
        }) {
            _ = try Model(artifact: unknownAttribute, options: .init(threads: 1))
        }
        let badValue = try oneNodeArtifact(op: "Gelu", node: "/mlp/gelu", attributes: ["approximate": .string("cubic")])
        assertThrows("illegal attribute value", { e in
            guard e.description.contains("/mlp/gelu"), e.description.contains("cubic") else { return false }
            switch e { case .invalidArgument, .unsupportedOp: return true; default: return false }
        }) {
            _ = try Model(artifact: badValue, options: .init(threads: 1))
        }
    }
}
