import Foundation
import XCTest
@testable import Kiln
import KilnTestSupport

/// The artifact reader and writer (docs/format.md): round trips and every class of corruption.
final class ArtifactTests: XCTestCase {
    func sampleWriter() throws -> ArtifactWriter { try ArtifactSamples.writer() }
    func withHeader(_ transform: (inout [String: Any]) -> Void) throws -> [UInt8] { try ArtifactSamples.withHeader(transform) }

    func testRoundTripIsByteIdentical() throws {
        let bytes = try sampleWriter().encode()
        let a = try Artifact(bytes: bytes, verifyDataHash: true)
        XCTAssertEqual(a.inputs.first?.shape, [.symbol("N"), .fixed(4)])
        XCTAssertEqual(a.nodes.map(\.op), ["Relu"])
        XCTAssertEqual(a.labels, ["a", "b", "c", "d"])
        XCTAssertEqual(try a.tensors["ids"]?.scalars(as: Int64.self), [-1, 0, Int64.max])
        XCTAssertEqual(a.tensors["half"]?.dtype, .float16)
        XCTAssertEqual(a.selfTest?.inputs, ["x": "selftest.x"])
        XCTAssertTrue(a.tensors["selftest.x"]!.isBorrowed, "payloads must be used in place, not copied")
        for r in a.records { XCTAssertEqual(r.fileOffset % 64, 0, r.name) }
        XCTAssertEqual(try ArtifactWriter(a).encode(), bytes, "save → reload → save must give identical bytes")
    }

