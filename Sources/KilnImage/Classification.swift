import Foundation
import Kiln

/// One class of a classification result.
public struct Classification: Sendable, Equatable, CustomStringConvertible {
    /// The class label (from the artifact's `labels`, or the index as text when it has none).
    public var label: String
    /// The class index in the model's output.
    public var index: Int
    /// The softmax probability.
    public var probability: Float

    /// `tabby (281): 0.4123`.
    public var description: String { "\(label) (\(index)): \(probability)" }
}

/// Where the time of one classification went, in seconds.
public struct ClassificationTimings: Sendable {
    /// Reading and decoding the image file.
    public var decode: Double
    /// Resize, crop, to-tensor and normalize.
    public var preprocess: Double
    /// The forward pass and the softmax.
    public var inference: Double
}

/// A model together with its stored preprocessing, ready to classify images from many threads.
///
/// ```swift
/// let classifier = try Classifier(contentsOf: url)
/// for c in try classifier.classify(imageAt: imageURL, top: 5) { print(c.label, c.probability) }
/// ```
public struct Classifier: Sendable {
    /// The model.
    public let model: Model
    /// The preprocessing stored in the artifact.
    public let preprocessing: Preprocessing
    /// Images whose header declares more pixels than this are refused before decoding.
    public var maxPixels: Int = 100_000_000

    /// Wraps a loaded model.
    /// - Throws: ``KilnImageError/invalidPreprocessing(step:key:reason:)`` when the artifact has no
    ///   or an invalid preprocessing section; ``KilnError`` when the preprocessing names an input
    ///   the model lacks or the model has more than one output.
    public init(_ model: Model) throws {
        guard let json = model.artifact.preprocessingJSON else {
            throw KilnImageError.invalidPreprocessing(step: nil, key: nil,
                                                      reason: "the model has no preprocessing section (export it with --preprocess)")
        }
        let p = try Preprocessing(json: json)
        guard model.inputs.contains(where: { $0.name == p.input }) else {
            throw KilnError.invalidArgument(op: "Classifier", node: nil,
                                            reason: "preprocessing feeds input '\(p.input)', but the model's inputs are \(model.inputs.map(\.name))")
        }
        guard model.outputs.count == 1 else {
            throw KilnError.invalidArgument(op: "Classifier", node: nil, reason: "a classifier needs exactly one output, the model has \(model.outputs.count)")
        }
        self.model = model
        self.preprocessing = p
    }

    /// Loads a model file and wraps it.
    /// - Throws: As ``Model/init(contentsOf:options:)`` and ``init(_:)``.
    public init(contentsOf url: URL, options: Model.Options = Model.Options()) throws {
        try self.init(Model(contentsOf: url, options: options))
    }

    /// Classifies an image file (JPEG or PNG).
    /// - Parameters:
    ///   - url: The image.
    ///   - top: How many classes to return, most probable first.
    /// - Returns: The `top` classes.
    /// - Throws: ``KilnImageError`` for unreadable, corrupt or too large images; ``KilnError`` from the model.
    public func classify(imageAt url: URL, top: Int = 5) throws -> [Classification] {
        try classifyWithTimings(imageAt: url, top: top).classes
    }

    /// Classifies encoded image bytes (JPEG or PNG).
    public func classify(imageData: Data, top: Int = 5) throws -> [Classification] {
        try classify(image: ImageDecoder.decode(imageData, options: preprocessing.decodingOptions(maxPixels: maxPixels)), top: top)
    }

    /// Classifies decoded pixels.
    public func classify(image: RGBImage, top: Int = 5) throws -> [Classification] {
        try classify(tensor: preprocessing.tensor(image), top: top)
    }

    /// Classifies an already preprocessed input tensor `[1, 3, H, W]`.
    public func classify(tensor: Tensor, top: Int = 5) throws -> [Classification] {
        let output = try model.predict([preprocessing.input: tensor])[model.outputs[0].name]!
        return try Self.topClasses(output, top: top, labels: model.labels, isProbability: endsInSoftmax)
    }

    /// Classifies an image file and reports where the time went.
    public func classifyWithTimings(imageAt url: URL, top: Int = 5) throws -> (classes: [Classification], timings: ClassificationTimings) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let image = try ImageDecoder.decode(contentsOf: url, options: preprocessing.decodingOptions(maxPixels: maxPixels))
        let t1 = DispatchTime.now().uptimeNanoseconds
        let tensor = try preprocessing.tensor(image)
        let t2 = DispatchTime.now().uptimeNanoseconds
        let classes = try classify(tensor: tensor, top: top)
        let t3 = DispatchTime.now().uptimeNanoseconds
        return (classes, ClassificationTimings(decode: Double(t1 - t0) / 1e9, preprocess: Double(t2 - t1) / 1e9,
                                               inference: Double(t3 - t2) / 1e9))
    }

    /// Whether the model's output is already a probability distribution (its last node is a Softmax).
    public var endsInSoftmax: Bool {
        let name = model.outputs[0].name
        return model.artifact.nodes.last(where: { $0.outputs.contains(name) })?.op == "Softmax"
    }

    /// The `top` most probable classes of a `[1, classes]` (or `[classes]`) output.
    /// - Parameters:
    ///   - output: Logits, or probabilities when `isProbability`.
    ///   - labels: Class names by index, or `nil`.
    /// - Throws: ``KilnError`` when the output is not float32 or holds more than one row.
    public static func topClasses(_ output: Tensor, top: Int, labels: [String]?, isProbability: Bool) throws -> [Classification] {
        let values = try output.converted(to: .float32).scalars(as: Float.self)
        guard output.shape.dropLast().allSatisfy({ $0 == 1 }), !values.isEmpty else {
            throw KilnError.shapeMismatch(op: "Classifier", node: nil, tensor: "model output", expected: [1, -1], got: output.shape)
        }
        var probs = values
        if !isProbability {
            // Softmax in Double: the sum of 1000 exps is exact enough that probabilities match PyTorch's float32 softmax to 1e-7.
            let m = values.max()!
            let exps = values.map { Foundation.exp(Double($0 - m)) }
            let sum = exps.reduce(0, +)
            probs = exps.map { Float($0 / sum) }
        }
        let order = probs.indices.sorted { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }
        return order.prefix(max(0, top)).map { i in
            Classification(label: labels.flatMap { i < $0.count ? $0[i] : nil } ?? String(i), index: i, probability: probs[i])
        }
    }
}

extension Model {
    /// Classifies an image file with the artifact's stored preprocessing and labels.
    /// For repeated calls, make a ``Classifier`` once instead (it parses the preprocessing once).
    /// - Throws: As ``Classifier/init(_:)`` and ``Classifier/classify(imageAt:top:)``.
    public func classify(imageAt url: URL, top: Int = 5) throws -> [Classification] {
        try Classifier(self).classify(imageAt: url, top: top)
    }

    /// Classifies decoded pixels with the artifact's stored preprocessing and labels.
    public func classify(image: RGBImage, top: Int = 5) throws -> [Classification] {
        try Classifier(self).classify(image: image, top: top)
    }
}
