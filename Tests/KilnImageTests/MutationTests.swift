import Foundation
import Kiln
import KilnImage
import XCTest

/// Seeded mutations of real JPEG and PNG files: the decoder must return an image or a
/// `KilnImageError`, never crash (libjpeg's and libpng's longjmp stay inside the C shim).
final class ImageMutationTests: XCTestCase {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func testMutatedImagesNeverCrash() throws {
        let dir = fixturesRoot.appendingPathComponent("preprocessing/images")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".jpg") || $0.hasSuffix(".png") }.sorted()
        XCTAssertGreaterThan(files.count, 10)
        var rng = SplitMix(state: 42)
        var decoded = 0, rejected = 0
        for file in files {
            let original = [UInt8](try Data(contentsOf: dir.appendingPathComponent(file)))
            for _ in 0..<40 {
                var b = original
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                    case 1: b.removeLast(Int.random(in: 0..<max(1, b.count / 2), using: &rng))
                    default:
                        let at = Int.random(in: 0..<b.count, using: &rng)
                        b[at] = [0x00, 0xFF, 0x7F, 0x80].randomElement(using: &rng)!
                    }
                    if b.isEmpty { break }
                }
                do {
                    let image = try ImageDecoder.decode(Data(b), source: file)
                    XCTAssertEqual(image.pixels.count, image.width * image.height * 3)
                    decoded += 1
                } catch is KilnImageError {
                    rejected += 1
                }
            }
        }
        XCTAssertGreaterThan(rejected, 0)
        print("mutated images: \(decoded) decoded, \(rejected) rejected")
    }
}
