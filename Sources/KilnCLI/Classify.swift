import ArgumentParser
import Foundation
import Kiln
import KilnImage

/// The bundled model: `--model`, else `$KILN_MODEL`, else `Fixtures/models/efficientnet_lite0.kiln`
/// of this source tree or of the current directory.
func defaultModelPath() -> String? {
    if let env = ProcessInfo.processInfo.environment["KILN_MODEL"], !env.isEmpty { return env }
    let relative = "Fixtures/models/efficientnet_lite0.kiln"
    let sourceTree = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(relative).path
    for candidate in [sourceTree, FileManager.default.currentDirectoryPath + "/" + relative]
    where FileManager.default.fileExists(atPath: candidate) {
        return candidate
    }
    return nil
}

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a model's stored preprocessing and labels (default: the bundled EfficientNet-Lite0).")

    @Option(help: "The .kiln model (default: $KILN_MODEL, else the bundled Fixtures/models/efficientnet_lite0.kiln).") var model: String?
    @Argument(help: "JPEG or PNG images.") var images: [String]
    @Option(help: "How many classes to print per image.") var top: Int = 5
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        guard let path = model ?? defaultModelPath() else {
            throw fail(KilnError.io(path: "Fixtures/models/efficientnet_lite0.kiln", reason: "no model given and the bundled model was not found; pass --model"))
        }
        guard top >= 1 else { throw fail(KilnError.invalidArgument(op: "kiln classify", node: nil, reason: "--top must be at least 1")) }
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let m = try loadModel(path, threads: threads)
        let classifier: Classifier
        do { classifier = try Classifier(m) } catch { throw fail(error) }
        let loadMs = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e6
        var results: [[String: Any]] = []
        var failed = false
        for image in images {
            do {
                let (classes, t) = try classifier.classifyWithTimings(imageAt: URL(fileURLWithPath: image), top: top)
                if json {
                    results.append(["image": image,
                                    "top": classes.map { ["label": $0.label, "index": $0.index, "probability": Double($0.probability)] },
                                    "timings_ms": ["decode": t.decode * 1e3, "preprocess": t.preprocess * 1e3, "inference": t.inference * 1e3]])
                } else {
                    print(String(format: "%@  (decode %.1f ms, preprocess %.1f ms, inference %.1f ms)",
                                 image, t.decode * 1e3, t.preprocess * 1e3, t.inference * 1e3))
                    for (rank, c) in classes.enumerated() {
                        let label = c.label.padding(toLength: max(28, c.label.count), withPad: " ", startingAt: 0)
                        print(String(format: "  %d. ", rank + 1) + label + String(format: " %6.2f%%  (class %d)", c.probability * 100, c.index))
                    }
                }
            } catch {
                // Keep going with the other images; the exit status reports the failure.
                failed = true
                _ = fail(error)
                if json { results.append(["image": image, "error": "\((error as? KilnImageError)?.description ?? "\(error)")"]) }
            }
        }
        if json {
            let doc: [String: Any] = ["model": path, "load_ms": loadMs, "results": results]
            let data = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        }
        if failed { throw ExitCode(2) }
    }
}

struct Preprocess: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the tensor a model would see for an image (its stored preprocessing) as .npy.")

    @Argument(help: "The .kiln model.") var model: String
    @Argument(help: "A JPEG or PNG image.") var image: String
    @Option(help: "The .npy file to write ([1, 3, H, W] float32).") var output: String
    @Option(help: "Also write the resized, cropped 8-bit image as .npy ([H, W, 3] uint8).") var resizedOutput: String?

    func run() throws {
        let m = try loadModel(model, threads: 1)
        do {
            let classifier = try Classifier(m)
            let p = classifier.preprocessing
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: image)) } catch {
                throw KilnImageError.io(path: image, reason: error.localizedDescription)
            }
            let decoded = try ImageDecoder.decode(data, options: p.decodingOptions(), source: image)
            let tensor = try p.tensor(decoded)
            try tensor.writeNPY(to: URL(fileURLWithPath: output))
            print("\(image) → \(output): \(tensor.shape) float32 (input '\(p.input)')")
            if let resizedOutput {
                let r = try p.resizedImage(decoded)
                try Tensor(shape: [r.height, r.width, 3], scalars: r.pixels).writeNPY(to: URL(fileURLWithPath: resizedOutput))
                print("resized image → \(resizedOutput): [\(r.height), \(r.width), 3] uint8")
            }
        } catch { throw fail(error) }
    }
}
