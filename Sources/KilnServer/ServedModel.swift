import Foundation
import Kiln
import KilnImage

/// One loaded model as the server sees it: the `Model`, its preprocessing and labels when the
/// artifact has them, the self-test outcome and how long loading took.
public final class ServedModel: Sendable {
    /// The name clients use in URLs: the file name without `.kiln`.
    public let name: String
    /// The artifact file.
    public let url: URL
    /// The loaded model.
    public let model: Model
    /// The artifact's image pipeline and labels, or `nil` when it has no preprocessing section
    /// (then only FP32 tensor inputs are accepted).
    public let classifier: Classifier?
    /// The stored self-test's outcome, or `nil` when it was skipped (`--no-verify`) or the
    /// artifact has none.
    public let selfTest: SelfTestReport?
    /// Whether the data section was checked against its SHA-256 at load (not with `--no-verify`).
    public let dataHashVerified: Bool
    /// Seconds spent loading, planning, verifying and warming up.
    public let loadSeconds: Double

    /// Loads an artifact, runs its self-test and warms it up.
    /// - Parameters:
    ///   - url: The `.kiln` file; its stem becomes ``name``.
    ///   - threads: Threads per inference.
    ///   - verify: Check the data section's SHA-256 (a ``KilnError/malformedArtifact(offset:reason:)``
    ///     when the weights are not the ones exported) and run `verify()`, throwing
    ///     ``LoadError/selfTestFailed(model:report:)`` on drift.
    ///   - warmupRuns: Extra inferences at batch 1 before the model is reported ready.
    /// - Throws: ``LoadError`` or the `KilnError` that loading threw.
    public init(url: URL, threads: Int, verify: Bool, warmupRuns: Int) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        name = url.deletingPathExtension().lastPathComponent
        self.url = url
        model = try Model(contentsOf: url, options: .init(threads: threads, verifyDataHash: verify))
        dataHashVerified = verify
        classifier = model.artifact.preprocessingJSON == nil ? nil : try Classifier(model)
        if verify, model.artifact.selfTest != nil {
            let report = try model.verify()
            guard report.passed else { throw LoadError.selfTestFailed(model: name, report: report) }
            selfTest = report
        } else {
            selfTest = nil
        }
        if warmupRuns > 0 {
            let feeds = try Self.warmupInputs(model)
            for _ in 0..<warmupRuns { _ = try model.predict(feeds) }
        }
        loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Zeros of every declared input shape with symbolic dims set to 1.
    static func warmupInputs(_ model: Model) throws -> [String: Tensor] {
        var feeds: [String: Tensor] = [:]
        for input in model.inputs {
            let shape = input.shape.map { d -> Int in if case let .fixed(n) = d { return n } else { return 1 } }
            feeds[input.name] = try Tensor(zeros: shape, dtype: input.dtype)
        }
        return feeds
    }

    /// The output the classification extension and `/predictions` read: the only output.
    var classificationOutput: ValueInfo? { model.outputs.count == 1 ? model.outputs[0] : nil }

    /// Whether the single output is already probabilities (a final Softmax).
    var endsInSoftmax: Bool { classifier?.endsInSoftmax ?? false }
}

/// Why the server refused to start.
public enum LoadError: Error, CustomStringConvertible, Sendable {
    /// The stored self-test drifted beyond its tolerance.
    case selfTestFailed(model: String, report: SelfTestReport)
    /// No `.kiln` file was given or found.
    case noModels(String)
    /// Two files have the same stem.
    case duplicateName(String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .selfTestFailed(model, report): return "model '\(model)' failed its self-test:\n\(report)"
        case let .noModels(where_): return "no .kiln models in \(where_)"
        case let .duplicateName(name): return "two models are named '\(name)'"
        }
    }
}
