import Foundation
@testable import Kiln

/// Small artifacts for tests, built with ``ArtifactWriter``.
enum ArtifactSamples {
    /// A small artifact: y = Relu(x) with a few stored tensors of different dtypes, labels and a self-test.
    static func writer() throws -> ArtifactWriter {
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(4)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(4)])]
        w.nodes = [NodeDef(name: "relu", op: "Relu", inputs: ["x"], outputs: ["y"], attributes: Attributes(op: "Relu", node: "relu"))]
        let x = try Tensor(shape: [2, 4], scalars: [Float(-1), 2, -3, 4, 5, -6, 7, -8])
        let y = try Tensor(shape: [2, 4], scalars: [Float(0), 2, 0, 4, 5, 0, 7, 0])
        w.tensors = [("selftest.x", x), ("selftest.y", y),
                     ("ids", try Tensor(shape: [3], scalars: [Int64(-1), 0, Int64.max])),
                     ("half", try Tensor(shape: [2], scalars: [Float16(0.5), Float16(-2)])),
                     ("mask", try Tensor(shape: [3], scalars: [true, false, true]))]
        w.labels = ["a", "b", "c", "d"]
        w.preprocessingJSON = #"{"steps":[{"op":"to_tensor"}]}"#
        w.sourceModel = "unit-test"
        w.frameworks = ["numpy": "2.0"]
        w.selfTest = SelfTestSpec(reference: "torch", inputs: ["x": "selftest.x"], outputs: ["y": "selftest.y"], abs: 1e-5, rel: 1e-5)
        return w
    }

    /// Rebuilds a file with a modified header (and a correct checksum), to test header validation.
    static func withHeader(_ transform: (inout [String: Any]) -> Void) throws -> [UInt8] {
        let bytes = try writer().encode()
        let a = try Artifact(bytes: bytes)
        let hLen = Int(bytes[24]) | Int(bytes[25]) << 8 | Int(bytes[26]) << 16
        var header = try JSONSerialization.jsonObject(with: Data(bytes[64..<(64 + hLen)])) as! [String: Any]
        transform(&header)
        let json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        let dataOffset = (64 + json.count + 63) / 64 * 64
        var out = Array(bytes[0..<64])
        func put<T: FixedWidthInteger>(_ v: T, _ offset: Int) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { out[offset + i] = b } }
        }
        put(UInt64(json.count), 24)
        put(UInt64(dataOffset), 32)
        put(json.withUnsafeBytes { CRC32.checksum($0.baseAddress!, count: $0.count) }, 48)
        out += json + [UInt8](repeating: 0, count: dataOffset - 64 - json.count)
        out += Array(bytes[a.dataRange])
        return out
    }

}
