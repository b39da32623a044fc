import Foundation
import Kiln
import KilnImage
import XCTest

final class PreprocessingTests: XCTestCase {
    /// The resized (and cropped) 8-bit image equals Pillow's on ≥ 99.9 % of pixels with no channel
    /// off by more than 1, for every pipeline case; the agreement of each case is printed.
    func testResizedImagesMatchPillow() throws {
        let manifest = try Manifest.load()
        XCTAssertGreaterThan(manifest.pipeline.count, 50)
        var report: [String] = []
        var totalEqual = 0, total = 0
        for c in manifest.pipeline {
            let pre = try Preprocessing(json: c.preprocessingJSON)
            let resized = try pre.resizedImage(imageData: try fixtureData(c.image), source: c.image)
            XCTAssertEqual([resized.height, resized.width, 3], c.resizedShape, c.name)
            let ref = try fixtureNPY(c.resizedNPY)
            XCTAssertEqual(ref.shape, c.resizedShape, c.name)
            let a = Agreement(resized.pixels, try ref.scalars(as: UInt8.self))
            total += a.total
            totalEqual += a.equal
            report.append(String(format: "%-40@ %7d/%7d pixels equal (%.4f%%), max diff %d", c.name as NSString, a.equal, a.total, 100 * a.fraction, a.maxDiff))
            XCTAssertGreaterThanOrEqual(a.fraction, 0.999, c.name)
            XCTAssertLessThanOrEqual(a.maxDiff, 1, c.name)
        }
        print("KilnImage vs Pillow, resized uint8 images:\n" + report.joined(separator: "\n")
              + "\nall cases: \(totalEqual)/\(total) pixels equal")
    }

    /// The float tensor equals torchvision's ToTensor + Normalize within 1e-6 (bitwise in
    /// practice) wherever the 8-bit pixels agree.
    func testTensorsMatchTorchvision() throws {
        let manifest = try Manifest.load()
        var checked = 0
        for c in manifest.pipeline {
            guard let tensorNPY = c.tensorNPY else { continue }
            let pre = try Preprocessing(json: c.preprocessingJSON)
            let data = try fixtureData(c.image)
            let tensor = try pre.tensor(imageData: data, source: c.image)
            let ref = try fixtureNPY(tensorNPY)
            XCTAssertEqual(tensor.shape, ref.shape, c.name)
            XCTAssertEqual(tensor.dtype, .float32)
            let ours = try tensor.scalars(as: Float.self), theirs = try ref.scalars(as: Float.self)
            // Pixels where our uint8 image differs from Pillow's are excluded (none, today).
            let pixelsOK = zip(try pre.resizedImage(imageData: data).pixels, try fixtureNPY(c.resizedNPY).scalars(as: UInt8.self)).map { $0 == $1 }
            let hw = tensor.shape[2] * tensor.shape[3]
            var maxErr: Float = 0, bitwise = 0
            for ch in 0..<3 {
                let src = pre.color == .rgb ? ch : 2 - ch
                for i in 0..<hw where pixelsOK[3 * i + src] {
                    let d = abs(ours[ch * hw + i] - theirs[ch * hw + i])
                    maxErr = max(maxErr, d)
                    if ours[ch * hw + i].bitPattern == theirs[ch * hw + i].bitPattern { bitwise += 1 }
                }
            }
            print("\(c.name): max |kiln − torchvision| = \(maxErr), \(bitwise)/\(3 * hw) elements bitwise equal")
            XCTAssertLessThanOrEqual(maxErr, 1e-6, c.name)
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 4)
    }

    func testImagenetPresetEqualsItsJSON() throws {
        let json = """
        {"input": "input", "color": "RGB",
         "steps": [{"op": "resize", "size": 256, "interpolation": "bilinear", "antialias": true},
                   {"op": "center_crop", "size": [224, 224]},
                   {"op": "to_tensor"},
                   {"op": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}]}
        """
        XCTAssertEqual(try Preprocessing(json: json), Preprocessing.imagenet)
        let t = try Preprocessing.imagenet.tensor(contentsOf: fixturesRoot.appendingPathComponent("images/chelsea.png"))
        XCTAssertEqual(t.shape, [1, 3, 224, 224])
    }

