import Foundation
import XCTest
@testable import Kiln
import KilnTestSupport

/// Seeded mutation ("fuzz-lite") tests: corrupted artifacts and `.npy` files must be rejected with a
/// `KilnError` or load and run — never trap, hang or allocate what a field claims unchecked.
/// A crash here fails the whole test process, which is the point.
final class MutationTests: XCTestCase {
    func mutate(_ bytes: [UInt8], _ rng: inout SeededGenerator, headerBias: Bool) -> [UInt8] {
        var b = bytes
        let edits = Int.random(in: 1...4, using: &rng)
        for _ in 0..<edits {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0 where !b.isEmpty: // flip a byte, mostly in the preamble/header where the structure is
                let limit = headerBias ? min(b.count, 1024) : b.count
                b[Int.random(in: 0..<limit, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            case 1 where !b.isEmpty: // truncate
                b.removeLast(Int.random(in: 1...b.count, using: &rng))
            case 2: // insert junk
                let at = Int.random(in: 0...b.count, using: &rng)
                b.insert(contentsOf: (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
            default: // overwrite a little-endian field with an extreme value
                if b.count >= 8 {
                    let at = Int.random(in: 0...(b.count - 8), using: &rng)
                    let v: UInt64 = [UInt64.max, UInt64(Int64.max), 1 << 40, 0].randomElement(using: &rng)!
                    for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
                }
            }
        }
        return b
    }

    func testCorruptedArtifactsNeverCrash() throws {
        let original = try ArtifactSamples.writer().encode()
        var rng = SeededGenerator(seed: 99)
        var rejected = 0
        for _ in 0..<1500 {
            let bytes = mutate(original, &rng, headerBias: true)
            do {
                let a = try Artifact(bytes: bytes, verifyDataHash: Bool.random(using: &rng))
                let m = try Model(artifact: a, options: .init(threads: 1))
                _ = try? m.verify()
            } catch is KilnError {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 1000, "most mutations must be caught")
    }

    func testCorruptedNPYNeverCrash() throws {
        let original = try Data(contentsOf: fixturesDirectory.appendingPathComponent("npy/f32.npy"))
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<2000 {
            let bytes = mutate([UInt8](original), &rng, headerBias: true)
            do { _ = try NPY.decode(Data(bytes)) } catch is KilnError {}
        }
    }

    func testHeaderJSONMutationsNeverCrash() throws {
        // Type confusion inside a well-formed header (the checksum is recomputed): strings for
        // numbers, negative sizes, wrong nesting.
        var rng = SeededGenerator(seed: 3)
        let replacements: [Any] = [-1, "x", [1, 2], ["k": 1], NSNull(), 1.5, Int.max, [Int](), true]
        for _ in 0..<400 {
            let bytes = try ArtifactSamples.withHeader { h in
                func poke(_ value: inout Any, depth: Int) {
                    if var d = value as? [String: Any], let key = d.keys.randomElement(using: &rng) {
                        if depth > 0 && Bool.random(using: &rng) { var inner = d[key]!; poke(&inner, depth: depth - 1); d[key] = inner }
                        else { d[key] = replacements.randomElement(using: &rng)! }
                        value = d
                    } else if var a = value as? [Any], !a.isEmpty {
                        let i = Int.random(in: 0..<a.count, using: &rng)
                        if depth > 0 && Bool.random(using: &rng) { var inner = a[i]; poke(&inner, depth: depth - 1); a[i] = inner }
                        else { a[i] = replacements.randomElement(using: &rng)! }
                        value = a
                    }
                }
                var root: Any = h
                poke(&root, depth: 4)
                h = root as! [String: Any]
            }
            do {
                let a = try Artifact(bytes: bytes)
                _ = try? Model(artifact: a, options: .init(threads: 1)).verify()
            } catch is KilnError {}
        }
    }
}
