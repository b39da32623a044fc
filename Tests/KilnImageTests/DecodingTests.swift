import Foundation
import Kiln
import KilnImage
import XCTest

final class DecodingTests: XCTestCase {
    /// Every fixture decodes to exactly what Pillow's `Image.open(p).convert("RGB")` (or the
    /// alpha composite / exif_transpose variant) produced: same shape, same SHA-256 of the bytes.
    func testDecodingMatchesPillowExactly() throws {
        let manifest = try Manifest.load()
        XCTAssertGreaterThan(manifest.decode.count, 50)
        for c in manifest.decode {
            let options = DecodingOptions(exifTranspose: c.exifTranspose, alpha: c.alpha)
            let image = try ImageDecoder.decode(try fixtureData(c.image), options: options, source: c.image)
            XCTAssertEqual([image.height, image.width, 3], c.shape, c.name)
            let digest = try sha256Hex(image.pixels)
            if digest != c.sha256 {
                var detail = ""
                if let npy = c.npy, let ref = try? fixtureNPY(npy).scalars(as: UInt8.self) {
                    let a = Agreement(image.pixels, ref)
                    detail = " (\(a.equal)/\(a.total) pixels equal, max diff \(a.maxDiff))"
                }
                XCTFail("\(c.name): decoded pixels differ from Pillow's\(detail)")
            }
            if let npy = c.npy {
                XCTAssertEqual(try fixtureNPY(npy).scalars(as: UInt8.self), image.pixels, c.name)
            }
        }
    }

