import Foundation
import XCTest
@testable import Kiln
import KilnTestSupport

/// The `kiln` command on good and bad artifacts: bad files give a clear error and a non-zero exit,
/// never a crash.
final class CLITests: XCTestCase {
    /// The directory holding the built products (the test bundle sits next to `kiln`).
    var kilnBinary: URL {
        var dir = Bundle(for: CLITests.self).bundleURL
        if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("kiln")
    }

    struct Result { var status: Int32; var reason: Process.TerminationReason; var stdout: String; var stderr: String }

    func runKiln(_ args: [String]) throws -> Result {
        let p = Process()
        p.executableURL = kilnBinary
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, reason: p.terminationReason,
                      stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cli-\(UUID().uuidString)-\(name).kiln")
        try Data(bytes).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func goodArtifact() throws -> [UInt8] {
        var w = try ArtifactSamples.writer()
        w.labels = nil
        return try w.encode()
    }

    func testInspectAndVerifyAGoodArtifact() throws {
        let url = try write(try goodArtifact(), "good")
        let inspect = try runKiln(["inspect", url.path])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("input:  x f32 [N, 4]"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("Relu ×1"), inspect.stdout)
        let verify = try runKiln(["verify", url.path])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.hasPrefix("PASS"), verify.stdout)
    }

    /// Symbolic height and width: `inspect` shows the symbols, and says that the shapes it infers
    /// are at the self-test's size (only the batch is tracked as a symbol).
    func testInspectShapesOfADynamicImageModel() throws {
        let url = fixturesDirectory.appendingPathComponent("models/dynamic/dynamic_hw.kiln")
        let r = try runKiln(["inspect", "--shapes", url.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("input:  images f32 [batch, 3, height, width]"), r.stdout)
        XCTAssertTrue(r.stdout.contains("shapes inferred at load, N = batch; at the self-test's height = 24, width = 32)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("cat [batch, 8, 24, 32]"), r.stdout)
    }

    func testBadArtifactsFailCleanly() throws {
        let good = try goodArtifact()
        var flipped = good
        flipped[64 + 10] ^= 0x20
        let outOfRange = try ArtifactSamples.withHeader { h in
            var ts = h["tensors"] as! [[String: Any]]; ts[0]["offset"] = 1 << 30; h["tensors"] = ts
        }
        let unknownOp = try ArtifactSamples.withHeader { h in
            var g = h["graph"] as! [String: Any]; var ns = g["nodes"] as! [[String: Any]]
            ns[0]["op"] = "Det"; g["nodes"] = ns; h["graph"] = g
        }
        let cases: [(String, [UInt8], String)] = [
            ("truncated", Array(good.prefix(good.count / 2)), "runs past the end of the file"),
            ("truncated in the data", Array(good.prefix(good.count - 10)), "data_length"),
            ("flipped header byte", flipped, "checksum"),
            ("out-of-range offset", outOfRange, "outside the data section"),
            ("unknown op", unknownOp, "Det"),
            ("empty", [], "shorter than the 64-byte preamble"),
        ]
        for (what, bytes, mention) in cases {
            let r = try runKiln(["inspect", try write(bytes, what.replacingOccurrences(of: " ", with: "-")).path])
            XCTAssertEqual(r.reason, .exit, "\(what): kiln must not crash")
            XCTAssertNotEqual(r.status, 0, "\(what): exit status")
            XCTAssertTrue(r.stderr.hasPrefix("error: "), "\(what): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(mention), "\(what): expected '\(mention)' in: \(r.stderr)")
        }
        let missing = try runKiln(["inspect", "/nonexistent/model.kiln"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("I/O error"), missing.stderr)
    }

    func testRunWritesOutputsAndVerifyFailsOnDrift() throws {
        // Self-test whose stored output is wrong: verify must exit 1.
        var w = try ArtifactSamples.writer()
        w.tensors[1] = ("selftest.y", try Tensor(shape: [2, 4], scalars: [Float](repeating: 3, count: 8)))
        let url = try write(try w.encode(), "drift")
        let r = try runKiln(["verify", url.path])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("FAIL"), r.stdout)

        let good = try write(try goodArtifact(), "run")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let x = try Tensor(shape: [3, 4], scalars: (0..<12).map { Float($0) - 6 })
        let xURL = dir.appendingPathExtension("x.npy")
        try x.writeNPY(to: xURL)
        defer { try? FileManager.default.removeItem(at: xURL) }
        let run = try runKiln(["run", good.path, "--input", "x=\(xURL.path)", "--output-dir", dir.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let y = try Tensor(npyContentsOf: dir.appendingPathComponent("y.npy"))
        XCTAssertEqual(try y.scalars(as: Float.self), (0..<12).map { max(Float($0) - 6, 0) })
        let wrong = try runKiln(["run", good.path, "--input", "nope=\(xURL.path)", "--output-dir", dir.path])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.stderr.contains("unknown input 'nope'"), wrong.stderr)
    }

    func testClassifyAndPreprocessWithTheBundledModel() throws {
        let model = fixturesDirectory.appendingPathComponent("models/efficientnet_lite0.kiln").path
        let cat = fixturesDirectory.appendingPathComponent("images/chelsea.png").path
        let ok = try runKiln(["classify", "--model", model, cat, "--top", "3"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("1. tiger cat"), ok.stdout)
        XCTAssertTrue(ok.stdout.contains("inference"), ok.stdout)

        // Bad images: an empty file, text, a truncated PNG, a missing file. Each is reported and the
        // exit status is non-zero, while good images in the same call are still classified.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cli-img-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = try Data(contentsOf: URL(fileURLWithPath: cat))
        let bad: [(String, Data?, String)] = [("empty.png", Data(), "empty"), ("text.jpg", Data("hello".utf8), "unsupported"),
                                              ("cut.png", png.prefix(png.count / 3), "truncated"), ("missing.png", nil, "missing")]
        for (name, data, mention) in bad {
            let url = dir.appendingPathComponent(name)
            if let data { try data.write(to: url) }
            let r = try runKiln(["classify", "--model", model, url.path, cat])
            XCTAssertEqual(r.reason, .exit, name)
            XCTAssertEqual(r.status, 2, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: "), "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.lowercased().contains(mention == "missing" ? "doesn’t exist" : mention), "\(name): \(r.stderr)")
            XCTAssertTrue(r.stdout.contains("tiger cat"), "the good image is still classified: \(r.stdout)")
        }

        let out = dir.appendingPathComponent("x.npy")
        let pre = try runKiln(["preprocess", model, cat, "--output", out.path])
        XCTAssertEqual(pre.status, 0, pre.stderr)
        let x = try Tensor(npyContentsOf: out)
        XCTAssertEqual(x.shape, [1, 3, 224, 224])
        // The tensor kiln preprocess writes is the one the model sees: classifying it gives the same top class.
        let m = try Model(contentsOf: URL(fileURLWithPath: model), options: .init(threads: 1))
        let logits = try m.predict(["input": x])["logits"]!.scalars(as: Float.self)
        XCTAssertEqual(logits.indices.max(by: { logits[$0] < logits[$1] }), 282, "tiger cat")
    }
}