    func testTruncatedFilesAreRejected() throws {
        let bytes = try sampleWriter().encode()
        for cut in [0, 7, 63, 64, 100, bytes.count / 2, bytes.count - 1] {
            XCTAssertThrowsError(try Artifact(bytes: Array(bytes.prefix(cut))), "cut at \(cut)") { error in
                guard case KilnError.malformedArtifact = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testFlippedHeaderByteFailsTheChecksum() throws {
        var bytes = try sampleWriter().encode()
        bytes[64 + 20] ^= 0x01
        XCTAssertThrowsError(try Artifact(bytes: bytes)) { error in
            guard case KilnError.malformedArtifact(let offset, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(offset, 48)
            XCTAssertTrue(reason.contains("checksum"), reason)
        }
    }

    func testCorruptWeightsFailTheContentHash() throws {
        var bytes = try sampleWriter().encode()
        bytes[bytes.count - 70] ^= 0xFF
        XCTAssertNoThrow(try Artifact(bytes: bytes), "the hash is only checked on request")
        XCTAssertThrowsError(try Artifact(bytes: bytes, verifyDataHash: true)) { error in
            guard case KilnError.malformedArtifact(_, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("SHA-256"), reason)
        }
    }

    /// `Model(contentsOf:)` with `verifyDataHash`, on one and two threads: a corrupt weight is
    /// reported as a hash mismatch at the data section's offset (and only when asked for), and an
    /// intact file loads and predicts as without the check.
    func testModelLoadChecksTheDataHashOnOneAndTwoThreads() throws {
        let source = ModelFixtureTests.modelsDirectory.appendingPathComponent("tiny_resnet.kiln")
        let intact = try Artifact(contentsOf: source)
        var bytes = [UInt8](try Data(contentsOf: source))
        let weight = try XCTUnwrap(intact.records.first { $0.length >= 64 && !$0.name.hasPrefix("selftest") })
        bytes[weight.fileOffset + 1] ^= 0x40
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-hash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let corrupt = directory.appendingPathComponent("corrupt.kiln")
        try Data(bytes).write(to: corrupt)
        let unchecked = try Model(contentsOf: source, options: .init(threads: 1))
        let feeds = try unchecked.defaultInputs()
        let expected = try unchecked.predict(feeds)
        for threads in [1, 2] {
            XCTAssertNoThrow(try Model(contentsOf: corrupt, options: .init(threads: threads)), "the hash is only checked on request")
            XCTAssertThrowsError(try Model(contentsOf: corrupt, options: .init(threads: threads, verifyDataHash: true)), "threads \(threads)") { error in
                guard case KilnError.malformedArtifact(let offset, let reason) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(offset, intact.dataRange.lowerBound)
                XCTAssertTrue(reason.contains("SHA-256"), reason)
            }
            let checked = try Model(contentsOf: source, options: .init(threads: threads, verifyDataHash: true))
            XCTAssertTrue(try checked.predict(feeds) == expected, "threads \(threads)")
        }
    }

    func testPreambleFieldsAreValidated() throws {
        let good = try sampleWriter().encode()
        func patched(_ offset: Int, _ value: UInt64, size: Int) -> [UInt8] {
            var b = good
            for i in 0..<size { b[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            return b
        }
        let cases: [(String, [UInt8], Int)] = [
            ("bad magic", patched(1, 0x58, size: 1), 1),
            ("major version 2", patched(8, 2, size: 2), 8),
            ("flags", patched(12, 1, size: 4), 12),
            ("header offset", patched(16, 128, size: 8), 16),
            ("header length huge", patched(24, UInt64.max, size: 8), 24),
            ("data offset misaligned", patched(32, 65, size: 8), 32),
            ("data length", patched(40, 1, size: 8), 40),
        ]
        for (what, bytes, offset) in cases {
            XCTAssertThrowsError(try Artifact(bytes: bytes), what) { error in
                guard case KilnError.malformedArtifact(let o, _) = error else { return XCTFail("\(what): \(error)") }
                XCTAssertEqual(o, offset, what)
            }
        }
    }

    func testHeaderContentsAreValidated() throws {
        func expectFailure(_ what: String, mentioning text: String, _ transform: (inout [String: Any]) -> Void) throws {
            let bytes = try withHeader(transform)
            XCTAssertThrowsError(try Artifact(bytes: bytes), what) { error in
                guard case KilnError.malformedArtifact(_, let reason) = error else { return XCTFail("\(what): \(error)") }
                XCTAssertTrue(reason.contains(text), "\(what): \(reason)")
            }
        }
        func editTensor(_ h: inout [String: Any], _ i: Int, _ key: String, _ v: Any) {
            var ts = h["tensors"] as! [[String: Any]]; ts[i][key] = v; h["tensors"] = ts
        }
        func editNode(_ h: inout [String: Any], _ key: String, _ v: Any) {
            var g = h["graph"] as! [String: Any]; var ns = g["nodes"] as! [[String: Any]]
            ns[0][key] = v; g["nodes"] = ns; h["graph"] = g
        }
        try expectFailure("offset out of range", mentioning: "outside the data section") { editTensor(&$0, 0, "offset", 1 << 40) }
        try expectFailure("misaligned offset", mentioning: "aligned") { editTensor(&$0, 0, "offset", 8) }
        try expectFailure("length mismatch", mentioning: "length") { editTensor(&$0, 0, "length", 4) }
        try expectFailure("unknown dtype", mentioning: "unknown dtype") { editTensor(&$0, 0, "dtype", "f64") }
        try expectFailure("huge shape", mentioning: "too large") { editTensor(&$0, 0, "shape", [1 << 40, 1 << 40]) }
        try expectFailure("overlap", mentioning: "overlap") { editTensor(&$0, 1, "offset", 0) }
        try expectFailure("dangling input", mentioning: "node 'relu'") { editNode(&$0, "inputs", ["nope"]) }
        try expectFailure("output collides", mentioning: "produced twice") { editNode(&$0, "outputs", ["x"]) }
        try expectFailure("bad attribute", mentioning: "attributes.alpha") { editNode(&$0, "attributes", ["alpha": 0.5]) }
        try expectFailure("not kiln", mentioning: "format") { $0["format"] = "onnx" }
        try expectFailure("missing graph", mentioning: "graph") { $0["graph"] = nil }
        try expectFailure("selftest tensor", mentioning: "selftest") {
            var s = $0["selftest"] as! [String: Any]; s["inputs"] = ["x": "missing"]; $0["selftest"] = s
        }
    }

    func testUnknownKeysAreIgnoredForMinorVersions() throws {
        let bytes = try withHeader { h in
            h["future_section"] = ["anything": 1]
            var m = h["metadata"] as! [String: Any]; m["git_commit"] = "abc123"; h["metadata"] = m
        }
        let a = try Artifact(bytes: bytes)
        XCTAssertEqual(a.metadata.extra["git_commit"], "abc123")
    }

    func testMappedFileRoundTrip() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID().uuidString).kiln")
        defer { try? FileManager.default.removeItem(at: url) }
        try sampleWriter().write(to: url)
        let a = try Artifact(contentsOf: url, verifyDataHash: true)
        XCTAssertEqual(try a.tensors["selftest.y"]?.scalars(as: Float.self), [0, 2, 0, 4, 5, 0, 7, 0])
        XCTAssertThrowsError(try Artifact(contentsOf: url.appendingPathExtension("missing"))) { error in
            guard case KilnError.io = error else { return XCTFail("\(error)") }
        }
    }

    func testChecksumsMatchReferenceValues() {
        // Standard check values: CRC-32("123456789") = cbf43926; SHA-256("abc") from FIPS 180-4.
        let digits = Array("123456789".utf8)
        XCTAssertEqual(digits.withUnsafeBytes { CRC32.checksum($0.baseAddress!, count: 9) }, 0xCBF4_3926)
        let abc = Array("abc".utf8)
        XCTAssertEqual(try abc.withUnsafeBytes { try SHA256.hex($0.baseAddress!, count: 3) },
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = [UInt8](repeating: 0x61, count: 1000) // exercises multi-block and two-block padding
        XCTAssertEqual(try long.withUnsafeBytes { try SHA256.hex($0.baseAddress!, count: 1000) },
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        // FIPS 180-4's one-million-'a' vector: many blocks through the hardware path.
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        XCTAssertEqual(try million.withUnsafeBytes { try SHA256.hex($0.baseAddress!, count: million.count) },
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Empty input (the data section of a weightless artifact).
        XCTAssertEqual(try [UInt8]().withUnsafeBytes { try SHA256.hex($0.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!, count: 0) },
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}

extension ArtifactTests {
    /// Slice ends exported by torch are INT64_MAX / INT64_MIN; JSON carries them as integers that
    /// Foundation parses into different NSNumber kinds. Both must survive exactly.
    func testInt64ExtremesInAttributesSurvive() throws {
        let bytes = try withHeader { h in
            var g = h["graph"] as! [String: Any]; var ns = g["nodes"] as! [[String: Any]]
            ns[0]["attributes"] = ["ends": ["ints": [Int64.max, Int64.min, 3]]]
            g["nodes"] = ns; h["graph"] = g
        }
        let a = try Artifact(bytes: bytes)
        XCTAssertEqual(a.nodes[0].attributes.values["ends"], .ints([Int.max, Int.min, 3]))
    }
}