    func testSHA256Helper() {
        XCTAssertEqual(try sha256Hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testInfoReadsTheHeader() throws {
        let jpeg = try ImageDecoder.info(try fixtureData("preprocessing/images/progressive_83x61.jpg"))
        XCTAssertEqual(jpeg.format, .jpeg); XCTAssertEqual(jpeg.width, 83); XCTAssertEqual(jpeg.height, 61)
        XCTAssertEqual(jpeg.channels, 3); XCTAssertEqual(jpeg.bitDepth, 8); XCTAssertTrue(jpeg.interlaced)
        let png = try ImageDecoder.info(try fixtureData("preprocessing/images/rgb16_25x18.png"))
        XCTAssertEqual(png.format, .png); XCTAssertEqual(png.width, 25); XCTAssertEqual(png.height, 18)
        XCTAssertEqual(png.channels, 3); XCTAssertEqual(png.bitDepth, 16); XCTAssertFalse(png.interlaced)
        let cmyk = try ImageDecoder.info(try fixtureData("preprocessing/images/cmyk_26x19.jpg"))
        XCTAssertEqual(cmyk.channels, 4)
    }

    /// Headers claiming 60000×60000 (3.6 GP, 10.8 GB of RGB) are refused from the header alone:
    /// were the decoder to allocate first, this test would exhaust memory instead of passing.
    func testPixelLimitIsCheckedBeforeAllocating() throws {
        for name in ["huge_60000x60000.png", "huge_60000x60000.jpg"] {
            let data = try fixtureData("preprocessing/images/bad/\(name)")
            XCTAssertEqual(try ImageDecoder.info(data).width, 60000)
            XCTAssertThrowsError(try ImageDecoder.decode(data, source: name)) { error in
                XCTAssertEqual(error as? KilnImageError, .tooLarge(source: name, width: 60000, height: 60000, limit: 100_000_000))
            }
        }
        // A configurable limit.
        let small = try fixtureData("preprocessing/images/rgb_17x23.png")
        XCTAssertNoThrow(try ImageDecoder.decode(small, options: DecodingOptions(maxPixels: 17 * 23)))
        XCTAssertThrowsError(try ImageDecoder.decode(small, options: DecodingOptions(maxPixels: 17 * 23 - 1))) { error in
            XCTAssertEqual(error as? KilnImageError, .tooLarge(source: "<memory>", width: 17, height: 23, limit: 390))
        }
    }

    func testEmptyInput() {
        XCTAssertThrowsError(try ImageDecoder.decode(Data(), source: "x.jpg")) { error in
            XCTAssertEqual(error as? KilnImageError, .empty(source: "x.jpg"))
        }
    }

    func testUnsupportedFormatsAreSniffedNotGuessedFromExtension() throws {
        for (name, format) in [("tiny.gif", "GIF"), ("tiny.bmp", "BMP")] {
            XCTAssertThrowsError(try ImageDecoder.decode(try fixtureData("preprocessing/images/bad/\(name)"))) { error in
                guard case let .unsupported(_, f, _)? = error as? KilnImageError else { return XCTFail("\(error)") }
                XCTAssertEqual(f, format)
            }
        }
        XCTAssertThrowsError(try ImageDecoder.decode(Data("hello, world".utf8))) { error in
            guard case let .unsupported(_, f, _)? = error as? KilnImageError else { return XCTFail("\(error)") }
            XCTAssertEqual(f, "unknown")
        }
        // A PNG named .jpg decodes as PNG.
        let png = try fixtureData("preprocessing/images/rgb_17x23.png")
        XCTAssertEqual(try ImageDecoder.decode(png, source: "mislabelled.jpg").width, 17)
    }

    func testTruncatedFilesThrowTruncated() throws {
        for name in ["jpeg_420_257x129.jpg", "progressive_83x61.jpg", "rgb_257x129.png", "interlaced_rgb_37x29.png", "cmyk_26x19.jpg"] {
            let data = try fixtureData("preprocessing/images/\(name)")
            for cut in [data.count / 2, data.count * 3 / 4, 40, 9, 4, 3] {
                XCTAssertThrowsError(try ImageDecoder.decode(data.prefix(cut), source: name), "\(name) cut at \(cut)") { error in
                    guard let e = error as? KilnImageError else { return XCTFail("\(error)") }
                    switch e {
                    case .truncated, .corrupt: break
                    case .unsupported where cut < 8: break  // too short to sniff
                    default: XCTFail("\(name) cut at \(cut): \(e)")
                    }
                }
            }
            // Cut in the middle of the pixel data: specifically "truncated", with an offset.
            XCTAssertThrowsError(try ImageDecoder.decode(data.prefix(data.count / 2), source: name)) { error in
                guard case let .truncated(_, _, offset, _)? = error as? KilnImageError else { return XCTFail("\(name): \(error)") }
                XCTAssertNotNil(offset)
            }
        }
    }

    /// Inputs the fuzzers found (Fuzz/regressions/image, docs/reliability.md), each a typed error.
    /// `jpeg_eof_in_header.jpg`, 1 kB with a broken Huffman table segment: libjpeg's memory source
    /// ran dry inside it and fed fake EOI markers, and reading on through them allocated gigabytes
    /// before running out of data became an immediate error. `png_exif_512mb.png`, 276 bytes whose
    /// eXIf chunk declares 512 MB: libpng allocated the declared length before reading it; the
    /// chunk walk now stops it at the chunk's header (byte 33), which this test checks.
    func testFuzzRegressionsAreTypedErrors() throws {
        let dir = fixturesRoot.deletingLastPathComponent().appendingPathComponent("Fuzz/regressions/image")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let data = try Data(contentsOf: dir.appendingPathComponent(name))
            XCTAssertThrowsError(try ImageDecoder.info(data, source: name), name) { error in
                switch error as? KilnImageError {
                case let .truncated(source, _, offset, _)?, let .corrupt(source, _, offset, _)?:
                    XCTAssertEqual(source, name)
                    XCTAssertTrue((0...data.count).contains(offset ?? -1), "\(name): \(error) names a byte offset in the file")
                    if name == "png_exif_512mb.png" {
                        XCTAssertEqual(offset, 33, "rejected at the eXIf chunk's header, before libpng allocates its declared length")
                    }
                default: XCTFail("\(name): \(error)")
                }
            }
            XCTAssertThrowsError(try ImageDecoder.decode(data, source: name), name)
        }
    }

    func testCorruptFilesThrowCorrupt() throws {
        for name in ["bad_crc.png", "bad_zlib.png", "bad_huffman.jpg"] {
            XCTAssertThrowsError(try ImageDecoder.decode(try fixtureData("preprocessing/images/bad/\(name)"), source: name)) { error in
                guard case .corrupt? = error as? KilnImageError else { return XCTFail("\(name): \(error)") }
            }
        }
    }

    /// Seeded random byte corruption of small fixtures: every outcome is an image or a
    /// KilnImageError; nothing traps, nothing hangs.
    func testRandomCorruptionNeverTraps() throws {
        var rng = SplitMix(seed: 7)
        let names = ["jpeg_420_17x23.jpg", "progressive_83x61.jpg", "cmyk_26x19.jpg", "gray_35x21.jpg",
                     "rgb_17x23.png", "interlaced_rgba16_11x13.png", "palette_trns_33x27.png", "exif6_13x7.jpg"]
        var failures = 0, successes = 0
        for name in names {
            let original = [UInt8](try fixtureData("preprocessing/images/\(name)"))
            for _ in 0..<60 {
                var bytes = original
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let i = Int(rng.next() % UInt64(bytes.count))
                    bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                }
                if rng.next() % 3 == 0 { bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count)))) }
                do {
                    _ = try ImageDecoder.decode(Data(bytes), options: DecodingOptions(exifTranspose: true, alpha: .composite(background: .white)))
                    successes += 1
                } catch is KilnImageError {
                    failures += 1
                }
            }
        }
        XCTAssertEqual(failures + successes, names.count * 60)
        XCTAssertGreaterThan(failures, 0)
    }

    func testRawBuffersWithStrideAndChannelOrders() throws {
        // 2×3 image, RGB values distinct per pixel.
        let w = 2, h = 3
        var rgb: [UInt8] = []
        for i in 0..<(w * h) { rgb += [UInt8(10 * i + 1), UInt8(10 * i + 2), UInt8(10 * i + 3)] }
        let expected = try RGBImage(width: w, height: h, pixels: rgb)
        XCTAssertEqual(try RGBImage(pixels: rgb, width: w, height: h, layout: .rgb), expected)
        // BGR with a 9-byte stride (3 bytes of padding per row).
        var bgr: [UInt8] = []
        for y in 0..<h {
            for x in 0..<w { let p = rgb[(y * w + x) * 3..<(y * w + x) * 3 + 3]; bgr += [p[p.startIndex + 2], p[p.startIndex + 1], p[p.startIndex]] }
            bgr += [0xEE, 0xEE, 0xEE]
        }
        XCTAssertEqual(try RGBImage(pixels: bgr, width: w, height: h, layout: .bgr, rowStride: 9), expected)
        // The last row needs no padding.
        XCTAssertEqual(try RGBImage(pixels: Array(bgr.dropLast(3)), width: w, height: h, layout: .bgr, rowStride: 9), expected)
        // RGBA / BGRA: alpha dropped, or composited over a background with Pillow's rounding.
        var rgba: [UInt8] = [], bgra: [UInt8] = []
        for i in 0..<(w * h) {
            let a = UInt8(i * 50)
            rgba += [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], a]
            bgra += [rgb[3 * i + 2], rgb[3 * i + 1], rgb[3 * i], a]
        }
        XCTAssertEqual(try RGBImage(pixels: rgba, width: w, height: h, layout: .rgba), expected)
        XCTAssertEqual(try RGBImage(pixels: bgra, width: w, height: h, layout: .bgra), expected)
        let over = try RGBImage(pixels: rgba, width: w, height: h, layout: .rgba, alpha: .composite(background: RGB8(r: 255, g: 0, b: 100)))
        // Pixel 1: c = (11, 12, 13), a = 50: (11·50 + 255·205 + 128 + ...) >> 8 etc. — Pillow's DIV255.
        func div255(_ v: Int) -> UInt8 { let t = v + 128; return UInt8(((t >> 8) + t) >> 8) }
        XCTAssertEqual(over[1, 0].r, div255(11 * 50 + 255 * 205))
        XCTAssertEqual(over[1, 0].g, div255(12 * 50))
        XCTAssertEqual(over[1, 0].b, div255(13 * 50 + 100 * 205))
        XCTAssertEqual(over[0, 0].r, 255)  // alpha 0: background
        XCTAssertEqual(try RGBImage(pixels: bgra, width: w, height: h, layout: .bgra, alpha: .composite(background: RGB8(r: 255, g: 0, b: 100))), over)
        // Gray is replicated.
        let gray = try RGBImage(pixels: [7, 8, 9, 10, 11, 12], width: 3, height: 2, layout: .gray)
        XCTAssertEqual(gray[2, 1].r, 12); XCTAssertEqual(gray[2, 1].b, 12)
        // Round trip through another layout.
        XCTAssertEqual(try RGBImage(pixels: expected.pixels(in: .bgra), width: w, height: h, layout: .bgra), expected)
        let luma: Int = (1 * 19595 + 2 * 38470 + 3 * 7471 + 0x8000) >> 16
        XCTAssertEqual(expected.pixels(in: .gray)[0], UInt8(luma))
    }

    func testRawBufferErrors() {
        XCTAssertThrowsError(try RGBImage(pixels: [UInt8](repeating: 0, count: 17), width: 2, height: 3, layout: .rgb)) { error in
            guard case .invalidPixelBuffer? = error as? KilnImageError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try RGBImage(pixels: [UInt8](repeating: 0, count: 100), width: 2, height: 3, layout: .rgba, rowStride: 7)) { error in
            guard case .invalidPixelBuffer? = error as? KilnImageError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try RGBImage(pixels: [], width: 0, height: 3, layout: .rgb))
        XCTAssertThrowsError(try RGBImage(pixels: [1], width: Int.max, height: 3, layout: .gray))
        XCTAssertThrowsError(try RGBImage(width: 2, height: 2, pixels: [1, 2, 3]))
    }

    func testExifOrientationIsOptIn() throws {
        let data = try fixtureData("preprocessing/images/exif6_13x7.jpg")
        let plain = try ImageDecoder.decode(data)
        XCTAssertEqual([plain.width, plain.height], [13, 7])
        let rotated = try ImageDecoder.decode(data, options: DecodingOptions(exifTranspose: true))
        XCTAssertEqual([rotated.width, rotated.height], [7, 13])
        XCTAssertEqual(plain.transposed(exifOrientation: 6), rotated)
        XCTAssertEqual(plain.transposed(exifOrientation: 1), plain)
        XCTAssertEqual(plain.transposed(exifOrientation: 9), plain)
    }
}

/// A tiny seeded generator (SplitMix64) for the corruption test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
