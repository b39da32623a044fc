import Foundation
@testable import Kiln
import KilnImage
import XCTest


/// The repository's `Fixtures/` directory, found from this file's location.
let fixturesRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

/// `Fixtures/preprocessing/manifest.json`, written by gen_references.py.
struct Manifest {
    struct Decode {
        let name: String
        let image: String
        let shape: [Int]
        let sha256: String
        let npy: String?
        let exifTranspose: Bool
        let alpha: AlphaHandling
    }
    struct Pipeline {
        let name: String
        let image: String
        let preprocessingJSON: String
        let resizedShape: [Int]
        let resizedNPY: String
        let tensorNPY: String?
    }
    let decode: [Decode]
    let pipeline: [Pipeline]

    static func load() throws -> Manifest {
        let data = try Data(contentsOf: fixturesRoot.appendingPathComponent("preprocessing/manifest.json"))
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let decode = try XCTUnwrap(root["decode"] as? [[String: Any]]).map { d -> Decode in
            let bg = (d["background"] as? [Int]) ?? [255, 255, 255]
            let alpha: AlphaHandling = (d["alpha"] as? String) == "composite"
                ? .composite(background: RGB8(r: UInt8(bg[0]), g: UInt8(bg[1]), b: UInt8(bg[2]))) : .drop
            return Decode(name: d["name"] as! String, image: d["image"] as! String, shape: d["shape"] as! [Int],
                          sha256: d["sha256"] as! String, npy: d["npy"] as? String,
                          exifTranspose: d["exif_transpose"] as! Bool, alpha: alpha)
        }
        let pipeline = try XCTUnwrap(root["pipeline"] as? [[String: Any]]).map { p -> Pipeline in
            let pre = try! JSONSerialization.data(withJSONObject: p["preprocessing"]!, options: [.sortedKeys])
            return Pipeline(name: p["name"] as! String, image: p["image"] as! String,
                            preprocessingJSON: String(decoding: pre, as: UTF8.self),
                            resizedShape: p["resized_shape"] as! [Int], resizedNPY: p["resized_npy"] as! String,
                            tensorNPY: p["tensor_npy"] as? String)
        }
        return Manifest(decode: decode, pipeline: pipeline)
    }
}

func fixtureData(_ relative: String) throws -> Data {
    try Data(contentsOf: fixturesRoot.appendingPathComponent(relative))
}

func fixtureNPY(_ relative: String) throws -> Tensor {
    try NPY.read(contentsOf: fixturesRoot.appendingPathComponent(relative))
}

/// Lowercase hex SHA-256, with Kiln's own implementation (the artifact's content hash).
func sha256Hex(_ bytes: [UInt8]) throws -> String {
    try bytes.withUnsafeBytes { try SHA256.hex($0.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!, count: $0.count) }
}

/// Pixel agreement between two RGB8 images of equal size: a pixel agrees when all three
/// channels are equal.
struct Agreement {
    var total = 0
    var equal = 0
    var maxDiff = 0
    var fraction: Double { total == 0 ? 1 : Double(equal) / Double(total) }

    init(_ a: [UInt8], _ b: [UInt8]) {
        total = min(a.count, b.count) / 3
        for p in 0..<total {
            var same = true
            for c in 0..<3 {
                let d = abs(Int(a[3 * p + c]) - Int(b[3 * p + c]))
                if d != 0 { same = false }
                maxDiff = max(maxDiff, d)
            }
            if same { equal += 1 }
        }
    }
}
