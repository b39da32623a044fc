import Foundation
import XCTest
import Kiln
import KilnTestSupport

/// `.npy` reading and writing against files written by NumPy (`Fixtures/npy/gen_npy.py`).
final class NPYTests: XCTestCase {
    let dir = fixturesDirectory.appendingPathComponent("npy")

    func testReadsEveryNumPyFileWithExactValues() throws {
        let data = try Data(contentsOf: dir.appendingPathComponent("expected.json"))
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        XCTAssertGreaterThanOrEqual(expected.count, 12)
        let dtypeNames: [String: DType] = ["float32": .float32, "float16": .float16, "int64": .int64, "int32": .int32,
                                           "int8": .int8, "uint8": .uint8, "bool": .bool]
        for (file, e) in expected.sorted(by: { $0.key < $1.key }) {
            let t = try NPY.read(contentsOf: dir.appendingPathComponent(file))
            XCTAssertEqual(t.dtype, dtypeNames[e["dtype"] as! String], file)
            XCTAssertEqual(t.shape, (e["shape"] as! [NSNumber]).map(\.intValue), file)
            let values = (e["values"] as! [NSNumber]).map(\.doubleValue)
            // Exact: every supported dtype widens to Double without rounding (int64 values are < 2^53).
            let got = try t.converted(to: .float32).scalars(as: Float.self).map(Double.init)
            if t.dtype == .int64 {
                XCTAssertEqual(try t.scalars(as: Int64.self).map(Double.init), values, file)
            } else {
                XCTAssertEqual(got, values.map { Double(Float($0)) }, file)
            }
        }
    }

    func testEncodeReproducesNumPyBytes() throws {
        // NumPy pads its v1 header to 64 bytes exactly as Kiln does, so save → reload → save is byte-identical.
        for file in ["f32.npy", "f16.npy", "i64.npy", "u8.npy", "bool.npy", "scalar.npy", "empty.npy"] {
            let original = try Data(contentsOf: dir.appendingPathComponent(file))
            let t = try NPY.decode(original, source: file)
            XCTAssertEqual(NPY.encode(t), original, file)
            XCTAssertEqual(try NPY.decode(NPY.encode(t)), t, file)
        }
    }

    func testBigEndianIsSwapped() throws {
        let t = try NPY.read(contentsOf: dir.appendingPathComponent("bigendian.npy"))
        XCTAssertEqual(t.dtype, .float32)
        XCTAssertTrue(try t.scalars(as: Float.self).allSatisfy { abs($0) < 10 }, "byte order was not swapped")
    }

    func testRejectsFortranOrderAndFloat64() {
        for file in ["fortran.npy", "f64.npy"] {
            XCTAssertThrowsError(try NPY.read(contentsOf: dir.appendingPathComponent(file)), file) { error in
                guard case KilnError.malformedNPY(let source, _, let reason) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(source, file)
                XCTAssertFalse(reason.isEmpty)
            }
        }
    }

    func testTruncatedFilesFailWithOffset() throws {
        let original = try Data(contentsOf: dir.appendingPathComponent("f32.npy"))
        // Every prefix must fail cleanly (never trap), and the payload check must name the data offset.
        for cut in [0, 5, 9, 20, 127, original.count - 1] {
            XCTAssertThrowsError(try NPY.decode(original.prefix(cut), source: "cut\(cut)")) { error in
                guard case KilnError.malformedNPY = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try NPY.decode(original.prefix(original.count - 4))) { error in
            guard case KilnError.malformedNPY(_, let offset, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(offset, 128, "payload starts after the 128-byte preamble and header")
        }
    }

    func testHostileHeadersAreRejectedWithoutAllocating() {
        func npy(_ header: String, payload: Int = 0) -> Data {
            var h = header
            while (10 + h.utf8.count + 1) % 64 != 0 { h += " " }
            h += "\n"
            var d = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(h.utf8.count & 0xFF), UInt8(h.utf8.count >> 8)])
            d.append(contentsOf: Array(h.utf8))
            d.append(Data(count: payload))
            return d
        }
        let cases = [
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000, 1000000000), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
            "{'descr': '<f4', 'fortran_order': False, }",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ",
            "not a dict",
        ]
        for header in cases {
            XCTAssertThrowsError(try NPY.decode(npy(header, payload: 4)), header) { error in
                guard case KilnError.malformedNPY = error else { return XCTFail("\(header): \(error)") }
            }
        }
        // Bad magic and a header length that points past the end.
        XCTAssertThrowsError(try NPY.decode(Data("NOTNUMPY\u{0}\u{0}".utf8)))
        XCTAssertThrowsError(try NPY.decode(Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0xFF, 0xFF, 0x7B])))
        // A bool element that is neither 0 nor 1.
        XCTAssertThrowsError(try NPY.decode(npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }").dropLast(0) + Data([1, 2])))
    }

    func testFileRoundTrip() throws {
        let t = try Tensor(shape: [2, 2], scalars: [Int64.min, -1, 0, Int64.max])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-npy-\(UUID().uuidString).npy")
        defer { try? FileManager.default.removeItem(at: url) }
        try t.writeNPY(to: url)
        XCTAssertEqual(try Tensor(npyContentsOf: url), t)
        XCTAssertThrowsError(try Tensor(npyContentsOf: url.appendingPathExtension("missing"))) { error in
            guard case KilnError.io = error else { return XCTFail("\(error)") }
        }
    }
}
