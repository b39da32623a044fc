import Foundation
import Kiln
import KilnImage
import XCTest

/// The bundled pretrained EfficientNet-Lite0 on the sample images, against PyTorch with the same
/// weights and torchvision transforms on PIL images (`Fixtures/models/pretrained/gen_classify_references.py`).
/// Bar: identical top-5 indices; every one of the 1,000 probabilities within 1e-4 absolute.
final class ClassifyTests: XCTestCase {
    static let modelURL = fixturesRoot.appendingPathComponent("models/efficientnet_lite0.kiln")
    static let references = fixturesRoot.appendingPathComponent("models/pretrained/references")
    static let images = ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg"]

    func testSampleImagesMatchPyTorch() throws {
        let classifier = try Classifier(contentsOf: Self.modelURL, options: .init(threads: 2))
        XCTAssertEqual(classifier.model.labels?.count, 1000)
        let top5 = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.references.appendingPathComponent("top5.json"))) as! [String: [String: Any]]
        for name in Self.images {
            let all = try classifier.classify(imageAt: fixturesRoot.appendingPathComponent("images/\(name)"), top: 1000)
            let expectedTop = (top5[name]!["indices"] as! [NSNumber]).map(\.intValue)
            XCTAssertEqual(all.prefix(5).map(\.index), expectedTop, name)
            let reference = try Tensor(npyContentsOf: Self.references.appendingPathComponent("\(name).probs.npy")).scalars(as: Float.self)
            var maxErr: Float = 0
            for c in all { maxErr = max(maxErr, abs(c.probability - reference[c.index])) }
            XCTAssertLessThanOrEqual(maxErr, 1e-4, "\(name): max probability error \(maxErr)")
            XCTAssertEqual(all[0].label, classifier.model.labels![expectedTop[0]])
        }
    }

    func testBundledModelSelfTestAndTopOfTheCat() throws {
        let model = try Model(contentsOf: Self.modelURL, options: .init(threads: 2, verifyDataHash: true))
        let report = try model.verify()
        XCTAssertTrue(report.passed, report.description)
        let top = try model.classify(imageAt: fixturesRoot.appendingPathComponent("images/chelsea.png"), top: 3)
        XCTAssertTrue(top.allSatisfy { ["tiger cat", "Egyptian cat", "tabby"].contains($0.label) }, "\(top)")
    }

    func testBadImagesGiveTypedErrors() throws {
        let classifier = try Classifier(contentsOf: Self.modelURL, options: .init(threads: 1))
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("text", Data("not an image".utf8)),
            ("truncated PNG", try Data(contentsOf: fixturesRoot.appendingPathComponent("images/chelsea.png")).prefix(200)),
        ]
        for (what, data) in cases {
            XCTAssertThrowsError(try classifier.classify(imageData: data), what) { error in
                XCTAssertTrue(error is KilnImageError, "\(what): \(error)")
            }
        }
        XCTAssertThrowsError(try classifier.classify(imageAt: URL(fileURLWithPath: "/nonexistent.png"))) { error in
            XCTAssertTrue(error is KilnImageError, "\(error)")
        }
    }

    func testAModelWithoutPreprocessingCannotClassify() throws {
        let model = try Model(contentsOf: fixturesRoot.appendingPathComponent("models/tiny_resnet.kiln"))
        XCTAssertThrowsError(try Classifier(model)) { error in
            guard case KilnImageError.invalidPreprocessing = error else { return XCTFail("\(error)") }
        }
    }
}