    func testJSONRoundTrip() throws {
        let pipelines: [Preprocessing] = [
            .imagenet,
            try Preprocessing(input: "pixel_values", color: .bgr, exifTranspose: true, alpha: .composite(background: RGB8(r: 1, g: 2, b: 3)),
                              steps: [.resize(try Resize(size: .exact(height: 7, width: 9), interpolation: .nearestExact)),
                                      .resize(try Resize(size: .shorterSide(5), interpolation: .bicubic, maxSize: 11, antialias: false)),
                                      .toTensor, .normalize(try Normalize(mean: [0.1], std: [0.3]))]),
        ]
        for p in pipelines {
            XCTAssertEqual(try Preprocessing(json: p.json), p, p.json)
        }
        XCTAssertEqual(Preprocessing.imagenet.json,
                       #"{"alpha":"drop","background":[255,255,255],"color":"RGB","exif_transpose":false,"input":"input","steps":[{"antialias":true,"interpolation":"bilinear","max_size":null,"op":"resize","size":256},{"op":"center_crop","size":[224,224]},{"op":"to_tensor"},{"mean":[0.485,0.456,0.406],"op":"normalize","std":[0.229,0.224,0.225]}]}"#)
    }

    /// Each malformed description throws invalidPreprocessing naming the step index and key.
    /// Inputs the preprocessing fuzz target found (Fuzz/regressions/preprocessing): each is a
    /// typed error before the allocation it asked for. `resize_shorter_side_14160.json` resizes a
    /// 23×17 image to 19155×14160 (813 MB of RGB) — refused by ``RGBImage/maxPixels`` (100 M).
    func testFuzzRegressionsAreRefusedBeforeAllocating() throws {
        let dir = fixturesRoot.deletingLastPathComponent().appendingPathComponent("Fuzz/regressions/preprocessing")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertFalse(names.isEmpty)
        let image = try RGBImage(width: 23, height: 17, pixels: [UInt8](repeating: 90, count: 23 * 17 * 3))
        for name in names {
            let p = try Preprocessing(json: String(decoding: try Data(contentsOf: dir.appendingPathComponent(name)), as: UTF8.self))
            XCTAssertThrowsError(try p.tensor(image), name) { error in
                guard case let .invalidTransform(transform, reason)? = error as? KilnImageError else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(transform, "Resize", name)
                XCTAssertTrue(reason.contains("maxPixels"), reason)
            }
        }
        // The limit is the caller's to lower: a 64×64 resize under a 1,000-pixel limit.
        let saved = RGBImage.maxPixels
        defer { RGBImage.maxPixels = saved }
        RGBImage.maxPixels = 1000
        XCTAssertThrowsError(try Resize(size: .exact(height: 64, width: 64))(image))
        XCTAssertNoThrow(try Resize(size: .exact(height: 31, width: 32))(image))
    }

    func testJSONErrorsNameTheStepAndKey() {
        func expect(_ json: String, step: Int?, key: String?, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try Preprocessing(json: json), file: file, line: line) { error in
                guard case let .invalidPreprocessing(s, k, _)? = error as? KilnImageError else {
                    return XCTFail("\(error)", file: file, line: line)
                }
                XCTAssertEqual(s, step, "\(error)", file: file, line: line)
                XCTAssertEqual(k, key, "\(error)", file: file, line: line)
            }
        }
        let t = #"{"op":"to_tensor"}"#
        expect(#"{"steps":[{"op":"resize","size":10},{"op":"sharpen"},\#(t)]}"#, step: 1, key: "op")
        expect(#"{"steps":[{"op":"resize","size":10,"interpolation":"lanczos"},\#(t)]}"#, step: 0, key: "interpolation")
        expect(#"{"steps":[{"op":"resize","size":true},\#(t)]}"#, step: 0, key: "size")
        expect(#"{"steps":[{"op":"resize","size":10.5},\#(t)]}"#, step: 0, key: "size")
        expect(#"{"steps":[{"op":"resize","size":[1,2,3]},\#(t)]}"#, step: 0, key: "size")
        expect(#"{"steps":[{"op":"resize","size":0},\#(t)]}"#, step: 0, key: nil)
        expect(#"{"steps":[{"op":"resize","size":10,"max_size":10},\#(t)]}"#, step: 0, key: nil)
        expect(#"{"steps":[{"op":"resize","size":[10,10],"max_size":20},\#(t)]}"#, step: 0, key: nil)
        expect(#"{"steps":[{"op":"resize","size":10,"antialias":1},\#(t)]}"#, step: 0, key: "antialias")
        expect(#"{"steps":[{"op":"resize"},\#(t)]}"#, step: 0, key: "size")
        expect(#"{"steps":[{"op":"resize","size":10,"fill":0},\#(t)]}"#, step: 0, key: "fill")
        expect(#"{"steps":[\#(t),{"op":"center_crop","size":[2,2]}]}"#, step: 1, key: "op")
        expect(#"{"steps":[{"op":"normalize","mean":[0],"std":[1]},\#(t)]}"#, step: 0, key: "op")
        expect(#"{"steps":[\#(t),{"op":"normalize","mean":[0,0],"std":[1]}]}"#, step: 1, key: nil)
        expect(#"{"steps":[\#(t),{"op":"normalize","mean":[0,0,0],"std":[1,0,1]}]}"#, step: 1, key: nil)
        expect(#"{"steps":[\#(t),{"op":"normalize","mean":"x","std":[1]}]}"#, step: 1, key: "mean")
        expect(#"{"steps":[\#(t),\#(t)]}"#, step: 1, key: "op")
        expect(#"{"steps":[3]}"#, step: 0, key: nil)
        expect(#"{"steps":[{"size":3}]}"#, step: 0, key: "op")
        expect(#"{"steps":[]}"#, step: nil, key: "steps")
        expect(#"{"color":"RGB"}"#, step: nil, key: "steps")
        expect(#"{"color":"HSV","steps":[\#(t)]}"#, step: nil, key: "color")
        expect(#"{"alpha":"premultiply","steps":[\#(t)]}"#, step: nil, key: "alpha")
        expect(#"{"background":[0,0,256],"steps":[\#(t)]}"#, step: nil, key: "background")
        expect(#"{"exif_transpose":"yes","steps":[\#(t)]}"#, step: nil, key: "exif_transpose")
        expect(#"{"input":"","steps":[\#(t)]}"#, step: nil, key: "input")
        expect(#"{"mean":[0],"steps":[\#(t)]}"#, step: nil, key: "mean")
        expect(#"[1, 2]"#, step: nil, key: nil)
        expect(#"{"steps": "#, step: nil, key: nil)
    }

    /// torchvision's output-size rule, including truncation of the long side and max_size.
    func testResizeOutputSizes() throws {
        func size(_ s: Resize.Size, max: Int? = nil, _ h: Int, _ w: Int) throws -> [Int] {
            let o = try Resize(size: s, maxSize: max).outputSize(height: h, width: w)
            return [o.height, o.width]
        }
        XCTAssertEqual(try size(.shorterSide(256), 300, 451), [256, 384])   // 256·451/300 = 384.85 → 384
        XCTAssertEqual(try size(.shorterSide(256), 451, 300), [384, 256])
        XCTAssertEqual(try size(.shorterSide(256), 512, 512), [256, 256])
        XCTAssertEqual(try size(.shorterSide(7), 500, 3), [1166, 7])
        XCTAssertEqual(try size(.shorterSide(100), max: 150, 129, 257), [75, 150])
        XCTAssertEqual(try size(.exact(height: 3, width: 4), 100, 200), [3, 4])
        // An edge that would become 0 (Pillow refuses it too) is a typed error.
        XCTAssertThrowsError(try size(.shorterSide(2), max: 9, 500, 3)) { error in
            guard case .invalidTransform? = error as? KilnImageError else { return XCTFail("\(error)") }
        }
    }

    func testCenterCropOffsetsRoundHalfToEven() throws {
        // A 1-pixel-wide column image with value = row index, to read offsets off the output.
        let h = 40
        var px: [UInt8] = []
        for y in 0..<h { px += [UInt8(y), 0, 0] }
        let column = try RGBImage(width: 1, height: h, pixels: px)
        // (40 − 11) / 2 = 14.5 → 14 (even); (40 − 13) / 2 = 13.5 → 14; (40 − 15) / 2 = 12.5 → 12.
        XCTAssertEqual(try CenterCrop(height: 11, width: 1)(column)[0, 0].r, 14)
        XCTAssertEqual(try CenterCrop(height: 13, width: 1)(column)[0, 0].r, 14)
        XCTAssertEqual(try CenterCrop(height: 15, width: 1)(column)[0, 0].r, 12)
        // Larger than the image: padded with black, (crop − size) // 2 before.
        let padded = try CenterCrop(height: 43, width: 4)(column)
        XCTAssertEqual([padded.width, padded.height], [4, 43])
        XCTAssertEqual(padded[1, 0].r, 0)
        XCTAssertEqual(padded[1, 1].r, 0)   // row 1 = input row 0 (value 0)... then input rows follow
        XCTAssertEqual(padded[1, 2].r, 1)
        XCTAssertEqual(padded[0, 5].r, 0)   // padded column
        XCTAssertEqual(padded[1, 42].r, 0)  // bottom padding row
        XCTAssertThrowsError(try CenterCrop(height: 0, width: 3))
    }

    func testBGRSwapsTensorChannels() throws {
        let image = try RGBImage(width: 1, height: 1, pixels: [255, 51, 0])
        let rgb = try Preprocessing(steps: [.toTensor]).tensor(image)
        let bgr = try Preprocessing(color: .bgr, steps: [.toTensor]).tensor(image)
        XCTAssertEqual(try rgb.scalars(as: Float.self), [1, 0.2, 0])
        XCTAssertEqual(try bgr.scalars(as: Float.self), [0, 0.2, 1])
    }
}
